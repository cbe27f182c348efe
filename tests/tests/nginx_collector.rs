//! NGINX with the real collector (`palisade collector`, through
//! `palisade_tests::real_collector`): telemetry arrives, and a policy
//! changed through the collector's API reaches traffic within 2 s, without a
//! reload, in every worker.

use std::time::{Duration, Instant};

use palisade_tests::backend::Backend;
use palisade_tests::nginx::{Nginx, Options};
use palisade_tests::real_collector::{RealCollector, TOKEN};
use palisade_tests::{filter_config, http};

const SQLI: &str = "/?id=1%27%20OR%201=1--";

#[test]
fn policy_flip_through_the_real_collector_within_2s() {
    let collector = RealCollector::start();
    let backend = Backend::start();
    let opts = Options::new(filter_config("detect"), backend.port).with_collector(collector.port, 300, TOKEN);
    let n = Nginx::start(&opts).unwrap_or_else(|e| panic!("{e}"));
    let gauge = || n.metric("palisade_policy_version{}");

    // The first acknowledgement carries the collector's current version.
    let v0 = collector.get("/api/v1/policy")["version"].as_f64().unwrap_or(0.0);
    let end = Instant::now() + Duration::from_secs(15);
    while gauge() != Some(v0) && Instant::now() < end {
        let _ = http::get(n.addr(), "/warmup");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(gauge(), Some(v0), "initial policy not applied:\n{}", n.log());
    assert_eq!(http::get(n.addr(), SQLI).unwrap().status(), 200, "detect mode blocked");

    // Flip to block mode through the API.
    let mut p = collector.get("/api/v1/policy");
    p["mode"] = "block".into();
    let v1 = collector.put_policy(&p)["version"].as_f64().expect("new version");
    assert!(v1 > v0);
    let flipped = Instant::now();
    while gauge() != Some(v1) && flipped.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = flipped.elapsed();
    assert_eq!(gauge(), Some(v1), "policy {v1} not applied within 5 s:\n{}", n.log());
    assert!(took <= Duration::from_secs(2), "policy applied after {took:?} (> 2 s)");
    eprintln!("policy version {v1} applied {took:?} after the collector changed it");
    // Both workers run it: several SQLi requests, all blocked.
    for _ in 0..6 {
        assert_eq!(http::get(n.addr(), SQLI).unwrap().status(), 403, "{}", n.log());
    }
    assert_eq!(http::get(n.addr(), "/ok?x=1").unwrap().status(), 200);

    // The collector heard from this instance, running the new version.
    let applied = collector.wait(Duration::from_secs(10), |c| c.applied_version("e2e-nginx").filter(|(v, _)| *v as f64 == v1));
    assert!(applied.is_some(), "collector never saw policy {v1} applied:\n{}", n.log());
    assert!(n.metric("palisade_telemetry_batches_sent{}").unwrap_or(0.0) >= 1.0, "{}", n.prometheus());
}
