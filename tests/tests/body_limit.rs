//! An oversized request body follows the configured action.

use palisade_tests::{filter_config, http, Stack};
use serde_json::json;

/// `hold_headers`: keep request headers until the body is inspected (what
/// envoy/envoy.yaml ships) or let them go upstream first (the only choice
/// under Istio).
fn config(mode: &str, on_limit: &str, hold_headers: bool) -> serde_json::Value {
    let mut c = filter_config(mode);
    c["request_body"] =
        json!({"limit_bytes": 1000, "on_limit": on_limit, "hold_headers": hold_headers});
    c
}

const LIMIT_SAMPLE: &str = "palisade_body_limit_events{direction=\"request\"}";

fn form(len: usize) -> Vec<u8> {
    let mut b = b"data=".to_vec();
    b.resize(len, b'a');
    b
}

#[test]
fn reject_in_block_mode_answers_413() {
    for hold in [true, false] {
        reject_in_block_mode(hold);
    }
}

fn reject_in_block_mode(hold: bool) {
    let s = Stack::start(config("block", "reject", hold));
    let ct = [("Content-Type", "application/x-www-form-urlencoded")];
    // Declared length over the limit.
    let r = http::request(s.addr(), "POST", "/upload", &ct, &form(5000)).expect("POST");
    assert_eq!(r.status(), 413, "{r:?}");
    // Chunked, no declared length: caught while buffering.
    let chunked = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Transfer-Encoding", "chunked"),
    ];
    let r =
        http::request(s.addr(), "POST", "/upload", &chunked, &form(5000)).expect("POST chunked");
    assert_eq!(r.status(), 413, "hold_headers {hold}: {r:?}");
    assert!(r.header("x-palisade-transaction-id").is_some(), "{r:?}");
    // Under the limit passes.
    let r = http::request(s.addr(), "POST", "/upload", &ct, &form(900)).expect("POST small");
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.backend.received().len(),
        1,
        "oversized bodies reached the backend"
    );
    assert_eq!(s.envoy.metric(LIMIT_SAMPLE), Some(2.0));
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"blocked\"}"),
        Some(2.0)
    );
}

#[test]
fn reject_in_detect_mode_records_and_passes() {
    let s = Stack::start(config("detect", "reject", false));
    let body = form(5000);
    let r = http::request(
        s.addr(),
        "POST",
        "/upload",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    )
    .expect("POST");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, body, "the whole body must go through");
    assert_eq!(s.envoy.metric(LIMIT_SAMPLE), Some(1.0));
}

#[test]
fn inspect_partial_passes_the_whole_body() {
    let s = Stack::start(config("block", "inspect_partial", true));
    let body = form(50_000);
    let chunked = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Transfer-Encoding", "chunked"),
    ];
    let r = http::request(s.addr(), "POST", "/upload", &chunked, &body).expect("POST");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body.len(), body.len());
    assert_eq!(s.backend.received()[0].body, body);
    assert_eq!(s.envoy.metric(LIMIT_SAMPLE), Some(1.0));
}
