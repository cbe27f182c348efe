//! envoy/envoy.yaml as shipped: `envoy -c envoy/envoy.yaml` from the
//! repository root, with the module where `make wasm` puts it.

use std::time::Duration;

use palisade_tests::backend::Backend;
use palisade_tests::envoy::{envoy_binary, free_port, install_dist_module, workspace_root, Envoy};
use palisade_tests::http;
use palisade_tests::real_collector::{RealCollector, TOKEN};

/// Envoy's own validation of the file, which loads the module and compiles
/// CRS.
#[test]
fn shipped_envoy_yaml_validates() {
    let root = workspace_root();
    install_dist_module();
    let out = std::process::Command::new(envoy_binary())
        .current_dir(&root)
        .args(["--mode", "validate", "-c", "envoy/envoy.yaml"])
        .output()
        .expect("run envoy --mode validate");
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "envoy/envoy.yaml does not validate:\n{log}"
    );
    assert!(
        log.contains("rule set \"default\" compiled in"),
        "CRS was not compiled:\n{log}"
    );
}

/// Replaces `from` (which must occur exactly once) with `to`.
fn set(text: &mut String, from: &str, to: &str) {
    assert_eq!(
        text.matches(from).count(),
        1,
        "envoy/envoy.yaml no longer has exactly one `{from}`"
    );
    *text = text.replace(from, to);
}

/// The shipped file serving traffic: only its four ports and the collector
/// token are changed (fixed ports could be taken on a shared machine; the
/// collector needs its write token). Benign traffic passes, SQL injection is
/// detected (detect mode, CRS at PL1) and written to the error log, and the
/// event reaches the real collector through the shipped service settings.
#[test]
fn shipped_envoy_yaml_serves_traffic() {
    let root = workspace_root();
    install_dist_module();
    let backend = Backend::start();
    let collector = RealCollector::start();
    let (listen, admin) = (free_port(), free_port());
    let mut yaml =
        std::fs::read_to_string(root.join("envoy/envoy.yaml")).expect("read envoy/envoy.yaml");
    set(
        &mut yaml,
        "address: 127.0.0.1, port_value: 8080 }",
        &format!("address: 127.0.0.1, port_value: {listen} }}"),
    );
    set(
        &mut yaml,
        "address: 127.0.0.1, port_value: 9901 }",
        &format!("address: 127.0.0.1, port_value: {admin} }}"),
    );
    set(
        &mut yaml,
        "address: 127.0.0.1, port_value: 8081 }",
        &format!("address: 127.0.0.1, port_value: {} }}", backend.port),
    );
    set(
        &mut yaml,
        "address: 127.0.0.1, port_value: 9090 }",
        &format!("address: 127.0.0.1, port_value: {} }}", collector.port),
    );
    set(
        &mut yaml,
        "\"token\": \"\",",
        &format!("\"token\": \"{TOKEN}\","),
    );
    let cfg = std::env::temp_dir().join(format!("palisade-shipped-{}.yaml", std::process::id()));
    std::fs::write(&cfg, &yaml).expect("write the config");
    let envoy = Envoy::start_file(&cfg, &root, listen, admin, 2).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&cfg);

    let ua = [
        ("User-Agent", "Mozilla/5.0 palisade-e2e"),
        ("Accept", "*/*"),
    ];
    let r = http::request(&envoy.listen, "GET", "/products?page=2", &ua, b"").expect("benign GET");
    assert_eq!(r.status(), 200, "{r:?}");
    let r = http::request(&envoy.listen, "GET", "/?id=1%27%20OR%201=1--", &ua, b"")
        .expect("attack GET");
    assert_eq!(
        r.status(),
        200,
        "detect mode as shipped must not block: {r:?}"
    );
    assert_eq!(backend.received().len(), 2);
    assert!(
        envoy.wait_log("[id \"942100\"]", Duration::from_secs(2)),
        "no error-log line:\n{}",
        envoy.log()
    );
    assert_eq!(
        envoy.metric("palisade_requests{outcome=\"detected\"}"),
        Some(1.0),
        "{}",
        envoy.prometheus()
    );
    assert_eq!(
        envoy.metric("palisade_requests{outcome=\"pass\"}"),
        Some(1.0),
        "{}",
        envoy.prometheus()
    );
    let event = collector.wait(Duration::from_secs(10), |c| {
        c.get("/api/v1/events?rule=942100")["events"]
            .as_array()
            .and_then(|e| e.first().cloned())
    });
    let event = event.unwrap_or_else(|| panic!("no event at the collector:\n{}", envoy.log()));
    assert_eq!(event["action"], "detected", "{event}");
    assert_eq!(event["environment"], "default", "{event}");
}
