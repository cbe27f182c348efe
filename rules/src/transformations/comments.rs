//! Comment handling: `removeComments`, `removeCommentsChar`, `replaceComments`.
//!
//! removeComments drops `/* ... */` and `<!-- ... -->` comments and cuts the
//! value at `--` or `#` (SQL/shell line comments run to the end). As in
//! libmodsecurity, the byte right after a closing `*/` or `-->` is copied
//! without being examined (so a comment opening right there survives), and
//! when the comment closes at the very end that byte is the terminating NUL,
//! which ends up in the output. An unclosed comment becomes one space.
//!
//! removeCommentsChar only deletes the comment markers `/*`, `*/`, `<!--`,
//! `-->`, `--` and `#`, keeping what is between them.
//!
//! replaceComments turns each `/* ... */` (or an unclosed `/* ...` at the end)
//! into a single space.

use std::borrow::Cow;

use memchr::{memchr, memchr3};

pub(super) fn remove_comments(input: &[u8]) -> Cow<'_, [u8]> {
    // Nothing to do without any of the bytes that can start a marker.
    if memchr3(b'/', b'<', b'-', input).is_none() && memchr(b'#', input).is_none() {
        return Cow::Borrowed(input);
    }
    let len = input.len();
    // The original works on a NUL-terminated copy and may read its terminator.
    let at = |i: usize| input.get(i).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    let mut in_comment = false;
    while i < len {
        if !in_comment {
            if input[i..].starts_with(b"/*") {
                in_comment = true;
                i += 2;
            } else if input[i..].starts_with(b"<!--") {
                in_comment = true;
                i += 4;
            } else if input[i..].starts_with(b"--") || input[i] == b'#' {
                break;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else if input[i..].starts_with(b"*/") {
            in_comment = false;
            out.push(at(i + 2));
            i += 3;
        } else if input[i..].starts_with(b"-->") {
            in_comment = false;
            out.push(at(i + 3));
            i += 4;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    super::owned_if_changed(input, out)
}

pub(super) fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr3(b'/', b'<', b'-', input).is_none() && memchr(b'#', input).is_none() {
        return Cow::Borrowed(input);
    }
    // Markers are erased at the scan position and the scan re-examines the
    // same position, which then holds the rest of the input: so matching
    // always happens against the untouched remainder.
    let mut out = Vec::with_capacity(input.len());
    let mut k = 0;
    while k < input.len() {
        let rest = &input[k..];
        let skip = if rest.starts_with(b"/*") || rest.starts_with(b"*/") {
            2
        } else if rest.starts_with(b"<!--") {
            4
        } else if rest.starts_with(b"-->") {
            3
        } else if rest.starts_with(b"--") {
            2
        } else if rest[0] == b'#' {
            1
        } else {
            out.push(rest[0]);
            1
        };
        k += skip;
    }
    super::owned_if_changed(input, out)
}

pub(super) fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memmem::find(input, b"/*") else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut rest = &input[first + 2..];
    loop {
        // Inside a comment.
        match memchr::memmem::find(rest, b"*/") {
            None => {
                out.push(b' ');
                break;
            }
            Some(end) => {
                out.push(b' ');
                rest = &rest[end + 2..];
            }
        }
        // Outside a comment.
        match memchr::memmem::find(rest, b"/*") {
            None => {
                out.extend_from_slice(rest);
                break;
            }
            Some(start) => {
                out.extend_from_slice(&rest[..start]);
                rest = &rest[start + 2..];
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn remove_comments_table() {
        check(
            RemoveComments,
            &[
                (b"", b""),
                (b"plain", b"plain"),
                (b"a/*b*/c", b"ac"),
                (b"UNION/**/SELECT", b"UNIONSELECT"),
                (b"a<!--b-->c", b"ac"),
                (b"a--b", b"a"),
                (b"a#b", b"a"),
                (b"--", b""),
                (b"a-b", b"a-b"),
                (b"ab-", b"ab-"),
                (b"a/*b", b"a "),
                (b"a<!--b", b"a "),
                (b"a/b", b"a/b"),
                // The byte after a closing marker is copied unexamined...
                (b"/*a*//*b*/c", b"/*b*/c"),
                (b"/*a*/#b", b"#b"),
                // ...and at the very end it is the C string terminator.
                (b"a/*b*/", b"a\x00"),
                (b"a<!--b-->", b"a\x00"),
                (b"/**/", b"\x00"),
                (b"a/*-->b", b"ab"),
            ],
        );
    }

    #[test]
    fn remove_comments_char_table() {
        check(
            RemoveCommentsChar,
            &[
                (b"", b""),
                (b"plain", b"plain"),
                (b"a/*b*/c", b"abc"),
                (b"a<!--b-->c", b"abc"),
                (b"a--b#c", b"abc"),
                (b"a-b", b"a-b"),
                (b"/*/", b"/"),
                (b"/#*", b"/*"),
                (b"--->", b"->"),
                (b"<!---->", b""),
                (b"#", b""),
            ],
        );
    }

    #[test]
    fn replace_comments_table() {
        check(
            ReplaceComments,
            &[
                (b"", b""),
                (b"plain", b"plain"),
                (b"a/*b*/c", b"a c"),
                (b"UNION/**/SELECT", b"UNION SELECT"),
                (b"a/*b", b"a "),
                (b"a/*", b"a "),
                (b"/*a*//*b*/", b"  "),
                (b"a*/b", b"a*/b"),
                (b"a/*/b", b"a "),
                (b"a--b#c", b"a--b#c"),
            ],
        );
    }
}
