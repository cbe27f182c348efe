//! `cmdLine`: normalises shell command lines so that evasions like
//! `c^md`, `"c"md`, `p\ing` or `ls ,/etc` look like the plain command.
//!
//! Per byte: `"`, `'`, `\` and `^` are deleted; a run of space, tab, CR, LF,
//! `,` and `;` becomes one space (the deleted bytes do not end a run); a space
//! right before `/` or `(` is dropped; everything else is lower-cased (ASCII).

use std::borrow::Cow;

pub(super) fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    let first = first_change(input);
    if first == input.len() {
        return Cow::Borrowed(input);
    }
    // The prefix comes out as it went in; the only state carried over is
    // whether it ended in a (kept) space.
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut space = first > 0 && input[first - 1] == b' ';
    for &b in &input[first..] {
        match CLASS[usize::from(b)] {
            DELETE => {}
            SPACE => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            OPENER => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(b);
            }
            _ => {
                out.push(b.to_ascii_lowercase());
                space = false;
            }
        }
    }
    super::owned_if_changed(input, out)
}

const OTHER: u8 = 0;
const DELETE: u8 = 1;
const SPACE: u8 = 2;
const OPENER: u8 = 3;
const UPPER: u8 = 4;

/// What cmdLine does with each byte.
const CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = UPPER;
        b += 1;
    }
    t[b'"' as usize] = DELETE;
    t[b'\'' as usize] = DELETE;
    t[b'\\' as usize] = DELETE;
    t[b'^' as usize] = DELETE;
    t[b' ' as usize] = SPACE;
    t[b',' as usize] = SPACE;
    t[b';' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[b'/' as usize] = OPENER;
    t[b'(' as usize] = OPENER;
    t
};

/// Index of the first byte cmdLine would not copy unchanged (or the length).
fn first_change(input: &[u8]) -> usize {
    let mut prev_space = false;
    for (i, &b) in input.iter().enumerate() {
        let changes = match CLASS[usize::from(b)] {
            OTHER => false,
            DELETE | UPPER => true,
            // A lone ' ' is kept; any other separator, a second one in a
            // row, or a space before '/' or '(' changes the output.
            SPACE => b != b' ' || prev_space,
            _ => prev_space,
        };
        if changes {
            return i;
        }
        prev_space = b == b' ';
    }
    input.len()
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn cmd_line_table() {
        check(
            CmdLine,
            &[
                (b"", b""),
                (b"ls -la", b"ls -la"),
                (b"c^md", b"cmd"),
                (b"\"c\"m'd'", b"cmd"),
                (b"p\\ing", b"ping"),
                (b"CMD.EXE", b"cmd.exe"),
                (b"ls  ,;\t\r\n-l", b"ls -l"),
                (b"ls /etc", b"ls/etc"),
                (b"echo (1)", b"echo(1)"),
                (b"a ^ b", b"a b"),
                (b"a ; ^ /x", b"a/x"),
                (b" x", b" x"),
                (b"x ", b"x "),
                (
                    b"C:\\Windows\\ \"SYS\"^tem32 ; /bin  (ls)",
                    b"c:windows system32/bin(ls)",
                ),
                (b"\xc3\x89", b"\xc3\x89"),
            ],
        );
    }
}
