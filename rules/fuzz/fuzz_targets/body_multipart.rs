//! MULTIPART body processor (`palisade_rules::body::multipart`). The input's
//! first line (up to `\n`) is the request's `Content-Type` value, the rest is
//! the body; both limit sets are used.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::body::multipart;

include!("limits.in");

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(nl) => (&data[..nl], &data[nl + 1..]),
        None => (&b"multipart/form-data; boundary=b"[..], data),
    };
    for limits in limit_sets() {
        let m = multipart::parse(body, content_type, &limits);
        for f in &m.files {
            assert!(f.content.start <= f.content.end && f.content.end <= body.len(), "file range {:?} outside a body of {} bytes", f.content, body.len());
            let _ = m.file_content(body, f);
        }
        assert!(m.args.len() <= limits.max_args);
        assert!(m.files_combined_size() <= body.len());
        let _ = m.strict_error();
        let _ = m.flags.crlf_lf_lines();
        if let Some(e) = &m.error {
            assert!(e.starts_with("Multipart parsing error: Multipart: "), "{e}");
        }
    }
});
