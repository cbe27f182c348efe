//! Reads length-prefixed inputs (u32 little-endian length, then the bytes) from
//! stdin and prints one line per input: `<sqli>\t<last fingerprint>\t<xss>`, where
//! `<sqli>` is the fingerprint when SQLi was detected or `-`, `<last fingerprint>`
//! is the fingerprint of the last context tried (or `?` when the implementation
//! does not expose it) and `<xss>` is 1 or 0.
//! `--impl ours` (default) or `--impl rs` (needs `--features rs`).

use std::io::{self, BufWriter, Read, Write};

fn main() {
    let which = std::env::args().nth(2).unwrap_or_else(|| "ours".into());
    let mut data = Vec::new();
    io::stdin().read_to_end(&mut data).expect("read stdin");
    let out = io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut pos = 0usize;
    while pos + 4 <= data.len() {
        let n = u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        pos += 4;
        let input = &data[pos..pos + n];
        pos += n;
        let (sqli, last, xss) = match which.as_str() {
            "ours" => ours(input),
            #[cfg(feature = "rs")]
            "rs" => rs(input),
            other => panic!("unknown implementation {other}"),
        };
        writeln!(out, "{}\t{}\t{}", sqli.as_deref().unwrap_or("-"), last, u8::from(xss)).unwrap();
    }
}

fn ours(input: &[u8]) -> (Option<String>, String, bool) {
    use palisade_rules::libinjection as li;
    let (hit, last) = li::sqli_verdict_and_fingerprint(input);
    let sqli = li::detect_sqli(input);
    assert_eq!(hit, sqli.is_some(), "detect_sqli and the verdict helper disagree");
    (sqli, last.as_str().to_owned(), li::detect_xss(input))
}

#[cfg(feature = "rs")]
fn rs(input: &[u8]) -> (Option<String>, String, bool) {
    let r = libinjectionrs::detect_sqli(input);
    let fp = r.fingerprint.as_ref().map(|f| f.to_string()).unwrap_or_default();
    let sqli = if r.is_injection() { Some(fp.clone()) } else { None };
    (sqli, fp, libinjectionrs::detect_xss(input).is_injection())
}
