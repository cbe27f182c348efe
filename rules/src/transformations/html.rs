//! `htmlEntityDecode`, with libmodsecurity's rules:
//!
//! * `&#DDD` and `&#xHHH` (`X` too) decode with or without the closing `;`
//!   (which is consumed when present); the value is read like C `strtol`,
//!   so anything past `LONG_MAX` saturates, and only its low byte is kept.
//! * Only five names are known, case-insensitively: `quot`, `amp`, `lt`, `gt`
//!   and `nbsp` (to byte 0xA0). A name is the whole run of ASCII letters and
//!   digits after `&`; an unknown name is left alone.
//! * An `&` that does not start a decodable entity is copied along with the
//!   part already looked at (`&#`, `&#x`, `&name`).

use std::borrow::Cow;

use memchr::memchr;

use super::owned_if_changed;

pub(super) fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr(b'&', input) else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < len {
        let Some(off) = memchr(b'&', &input[i..]) else {
            out.extend_from_slice(&input[i..]);
            break;
        };
        out.extend_from_slice(&input[i..i + off]);
        i += off;
        match entity(input, i) {
            Entity::Decoded { byte, next } => {
                out.push(byte);
                // Consume the optional terminating semicolon.
                i = if input.get(next) == Some(&b';') {
                    next + 1
                } else {
                    next
                };
            }
            Entity::Literal(n) => {
                out.extend_from_slice(&input[i..i + n]);
                i += n;
            }
        }
    }
    owned_if_changed(input, out)
}

enum Entity {
    /// Decoded to `byte`; the entity's body ends before `next`.
    Decoded { byte: u8, next: usize },
    /// Not an entity: copy this many bytes (at least the `&`) verbatim.
    Literal(usize),
}

/// Looks at the `&` at `amp`.
fn entity(input: &[u8], amp: usize) -> Entity {
    let len = input.len();
    let mut j = amp + 1;
    if j >= len {
        return Entity::Literal(1);
    }
    if input[j] == b'#' {
        j += 1;
        if j >= len {
            return Entity::Literal(2);
        }
        let (radix, start, prefix) = if input[j] | 0x20 == b'x' {
            if j + 1 >= len {
                return Entity::Literal(3);
            }
            (16, j + 1, 3)
        } else {
            (10, j, 2)
        };
        let digits = input[start..]
            .iter()
            .take_while(|b| {
                if radix == 16 {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if digits == 0 {
            return Entity::Literal(prefix);
        }
        let end = start + digits;
        Entity::Decoded {
            byte: strtol_low_byte(&input[start..end], radix),
            next: end,
        }
    } else {
        let name_len = input[j..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 {
            return Entity::Literal(1);
        }
        let name = &input[j..j + name_len];
        let byte = if name.eq_ignore_ascii_case(b"quot") {
            b'"'
        } else if name.eq_ignore_ascii_case(b"amp") {
            b'&'
        } else if name.eq_ignore_ascii_case(b"lt") {
            b'<'
        } else if name.eq_ignore_ascii_case(b"gt") {
            b'>'
        } else if name.eq_ignore_ascii_case(b"nbsp") {
            0xa0
        } else {
            return Entity::Literal(1 + name_len);
        };
        Entity::Decoded {
            byte,
            next: j + name_len,
        }
    }
}

/// The low byte of C `strtol(digits, radix)` on a 64-bit target: values past
/// `i64::MAX` saturate to it, whose low byte is 0xFF.
fn strtol_low_byte(digits: &[u8], radix: u32) -> u8 {
    let mut value: u64 = 0;
    for &d in digits {
        let v = u64::from(super::hex_val(d));
        match value
            .checked_mul(u64::from(radix))
            .and_then(|x| x.checked_add(v))
        {
            Some(x) if x <= i64::MAX as u64 => value = x,
            _ => return 0xff,
        }
    }
    value as u8
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn html_entity_decode_table() {
        check(
            HtmlEntityDecode,
            &[
                (b"", b""),
                (b"plain", b"plain"),
                (b"&lt;script&gt;", b"<script>"),
                (b"&LT;&Gt;&QUOT;&amp;", b"<>\"&"),
                (b"a&nbsp;b", b"a\xa0b"),
                (b"&lt", b"<"),
                (b"&ltx", b"&ltx"),
                (b"&lt x", b"< x"),
                (b"&apos;", b"&apos;"),
                (b"&copy;x", b"&copy;x"),
                (b"&#65;", b"A"),
                (b"&#65", b"A"),
                (b"&#65B", b"AB"),
                (b"&#0065;", b"A"),
                (b"&#x41;", b"A"),
                (b"&#X41", b"A"),
                (b"&#x6a&#x61", b"ja"),
                (b"&#x3C;", b"<"),
                // Only the low byte is kept.
                (b"&#321;", b"A"),
                (b"&#x141;", b"A"),
                (b"&#0;", b"\x00"),
                // Overflowing strtol saturates to LONG_MAX (low byte 0xFF).
                (b"&#99999999999999999999;", b"\xff"),
                (b"&#x10000000000000000;", b"\xff"),
                (b"&#x7fffffffffffff41;", b"A"),
                // Incomplete forms stay as they are.
                (b"&", b"&"),
                (b"&&", b"&&"),
                (b"&#", b"&#"),
                (b"&#;", b"&#;"),
                (b"&#x", b"&#x"),
                (b"&#x;", b"&#x;"),
                (b"&#xg", b"&#xg"),
                (b"& lt;", b"& lt;"),
                (b"&;", b"&;"),
                (b"&&lt;", b"&<"),
                (b"&amp;lt;", b"&lt;"),
            ],
        );
    }
}
