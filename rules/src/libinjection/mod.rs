//! libinjection's SQL injection and XSS detectors, in pure Rust (so they build for
//! wasm), behind `@detectSQLi` and `@detectXSS`.
//!
//! The port reproduces libinjection 3.9.2 as built into ModSecurity 3.0.9, which
//! is what the CRS regression tests were written against: same verdicts, same
//! fingerprints. `tests/libinjection/difftest.py` checks this against the C
//! library itself on the CRS payloads and a large generated corpus.
//!
//! - `sqli`: SQL tokenizer, folding, fingerprint blacklist and filters.
//! - `html5`, `xss`: the HTML tokenizer and the XSS rules on its tokens.
//! - `data`: keyword, fingerprint and character tables (generated data).
//!
//! No call allocates except [`detect_sqli`]'s returned `String` on a hit.

mod data;
mod html5;
mod sqli;
mod xss;

pub use sqli::Fingerprint;

/// Returns the libinjection fingerprint (e.g. `s&1c`) when `input` looks like SQL
/// injection, or `None`.
pub fn detect_sqli(input: &[u8]) -> Option<String> {
    sqli_fingerprint(input).map(|fp| fp.as_str().to_owned())
}

/// Like [`detect_sqli`], without allocating.
pub fn sqli_fingerprint(input: &[u8]) -> Option<Fingerprint> {
    match sqli::check(input) {
        (true, fp) => Some(fp),
        (false, _) => None,
    }
}

/// The SQLi verdict together with the fingerprint of the last parsing context
/// tried, even when that is not an attack (for differential testing).
#[doc(hidden)]
pub fn sqli_verdict_and_fingerprint(input: &[u8]) -> (bool, Fingerprint) {
    sqli::check(input)
}

/// Returns true when `input` looks like cross-site scripting.
pub fn detect_xss(input: &[u8]) -> bool {
    xss::check(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqli_fingerprints_of_known_payloads() {
        // Fingerprints as the C library reports them.
        let cases: &[(&[u8], &str)] = &[
            (b"1' or 1=1--", "s&1c"),
            (b"1 union select", "1UE"),
            (b"-1839' or '1'='1", "s&sos"),
            (b"1234 OR 1=1", "1&1"),
            (b"1;DROP TABLE users", "1;Tnn"),
            (b"admin'--", "sc"),
            (b"1' AND SLEEP(5)#", "s&f(1"),
            (b"x' /*!50000union*/ select", "X"),
        ];
        for (input, fp) in cases {
            assert_eq!(
                detect_sqli(input).as_deref(),
                Some(*fp),
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn benign_text_is_not_sqli() {
        for input in [
            &b""[..],
            b"hello world",
            b"O'Reilly",
            b"1 union",
            b"sexy and 17",
            b"42",
            b"foo@example.com",
        ] {
            assert_eq!(
                detect_sqli(input),
                None,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn last_context_fingerprint_is_reported() {
        assert_eq!(
            sqli_verdict_and_fingerprint(b"hello world"),
            (false, sqli_verdict_and_fingerprint(b"a b").1)
        );
        assert_eq!(
            sqli_verdict_and_fingerprint(b"hello world").1.as_str(),
            "nn"
        );
    }

    #[test]
    fn xss_verdicts() {
        let bad: &[&[u8]] = &[
            b"<script>alert(1)</script>",
            b"<img src=x onerror=alert(1)>",
            b"<a href=\"javascript:alert(1)\">x</a>",
            b"<a href=\"&#106;avascript:x\">",
            b"<svg/onload=alert(1)>",
            b"<!DOCTYPE html>",
            b"\" onmouseover=\"alert(1)",
            b"<iframe src=x>",
            b"<div style=\"x\">",
            b"<!--[if IE]>",
            b"<scr\0ipt>",
        ];
        for input in bad {
            assert!(
                detect_xss(input),
                "should be XSS: {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let good: &[&[u8]] = &[
            b"",
            b"hello",
            b"a < b and c > d",
            b"<b>bold</b>",
            b"<a href=\"/x\">x</a>",
            b"x=1&y=2",
        ];
        for input in good {
            assert!(
                !detect_xss(input),
                "should not be XSS: {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn c_library_quirks_are_kept() {
        // (input, fingerprint on a hit, fingerprint of the last context, XSS),
        // as ModSecurity 3.0.9's libinjection reports them.
        let cases: &[(&[u8], Option<&str>, &str, bool)] = &[
            // NULs count as hex digits after 0x.
            (b"0x\x00\x00 union select 1", Some("1UE1"), "1UE1", false),
            // PostgreSQL $tag$ strings.
            (b"1 $q$ x $q$ union select", Some("1sUE"), "1sUE", false),
            (b"$ab$x union select 1", None, "s", false),
            // Non-ASCII bytes cannot open an Oracle q-string (signed char).
            (b"q'\xe9x\xe9' or 1=1", None, "sns", false),
            (b"{`` union}", Some("X"), "X", false),
            (b"1 /* /* */ union", Some("X"), "X", false),
            (b"1' or 1=1 \\%1", None, "s&11", false),
            (b"\\N union select", Some("1UE"), "1UE", false),
            (b"1fUNION select 1", Some("1UE1"), "1UE1", false),
            // A 0xFF byte reads as end of input inside a tag (signed char).
            (b"<a \xff onload=x>", None, "onnno", false),
            // Entities decoded to their low byte: &#x14a; is 'J'.
            (b"<a href=&#x14a;avascript:x>", None, "onnoo", true),
            (b"<a href=\"java&#0;script:x\">", None, "snoc", true),
            (b"<a href=&#", None, "onnoo", false),
            (b"<x on=1>", None, "onno", false),
            (b"<svgx>", None, "o", true),
            (b"<![CDATA[<script>]]>", None, "on?o", false),
            (b"<?import x>", None, "o?nno", true),
        ];
        for (input, hit, last, xss) in cases {
            let shown = String::from_utf8_lossy(input);
            let (is_sqli, fp) = sqli_verdict_and_fingerprint(input);
            assert_eq!(is_sqli.then(|| fp.as_str()), *hit, "sqli {shown:?}");
            assert_eq!(fp.as_str(), *last, "last fingerprint {shown:?}");
            assert_eq!(detect_xss(input), *xss, "xss {shown:?}");
        }
    }

    /// A small xorshift generator: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn no_panic_on_random_bytes() {
        // Bytes drawn mostly from the characters the tokenizers care about,
        // so that odd quoting, comments and entities get exercised.
        const ALPHABET: &[u8] =
            b"'\"`;-#/*()=<>!|&^%+,.:@$\\[]{}?~ \t\n\r\x00\x0b\x0c\xa0\xffaAeEnNqQuUxXbBsS019;&#xX";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut buf = Vec::with_capacity(300);
        for round in 0..60_000 {
            buf.clear();
            let len = (rng.next() % 96) as usize + if round % 50 == 0 { 200 } else { 0 };
            for _ in 0..len {
                let r = rng.next();
                let b = match r % 3 {
                    0 => (r >> 8) as u8,
                    _ => ALPHABET[(r >> 8) as usize % ALPHABET.len()],
                };
                buf.push(b);
            }
            let (hit, fp) = sqli_verdict_and_fingerprint(&buf);
            assert!(fp.as_bytes().len() <= 6);
            if hit {
                assert!(!fp.as_bytes().is_empty());
            }
            let _ = detect_xss(&buf);
        }
    }

    #[test]
    fn long_inputs_do_not_recurse() {
        // Chains of tokenizer states are a loop, not recursion.
        let slashes = vec![b'/'; 1 << 20];
        let mut tag = b"<a ".to_vec();
        tag.extend_from_slice(&slashes);
        assert!(!detect_xss(&tag));
        let _ = detect_sqli(&slashes);
        let quotes = vec![b'\''; 1 << 16];
        let _ = detect_sqli(&quotes);
    }
}
