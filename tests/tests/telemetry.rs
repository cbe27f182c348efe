//! Telemetry reaches the collector, the policy riding on the acknowledgement
//! is applied without a restart, and a collector outage never holds traffic.

use std::time::{Duration, Instant};

use palisade_tests::collector::policy;
use palisade_tests::{filter_config, http, Stack};

#[test]
fn batches_reach_the_collector() {
    let s = Stack::with_collector(filter_config("detect"), policy(1, "detect"), 300);
    for i in 0..3 {
        let r = http::get(s.addr(), &format!("/page/{i}")).expect("GET");
        assert_eq!(r.status(), 200);
    }
    let c = s.collector();
    assert!(
        c.wait_for(Duration::from_secs(10), |_| c.count("pass") >= 3),
        "3 passes not reported; batches: {:?}\n{}",
        c.batches(),
        s.envoy.log()
    );
    assert_eq!(
        c.count("pass"),
        3,
        "counted more than once: {:?}",
        c.batches()
    );
    let batches = c.batches();
    let b = &batches[0];
    assert_eq!(b["instance"], "e2e-envoy");
    assert_eq!(b["environment"], "e2e");
    assert!(
        b["batch_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("e2e-envoy-")),
        "{b}"
    );
    let counted: Vec<_> = batches
        .iter()
        .flat_map(|b| b["counters"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(
        counted.iter().all(|c| c["authority"] == "localhost"),
        "{counted:?}"
    );
    let req = &c.requests()[0];
    assert_eq!(req.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let ids: std::collections::HashSet<_> =
        batches.iter().map(|b| b["batch_id"].to_string()).collect();
    assert_eq!(ids.len(), batches.len(), "batch ids repeat");
    let sent = s
        .envoy
        .metric("palisade_telemetry_batches_sent{}")
        .unwrap_or(0.0);
    assert!(sent >= 1.0, "{}", s.envoy.prometheus());
}

#[test]
fn policy_flip_applies_without_restart() {
    let s = Stack::with_collector(filter_config("detect"), policy(1, "detect"), 300);
    let c = s.collector();
    let gauge = || s.envoy.metric("palisade_policy_version{}");
    // The first acknowledgement carries version 1.
    let end = Instant::now() + Duration::from_secs(10);
    while gauge() != Some(1.0) && Instant::now() < end {
        let _ = http::get(s.addr(), "/");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        gauge(),
        Some(1.0),
        "policy 1 not applied:\n{}",
        s.envoy.log()
    );

    c.set_policy(policy(2, "block"));
    let flipped = Instant::now();
    while gauge() != Some(2.0) && flipped.elapsed() < Duration::from_secs(5) {
        let _ = http::get(s.addr(), "/");
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = flipped.elapsed();
    assert_eq!(gauge(), Some(2.0), "policy 2 not applied within 5 s");
    assert!(
        took <= Duration::from_secs(2),
        "policy applied after {took:?} (> 2 s)"
    );
    eprintln!("policy version 2 applied {took:?} after the collector changed it");
    // Workers report the version they run.
    assert!(
        c.wait_for(Duration::from_secs(5), |bs| bs
            .iter()
            .any(|b| b["policy_version"] == 2)),
        "no batch reports policy_version 2: {:?}",
        c.batches()
            .iter()
            .map(|b| b["policy_version"].clone())
            .collect::<Vec<_>>()
    );
    // Benign traffic still passes under the block policy.
    assert_eq!(http::get(s.addr(), "/ok?x=1").expect("GET").status(), 200);
}

#[test]
fn collector_outage_never_holds_traffic() {
    let s = Stack::with_collector(filter_config("detect"), policy(1, "detect"), 200);
    let c = s.collector();
    c.set_down(true);
    for i in 0..20 {
        let t = Instant::now();
        let r = http::get(s.addr(), &format!("/during-outage/{i}")).expect("GET during outage");
        assert_eq!(r.status(), 200);
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "request took {:?} during the outage",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let failed = s
        .envoy
        .metric("palisade_telemetry_batches_failed{}")
        .unwrap_or(0.0);
    assert!(
        failed >= 1.0,
        "no failed flush counted:\n{}",
        s.envoy.prometheus()
    );
    c.set_down(false);
    // Backoff is capped at 2 s in the harness; what was held arrives once.
    assert!(
        c.wait_for(Duration::from_secs(10), |_| c.count("pass") >= 20),
        "outage traffic not reported after recovery: {}",
        c.count("pass")
    );
    assert_eq!(c.count("pass"), 20);
}

/// Per-host overrides from the collector's policy apply to their host only:
/// one host in block mode gets 413 for an oversized body, the others, in
/// detect mode, pass it.
#[test]
fn per_host_policy_overrides_apply() {
    let mut cfg = filter_config("detect");
    cfg["request_body"] = serde_json::json!({"limit_bytes": 1000, "on_limit": "reject"});
    let mut p = policy(3, "detect");
    p["hosts"] = serde_json::json!({"strict.test": {"mode": "block"}});
    let s = Stack::with_collector(cfg, p, 300);
    let end = Instant::now() + Duration::from_secs(10);
    while s.envoy.metric("palisade_policy_version{}") != Some(3.0) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        s.envoy.metric("palisade_policy_version{}"),
        Some(3.0),
        "policy 3 not applied"
    );
    let body = vec![b'a'; 5000];
    let send = |host: &str| {
        http::request(
            s.addr(),
            "POST",
            "/upload",
            &[("Host", host), ("Content-Type", "text/plain")],
            &body,
        )
        .expect("POST")
        .status()
    };
    assert_eq!(
        send("strict.test:8080"),
        413,
        "the block-mode host passed an oversized body"
    );
    assert_eq!(send("other.test"), 200, "a detect-mode host rejected");
}
