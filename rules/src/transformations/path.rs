//! `normalizePath` (`normalisePath`) and `normalizePathWin` (`normalisePathWin`).
//!
//! A single left-to-right pass, as in libmodsecurity: runs of `/` collapse to
//! one, `./` self-references disappear, and `seg/../` removes the segment
//! before it, never climbing above the root of an absolute path. In a relative
//! path a back-reference with nothing left to remove is kept (`../a` stays),
//! and the leading `/` of what remains is dropped. A trailing `/` is kept only
//! if the input had one. The Windows form first turns `\` into `/`, with one
//! quirk kept for fidelity: a backslash that ends a run of several separators
//! is copied as it is.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

pub(super) fn normalize(input: &[u8], win: bool) -> Cow<'_, [u8]> {
    // Without any separator or dot there is nothing to normalise.
    let has_sep = if win { memchr2(b'/', b'\\', input).is_some() } else { memchr(b'/', input).is_some() };
    if input.is_empty() || (!has_sep && memchr(b'.', input).is_none()) {
        return Cow::Borrowed(input);
    }
    let mut buf = input.to_vec();
    let len = normalize_in_place(&mut buf, win);
    buf.truncate(len);
    super::owned_if_changed(input, buf)
}

/// Normalises `buf` in place and returns the new length. `buf` is not empty.
///
/// `src` reads ahead of `dst`, which writes into the same buffer; `dst` may
/// move back over already written output when a segment is removed. Indices
/// are signed because removing `..` steps `dst` back by three before checking
/// whether it went past the start.
fn normalize_in_place(buf: &mut [u8], win: bool) -> usize {
    let is_sep = |b: u8| b == b'/' || (win && b == b'\\');
    let end = buf.len() as isize - 1;
    let relative = !is_sep(buf[0]);
    let trailing = is_sep(buf[end as usize]);
    let at = |buf: &[u8], i: isize| buf[i as usize];

    let mut src: isize = 0;
    let mut dst: isize = 0;
    let mut hitroot = false;
    let mut done = false;

    while !done && src <= end && dst <= end {
        if win {
            if at(buf, src) == b'\\' {
                buf[src as usize] = b'/';
            }
            if src < end && at(buf, src + 1) == b'\\' {
                buf[(src + 1) as usize] = b'/';
            }
        }

        // Normalisation happens at the end of a path segment (before a '/')
        // and at the end of the input; everywhere else the byte is copied.
        let at_segment_end = if src == end {
            done = true;
            true
        } else {
            at(buf, src + 1) == b'/'
        };

        if at_segment_end && !(src != end && at(buf, src) == b'/') {
            if at(buf, src) == b'.' {
                if dst > 0 && at(buf, dst - 1) == b'.' {
                    // A back-reference "..".
                    if relative && (hitroot || dst - 2 <= 0) {
                        // Nothing to remove: keep it as it is.
                        hitroot = true;
                    } else {
                        // Remove ".." and the segment before it.
                        dst -= 3;
                        while dst > 0 && at(buf, dst) != b'/' {
                            dst -= 1;
                        }
                        if dst <= 0 {
                            hitroot = true;
                            dst = 0;
                            // Keep the root slash of an absolute path that
                            // ends on a back-reference.
                            if !relative && src == end {
                                dst += 1;
                            }
                        }
                        if done {
                            continue;
                        }
                        src += 1;
                    }
                } else if dst == 0 {
                    // Relative self-reference at the start.
                    if done {
                        continue;
                    }
                    src += 1;
                } else if at(buf, dst - 1) == b'/' {
                    // Self-reference "/.".
                    if done {
                        continue;
                    }
                    dst -= 1;
                    src += 1;
                }
            } else if dst > 0 {
                // A regular segment.
                hitroot = false;
            }
        }

        // Copy one byte, collapsing a run of separators onto its last one.
        if at(buf, src) == b'/' {
            while src < end && is_sep(at(buf, src + 1)) {
                src += 1;
            }
            // A relative path does not start with the separator.
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        buf[dst as usize] = buf[src as usize];
        dst += 1;
        src += 1;
    }

    // No trailing slash in the output unless the input had one.
    if !trailing && dst > 0 && at(buf, dst - 1) == b'/' {
        dst -= 1;
    }
    dst as usize
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn normalize_path_table() {
        check(
            NormalizePath,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b"/a/b/c", b"/a/b/c"),
                (b"/a/b/../c", b"/a/c"),
                (b"/a/./b", b"/a/b"),
                (b"a/./b", b"a/b"),
                (b"./a", b"a"),
                (b"a//b", b"a/b"),
                (b"//a///b//", b"/a/b/"),
                (b"a/b/", b"a/b/"),
                (b"/../a", b"/a"),
                (b"/../../../etc/passwd", b"/etc/passwd"),
                (b"../a", b"../a"),
                (b"../../a", b"../../a"),
                (b"a/../../b", b"../b"),
                (b"a/b/../../..", b".."),
                (b"/a/..", b""),
                (b"a/..", b""),
                (b"/.", b""),
                (b".", b""),
                (b"./", b""),
                (b"..", b".."),
                (b"xy..", b""),
                (b"a.", b"a."),
                (b"/a/b/.", b"/a/b"),
                (b"/a/b/..", b"/a"),
                (b"/a/b/../", b"/a/"),
                (b"/foo/bar/../../../x", b"/x"),
                (b"/index.php/../../../etc/passwd", b"/etc/passwd"),
                (b"a\\..\\b", b"a\\..\\b"),
            ],
        );
    }

    #[test]
    fn normalize_path_win_table() {
        check(
            NormalizePathWin,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b"a\\b", b"a/b"),
                (b"a\\b\\..\\c", b"a/c"),
                (b"C:\\a\\..\\..\\x", b"x"),
                (b"\\windows\\.\\system32\\", b"/windows/system32/"),
                (b"..\\..\\boot.ini", b"../../boot.ini"),
                // A backslash closing a run of separators is copied as is.
                (b"a//\\b", b"a\\b"),
            ],
        );
    }
}
