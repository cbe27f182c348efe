//! URL encoding: `urlDecode`, `urlDecodeUni` and `urlEncode`.
//!
//! Decoding is lenient as in libmodsecurity: `+` becomes a space, `%HH` with
//! two hex digits becomes that byte, and any other `%` (too short or not hex)
//! is kept as is. `urlDecodeUni` also takes the IIS `%uHHHH` form, keeping only
//! the low byte of the code unit, except that full-width ASCII (U+FF01 to
//! U+FF5E) is folded to its ASCII twin; a malformed `%u` keeps both `%` and
//! `u`. (ModSecurity can consult a `SecUnicodeMapFile` table for `%u`; this
//! engine has none, which is ModSecurity's behaviour without that directive.)

use std::borrow::Cow;

use memchr::memchr2;

use super::{fold_full_width, is_hex, owned_if_changed, x2c};

/// `urlDecode`.
pub(super) fn url_decode(input: &[u8]) -> Cow<'_, [u8]> {
    decode(input, false)
}

/// `urlDecodeUni`.
pub(super) fn url_decode_uni(input: &[u8]) -> Cow<'_, [u8]> {
    decode(input, true)
}

fn decode(input: &[u8], uni: bool) -> Cow<'_, [u8]> {
    let Some(first) = memchr2(b'%', b'+', input) else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < len {
        // Copy the plain run up to the next special byte in one go.
        let Some(off) = memchr2(b'%', b'+', &input[i..]) else {
            out.extend_from_slice(&input[i..]);
            break;
        };
        out.extend_from_slice(&input[i..i + off]);
        i += off;
        if input[i] == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        // input[i] == '%'
        if uni && i + 1 < len && (input[i + 1] | 0x20) == b'u' {
            if i + 5 < len && input[i + 2..i + 6].iter().all(|&b| is_hex(b)) {
                let low = x2c(input[i + 4], input[i + 5]);
                out.push(fold_full_width(low, input[i + 2], input[i + 3]));
                i += 6;
            } else {
                out.extend_from_slice(&input[i..i + 2]);
                i += 2;
            }
        } else if i + 2 < len && is_hex(input[i + 1]) && is_hex(input[i + 2]) {
            out.push(x2c(input[i + 1], input[i + 2]));
            i += 3;
        } else {
            out.push(b'%');
            i += 1;
        }
    }
    owned_if_changed(input, out)
}

/// `urlEncode`: space becomes `+`; `*`, digits and ASCII letters stay; every
/// other byte becomes `%hh` with lower-case hex digits.
pub(super) fn url_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let keep = |b: u8| b == b'*' || b.is_ascii_alphanumeric();
    let Some(first) = input.iter().position(|&b| !keep(b)) else {
        return Cow::Borrowed(input);
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(input.len() + (input.len() - first) * 2);
    out.extend_from_slice(&input[..first]);
    for &b in &input[first..] {
        if keep(b) {
            out.push(b);
        } else if b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn url_decode_table() {
        check(
            UrlDecode,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b"a+b", b"a b"),
                (b"%41%42%43", b"ABC"),
                (b"%2b%2B", b"++"),
                (b"%00x", b"\x00x"),
                (b"%ff", b"\xff"),
                (b"%", b"%"),
                (b"%4", b"%4"),
                (b"%zz", b"%zz"),
                (b"%4g1", b"%4g1"),
                (b"100%", b"100%"),
                (b"%%41", b"%A"),
                (b"%u0041", b"%u0041"),
                (b"%2541", b"%41"),
            ],
        );
    }

    #[test]
    fn url_decode_uni_table() {
        check(
            UrlDecodeUni,
            &[
                (b"abc", b"abc"),
                (b"+%41", b" A"),
                (b"%u0041", b"A"),
                (b"%U0041", b"A"),
                (b"a%u0041b", b"aAb"),
                // Only the low byte survives outside the full-width range.
                (b"%u1234", b"4"),
                (b"%u00e9", b"\xe9"),
                // Full width U+FF01..U+FF5E → ASCII 0x21..0x7E.
                (b"%uff01", b"!"),
                (b"%uFF1C", b"<"),
                (b"%uff5e", b"~"),
                (b"%uFf3c%uFF53", b"\\s"),
                // Outside the range: plain low byte.
                (b"%uff5f", b"_"),
                (b"%uff00", b"\x00"),
                (b"%ufe01", b"\x01"),
                // Malformed %u keeps both characters.
                (b"%u", b"%u"),
                (b"%u00", b"%u00"),
                (b"%u004", b"%u004"),
                (b"%u004G", b"%u004G"),
                (b"%u%41", b"%uA"),
                (b"%zz", b"%zz"),
                (b"%4", b"%4"),
                (b"%", b"%"),
                (b"%u0000x", b"\x00x"),
            ],
        );
    }

    #[test]
    fn url_encode_table() {
        check(
            UrlEncode,
            &[
                (b"", b""),
                (b"abcXYZ019*", b"abcXYZ019*"),
                (b"a b", b"a+b"),
                (b"a+b", b"a%2bb"),
                (b"/?=&-_.~", b"%2f%3f%3d%26%2d%5f%2e%7e"),
                (b"\x00\xff", b"%00%ff"),
            ],
        );
    }
}
