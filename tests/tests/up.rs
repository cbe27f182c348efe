//! `palisade up` end to end, with the real collector, Envoy and filter:
//!
//! 1. `up --traffic` on a fresh data dir: the collector's counts match the
//!    mix it sent (benign requests nominal, every attack anomalous), an SQL
//!    injection sent through the app shows up as an event; SIGINT stops it
//!    and every process it started is gone.
//! 2. `up --block` again on the same data dir: the earlier data is still
//!    there, the policy is in block mode, the injection is answered 403
//!    and benign traffic passes; SIGTERM stops it cleanly.
//!
//! `up` runs on free ports (`--app-port` etc.), so this does not clash with
//! the other tests (which pick free ports too) or a `make demo` running on
//! the shipped ones.

use std::time::{Duration, Instant};

use palisade_tests::http;
use palisade_tests::up::{alive, group_members, Ports, TempDir, Up};
use serde_json::Value;

const START: Duration = Duration::from_secs(300);
const SQLI: &str = "/products?id=1'%20OR%201=1--";

/// "N benign requests … M attacks" from the traffic line.
fn traffic_counts(line: &str) -> (u64, u64) {
    let num_before = |word: &str| -> u64 {
        let head = line.split(word).next().unwrap_or("");
        head.split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count before {word:?} in {line:?}"))
    };
    (num_before(" benign requests"), num_before(" attacks ("))
}

fn wait_for(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Stops `up` with `sig` and checks that it and everything it started are gone.
fn stop_and_check(mut up: Up, sig: &str) {
    let children = up.child_pids();
    assert_eq!(
        children.len(),
        2,
        "expected the collector's and Envoy's pids in {:#?}",
        up.output()
    );
    let group = up
        .group()
        .unwrap_or_else(|| panic!("no process group in {:#?}", up.output()));
    for pid in &children {
        assert!(alive(*pid), "pid {pid} not running before the stop");
    }
    up.signal(sig);
    let status = up
        .wait_exit(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("up still running 60 s after SIG{sig}"));
    assert!(
        status.success(),
        "up exited with {status}:\n{}",
        up.output().join("\n")
    );
    for pid in children {
        assert!(!alive(pid), "pid {pid} still running after up stopped");
    }
    assert_eq!(
        group_members(group),
        Vec::<u32>::new(),
        "processes left in group {group}"
    );
    let out = up.output();
    assert!(
        out.iter().any(|l| l.contains("stopped the envoy")),
        "{out:#?}"
    );
    assert!(
        out.iter().any(|l| l.contains("stopped the collector")),
        "{out:#?}"
    );
}

#[test]
fn up_records_traffic_survives_restart_and_stops_cleanly() {
    let data = TempDir::new("up");

    // 1. Detect mode with the traffic mix.
    let mut up = Up::start(&data.0, Ports::free(), &["--traffic"]);
    up.wait_line("ready (detect mode)", START);
    let line = up.wait_line("traffic: ", START);
    let (benign, attacks) =
        traffic_counts(&up.wait_line("benign requests", Duration::from_secs(60)));
    assert!(benign >= 10 && attacks >= 5, "{line}");
    up.wait_line("traffic: recorded", Duration::from_secs(60));

    let s = up.api("/api/v1/waf/summary");
    assert_eq!(s["total_requests"], benign + attacks, "{s}");
    assert_eq!(
        s["nominal"],
        benign,
        "nominal must equal the benign requests sent: {s}\n{}",
        up.api("/api/v1/top/rules")
    );
    assert_eq!(
        s["anomalous"], attacks,
        "anomalous must equal the attacks sent: {s}"
    );
    assert_eq!(s["blocked"], 0, "{s}");
    let events = up.api("/api/v1/events?limit=100");
    let list = events["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len() as u64, attacks, "{events}");
    assert!(
        list.iter().any(|e| e["path"] == "/products"
            && e["rule_ids"]
                .as_array()
                .is_some_and(|r| r.iter().any(|id| id == 942100))),
        "no SQL injection event from the traffic: {events}"
    );

    // An injection of our own, under a host of its own.
    let r = http::request(
        &up.app(),
        "GET",
        SQLI,
        &[
            ("Host", "probe.test"),
            ("Accept", "*/*"),
            ("User-Agent", "e2e"),
        ],
        b"",
    )
    .expect("GET through Envoy");
    assert_eq!(
        r.status(),
        400,
        "detect mode passes it to the app, which wants a number: {r:?}"
    );
    let mut event = Value::Null;
    wait_for(Duration::from_secs(30), "the probe's event", || {
        event = up.api("/api/v1/events?host=probe.test");
        event["events"].as_array().is_some_and(|l| !l.is_empty())
    });
    let e = &event["events"][0];
    assert_eq!(e["action"], "detected", "{event}");
    assert_eq!(e["path"], "/products", "{event}");
    assert!(
        e["rule_ids"]
            .as_array()
            .is_some_and(|r| r.iter().any(|id| id == 942100)),
        "{event}"
    );
    let detail = up.api(&format!("/api/v1/events/{}", e["id"]));
    assert!(
        detail["request_line"]
            .as_str()
            .is_some_and(|l| l.contains("1'%20OR%201=1--")),
        "{detail}"
    );

    stop_and_check(up, "INT");

    // 2. Restart on the same data, in block mode.
    let mut up = Up::start(&data.0, Ports::free(), &["--block"]);
    up.wait_line("ready (block mode)", START);
    assert!(
        up.output()
            .iter()
            .any(|l| l.contains("existing database kept")),
        "{:#?}",
        up.output()
    );
    let s = up.api("/api/v1/waf/summary");
    assert_eq!(
        s["total_requests"],
        benign + attacks + 1,
        "data lost across the restart: {s}"
    );
    assert_eq!(up.api("/api/v1/policy")["mode"], "block");
    let history = up.api("/api/v1/policy/history");
    assert!(
        history
            .to_string()
            .contains("palisade up: start in block mode"),
        "{history}"
    );

    let r = http::request(
        &up.app(),
        "GET",
        SQLI,
        &[
            ("Host", "probe.test"),
            ("Accept", "*/*"),
            ("User-Agent", "e2e"),
        ],
        b"",
    )
    .expect("GET through Envoy");
    assert_eq!(r.status(), 403, "block mode: {r:?}");
    let r = http::request(
        &up.app(),
        "GET",
        "/products?id=2",
        &[
            ("Host", "probe.test"),
            ("Accept", "*/*"),
            ("User-Agent", "e2e"),
        ],
        b"",
    )
    .expect("GET through Envoy");
    assert_eq!(r.status(), 200, "benign in block mode: {r:?}");
    assert!(r.body_str().contains("Folding table"), "{r:?}");
    wait_for(Duration::from_secs(30), "the blocked event", || {
        up.api("/api/v1/events?host=probe.test&action=blocked")["events"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    });

    stop_and_check(up, "TERM");
}
