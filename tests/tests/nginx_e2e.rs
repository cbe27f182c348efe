//! The end-to-end cases of the Envoy tests, against Debian's nginx with the
//! Palisade module: benign traffic, blocking and detection, bodies,
//! response inspection, metrics, configuration refusal, reload, and what a
//! trapping VM does to traffic.

use std::time::{Duration, Instant};

use palisade_tests::backend::Backend;
use palisade_tests::nginx::{check_config, trapping_module, Nginx, Options};
use palisade_tests::{filter_config, http};
use serde_json::json;

struct Stack {
    nginx: Nginx,
    backend: Backend,
}

fn start_with(opts: impl FnOnce(Options) -> Options) -> Stack {
    let backend = Backend::start();
    let o = opts(Options::new(filter_config("detect"), backend.port));
    let nginx = Nginx::start(&o).unwrap_or_else(|e| panic!("{e}"));
    Stack { nginx, backend }
}

fn start(filter: serde_json::Value) -> Stack {
    start_with(|mut o| {
        o.filter = filter;
        o
    })
}

/// How long metrics may lag the response.
const W: Duration = Duration::from_secs(5);

const SQLI: &str = "/?id=1%27%20OR%201=1--";

fn benign_requests(s: &Stack) {
    let addr = s.nginx.addr();
    let r = http::get(addr, "/search?q=blue+shoes&page=2&sort=price&lang=en").expect("GET");
    assert_eq!(r.status(), 200, "{r:?}\n{}", s.nginx.log());
    assert_eq!(r.header("x-echo-target"), Some("/search?q=blue+shoes&page=2&sort=price&lang=en"));
    let form = b"name=Ada+Lovelace&email=ada%40example.com&message=Hello+there%2C+how+are+you%3F";
    let r = http::request(addr, "POST", "/contact", &[("Content-Type", "application/x-www-form-urlencoded")], form)
        .expect("POST");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, form);
    let json = br#"{"user":{"id":42,"name":"Ada","tags":["math","engines"]},"items":[{"sku":"A-1","qty":2}]}"#;
    let r =
        http::request(addr, "POST", "/api/orders", &[("Content-Type", "application/json")], json).expect("POST JSON");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, json);
    let got = s.backend.received();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[1].body, form);
    assert_eq!(got[2].body, json);
}

#[test]
fn benign_traffic_passes_in_detect_and_block_mode() {
    for mode in ["detect", "block"] {
        let s = start(filter_config(mode));
        benign_requests(&s);
        assert_eq!(
            s.nginx.wait_metric("palisade_requests{outcome=\"pass\"}", 3.0, W),
            Some(3.0),
            "{mode}: {}",
            s.nginx.prometheus()
        );
        assert_eq!(s.nginx.wait_metric("palisade_requests{outcome=\"blocked\"}", 0.0, W), Some(0.0), "{mode}");
    }
}

#[test]
fn sqli_is_blocked_in_block_mode() {
    let s = start(filter_config("block"));
    let r = http::get(s.nginx.addr(), SQLI).expect("GET");
    assert_eq!(r.status(), 403, "{r:?}");
    assert_eq!(r.body_str(), "Request blocked by Palisade.\n");
    let id = r.header("x-palisade-transaction-id").expect("transaction id header").to_string();
    assert_eq!(id.len(), 32, "{id}");
    assert!(s.backend.received().is_empty(), "a blocked request reached the backend");
    assert!(s.nginx.wait_log("[id \"942100\"]", Duration::from_secs(5)), "{}", s.nginx.log());
    let log = s.nginx.log();
    assert!(log.contains("Access denied with code 403"), "{log}");
    assert!(log.contains(&format!("[unique_id \"{id}\"]")), "{log}");
    // SQLi in a body large enough to go to nginx's temporary file.
    let mut form = b"pad=".to_vec();
    form.resize(40_000, b'a');
    form.extend_from_slice(b"&q=1' UNION SELECT password FROM users--");
    let r = http::request(
        s.nginx.addr(),
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    )
    .expect("POST");
    assert_eq!(r.status(), 403, "{r:?}");
    assert!(s.backend.received().is_empty());
    assert_eq!(
        s.nginx.wait_metric("palisade_requests{outcome=\"blocked\"}", 2.0, W),
        Some(2.0),
        "{}",
        s.nginx.prometheus()
    );
    assert!(s.nginx.metric("palisade_rule_hits{rule_id=\"942100\"}").unwrap_or(0.0) >= 1.0, "{}", s.nginx.prometheus());
}

#[test]
fn sqli_is_logged_in_detect_mode() {
    let s = start(filter_config("detect"));
    let r = http::get(s.nginx.addr(), SQLI).expect("GET");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(s.backend.received().len(), 1);
    assert!(s.nginx.wait_log("[id \"942100\"]", Duration::from_secs(5)), "{}", s.nginx.log());
    assert!(s.nginx.log().contains("ModSecurity: Warning."), "{}", s.nginx.log());
    assert_eq!(
        s.nginx.wait_metric("palisade_requests{outcome=\"detected\"}", 1.0, W),
        Some(1.0),
        "{}",
        s.nginx.prometheus()
    );
}

/// Standard base64, for `/reflect` specs whose body must not trip the
/// request-side rules.
fn b64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn response_body_block_replaces_the_body() {
    let s = start(filter_config("block"));
    let leak = b"<html>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version</html>";
    let spec = json!({"status": 200, "headers": {"content-type": "text/html"}, "encodedBody": b64(leak)});
    let r = http::request(s.nginx.addr(), "POST", "/reflect", &[("Content-Type", "application/json")], spec.to_string().as_bytes())
        .expect("POST");
    assert_eq!(r.status(), 200, "the status line had gone out already: {r:?}\n{}", s.nginx.log());
    assert_eq!(r.body_str(), "Request blocked by Palisade.\n", "{r:?}\n{}", s.nginx.log());
    // Uninspected types pass unchanged.
    let spec = json!({"status": 200, "headers": {"content-type": "application/octet-stream"}, "encodedBody": b64(leak)});
    let r = http::request(s.nginx.addr(), "POST", "/reflect", &[("Content-Type", "application/json")], spec.to_string().as_bytes())
        .expect("POST");
    assert!(r.body_str().contains("SQL syntax"), "{r:?}");
}

fn limit_config(mode: &str, on_limit: &str) -> serde_json::Value {
    let mut c = filter_config(mode);
    c["request_body"] = json!({"limit_bytes": 1000, "on_limit": on_limit});
    c
}

fn form(len: usize) -> Vec<u8> {
    let mut b = b"data=".to_vec();
    b.resize(len, b'a');
    b
}

const LIMIT_SAMPLE: &str = "palisade_body_limit_events{direction=\"request\"}";

#[test]
fn body_limits() {
    let ct = [("Content-Type", "application/x-www-form-urlencoded")];
    let chunked = [("Content-Type", "application/x-www-form-urlencoded"), ("Transfer-Encoding", "chunked")];
    let s = start(limit_config("block", "reject"));
    let r = http::request(s.nginx.addr(), "POST", "/upload", &ct, &form(5000)).expect("POST");
    assert_eq!(r.status(), 413, "{r:?}");
    let r = http::request(s.nginx.addr(), "POST", "/upload", &chunked, &form(5000)).expect("POST chunked");
    assert_eq!(r.status(), 413, "{r:?}");
    assert!(r.header("x-palisade-transaction-id").is_some(), "{r:?}");
    let r = http::request(s.nginx.addr(), "POST", "/upload", &ct, &form(900)).expect("POST small");
    assert_eq!(r.status(), 200);
    assert_eq!(s.backend.received().len(), 1, "oversized bodies reached the backend");
    assert_eq!(s.nginx.wait_metric(LIMIT_SAMPLE, 2.0, W), Some(2.0));
    drop(s);

    let s = start(limit_config("detect", "reject"));
    let body = form(5000);
    let r = http::request(s.nginx.addr(), "POST", "/upload", &ct, &body).expect("POST");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body, body);
    assert_eq!(s.nginx.wait_metric(LIMIT_SAMPLE, 1.0, W), Some(1.0));
    drop(s);

    let s = start(limit_config("block", "inspect_partial"));
    let body = form(50_000);
    let r = http::request(s.nginx.addr(), "POST", "/upload", &chunked, &body).expect("POST");
    assert_eq!(r.status(), 200, "{r:?}");
    assert_eq!(r.body.len(), body.len());
    assert_eq!(s.backend.received()[0].body, body);
    assert_eq!(s.nginx.wait_metric(LIMIT_SAMPLE, 1.0, W), Some(1.0));
}

#[test]
fn metrics_are_exported() {
    let s = start(filter_config("detect"));
    let _ = http::get(s.nginx.addr(), "/").expect("GET");
    let text = s.nginx.prometheus();
    for sample in [
        "palisade_requests{outcome=\"pass\"}",
        "palisade_requests{outcome=\"detected\"}",
        "palisade_requests{outcome=\"blocked\"}",
        "palisade_body_limit_events{direction=\"request\"}",
        "palisade_body_limit_events{direction=\"response\"}",
        "palisade_policy_version{}",
    ] {
        assert!(palisade_tests::envoy::prom_value(&text, sample).is_some(), "{sample} missing:\n{text}");
    }
    assert!(text.contains("# TYPE palisade_anomaly_score histogram"), "{text}");
    assert!(text.contains("palisade_anomaly_score_bucket{le=\"5\"}"), "{text}");
}

#[test]
fn bad_module_or_configuration_fails_nginx_t() {
    let backend_port = 9;
    let (ok, out) = check_config(&Options::new(filter_config("detect"), backend_port));
    assert!(ok, "the good configuration failed nginx -t:\n{out}");

    let (ok, out) = check_config(&Options::new(json!({"mode": "sideways"}), backend_port));
    assert!(!ok, "{out}");
    assert!(out.contains("palisade_wasm \"palisade\"") && out.contains("sideways"), "{out}");

    let bad_rules = json!({"rules": ["SecRule ARGS \"@rx (\" \"id:1,deny\""]});
    let (ok, out) = check_config(&Options::new(bad_rules, backend_port));
    assert!(!ok, "{out}");
    assert!(out.contains("rule"), "{out}");

    let dir = std::env::temp_dir().join(format!("palisade-badwasm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0 this is not a module").unwrap();
    let mut o = Options::new(filter_config("detect"), backend_port);
    o.wasm = Some(bad.clone());
    let (ok, out) = check_config(&o);
    assert!(!ok, "{out}");
    assert!(out.contains("palisade_wasm_module \"palisade\"") && out.contains("invalid wasm module"), "{out}");
    o.wasm = Some(dir.join("missing.wasm"));
    let (ok, out) = check_config(&o);
    assert!(!ok && out.contains("cannot read"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reload_keeps_serving() {
    let backend = Backend::start();
    let mut o = Options::new(filter_config("detect"), backend.port);
    let n = Nginx::start(&o).unwrap_or_else(|e| panic!("{e}"));
    // Switch to block mode and reload while traffic flows.
    o.filter = filter_config("block");
    n.rewrite(&o);
    n.signal("HUP");
    let end = Instant::now() + Duration::from_secs(60);
    let mut ok = 0;
    let mut blocked_after_reload = false;
    while Instant::now() < end && !blocked_after_reload {
        let r = http::get(n.addr(), "/during-reload").expect("a request failed during the reload");
        assert_eq!(r.status(), 200, "{r:?}");
        ok += 1;
        blocked_after_reload = http::get(n.addr(), SQLI).map(|r| r.status() == 403).unwrap_or(false);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(blocked_after_reload, "the reloaded configuration never took effect:\n{}", n.log());
    assert!(ok > 0);
}

#[test]
fn a_trapping_vm_fails_closed_or_open_and_nginx_keeps_serving() {
    let dir = std::env::temp_dir().join(format!("palisade-trap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = dir.join("trap.wasm");
    std::fs::write(&wasm, trapping_module()).unwrap();
    for (failure, want) in [("closed", 503), ("open", 200)] {
        let s = start_with(|mut o| {
            o.wasm = Some(wasm.clone());
            o.failure = failure;
            o.workers = 1;
            o
        });
        for _ in 0..3 {
            let r = http::get(s.nginx.addr(), "/x").expect("nginx must keep answering");
            assert_eq!(r.status(), want, "{failure}: {r:?}");
        }
        assert!(s.nginx.log().contains("wasm trap"), "{}", s.nginx.log());
        assert!(s.nginx.log().contains(&format!("failing {failure}")), "{}", s.nginx.log());
        assert!(!s.nginx.log().contains("exited on signal"), "a worker crashed:\n{}", s.nginx.log());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
