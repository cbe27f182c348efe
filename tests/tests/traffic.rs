//! Benign traffic passes untouched, in detect and in block mode, and is
//! counted on /stats/prometheus.

use palisade_tests::{filter_config, http, Stack};

fn benign_requests(s: &Stack) {
    let addr = s.addr();
    let r = http::get(addr, "/search?q=blue+shoes&page=2&sort=price&lang=en").expect("GET");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(
        r.header("x-echo-target"),
        Some("/search?q=blue+shoes&page=2&sort=price&lang=en")
    );

    let form = b"name=Ada+Lovelace&email=ada%40example.com&message=Hello+there%2C+how+are+you%3F";
    let r = http::request(
        addr,
        "POST",
        "/contact",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form,
    )
    .expect("POST form");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, form, "form body changed on the way");

    let json = br#"{"user":{"id":42,"name":"Ada","tags":["math","engines"]},"items":[{"sku":"A-1","qty":2}]}"#;
    let r = http::request(
        addr,
        "POST",
        "/api/orders",
        &[("Content-Type", "application/json")],
        json,
    )
    .expect("POST JSON");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, json, "JSON body changed on the way");

    // What reached the backend is what was sent.
    let got = s.backend.received();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[1].body, form);
    assert_eq!(got[2].body, json);
    assert_eq!(got[2].header("content-type"), Some("application/json"));
}

#[test]
fn benign_traffic_passes_in_detect_mode() {
    let s = Stack::start(filter_config("detect"));
    benign_requests(&s);
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"pass\"}"),
        Some(3.0),
        "{}",
        s.envoy.prometheus()
    );
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"blocked\"}"),
        Some(0.0)
    );
}

#[test]
fn benign_traffic_passes_in_block_mode() {
    let s = Stack::start(filter_config("block"));
    benign_requests(&s);
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"pass\"}"),
        Some(3.0),
        "{}",
        s.envoy.prometheus()
    );
}

#[test]
fn mode_off_passes_and_counts() {
    let s = Stack::start(filter_config("off"));
    let r = http::get(s.addr(), "/?id=1%27%20OR%201=1--").expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"pass\"}"),
        Some(1.0)
    );
}

#[test]
fn metrics_are_exported() {
    let s = Stack::start(filter_config("detect"));
    let _ = http::get(s.addr(), "/").expect("GET");
    let text = s.envoy.prometheus();
    for sample in [
        "palisade_requests{outcome=\"pass\"}",
        "palisade_requests{outcome=\"detected\"}",
        "palisade_requests{outcome=\"blocked\"}",
        "palisade_body_limit_events{direction=\"request\"}",
        "palisade_body_limit_events{direction=\"response\"}",
        "palisade_policy_version{}",
    ] {
        assert!(
            palisade_tests::envoy::prom_value(&text, sample).is_some(),
            "{sample} missing:\n{text}"
        );
    }
    assert!(
        text.contains("# TYPE palisade_anomaly_score histogram"),
        "{text}"
    );
    assert!(
        text.contains("palisade_anomaly_score_bucket{le=\"5\"}"),
        "custom buckets missing:\n{text}"
    );
}

/// An HTTP/2 request whose body ends with trailers: the body phase runs when
/// the trailers arrive (the body never has end-of-stream), then it passes.
#[test]
fn http2_body_ending_with_trailers_passes() {
    for hold in [true, false] {
        let mut cfg = filter_config("block");
        cfg["request_body"] = serde_json::json!({"hold_headers": hold});
        let s = Stack::start(cfg);
        let body = b"a=1&b=two";
        let (status, echoed) = palisade_tests::h2c::post_with_trailers(
            s.addr(),
            "/h2",
            "application/x-www-form-urlencoded",
            body,
            &[("x-checksum", "abc")],
        )
        .unwrap_or_else(|e| panic!("hold_headers {hold}: {e}"));
        assert_eq!(status, 200, "hold_headers {hold}");
        assert_eq!(echoed, body);
        assert_eq!(s.backend.received()[0].body, body);
    }
}
