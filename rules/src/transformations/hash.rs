//! Whole-input summaries: `md5` and `sha1` (raw binary digests, 16 and 20
//! bytes, usually followed by `t:hexEncode` in rules) and `length` (the byte
//! length as decimal ASCII).

use std::borrow::Cow;

use md5::{Digest as _, Md5};
use sha1::Sha1;

pub(super) fn md5(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(Md5::digest(input).to_vec())
}

pub(super) fn sha1(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(Sha1::digest(input).to_vec())
}

pub(super) fn length(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(input.len().to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn digests() {
        check(
            Md5,
            &[
                (
                    b"",
                    b"\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98\xec\xf8\x42\x7e",
                ),
                (
                    b"abc",
                    b"\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72",
                ),
            ],
        );
        check(
            Sha1,
            &[
                (b"", b"\xda\x39\xa3\xee\x5e\x6b\x4b\x0d\x32\x55\xbf\xef\x95\x60\x18\x90\xaf\xd8\x07\x09"),
                (b"abc", b"\xa9\x99\x3e\x36\x47\x06\x81\x6a\xba\x3e\x25\x71\x78\x50\xc2\x6c\x9c\xd0\xd8\x9d"),
            ],
        );
    }

    #[test]
    fn length_table() {
        check(
            Length,
            &[
                (b"", b"0"),
                (b"1", b"1"),
                (b"abc", b"3"),
                (b"\x00\x00", b"2"),
                (&[b'x'; 1234], b"1234"),
            ],
        );
    }
}
