//! `cmdLine`: normalises shell command lines so that evasions like
//! `c^md`, `"c"md`, `p\ing` or `ls ,/etc` look like the plain command.
//!
//! Per byte: `"`, `'`, `\` and `^` are deleted; a run of space, tab, CR, LF,
//! `,` and `;` becomes one space (the deleted bytes do not end a run); a space
//! right before `/` or `(` is dropped; everything else is lower-cased (ASCII).

use std::borrow::Cow;

pub(super) fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut space = false;
    for &b in input {
        match b {
            b'"' | b'\'' | b'\\' | b'^' => {}
            b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
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
                (b"C:\\Windows\\ \"SYS\"^tem32 ; /bin  (ls)", b"c:windows system32/bin(ls)"),
                (b"\xc3\x89", b"\xc3\x89"),
            ],
        );
    }
}
