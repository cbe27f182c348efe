//! JSON body processor (`palisade_rules::body::json`) on arbitrary bytes,
//! with the default limits and a tight set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::body::json;

include!("limits.in");

fuzz_target!(|data: &[u8]| {
    for limits in limit_sets() {
        match json::parse(data, &limits) {
            Ok(args) => {
                assert!(args.len() <= limits.max_args);
                assert!(args.iter().all(|(name, _)| name.starts_with(b"json")));
            }
            Err(e) => {
                assert!(e.message.starts_with("JSON parsing error: ") && e.message.contains("(at byte "), "{}", e.message);
                assert!(e.partial_args.len() <= limits.max_args);
            }
        }
    }
});
