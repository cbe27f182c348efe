//! Byte-wise mappings: `lowercase`, `uppercase`, `parityEven7bit`,
//! `parityOdd7bit`, `parityZero7bit`, `removeNulls`, `replaceNulls`.
//!
//! Case mapping is ASCII only (C locale). The parity transformations set or
//! clear bit 7 from the parity of the whole byte as libmodsecurity computes
//! it (all eight bits, so an input byte with bit 7 already set counts it):
//! even parity sets bit 7 when that parity is odd, odd parity sets it when
//! that parity is even; parityZero7bit clears bit 7.

use std::borrow::Cow;

use memchr::memchr;

pub(super) fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(u8::is_ascii_uppercase) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.to_ascii_lowercase())
}

pub(super) fn uppercase(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(u8::is_ascii_lowercase) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.to_ascii_uppercase())
}

#[derive(Clone, Copy)]
pub(super) enum Parity {
    Even,
    Odd,
    Zero,
}

pub(super) fn parity(input: &[u8], kind: Parity) -> Cow<'_, [u8]> {
    let map = |b: u8| -> u8 {
        let odd = b.count_ones() % 2 == 1;
        let set = match kind {
            Parity::Even => odd,
            Parity::Odd => !odd,
            Parity::Zero => false,
        };
        if set {
            b | 0x80
        } else {
            b & 0x7f
        }
    };
    if input.iter().all(|&b| map(b) == b) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.iter().map(|&b| map(b)).collect())
}

pub(super) fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr(0, input) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    out.extend(input[first..].iter().copied().filter(|&b| b != 0));
    Cow::Owned(out)
}

pub(super) fn replace_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr(0, input).is_none() {
        return Cow::Borrowed(input);
    }
    Cow::Owned(
        input
            .iter()
            .map(|&b| if b == 0 { b' ' } else { b })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use crate::transformations::tests::check;
    use crate::transformations::Transformation::*;

    #[test]
    fn case_tables() {
        check(
            Lowercase,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b"AbC\x00Z", b"abc\x00z"),
                (b"\xc3\x89 \xc0", b"\xc3\x89 \xc0"),
                (b"SELECT @@", b"select @@"),
            ],
        );
        check(
            Uppercase,
            &[
                (b"", b""),
                (b"ABC", b"ABC"),
                (b"aBc\x00z", b"ABC\x00Z"),
                (b"\xe9\xff", b"\xe9\xff"),
            ],
        );
    }

    #[test]
    fn parity_tables() {
        check(
            ParityEven7bit,
            &[
                (b"", b""),
                (b"a", b"\xe1"),
                (b"\xe1", b"a"),
                (b"c", b"c"),
                (b"\x01\x80\x81\x00", b"\x81\x80\x01\x00"),
            ],
        );
        check(
            ParityOdd7bit,
            &[
                (b"", b""),
                (b"a", b"a"),
                (b"\xe1", b"\xe1"),
                (b"c", b"\xe3"),
                (b"\x01\x80\x81\x00", b"\x01\x00\x81\x80"),
            ],
        );
        check(
            ParityZero7bit,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b"\xe1\xff\x80", b"a\x7f\x00"),
            ],
        );
    }

    #[test]
    fn null_tables() {
        check(
            RemoveNulls,
            &[
                (b"", b""),
                (b"abc", b"abc"),
                (b"\x00a\x00\x00b\x00", b"ab"),
                (b"\x00", b""),
            ],
        );
        check(
            ReplaceNulls,
            &[(b"", b""), (b"abc", b"abc"), (b"\x00a\x00\x00b", b" a  b")],
        );
    }
}
