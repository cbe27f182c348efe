//! URLENCODED body processor (`palisade_rules::body::urlencoded`) on
//! arbitrary bytes, with `&` and `;` as separators.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::body::urlencoded;

fuzz_target!(|data: &[u8]| {
    for sep in [b'&', b';'] {
        let pairs = urlencoded::parse(data, sep);
        // One piece per separator at most, plus the last one.
        assert!(pairs.len() <= data.len() + 1);
        for (name, value) in &pairs {
            // Decoding never makes a piece longer.
            assert!(name.len() + value.len() <= data.len());
        }
        let owned = urlencoded::parse_owned(data, sep);
        assert_eq!(owned.len(), pairs.len());
        for ((n, v), (on, ov)) in pairs.iter().zip(&owned) {
            assert_eq!((&n[..], &v[..]), (&on[..], &ov[..]));
        }
    }
    let decoded = urlencoded::urldecode(data);
    assert!(decoded.len() <= data.len());
});
