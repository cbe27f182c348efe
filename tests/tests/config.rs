//! A malformed plugin configuration makes Envoy refuse the plugin, with a log
//! line naming the problem.

use std::time::Duration;

use palisade_tests::envoy::{expect_refusal, Options};
use serde_json::{json, Value};

fn refused(filter: Value, service: Option<Value>) -> String {
    let mut opts = Options::new(filter, palisade_tests::envoy::free_port());
    if let Some(s) = service {
        opts.service = Some((s, palisade_tests::envoy::free_port()));
    }
    let (status, log) = expect_refusal(&opts, Duration::from_secs(60));
    assert!(
        !status.success(),
        "Envoy exited successfully with a bad configuration:\n{log}"
    );
    assert!(
        log.contains("refuses to start"),
        "no refusal line from the plugin:\n{log}"
    );
    log
}

#[test]
fn unknown_mode_is_refused() {
    let log = refused(json!({"mode": "blok"}), None);
    assert!(
        log.contains("invalid plugin configuration") && log.contains("unknown variant `blok`"),
        "{log}"
    );
}

#[test]
fn unknown_field_and_bad_values_are_refused() {
    let log = refused(json!({"paranoia": 2}), None);
    assert!(log.contains("unknown field `paranoia`"), "{log}");
    let log = refused(json!({"paranoia_level": 7}), None);
    assert!(
        log.contains("`paranoia_level`: must be 1 to 4, got 7"),
        "{log}"
    );
}

#[test]
fn not_json_is_refused() {
    let log = refused(json!("{\"mode\": \"block\""), None);
    assert!(log.contains("invalid plugin configuration"), "{log}");
}

#[test]
fn bad_service_config_is_refused() {
    let svc = json!({"role": "service", "collector": {"cluster": "palisade_collector", "flush_interval_ms": 1}});
    let log = refused(palisade_tests::filter_config("detect"), Some(svc));
    assert!(log.contains("`collector.flush_interval_ms`"), "{log}");
}

/// Rule text the engine rejects stops the plugin (failure_mode closed), and
/// the log names the directive. Needs the rule engine (palisade-rules).
#[test]
fn bad_seclang_is_refused_naming_the_directive() {
    let log = refused(
        json!({"rules": ["Include @crs-setup.conf", "SecBogusDirective On"], "failure_mode": "closed"}),
        None,
    );
    assert!(log.contains("rule set \"default\" failed to load"), "{log}");
    assert!(
        log.contains("SecBogusDirective"),
        "the error does not name the bad directive:\n{log}"
    );
}
