//! `utf8toUnicode`: each well-formed UTF-8 sequence of 2 to 4 bytes becomes
//! `%uhhhh` (lower-case hex, at least four digits, five or six above U+FFFF).
//!
//! libmodsecurity's decoder is loose and this reproduces it:
//! * ASCII passes through, except NUL bytes, which are dropped (the original
//!   builds a C string);
//! * a lead byte whose continuation bytes are missing or malformed is dropped
//!   and decoding resumes at the next byte;
//! * stray continuation bytes and 0xF8..0xFF pass through;
//! * 0xF5..0xF7 leads are copied before being decoded anyway;
//! * an overlong form (and a surrogate, U+D800..U+DFFF) is decoded and then
//!   followed by its raw lead byte.

use std::borrow::Cow;

pub(super) fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_ascii() && memchr::memchr(0, input).is_none() {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    let cont = |i: usize| input.get(i).is_some_and(|&b| b & 0xc0 == 0x80);
    let mut out = Vec::with_capacity(len + len / 2);
    let mut i = 0;
    while i < len {
        let c = input[i];
        let seq_len = if c & 0x80 == 0 {
            0
        } else if c & 0xe0 == 0xc0 {
            2
        } else if c & 0xf0 == 0xe0 {
            3
        } else if c & 0xf8 == 0xf0 {
            4
        } else {
            0
        };
        match seq_len {
            0 => {
                if c != 0 {
                    out.push(c);
                }
                i += 1;
            }
            n => {
                if n == 4 && c >= 0xf5 {
                    out.push(c);
                }
                if !(1..n).all(|k| cont(i + k)) {
                    i += 1;
                    continue;
                }
                let lead_bits = u32::from(c) & (0x7f >> n);
                let d = input[i + 1..i + n]
                    .iter()
                    .fold(lead_bits, |acc, &b| (acc << 6) | u32::from(b & 0x3f));
                push_code(&mut out, d);
                if (0xd800..=0xdfff).contains(&d) {
                    out.push(c);
                }
                let overlong = match n {
                    2 => d < 0x80,
                    3 => d < 0x800,
                    _ => d < 0x1_0000,
                };
                if overlong {
                    out.push(c);
                }
                i += n;
            }
        }
    }
    super::owned_if_changed(input, out)
}

/// Appends `%u` and the code point in lower-case hex, zero-padded to four.
fn push_code(out: &mut Vec<u8>, d: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"%u");
    let digits = if d > 0xf_ffff {
        6
    } else if d > 0xffff {
        5
    } else {
        4
    };
    for k in (0..digits).rev() {
        out.push(HEX[((d >> (4 * k)) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn utf8_to_unicode_table() {
        check(
            Utf8ToUnicode,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b"a\xc3\xa9b", b"a%u00e9b"),
                (b"\xe2\x82\xac", b"%u20ac"),
                (b"\xef\xbc\x9c", b"%uff1c"),
                (b"\xf0\x9f\x98\x80", b"%u1f600"),
                (b"\xf4\x8f\xbf\xbf", b"%u10ffff"),
                (b"a\x00b", b"ab"),
                (b"\x00", b""),
                // Malformed leads vanish; stray bytes pass through.
                (b"\xc3A", b"A"),
                (b"\xc3", b""),
                (b"x\xe2\x82", b"x\x82"),
                (b"\x80", b"\x80"),
                (b"\xff\xfe", b"\xff\xfe"),
                // Overlong forms and surrogates carry their lead byte after.
                (b"\xc0\x80", b"%u0000\xc0"),
                (b"\xc1\xbf", b"%u007f\xc1"),
                (b"\xe0\x80\xaf", b"%u002f\xe0"),
                (b"\xed\xa0\x80", b"%ud800\xed"),
                (b"\xf0\x80\x80\xaf", b"%u002f\xf0"),
                // 0xF5..0xF7 leads are copied first, then decoded.
                (b"\xf5\x80\x80\x80", b"\xf5%u140000"),
                (b"\xf7\xbf\xbf\xbf", b"\xf7%u1fffff"),
                (b"\xf5", b"\xf5"),
            ],
        );
    }
}
