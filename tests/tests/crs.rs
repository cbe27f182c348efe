//! CRS inside Envoy: the embedded rule set compiles in every VM, SQL
//! injection is blocked in block mode and reported in detect mode, a policy
//! flip turns detection into blocking, and a leaking response body is
//! replaced. These need the rule engine (palisade-rules) to be in place.

use std::time::{Duration, Instant};

use palisade_tests::{http, Stack};
use serde_json::{json, Value};

const SQLI: &str = "/?id=1%27%20OR%201=1--";

/// CRS at PL1, failing closed: the plugin only starts if CRS compiles.
fn crs(mode: &str) -> Value {
    json!({
        "mode": mode,
        "rules": ["Include @recommended.conf", "Include @crs-setup.conf", "Include @crs/*.conf"],
        "request_body": {"hold_headers": true},
        "failure_mode": "closed"
    })
}

#[test]
fn crs_compiles_in_every_vm() {
    let s = Stack::start(crs("detect"));
    let log = s.envoy.log();
    let times: Vec<u64> = log
        .lines()
        .filter_map(|l| l.split("rule set \"default\" compiled in ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect();
    // Two VMs on the main thread plus one per worker (concurrency 2).
    assert!(times.len() >= 3, "CRS did not compile in every VM:\n{log}");
    let memory: Vec<u64> = log
        .lines()
        .filter_map(|l| l.split(", VM memory ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(
        memory.len(),
        times.len(),
        "every compile line reports the VM's memory:\n{log}"
    );
    eprintln!(
        "CRS compile time per VM (ms): {times:?}; VM memory (KiB): {memory:?}; Envoy ready after {:?}",
        s.envoy.startup
    );
    assert_eq!(http::get(s.addr(), "/").expect("GET").status(), 200);
}

#[test]
fn sqli_is_blocked_in_block_mode() {
    let s = Stack::start(crs("block"));
    let r = http::get(s.addr(), SQLI).expect("GET");
    assert_eq!(r.status(), 403, "{r:?}");
    assert_eq!(r.body_str(), "Request blocked by Palisade.\n");
    let tx = r
        .header("x-palisade-transaction-id")
        .expect("transaction id header")
        .to_string();
    assert!(
        s.backend.received().is_empty(),
        "the attack reached the backend"
    );
    assert!(
        s.envoy.wait_log("[id \"942100\"]", Duration::from_secs(2)),
        "no error-log line for 942100"
    );
    let log = s.envoy.log();
    assert!(log.contains("Access denied with code 403"), "{log}");
    assert!(
        log.contains(&format!("[unique_id \"{tx}\"]")),
        "log lines do not carry the transaction id {tx}"
    );
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"blocked\"}"),
        Some(1.0)
    );
    assert!(
        s.envoy
            .metric("palisade_rule_hits{rule_id=\"942100\"}")
            .unwrap_or(0.0)
            >= 1.0,
        "{}",
        s.envoy.prometheus()
    );
}

/// Detect mode passes the attack and the event lands in the real collector,
/// with its evidence.
#[test]
fn sqli_is_reported_in_detect_mode() {
    let s = Stack::with_real_collector(crs("detect"), 300);
    let r = http::get(s.addr(), SQLI).expect("GET");
    assert_eq!(r.status(), 200, "detect mode must not block: {r:?}");
    assert_eq!(s.backend.received().len(), 1);
    let c = s.real();
    let listed = c
        .wait(Duration::from_secs(10), |c| {
            let v = c.get("/api/v1/events?rule=942100");
            v["events"].as_array().and_then(|e| e.first().cloned())
        })
        .unwrap_or_else(|| panic!("no event for 942100 at the collector:\n{}", s.envoy.log()));
    assert_eq!(listed["action"], "detected", "{listed}");
    assert_eq!(listed["status"], 200, "{listed}");
    assert_eq!(listed["path"], "/", "{listed}");
    assert_eq!(listed["instance"], "e2e-envoy", "{listed}");
    assert!(
        listed["inbound_score"].as_i64().unwrap_or(0) >= 5,
        "{listed}"
    );
    let id = listed["id"].as_i64().expect("event id");
    let e = c.get(&format!("/api/v1/events/{id}"));
    assert!(
        e["request_line"]
            .as_str()
            .unwrap_or("")
            .starts_with("GET /?id=1"),
        "{e}"
    );
    let rule = e["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"] == 942100)
        .cloned();
    let rule = rule.unwrap_or_else(|| panic!("942100 not among the event's rules: {e}"));
    assert!(
        rule["msg"].as_str().unwrap_or("").contains("SQL Injection"),
        "{rule}"
    );
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"detected\"}"),
        Some(1.0)
    );
}

/// A policy change made through the real collector's API turns detection
/// into blocking within 2 s, without restarting Envoy, and the collector then
/// reports the new version as the one the filter applied.
#[test]
fn policy_flip_turns_detection_into_blocking() {
    let s = Stack::with_real_collector(crs("detect"), 300);
    let c = s.real();
    let end = Instant::now() + Duration::from_secs(10);
    while s.envoy.metric("palisade_policy_version{}") != Some(1.0) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        s.envoy.metric("palisade_policy_version{}"),
        Some(1.0),
        "policy 1 not applied:\n{}",
        s.envoy.log()
    );
    assert_eq!(
        http::get(s.addr(), SQLI).expect("GET").status(),
        200,
        "detect policy blocked"
    );

    let mut doc = c.get("/api/v1/policy");
    doc["mode"] = json!("block");
    doc["comment"] = json!("e2e: go live");
    let new = c.put_policy(&doc);
    assert_eq!(new["version"], 2, "{new}");
    let flipped = Instant::now();
    let mut status = 0;
    while flipped.elapsed() < Duration::from_secs(2) {
        status = http::get(s.addr(), SQLI).expect("GET").status();
        if status == 403 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        status, 403,
        "still not blocking 2 s after the policy changed"
    );
    eprintln!("blocking {:?} after the PUT", flipped.elapsed());

    let applied = c.wait(Duration::from_secs(10), |c| {
        c.applied_version("e2e-envoy").filter(|(v, _)| *v == 2)
    });
    assert_eq!(
        applied,
        Some((2, true)),
        "the collector does not report version 2 as applied: {}",
        c.get("/api/v1/instances")
    );
    // The blocked request is there too, as blocked.
    let blocked = c.wait(Duration::from_secs(10), |c| {
        c.get("/api/v1/events?action=blocked")["events"]
            .as_array()
            .and_then(|e| e.first().cloned())
    });
    let blocked = blocked.expect("no blocked event at the collector");
    assert_eq!(blocked["status"], 403, "{blocked}");
}

#[test]
fn leaking_response_body_is_replaced_in_block_mode() {
    let s = Stack::start(crs("block"));
    let page = "<html><body>You have an error in your SQL syntax; check the manual that corresponds \
                to your MySQL server version for the right syntax to use near ''' at line 1</body></html>";
    // Base64, so that the request (a JSON body CRS inspects) does not carry
    // the page in clear: only the response leaks.
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(page);
    let spec =
        json!({"status": 200, "headers": {"content-type": "text/html"}, "encodedBody": encoded});
    let r = http::request(
        s.addr(),
        "POST",
        "/reflect",
        &[("Content-Type", "application/json")],
        spec.to_string().as_bytes(),
    )
    .expect("POST /reflect");
    // The status line had gone out when phase 4 ran: the body is replaced.
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.body_str(),
        "Request blocked by Palisade.\n",
        "the leaking page went through"
    );
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"blocked\"}"),
        Some(1.0)
    );
}

/// SQL injection in an HTTP/2 form body that ends with trailers is caught in
/// phase 2, which runs when the trailers arrive.
#[test]
fn sqli_in_http2_body_with_trailers_is_blocked() {
    let s = Stack::start(crs("block"));
    let (status, _) = palisade_tests::h2c::post_with_trailers(
        s.addr(),
        "/login",
        "application/x-www-form-urlencoded",
        b"user=admin&id=1%27%20OR%201%3D1--",
        &[("x-checksum", "abc")],
    )
    .expect("h2 request");
    assert_eq!(status, 403);
    assert!(
        s.backend.received().is_empty(),
        "the attack reached the backend"
    );
}

/// With `@recommended.conf`, a JSON body is parsed into ARGS: SQL injection
/// in a nested JSON value is blocked, a benign JSON document passes.
#[test]
fn json_body_is_parsed_and_inspected() {
    let s = Stack::start(crs("block"));
    let ct = [("Content-Type", "application/json")];
    let benign = br#"{"user": {"name": "alice", "tags": ["a", "b"]}, "count": 3}"#;
    let r = http::request(s.addr(), "POST", "/api/users", &ct, benign).expect("POST benign JSON");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, benign.to_vec());
    let attack = br#"{"user": {"id": "1' OR 1=1--"}}"#;
    let r = http::request(s.addr(), "POST", "/api/users", &ct, attack).expect("POST attack JSON");
    assert_eq!(r.status(), 403, "{r:?}");
    assert!(
        s.envoy
            .wait_log("ARGS:json.user.id", std::time::Duration::from_secs(2)),
        "{}",
        s.envoy.log()
    );
    // A body that is not JSON at all is a parse error: 400 in block mode.
    let r =
        http::request(s.addr(), "POST", "/api/users", &ct, b"{not json").expect("POST broken JSON");
    assert_eq!(r.status(), 400, "{r:?}");
    assert_eq!(
        s.backend.received().len(),
        1,
        "only the benign request reaches the backend"
    );
}
