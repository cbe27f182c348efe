//! `escapeSeqDecode`: ANSI C escape sequences.
//!
//! `\a \b \f \n \r \t \v \\ \? \' \"` are the usual characters, `\xHH` (or
//! `\XHH`) with two hex digits is a byte, and `\` with one to three octal
//! digits is their value truncated to a byte (so `\777` is 0xFF, as in
//! libmodsecurity, unlike jsDecode which stops at two digits). Any other
//! `\C`, including a malformed `\x`, drops the backslash and keeps `C`; a
//! trailing lone backslash stays.

use std::borrow::Cow;

use memchr::memchr;

use super::{is_hex, is_odigit, owned_if_changed, x2c};

pub(super) fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr(b'\\', input) else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < len {
        let Some(off) = memchr(b'\\', &input[i..]) else {
            out.extend_from_slice(&input[i..]);
            break;
        };
        out.extend_from_slice(&input[i..i + off]);
        i += off;
        let Some(&c) = input.get(i + 1) else {
            out.push(b'\\');
            break;
        };
        let simple = match c {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'?' | b'\'' | b'"' => Some(c),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
        } else if (c | 0x20) == b'x' && i + 3 < len && is_hex(input[i + 2]) && is_hex(input[i + 3])
        {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if is_odigit(c) {
            let n = input[i + 1..]
                .iter()
                .take(3)
                .take_while(|&&b| is_odigit(b))
                .count();
            let value = input[i + 1..i + 1 + n]
                .iter()
                .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 1 + n;
        } else {
            out.push(c);
            i += 2;
        }
    }
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn escape_seq_decode_table() {
        check(
            EscapeSeqDecode,
            &[
                (b"", b""),
                (b"plain", b"plain"),
                (b"\\a\\b\\f\\n\\r\\t\\v", b"\x07\x08\x0c\n\r\t\x0b"),
                (b"\\\\\\?\\'\\\"", b"\\?'\""),
                (b"\\x41\\X42", b"AB"),
                (b"\\x4", b"x4"),
                (b"\\xzz", b"xzz"),
                (b"\\101", b"A"),
                (b"\\1011", b"A1"),
                (b"\\0", b"\x00"),
                (b"\\08", b"\x008"),
                (b"\\777", b"\xff"),
                (b"\\400", b"\x00"),
                (b"\\q", b"q"),
                (b"\\u0041", b"u0041"),
                (b"abc\\", b"abc\\"),
                (b"\\", b"\\"),
            ],
        );
    }
}
