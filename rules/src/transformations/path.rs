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
    let has_sep = if win {
        memchr2(b'/', b'\\', input).is_some()
    } else {
        memchr(b'/', input).is_some()
    };
    if input.is_empty() || (!has_sep && memchr(b'.', input).is_none()) || already_normal(input, win)
    {
        return Cow::Borrowed(input);
    }
    let mut buf = Lazy {
        data: Cow::Borrowed(input),
    };
    let len = normalize_in_place(&mut buf, win);
    match buf.data {
        Cow::Borrowed(b) if len == b.len() => Cow::Borrowed(b),
        Cow::Borrowed(b) => Cow::Owned(b[..len].to_vec()),
        Cow::Owned(mut v) => {
            v.truncate(len);
            super::owned_if_changed(input, v)
        }
    }
}

/// A conservative test for input the pass would copy unchanged: no
/// backslash (Windows form), no empty segment except a leading one (absolute
/// path) or a trailing one (trailing slash), and no segment ending in `.`
/// (the pass treats any segment ending in `..` as a back-reference, and one
/// that is `.` as a self-reference). Typical values (e-mail addresses, user
/// agents, plain words) pass it and skip the pass entirely.
fn already_normal(input: &[u8], win: bool) -> bool {
    if win && memchr(b'\\', input).is_some() {
        return false;
    }
    let n = input.len();
    let mut start = 0;
    loop {
        let end = memchr(b'/', &input[start..]).map_or(n, |p| start + p);
        let segment = &input[start..end];
        if segment.is_empty() {
            let leading = start == 0 && end < n;
            let trailing = end == n && start > 0;
            if !(leading || trailing) {
                return false;
            }
        } else if segment.last() == Some(&b'.') {
            return false;
        }
        if end == n {
            return true;
        }
        start = end + 1;
    }
}

/// The working buffer: it borrows the input until the first write that
/// actually changes a byte, so paths that are already normal cost no copy.
struct Lazy<'a> {
    data: Cow<'a, [u8]>,
}

impl Lazy<'_> {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn at(&self, i: isize) -> u8 {
        self.data[i as usize]
    }

    fn set(&mut self, i: isize, b: u8) {
        if self.data[i as usize] != b {
            self.data.to_mut()[i as usize] = b;
        }
    }
}

/// Normalises `buf` in place and returns the new length. `buf` is not empty.
///
/// `src` reads ahead of `dst`, which writes into the same buffer; `dst` may
/// move back over already written output when a segment is removed. Indices
/// are signed because removing `..` steps `dst` back by three before checking
/// whether it went past the start.
fn normalize_in_place(buf: &mut Lazy<'_>, win: bool) -> usize {
    let is_sep = |b: u8| b == b'/' || (win && b == b'\\');
    let end = buf.len() as isize - 1;
    let relative = !is_sep(buf.at(0));
    let trailing = is_sep(buf.at(end));

    let mut src: isize = 0;
    let mut dst: isize = 0;
    let mut hitroot = false;
    let mut done = false;

    while !done && src <= end && dst <= end {
        if win {
            if buf.at(src) == b'\\' {
                buf.set(src, b'/');
            }
            if src < end && buf.at(src + 1) == b'\\' {
                buf.set(src + 1, b'/');
            }
        }

        // Normalisation happens at the end of a path segment (before a '/')
        // and at the end of the input; everywhere else the byte is copied.
        let at_segment_end = if src == end {
            done = true;
            true
        } else {
            buf.at(src + 1) == b'/'
        };

        if at_segment_end && !(src != end && buf.at(src) == b'/') {
            if buf.at(src) == b'.' {
                if dst > 0 && buf.at(dst - 1) == b'.' {
                    // A back-reference "..".
                    if relative && (hitroot || dst - 2 <= 0) {
                        // Nothing to remove: keep it as it is.
                        hitroot = true;
                    } else {
                        // Remove ".." and the segment before it.
                        dst -= 3;
                        while dst > 0 && buf.at(dst) != b'/' {
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
                } else if buf.at(dst - 1) == b'/' {
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
        if buf.at(src) == b'/' {
            while src < end && is_sep(buf.at(src + 1)) {
                src += 1;
            }
            // A relative path does not start with the separator.
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        let b = buf.at(src);
        buf.set(dst, b);
        dst += 1;
        src += 1;
    }

    // No trailing slash in the output unless the input had one.
    if !trailing && dst > 0 && buf.at(dst - 1) == b'/' {
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

    /// The shortcut must only ever claim "unchanged" when the full pass
    /// agrees.
    #[test]
    fn already_normal_agrees_with_the_pass() {
        let pieces: &[&[u8]] = &[b"/", b"//", b".", b"..", b"a", b"b.", b"\\", b"x.y", b"..."];
        let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
        let mut checked = 0;
        while let Some(s) = stack.pop() {
            for win in [false, true] {
                if !s.is_empty() && super::already_normal(&s, win) {
                    let mut buf = super::Lazy {
                        data: std::borrow::Cow::Borrowed(&s[..]),
                    };
                    let len = super::normalize_in_place(&mut buf, win);
                    assert_eq!(
                        &buf.data[..len],
                        &s[..],
                        "{:?} win={win}",
                        String::from_utf8_lossy(&s)
                    );
                    checked += 1;
                }
            }
            if s.len() < 9 {
                for p in pieces {
                    let mut t = s.clone();
                    t.extend_from_slice(p);
                    stack.push(t);
                }
            }
        }
        assert!(checked > 1000, "{checked}");
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
