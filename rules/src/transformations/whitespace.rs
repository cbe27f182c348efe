//! Whitespace: `compressWhitespace`, `removeWhitespace`, `trim`, `trimLeft`,
//! `trimRight`.
//!
//! "Whitespace" is C `isspace` in the C locale (space, \t, \n, \v, \f, \r).
//! removeWhitespace also drops the bytes 0xA0 and 0xC2 (the non-breaking
//! space, alone or as the two bytes of its UTF-8 form, each wherever it
//! occurs), as libmodsecurity 3.0.9 does; compressWhitespace and the trims
//! do not.

use std::borrow::Cow;

use super::is_c_space;

/// `compressWhitespace`: each run of whitespace becomes one space.
pub(super) fn compress(input: &[u8]) -> Cow<'_, [u8]> {
    // Unchanged unless some whitespace byte is not a lone ' '.
    let needs_work = input.iter().enumerate().any(|(i, &b)| {
        is_c_space(b) && (b != b' ' || input.get(i + 1).is_some_and(|&n| is_c_space(n)))
    });
    if !needs_work {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut in_space = false;
    for &b in input {
        if is_c_space(b) {
            if !in_space {
                out.push(b' ');
                in_space = true;
            }
        } else {
            out.push(b);
            in_space = false;
        }
    }
    Cow::Owned(out)
}

/// `removeWhitespace`: drops whitespace, 0xA0 and 0xC2.
pub(super) fn remove(input: &[u8]) -> Cow<'_, [u8]> {
    let gone = |b: u8| is_c_space(b) || b == 0xa0 || b == 0xc2;
    let Some(first) = input.iter().position(|&b| gone(b)) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    out.extend(input[first..].iter().copied().filter(|&b| !gone(b)));
    Cow::Owned(out)
}

/// `trim` (both ends), `trimLeft` (`left` only) and `trimRight` (`right` only).
pub(super) fn trim(input: &[u8], left: bool, right: bool) -> Cow<'_, [u8]> {
    let mut start = 0;
    let mut end = input.len();
    if right {
        while end > 0 && is_c_space(input[end - 1]) {
            end -= 1;
        }
    }
    if left {
        while start < end && is_c_space(input[start]) {
            start += 1;
        }
    }
    if start == 0 && end == input.len() {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(input[start..end].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn compress_whitespace_table() {
        check(
            CompressWhitespace,
            &[
                (b"", b""),
                (b"a b c", b"a b c"),
                (b"a  b", b"a b"),
                (b"  a \t\r\n\x0b\x0c b  ", b" a b "),
                (b"a\tb", b"a b"),
                (b"a\nb", b"a b"),
                (b"a\xa0b", b"a\xa0b"),
                (b"a \xa0 b", b"a \xa0 b"),
                (b"a\x00b", b"a\x00b"),
            ],
        );
    }

    #[test]
    fn remove_whitespace_table() {
        check(
            RemoveWhitespace,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b" a b\tc\r\nd\x0b\x0ce ", b"abcde"),
                (b"a\xa0b", b"ab"),
                (b"a\x00b", b"a\x00b"),
                (b"\xc2\xa0", b""),
                (b"a\xc2b\xc3\xa0", b"ab\xc3"),
            ],
        );
    }

    #[test]
    fn trim_tables() {
        check(
            Trim,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b" \t abc \r\n", b"abc"),
                (b"   ", b""),
                (b"\xa0a\xa0", b"\xa0a\xa0"),
                (b" a b ", b"a b"),
            ],
        );
        check(
            TrimLeft,
            &[
                (b"", b""),
                (b"abc ", b"abc "),
                (b" \t abc \r\n", b"abc \r\n"),
                (b"   ", b""),
            ],
        );
        check(
            TrimRight,
            &[
                (b"", b""),
                (b" abc", b" abc"),
                (b" \t abc \r\n", b" \t abc"),
                (b"   ", b""),
            ],
        );
    }
}
