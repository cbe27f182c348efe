//! Every phase through Envoy with a small rule set of its own (no CRS): a
//! block in phases 1-3 is a local reply; in phase 4 the response body is
//! replaced; detect mode records the same matches and blocks nothing. Needs
//! the rule engine (palisade-rules).

use palisade_tests::{h2c, http, Stack};
use serde_json::{json, Value};

const BLOCKED: &str = "Request blocked by Palisade.\n";

fn config(mode: &str, hold_headers: bool) -> Value {
    json!({
        "mode": mode,
        "failure_mode": "closed",
        "request_body": {"hold_headers": hold_headers},
        "rules": [
            "SecRule REQUEST_HEADERS:x-probe \"@streq bad\" \"id:1000,phase:1,deny,log,msg:'phase 1 probe'\"",
            "SecRule ARGS_POST:a \"@rx (?i)or\\s+1=1\" \"id:1001,phase:2,deny,status:403,log,msg:'phase 2 probe'\"",
            "SecRule RESPONSE_STATUS \"@streq 299\" \"id:1003,phase:3,deny,log,msg:'phase 3 probe'\"",
            "SecRule RESPONSE_BODY \"@contains SQL syntax\" \"id:1004,phase:4,deny,log,msg:'phase 4 probe'\""
        ]
    })
}

fn reflect(s: &Stack, status: u16, content_type: &str, body: &str) -> http::Message {
    let spec = json!({"status": status, "headers": {"content-type": content_type}, "body": body});
    http::request(
        s.addr(),
        "POST",
        "/reflect",
        &[("Content-Type", "application/json")],
        spec.to_string().as_bytes(),
    )
    .expect("POST /reflect")
}

fn form(s: &Stack, body: &[u8]) -> http::Message {
    http::request(
        s.addr(),
        "POST",
        "/form",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body,
    )
    .expect("POST")
}

#[test]
fn each_phase_blocks_in_block_mode() {
    for hold in [true, false] {
        let s = Stack::start(config("block", hold));
        let r = http::request(s.addr(), "GET", "/", &[("x-probe", "bad")], b"").expect("GET");
        assert_eq!(
            (r.status(), r.body_str().as_str()),
            (403, BLOCKED),
            "phase 1, hold_headers {hold}"
        );
        assert!(r.header("x-palisade-transaction-id").is_some());

        let r = form(&s, b"a=1' or 1=1--");
        assert_eq!(r.status(), 403, "phase 2, hold_headers {hold}");
        let (status, _) = h2c::post_with_trailers(
            s.addr(),
            "/h2",
            "application/x-www-form-urlencoded",
            b"a=1' or 1=1--",
            &[("x-t", "1")],
        )
        .expect("h2 request");
        assert_eq!(status, 403, "phase 2 with trailers, hold_headers {hold}");
        if hold {
            assert!(
                s.backend.received().is_empty(),
                "a blocked request reached the backend"
            );
        }

        let r = reflect(&s, 299, "text/html", "fine");
        assert_eq!(
            (r.status(), r.body_str().as_str()),
            (403, BLOCKED),
            "phase 3"
        );

        let r = reflect(
            &s,
            200,
            "text/html",
            "<p>You have an error in your SQL syntax near '1'</p>",
        );
        assert_eq!(
            (r.status(), r.body_str().as_str()),
            (200, BLOCKED),
            "phase 4 replaces the body"
        );
        // Not an inspected MIME type: goes through.
        let r = reflect(
            &s,
            200,
            "application/octet-stream",
            "You have an error in your SQL syntax",
        );
        assert_eq!(r.body_str(), "You have an error in your SQL syntax");
        // Benign traffic is untouched, including inspected response bodies.
        let page = "<html>".to_string() + &"benign text ".repeat(5000) + "</html>";
        let r = reflect(&s, 200, "text/html", &page);
        assert_eq!((r.status(), r.body_str()), (200, page.clone()));
        assert_eq!(form(&s, b"a=hello&b=world").status(), 200);

        assert_eq!(
            s.envoy.metric("palisade_requests{outcome=\"blocked\"}"),
            Some(5.0),
            "{}",
            s.envoy.prometheus()
        );
        for id in [1000, 1001, 1003, 1004] {
            let sample = format!("palisade_rule_hits{{rule_id=\"{id}\"}}");
            assert!(s.envoy.metric(&sample).unwrap_or(0.0) >= 1.0, "{sample}");
        }
        let log = s.envoy.log();
        assert!(
            log.contains("Access denied with code 403 (phase 4).") && log.contains("[id \"1004\"]"),
            "{log}"
        );
    }
}

#[test]
fn detect_mode_records_and_passes() {
    let s = Stack::start(config("detect", true));
    assert_eq!(
        http::request(s.addr(), "GET", "/", &[("x-probe", "bad")], b"")
            .expect("GET")
            .status(),
        200
    );
    assert_eq!(form(&s, b"a=1' or 1=1--").status(), 200);
    assert_eq!(reflect(&s, 299, "text/html", "fine").status(), 299);
    let leak = "You have an error in your SQL syntax";
    assert_eq!(reflect(&s, 200, "text/html", leak).body_str(), leak);
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"detected\"}"),
        Some(4.0),
        "{}",
        s.envoy.prometheus()
    );
    assert_eq!(
        s.envoy.metric("palisade_requests{outcome=\"blocked\"}"),
        Some(0.0)
    );
    let log = s.envoy.log();
    assert!(
        log.contains("ModSecurity: Warning.") && !log.contains("Access denied"),
        "{log}"
    );
}
