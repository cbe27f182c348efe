//! `jsDecode` and `cssDecode`: backslash escapes of JavaScript and CSS.
//!
//! jsDecode: `\uHHHH` keeps the low byte (full-width ASCII folded, as in
//! urlDecodeUni), `\xHH` is a byte, `\OOO` is up to three octal digits (only
//! two when the first is above 3, so the value fits a byte), `\a \b \f \n \r
//! \t \v` are the control characters, and any other `\C` is `C`. Escape
//! letters are case-sensitive (`\U`, `\X` are just `U`, `X`). A trailing lone
//! backslash stays.
//!
//! cssDecode: `\` followed by 1 to 6 hex digits is a code point of which the
//! last two digits give the byte (a single digit is its own value); with 4
//! digits, or 5/6 digits led by `0`/`00`, full-width ASCII is folded. One
//! whitespace after a hex escape is swallowed. `\` + newline is a line
//! continuation (both go), `\` + other is that character, and a trailing lone
//! backslash is dropped. The result ends at its first NUL byte, whether the
//! NUL was in the input or decoded (libmodsecurity 3.0.9 reads the decoded
//! buffer back as a C string).

use std::borrow::Cow;

use memchr::memchr;

use super::{fold_full_width, hex_val, is_c_space, is_hex, is_odigit, owned_if_changed, x2c};

pub(super) fn js_decode(input: &[u8]) -> Cow<'_, [u8]> {
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
        let next = input.get(i + 1).copied();
        if next == Some(b'u') && i + 5 < len && input[i + 2..i + 6].iter().all(|&b| is_hex(b)) {
            let low = x2c(input[i + 4], input[i + 5]);
            out.push(fold_full_width(low, input[i + 2], input[i + 3]));
            i += 6;
        } else if next == Some(b'x') && i + 3 < len && is_hex(input[i + 2]) && is_hex(input[i + 3])
        {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if let Some(c) = next.filter(|&c| is_odigit(c)) {
            // Up to three octal digits; a leading digit above 3 allows two.
            let max = if c > b'3' { 2 } else { 3 };
            let n = input[i + 1..]
                .iter()
                .take(max)
                .take_while(|&&b| is_odigit(b))
                .count();
            let value = input[i + 1..i + 1 + n]
                .iter()
                .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 1 + n;
        } else if let Some(c) = next {
            out.push(match c {
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            });
            i += 2;
        } else {
            // Lone trailing backslash.
            out.push(b'\\');
            i += 1;
        }
    }
    owned_if_changed(input, out)
}

pub(super) fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    // libmodsecurity reads its result back as a C string: everything from
    // the first NUL (in the input, or produced by an escape) is lost.
    let data = match memchr(0, input) {
        Some(n) => &input[..n],
        None => input,
    };
    let Some(first) = memchr(b'\\', data) else {
        return if data.len() == input.len() {
            Cow::Borrowed(input)
        } else {
            Cow::Owned(data.to_vec())
        };
    };
    let orig = input;
    let input = data;
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
        i += off + 1; // past the backslash
        if i >= len {
            // Trailing backslash: continuation to nothing.
            break;
        }
        let j = input[i..]
            .iter()
            .take(6)
            .take_while(|&&b| is_hex(b))
            .count();
        if j > 0 {
            let digits = &input[i..i + j];
            let byte = if j == 1 {
                hex_val(digits[0])
            } else {
                x2c(digits[j - 2], digits[j - 1])
            };
            let full_width_check = match j {
                4 => true,
                5 => digits[0] == b'0',
                6 => digits[0] == b'0' && digits[1] == b'0',
                _ => false,
            };
            let byte = if full_width_check {
                fold_full_width(byte, digits[j - 4], digits[j - 3])
            } else {
                byte
            };
            if byte == 0 {
                break;
            }
            out.push(byte);
            i += j;
            // One whitespace character after a hex escape is part of it.
            if i < len && is_c_space(input[i]) {
                i += 1;
            }
        } else if input[i] == b'\n' {
            i += 1;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    owned_if_changed(orig, out)
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn js_decode_table() {
        check(
            JsDecode,
            &[
                (b"", b""),
                (b"alert(1)", b"alert(1)"),
                (b"\\u0061lert", b"alert"),
                (b"\\u1261", b"a"),
                (b"\\uff1cscript\\uFF1E", b"<script>"),
                (b"\\uff5f", b"\x5f"),
                (b"\\U0061", b"U0061"),
                (b"\\u006", b"u006"),
                (b"\\u00zz", b"u00zz"),
                (b"\\x61\\x6C", b"al"),
                (b"\\X61", b"X61"),
                (b"\\x6", b"x6"),
                (b"\\x", b"x"),
                (b"\\141", b"a"),
                (b"\\0", b"\x00"),
                (b"\\08", b"\x008"),
                (b"\\1411", b"a1"),
                (b"\\377", b"\xff"),
                // A first digit above 3 limits the escape to two digits.
                (b"\\477", b"'7"),
                (b"\\7", b"\x07"),
                (b"\\a\\b\\f\\n\\r\\t\\v", b"\x07\x08\x0c\n\r\t\x0b"),
                (b"\\\"\\'\\\\\\?\\z", b"\"'\\?z"),
                (b"abc\\", b"abc\\"),
                (b"\\", b"\\"),
            ],
        );
    }

    #[test]
    fn css_decode_table() {
        check(
            CssDecode,
            &[
                (b"", b""),
                (b"color: red", b"color: red"),
                (b"\\61", b"a"),
                (b"\\61 b", b"ab"),
                (b"\\61\tb", b"ab"),
                (b"\\61  b", b"a b"),
                (b"\\a", b"\x0a"),
                (b"\\6", b"\x06"),
                (b"\\061", b"a"),
                (b"\\0061", b"a"),
                (b"\\1061", b"a"),
                (b"\\00061", b"a"),
                (b"\\000061", b"a"),
                (b"\\0000061", b"\x061"),
                (b"\\ff1c", b"<"),
                (b"\\FF3C", b"\\"),
                (b"\\0ff1c", b"<"),
                (b"\\00ff1c", b"<"),
                (b"\\1ff1c", b"\x1c"),
                (b"\\10ff1c", b"\x1c"),
                (b"\\ff5f", b"\x5f"),
                (b"java\\\nscript", b"javascript"),
                (b"\\z", b"z"),
                (b"\\\\", b"\\"),
                (b"\\'", b"'"),
                (b"abc\\", b"abc"),
                (b"\\", b""),
                (b"\\g", b"g"),
                // Output stops at the first NUL, input or decoded.
                (b"ab\x00cd", b"ab"),
                (b"\\61\x00\\62", b"a"),
                (b"a\\0 b", b"a"),
                (b"a\\0b", b"a\x0b"),
                (b"a\\00 b", b"a"),
                (b"a\\ff00", b"a"),
                (b"\x00", b""),
            ],
        );
    }
}
