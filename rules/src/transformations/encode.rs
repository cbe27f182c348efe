//! Byte encodings: `base64Decode`, `base64DecodeExt`, `base64Encode`,
//! `hexDecode`, `hexEncode`, `sqlHexDecode`.
//!
//! base64Decode is strict, as libmodsecurity's (which uses mbed TLS): the
//! input is read up to its first NUL byte, and any invalid character, a space
//! inside a line, more than two `=` or data after `=` makes the whole result
//! empty. Line breaks (`\n`, `\r\n`) may appear anywhere and trailing spaces
//! are allowed. Only complete 4-character groups produce output, so an
//! unpadded tail is dropped.
//!
//! base64DecodeExt is forgiving: characters outside the alphabet are skipped
//! and a short tail still yields its whole bytes. Two quirks of libmodsecurity
//! are kept: a `=` right after a group's first character (unless followed by
//! another `=`) empties the result, and so does ending on `9` (whose 6-bit
//! value equals the code of `=`, which the original then mistakes for
//! padding) right after a group's first character.
//!
//! hexDecode reads pairs of characters without validating them (a trailing
//! odd character is dropped). sqlHexDecode decodes `0xHH..` runs with
//! libmodsecurity's loop quirks: it stops at a NUL byte, never copies the
//! last input byte unless it directly follows a decoded run, copies the byte
//! after a run without looking at it, and truncates at a decoded NUL.

use std::borrow::Cow;

use base64::Engine as _;

use super::{is_hex, x2c};

/// Maps a byte to its 6-bit value in the standard alphabet, 64 for `=`, and
/// 127 for anything else (mbed TLS's decoding table).
fn b64_value(b: u8) -> u8 {
    match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        b'=' => 64,
        _ => 127,
    }
}

pub(super) fn base64_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let data = match memchr::memchr(0, input) {
        Some(n) => &input[..n],
        None => input,
    };
    if !strict_base64_valid(data) {
        return Cow::Owned(Vec::new());
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut pads = 0usize;
    let mut acc: u32 = 0;
    let mut n = 0;
    for &b in data {
        if matches!(b, b'\r' | b'\n' | b' ') {
            continue;
        }
        let v = b64_value(b);
        if v == 64 {
            pads += 1;
        }
        acc = (acc << 6) | u32::from(v & 0x3f);
        n += 1;
        if n == 4 {
            n = 0;
            let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
            out.extend_from_slice(&bytes[..3usize.saturating_sub(pads)]);
        }
    }
    Cow::Owned(out)
}

/// mbed TLS's validity pass over base64 text.
fn strict_base64_valid(data: &[u8]) -> bool {
    let len = data.len();
    let mut pads = 0;
    let mut i = 0;
    while i < len {
        let mut spaces = 0;
        while i < len && data[i] == b' ' {
            i += 1;
            spaces += 1;
        }
        if i == len {
            break; // trailing spaces are fine
        }
        let b = data[i];
        i += 1;
        if b == b'\n' || (b == b'\r' && data.get(i) == Some(&b'\n')) {
            continue;
        }
        if spaces != 0 {
            return false; // a space inside a line
        }
        if b == b'=' {
            pads += 1;
            if pads > 2 {
                return false;
            }
        }
        let v = b64_value(b);
        if v == 127 || (v < 64 && pads != 0) {
            return false;
        }
    }
    true
}

pub(super) fn base64_decode_ext(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let mut out = Vec::with_capacity(len / 4 * 3 + 3);
    let mut count = 0usize; // valid characters so far
    let mut acc: u32 = 0;
    // What the original keeps in `ch` at the end: '=' (61) or the last
    // character's table value (negative when skipped).
    let mut last: i32 = 0;
    for (idx, &b) in input.iter().enumerate() {
        if b == b'=' {
            last = 61;
            if count % 4 == 1 && input.get(idx + 1) != Some(&b'=') {
                return Cow::Owned(Vec::new());
            }
            continue;
        }
        let v = b64_value(b);
        if v >= 64 {
            last = -1;
            continue;
        }
        last = i32::from(v);
        acc = (acc << 6) | u32::from(v);
        count += 1;
        match count % 4 {
            2 => out.push((acc >> 4) as u8),
            3 => out.push((acc >> 2) as u8),
            0 => {
                out.push(acc as u8);
                acc = 0;
            }
            _ => {}
        }
    }
    if last == 61 && count % 4 == 1 {
        return Cow::Owned(Vec::new());
    }
    Cow::Owned(out)
}

pub(super) fn base64_encode(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(
        base64::engine::general_purpose::STANDARD
            .encode(input)
            .into_bytes(),
    )
}

pub(super) fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(input.chunks_exact(2).map(|p| x2c(p[0], p[1])).collect())
}

pub(super) fn hex_encode(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(hex::encode(input).into_bytes())
}

pub(super) fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    if len == 0 {
        return Cow::Borrowed(input);
    }
    // Reads as the original does from its NUL-terminated copy.
    let at = |i: usize| input.get(i).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    // The original's loop test `++count < len` with count == p + 1 means
    // "p < len - 1": the last byte is only reached through a decoded run.
    let mut p = 0usize;
    while p + 1 < len && at(p) != 0 {
        if at(p) == b'0' && at(p + 1) | 0x20 == b'x' && is_hex(at(p + 2)) && is_hex(at(p + 3)) {
            p += 2;
            while is_hex(at(p)) && is_hex(at(p + 1)) {
                out.push(x2c(at(p), at(p + 1)));
                p += 2;
            }
        }
        // The loop step copies the current byte unconditionally.
        out.push(at(p));
        p += 1;
    }
    // The result is read back as a C string.
    if let Some(n) = memchr::memchr(0, &out) {
        out.truncate(n);
    }
    super::owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn base64_decode_table() {
        check(
            Base64Decode,
            &[
                (b"", b""),
                (b"VGhpcyBpcyBhIHRlc3Q=", b"This is a test"),
                (b"YWJj", b"abc"),
                (b"YQ==", b"a"),
                (b"YWI=", b"ab"),
                (b"YWJjZA==", b"abcd"),
                (b"YWJjZGVm\nZ2hp", b"abcdefghi"),
                (b"YWJj\r\nZGVm", b"abcdef"),
                (b"YWJj  \n", b"abc"),
                (b"YWJj  ", b"abc"),
                (b"YQ==\n", b"a"),
                (b"YQ=\n=", b"a"),
                // Unpadded or short tails are dropped.
                (b"YWJjZA", b"abc"),
                (b"YWJjZGV", b"abc"),
                (b"YQ", b""),
                (b"YQ=", b""),
                // Anything invalid empties the result.
                (b"YWJj!", b""),
                (b"YWJj ZGVm", b""),
                (b"  YWJj", b""),
                (b"YWJj\rZGVm", b""),
                (b"YQ==YQ==", b""),
                (b"YW=j", b""),
                (b"YWJj====", b""),
                (b"-_-_", b""),
                (b"\xffYWJj", b""),
                // Reading stops at NUL.
                (b"YWJj\x00!!!", b"abc"),
                (b"\x00YWJj", b""),
            ],
        );
    }

    #[test]
    fn base64_decode_ext_table() {
        check(
            Base64DecodeExt,
            &[
                (b"", b""),
                (b"VGhpcyBpcyBhIHRlc3Q=", b"This is a test"),
                (b"YWJj", b"abc"),
                (b"YWJj ZGVm", b"abcdef"),
                (b"YWJj!ZGVm", b"abcdef"),
                (b"Y\nW\tJ j", b"abc"),
                (b"YWJj\x00ZGVm", b"abcdef"),
                (b"YQ", b"a"),
                (b"YQ=", b"a"),
                (b"YQ==", b"a"),
                (b"YWJjZA", b"abcd"),
                (b"YWJjZGV", b"abcde"),
                (b"YWJjZGV=", b"abcde"),
                (b"YQ==YQ==", b"a\x06\x10"),
                (b"YQ=a", b"a\x06"),
                (b"+/+/", b"\xfb\xff\xbf"),
                (b"-_-_", b""),
                (b"Y", b""),
                // '=' after a group's first character empties the output...
                (b"Y=", b""),
                (b"Y=Q", b""),
                (b"Y==", b""),
                (b"YWJjZ=", b""),
                (b"YWJjZ==", b""),
                (b"YWJjZ=a", b""),
                (b"=", b""),
                // ...and so does ending on '9' there.
                (b"YWJj9", b""),
                (b"YWJjQ", b"abc"),
                (b"YQ9", b"a\x0f"),
            ],
        );
    }

    #[test]
    fn base64_encode_table() {
        check(
            Base64Encode,
            &[
                (b"", b""),
                (b"a", b"YQ=="),
                (b"ab", b"YWI="),
                (b"abc", b"YWJj"),
                (b"This is a test", b"VGhpcyBpcyBhIHRlc3Q="),
                (b"\x00\xff\xfe", b"AP/+"),
            ],
        );
    }

    #[test]
    fn hex_tables() {
        check(
            HexDecode,
            &[
                (b"", b""),
                (b"414243", b"ABC"),
                (b"6a6B", b"jk"),
                (b"4", b""),
                (b"41424", b"AB"),
                (b"00ff", b"\x00\xff"),
                // Unvalidated: x2c arithmetic on non-hex characters.
                (b"zz", b"S"),
                (b"GG", b"\x10"),
            ],
        );
        check(
            HexEncode,
            &[
                (b"", b""),
                (b"abc", b"616263"),
                (b"\x00\xab\xff", b"00abff"),
            ],
        );
    }

    #[test]
    fn sql_hex_decode_table() {
        check(
            SqlHexDecode,
            &[
                (b"", b""),
                (b"0x414243", b"ABC"),
                (b"0X41", b"A"),
                (b"a0x41", b"aA"),
                (b"0x41z", b"Az"),
                (b"SELECT 0x61646d696e;", b"SELECT admin;"),
                (b"0x4142434", b"ABC4"),
                // The last byte is dropped unless it follows a decoded run.
                (b"abc", b"ab"),
                (b"a", b""),
                (b"0x4", b"0x"),
                (b"0xZZ", b"0xZ"),
                (b"x0x", b"x0"),
                // The byte after a run is copied without being examined.
                (b"0x410x42", b"A0x4"),
                // Stops at NUL, in the input or decoded.
                (b"a\x00b", b"a"),
                (b"0x0041xy", b""),
                (b"ab0x00", b"ab"),
            ],
        );
    }
}
