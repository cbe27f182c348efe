//! `application/x-www-form-urlencoded` bodies and query strings.
//!
//! Splitting and decoding follow libmodsecurity 3.0.9 (checked against it):
//!
//! - the input is cut at every separator byte (`&` unless
//!   `SecArgumentSeparator` says otherwise); an empty piece between two
//!   separators is still an argument with an empty name and value
//!   (`a=1&&b=2` gives three arguments), but a separator at the very end does
//!   not start another one (`a&` gives one);
//! - each piece is cut at its first `=`; without one, the whole piece is the
//!   name and the value is empty;
//! - name and value are URL-decoded leniently: `+` becomes a space, `%XX` with
//!   two hex digits becomes that byte, any other `%` stays as it is
//!   (`%zz`, `%4`, `%u0041` are kept verbatim).
//!
//! Decoding borrows from the input when nothing changes, so a query string
//! without `%` or `+` costs no allocation beyond the result vector.

use std::borrow::Cow;

/// A decoded (name, value) pair, borrowing from the input where possible.
pub type Pair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Splits `input` into decoded (name, value) pairs, in order.
pub fn parse(input: &[u8], separator: u8) -> Vec<Pair<'_>> {
    let mut out = Vec::new();
    if input.is_empty() {
        return out;
    }
    // A trailing separator closes the last piece without opening a new one.
    let body = match input.last() {
        Some(&last) if last == separator => &input[..input.len() - 1],
        _ => input,
    };
    for piece in body.split(|&b| b == separator) {
        let (name, value) = match memchr::memchr(b'=', piece) {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &piece[piece.len()..]),
        };
        out.push((urldecode(name), urldecode(value)));
    }
    out
}

/// Like [`parse`], with owned bytes (convenient where the input does not
/// outlive the result).
pub fn parse_owned(input: &[u8], separator: u8) -> Vec<super::Arg> {
    parse(input, separator)
        .into_iter()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// ModSecurity's lenient URL decoding (`+` → space, valid `%XX` → byte,
/// anything else unchanged). Borrows when the input has neither `+` nor `%`.
pub fn urldecode(input: &[u8]) -> Cow<'_, [u8]> {
    let first = match input.iter().position(|&b| b == b'+' || b == b'%') {
        Some(i) => i,
        None => return Cow::Borrowed(input),
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < input.len() {
        match input[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (input.get(i + 1).and_then(|&c| hex(c)), input.get(i + 2).and_then(|&c| hex(c))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str) -> Vec<(String, String)> {
        parse(input.as_bytes(), b'&')
            .into_iter()
            .map(|(n, v)| (String::from_utf8_lossy(&n).into_owned(), String::from_utf8_lossy(&v).into_owned()))
            .collect()
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    // Expected results below were observed on libmodsecurity 3.0.9
    // (debug log "Adding request argument (POST)").
    #[test]
    fn splits_like_modsecurity() {
        assert_eq!(
            pairs("a=1&&b=2&=x&c&d=&%zz=%41%4+x=1+2&e=f=g&&&h=%00z&%2B=%26&a%3db=c&=&x%u0041=1&"),
            vec![
                p("a", "1"),
                p("", ""),
                p("b", "2"),
                p("", "x"),
                p("c", ""),
                p("d", ""),
                p("%zz", "A%4 x=1 2"),
                p("e", "f=g"),
                p("", ""),
                p("", ""),
                p("h", "\0z"),
                p("+", "&"),
                p("a=b", "c"),
                p("", ""),
                p("x%u0041", "1"),
            ]
        );
    }

    #[test]
    fn edge_inputs() {
        assert!(pairs("").is_empty());
        assert_eq!(pairs("&"), vec![p("", "")]);
        assert_eq!(pairs("&&"), vec![p("", ""), p("", "")]);
        assert_eq!(pairs("="), vec![p("", "")]);
        assert_eq!(pairs("a"), vec![p("a", "")]);
        assert_eq!(pairs("a&"), vec![p("a", "")]);
        assert_eq!(pairs("%"), vec![p("%", "")]);
        assert_eq!(pairs("%4"), vec![p("%4", "")]);
        assert_eq!(pairs("%%41"), vec![p("%A", "")]);
        assert_eq!(pairs(" a = b "), vec![p(" a ", " b ")]);
    }

    #[test]
    fn other_separator() {
        let got: Vec<_> = parse(b"a=1;b=2&c", b';')
            .into_iter()
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(got, vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"2&c".to_vec())]);
    }

    #[test]
    fn borrows_when_unchanged() {
        let got = parse(b"abc=def&x=%41", b'&');
        assert!(matches!(got[0].0, Cow::Borrowed(_)));
        assert!(matches!(got[0].1, Cow::Borrowed(_)));
        assert!(matches!(got[1].1, Cow::Owned(_)));
        assert_eq!(&*got[1].1, b"A");
    }

    #[test]
    fn decoding() {
        assert_eq!(&*urldecode(b"%e2%82%AC+%2b"), "\u{20ac} +".as_bytes());
        assert_eq!(&*urldecode(b"100%"), b"100%");
        assert_eq!(&*urldecode(b"%G1%1"), b"%G1%1");
        assert_eq!(&*urldecode(b"\xff%ff"), b"\xff\xff");
    }
}
