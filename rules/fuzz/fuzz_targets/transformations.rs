//! Every transformation (`palisade_rules::transformations::ALL`) on arbitrary
//! bytes, then a chain of them as rules write `t:a,t:b,...`: the first input
//! byte gives the chain length (0 to 7), the next bytes pick the
//! transformations, the rest is the value transformed.
//!
//! Checked: `apply` returns `Borrowed` exactly when nothing changed (its
//! documented contract), and no output is more than 8 times its input plus a
//! small constant (a guard against runaway growth).
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::transformations::{Transformation, ALL};
use std::borrow::Cow;

fn checked<'a>(t: Transformation, input: &'a [u8]) -> Cow<'a, [u8]> {
    let out = t.apply(input);
    match &out {
        Cow::Borrowed(b) => assert!(*b == input, "{} returned Borrowed for a changed value", t.name()),
        Cow::Owned(v) => assert!(v.as_slice() != input, "{} returned Owned for an unchanged value", t.name()),
    }
    assert!(out.len() <= 8 * input.len() + 64, "{} grew {} bytes into {}", t.name(), input.len(), out.len());
    out
}

fuzz_target!(|data: &[u8]| {
    for &t in ALL {
        let _ = checked(t, data);
    }

    let Some((&n, rest)) = data.split_first() else { return };
    let n = usize::from(n % 8).min(rest.len());
    let (picks, value) = rest.split_at(n);
    let mut current: Vec<u8> = value.to_vec();
    for &p in picks {
        let t = ALL[usize::from(p) % ALL.len()];
        if let Cow::Owned(v) = checked(t, &current) {
            current = v;
        }
    }

    // Name lookup on arbitrary text never panics, and what it finds round-trips.
    let name = String::from_utf8_lossy(value);
    if let Some(t) = Transformation::from_name(&name) {
        assert_eq!(Transformation::from_name(t.name()), Some(t));
    }
});
