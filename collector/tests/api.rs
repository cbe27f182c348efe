//! The Threat Monitoring API against the real server and a real SQLite file.

mod common;

use common::*;
use serde_json::{json, Value};

fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data"), Opts::default());
    (dir, s)
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

#[test]
fn ingest_then_query_round_trip() {
    let (_d, s) = start();
    let t = now();
    let mut b = batch(
        "rt-1",
        "envoy-a",
        "shop",
        t,
        &[
            ("shop.example.com", "pass", 120),
            ("shop.example.com", "detected", 4),
            ("shop.example.com", "blocked", 1),
            ("api.example.com", "pass", 10),
        ],
    );
    b["rule_hits"] = json!([{"rule_id": 942100, "count": 3}, {"rule_id": 941100, "count": 2}]);
    b["events"] = json!([
        event(
            "e1",
            t - 1.0,
            "shop.example.com",
            "203.0.113.9",
            "/search",
            "detected",
            &[(942100, "CRITICAL")]
        ),
        event(
            "e2",
            t - 0.5,
            "shop.example.com",
            "203.0.113.9",
            "/login",
            "blocked",
            &[(942100, "CRITICAL"), (941100, "WARNING")]
        ),
        event(
            "e3",
            t,
            "shop.example.com",
            "198.51.100.7",
            "/search",
            "detected",
            &[(941100, "WARNING")]
        ),
    ]);
    let (st, ack) = s.post("/api/v1/telemetry", &b);
    assert_eq!(st, 200, "{ack}");
    assert_eq!(ack["accepted"], true);
    assert_eq!(ack["duplicate"], false);
    assert_eq!(ack["policy"]["version"], 1);
    assert_eq!(ack["policy"]["mode"], "detect");

    let from = t - 600.0;
    let (st, sum) = s.get(&format!(
        "/api/v1/waf/summary?environment=shop&from={from}&to={}",
        t + 1.0
    ));
    assert_eq!(st, 200, "{sum}");
    assert_eq!(sum["bucket"], "minute");
    assert_eq!(n(&sum["total_requests"]), 135);
    assert_eq!(n(&sum["nominal"]), 130);
    assert_eq!(n(&sum["anomalous"]), 5);
    assert_eq!(n(&sum["blocked"]), 1);
    assert!((sum["anomalous_share"].as_f64().unwrap() - 5.0 / 135.0).abs() < 1e-9);
    let hist = sum["history"].as_array().unwrap();
    assert!(hist.len() >= 10 && hist.len() <= 12, "{}", hist.len());
    let nonzero: Vec<&Value> = hist.iter().filter(|p| n(&p["nominal"]) > 0).collect();
    assert_eq!(nonzero.len(), 1);
    assert_eq!(n(&nonzero[0]["t"]) % 60, 0);
    // host filter and other environment
    let (_, one) = s.get(&format!(
        "/api/v1/waf/summary?environment=shop&host=api.example.com&from={from}"
    ));
    assert_eq!(n(&one["total_requests"]), 10);
    let (_, other) = s.get(&format!("/api/v1/waf/summary?environment=nope&from={from}"));
    assert_eq!(n(&other["total_requests"]), 0);

    // events: list, filters, show with evidence
    let (_, list) = s.get("/api/v1/events?environment=shop");
    let evs = list["events"].as_array().unwrap();
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[0]["event_id"], "e3"); // newest first
    let (_, by_rule) = s.get("/api/v1/events?rule=942100");
    assert_eq!(by_rule["events"].as_array().unwrap().len(), 2);
    let (_, crit) = s.get("/api/v1/events?severity=critical");
    assert_eq!(crit["events"].as_array().unwrap().len(), 2);
    let (_, blocked) = s.get("/api/v1/events?action=blocked&host=shop.example.com");
    assert_eq!(blocked["events"].as_array().unwrap().len(), 1);
    let (_, page) = s.get("/api/v1/events?limit=2");
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let cursor = n(&page["next_cursor"]);
    let (_, page2) = s.get(&format!("/api/v1/events?limit=2&cursor={cursor}"));
    assert_eq!(page2["events"].as_array().unwrap().len(), 1);
    let (_, timed) = s.get(&format!("/api/v1/events?from={}", t - 0.75));
    assert_eq!(timed["events"].as_array().unwrap().len(), 2);
    let id = n(&evs[1]["id"]);
    let (st, one) = s.get(&format!("/api/v1/events/{id}"));
    assert_eq!(st, 200);
    assert_eq!(one["event_id"], "e2");
    assert_eq!(one["request_line"], "GET /login?q=x HTTP/1.1");
    assert_eq!(one["rules"][1]["severity"], "WARNING");
    assert_eq!(one["rules"][0]["data"], "Matched Data: /login");
    assert_eq!(one["severity"], "CRITICAL");
    assert_eq!(s.get("/api/v1/events/999999").0, 404);

    // top lists
    let (_, tr) = s.get("/api/v1/top/rules");
    assert_eq!(tr["rules"][0]["rule_id"], 942100);
    assert_eq!(n(&tr["rules"][0]["hits"]), 3);
    assert_eq!(tr["rules"][0]["msg"], "rule 942100");
    let (_, tc) = s.get("/api/v1/top/clients");
    assert_eq!(tc["clients"][0]["client"], "203.0.113.9");
    assert_eq!(n(&tc["clients"][0]["events"]), 2);
    assert_eq!(n(&tc["clients"][0]["blocked"]), 1);
    let (_, tp) = s.get("/api/v1/top/paths");
    assert_eq!(tp["paths"][0]["path"], "/search");
    assert_eq!(n(&tp["paths"][0]["events"]), 2);

    // instances and their applied version
    let (_, inst) = s.get("/api/v1/instances");
    assert_eq!(inst["instances"][0]["instance"], "envoy-a");
    assert_eq!(inst["instances"][0]["policy_version"], 1);
    assert_eq!(inst["instances"][0]["current"], true);
}

#[test]
fn resent_batches_are_counted_once() {
    let (_d, s) = start();
    let t = now();
    let mut b = batch(
        "dup-1",
        "envoy-a",
        "default",
        t,
        &[("h", "pass", 7), ("h", "blocked", 2)],
    );
    b["events"] = json!([event(
        "x",
        t,
        "h",
        "192.0.2.1",
        "/",
        "blocked",
        &[(920350, "WARNING")]
    )]);
    for i in 0..3 {
        let (st, ack) = s.post("/api/v1/telemetry", &b);
        assert_eq!(st, 200);
        assert_eq!(ack["duplicate"], i > 0);
    }
    let (_, sum) = s.get(&format!("/api/v1/waf/summary?from={}", t - 120.0));
    assert_eq!(n(&sum["total_requests"]), 9);
    let (_, evs) = s.get("/api/v1/events");
    assert_eq!(evs["events"].as_array().unwrap().len(), 1);
    let (_, inst) = s.get("/api/v1/instances");
    assert_eq!(inst["instances"][0]["batches"], 1);
    let (_, metrics) = request_text(&s, "/metrics");
    assert!(
        metrics.contains("palisade_telemetry_batches_total{result=\"duplicate\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "palisade_waf_requests_total{environment=\"default\",authority=\"h\",outcome=\"pass\"} 7"
    ));
}

fn request_text(s: &Server, path: &str) -> (u16, String) {
    let (st, b) = request(s.addr, "GET", path, None, None);
    (st, String::from_utf8_lossy(&b).into_owned())
}

#[test]
fn buckets_fit_the_window() {
    let (_d, s) = start();
    let t = now();
    let day = 86400.0;
    let plan = [
        (t - 30.0 * 60.0, 1u64),
        (t - 3.0 * 3600.0, 10),
        (t - 2.0 * day, 100),
        (t - 20.0 * day, 1000),
    ];
    for (i, (at, c)) in plan.iter().enumerate() {
        let (st, _) = s.post(
            "/api/v1/telemetry",
            &batch(
                &format!("bk-{i}"),
                "i",
                "default",
                *at,
                &[("h", "pass", *c)],
            ),
        );
        assert_eq!(st, 200);
    }
    let q = |from: f64, extra: &str| {
        s.get(&format!("/api/v1/waf/summary?from={from}&to={t}{extra}"))
            .1
    };
    let hour = q(t - 3600.0, "");
    assert_eq!(hour["bucket"], "minute");
    assert_eq!(n(&hour["total_requests"]), 1);
    let six = q(t - 6.0 * 3600.0, "");
    assert_eq!(six["bucket"], "minute");
    assert_eq!(n(&six["total_requests"]), 11);
    assert_eq!(six["history"].as_array().unwrap().len(), 361);
    let week = q(t - 7.0 * day, "");
    assert_eq!(week["bucket"], "hour");
    assert_eq!(n(&week["total_requests"]), 111);
    let hist = week["history"].as_array().unwrap();
    assert!(hist.iter().all(|p| n(&p["t"]) % 3600 == 0));
    assert_eq!(hist.iter().filter(|p| n(&p["nominal"]) > 0).count(), 3);
    let month = q(t - 30.0 * day, "");
    assert_eq!(month["bucket"], "day");
    assert_eq!(n(&month["total_requests"]), 1111);
    assert!(month["history"].as_array().unwrap().len() >= 30);
    // an explicit bucket, and one with too many buckets
    let forced = q(t - 7.0 * day, "&bucket=day");
    assert_eq!(forced["bucket"], "day");
    assert_eq!(n(&forced["total_requests"]), 111);
    let (st, err) = s.get(&format!(
        "/api/v1/waf/summary?from={}&bucket=minute",
        t - 30.0 * day
    ));
    assert_eq!(st, 400);
    assert_eq!(err["error"]["field"], "bucket");
}

#[test]
fn retention_downsamples() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = "[retention]\nraw_events_days = 1\nminute_days = 1\nhour_days = 3\ninterval_seconds = 0.2\n";
    let s = Server::start(
        &dir.path().join("data"),
        Opts {
            config: cfg.into(),
            ..Opts::default()
        },
    );
    let t = now();
    let day = 86400.0;
    let old = t - 2.0 * day;
    let mut b = batch(
        "old",
        "i",
        "default",
        old,
        &[("h", "pass", 5), ("h", "detected", 1)],
    );
    b["rule_hits"] = json!([{"rule_id": 932100, "count": 4}]);
    b["events"] = json!([event(
        "old-e",
        old,
        "h",
        "192.0.2.1",
        "/",
        "detected",
        &[(932100, "CRITICAL")]
    )]);
    assert_eq!(s.post("/api/v1/telemetry", &b).0, 200);
    let mut b2 = batch(
        "ancient",
        "i",
        "default",
        t - 5.0 * day,
        &[("h", "pass", 50)],
    );
    b2["events"] = json!([]);
    assert_eq!(s.post("/api/v1/telemetry", &b2).0, 200);
    let mut fresh = batch("new", "i", "default", t, &[("h", "pass", 3)]);
    fresh["events"] = json!([event(
        "new-e",
        t,
        "h",
        "192.0.2.1",
        "/",
        "detected",
        &[(932100, "CRITICAL")]
    )]);
    assert_eq!(s.post("/api/v1/telemetry", &fresh).0, 200);

    let w = |from: f64, to: f64, bucket: &str| {
        s.get(&format!(
            "/api/v1/waf/summary?from={from}&to={to}&bucket={bucket}"
        ))
        .1["total_requests"]
            .as_i64()
            .unwrap()
    };
    // The sweep runs every 0.2 s: the old raw event and minute buckets go,
    // the hour buckets keep the totals; buckets older than 3 days go too.
    s.wait_for(10.0, |s| {
        let (_, evs) = s.get("/api/v1/events");
        (evs["events"].as_array().map(|a| a.len()) == Some(1)).then_some(())
    });
    s.wait_for(10.0, |_| {
        (w(old - 3600.0, old + 3600.0, "minute") == 0).then_some(())
    });
    assert_eq!(w(old - 7200.0, old + 7200.0, "hour"), 6);
    s.wait_for(10.0, |_| {
        (w(t - 6.0 * day, t - 4.0 * day, "hour") == 0).then_some(())
    });
    assert_eq!(w(t - 6.0 * day, t - 4.0 * day, "day"), 50);
    assert_eq!(w(t - 600.0, t + 1.0, "minute"), 3);
    // the summary picks hour buckets for a window that minute retention no longer covers
    let (_, sum) = s.get(&format!(
        "/api/v1/waf/summary?from={}&to={}",
        old - 3600.0,
        old + 3600.0
    ));
    assert_eq!(sum["bucket"], "hour");
    assert_eq!(n(&sum["total_requests"]), 6);
    // top rules outlive the raw events
    let (_, tr) = s.get(&format!(
        "/api/v1/top/rules?from={}&to={}",
        old - 3600.0,
        old + 3600.0
    ));
    assert_eq!(n(&tr["rules"][0]["hits"]), 4);
}

#[test]
fn policy_versions_and_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = "[[tokens]]\nname = \"alice\"\nrole = \"write\"\ntoken = \"alice-secret\"\n\
               [[tokens]]\nname = \"viewer\"\nrole = \"read\"\ntoken = \"view-secret\"\n";
    let s = Server::start(
        &dir.path().join("data"),
        Opts {
            config: cfg.into(),
            ..Opts::default()
        },
    );
    // reads need the read token now
    assert_eq!(s.get("/api/v1/policy").0, 401);
    let (st, p1) = s.get_with("/api/v1/policy", "view-secret");
    assert_eq!(st, 200);
    assert_eq!(p1["version"], 1);

    let update = json!({"version": 1, "mode": "block", "paranoia_level": 2, "inbound_threshold": 7,
        "outbound_threshold": 4, "disabled_rules": [920350, 920350], "disabled_tags": [],
        "hosts": {"admin.example.com": {"mode": "detect", "paranoia_level": 3}}, "comment": "go live"});
    let body = update.to_string();
    let (st, b) = request(
        s.addr,
        "PUT",
        "/api/v1/policy",
        Some("alice-secret"),
        Some(body.as_bytes()),
    );
    let r = parse(&b);
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["policy"]["version"], 2);
    assert_eq!(r["policy"]["disabled_rules"], json!([920350]));
    assert_eq!(
        r["changed"],
        json!([
            "mode",
            "paranoia_level",
            "inbound_threshold",
            "disabled_rules",
            "hosts.admin.example.com"
        ])
    );
    // stale version → 409; read token cannot write → 403; no-op → same version
    let (st, _) = request(
        s.addr,
        "PUT",
        "/api/v1/policy",
        Some("alice-secret"),
        Some(body.as_bytes()),
    );
    assert_eq!(st, 409);
    let (st, _) = request(
        s.addr,
        "PUT",
        "/api/v1/policy",
        Some("view-secret"),
        Some(body.as_bytes()),
    );
    assert_eq!(st, 403);
    let mut same = update.clone();
    same["version"] = json!(2);
    let (st, b) = request(
        s.addr,
        "PUT",
        "/api/v1/policy",
        Some(WRITE),
        Some(same.to_string().as_bytes()),
    );
    assert_eq!(st, 200);
    assert_eq!(parse(&b)["policy"]["version"], 2);
    // a second change by the env token (named "write")
    let mut second = update.clone();
    second["version"] = json!(2);
    second["inbound_threshold"] = json!(10);
    second.as_object_mut().unwrap().remove("comment");
    let (st, _) = request(
        s.addr,
        "PUT",
        "/api/v1/policy",
        Some(WRITE),
        Some(second.to_string().as_bytes()),
    );
    assert_eq!(st, 200);

    let (_, h) = s.get_with("/api/v1/policy/history", "view-secret");
    let e = h["entries"].as_array().unwrap();
    assert_eq!(e.len(), 3);
    assert_eq!(
        (e[0]["version"].as_i64(), e[0]["who"].as_str()),
        (Some(3), Some("write"))
    );
    assert_eq!(e[0]["changes"], json!(["inbound_threshold"]));
    assert_eq!(e[0]["old"]["inbound_threshold"], 7);
    assert_eq!(e[0]["new"]["inbound_threshold"], 10);
    assert_eq!(
        (e[1]["who"].as_str(), e[1]["comment"].as_str()),
        (Some("alice"), Some("go live"))
    );
    assert_eq!(e[1]["old"]["mode"], "detect");
    assert_eq!(e[1]["new"]["mode"], "block");
    assert_eq!(
        (e[2]["who"].as_str(), e[2]["action"].as_str()),
        (Some("system"), Some("init"))
    );
    assert!(e[1]["at"].as_f64().unwrap() > now() - 60.0);
    let (_, v1) = s.get_with("/api/v1/policy/versions/1", "view-secret");
    assert_eq!(v1["mode"], "detect");

    // the policy rides on the ack; instances report what they applied
    let (st, b) = request(
        s.addr,
        "POST",
        "/api/v1/telemetry",
        Some("alice-secret"),
        Some(
            batch("p-1", "envoy-z", "default", now(), &[])
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(st, 200);
    let ack = parse(&b);
    assert_eq!(ack["policy"]["version"], 3);
    assert_eq!(
        ack["policy"]["hosts"]["admin.example.com"]["paranoia_level"],
        3
    );
    let (_, inst) = s.get_with("/api/v1/instances", "view-secret");
    assert_eq!(inst["instances"][0]["policy_version"], 1);
    assert_eq!(inst["instances"][0]["current"], false);
    let mut b3 = batch("p-2", "envoy-z", "default", now(), &[]);
    b3["policy_version"] = json!(3);
    request(
        s.addr,
        "POST",
        "/api/v1/telemetry",
        Some("alice-secret"),
        Some(b3.to_string().as_bytes()),
    );
    let (_, inst) = s.get_with("/api/v1/instances", "view-secret");
    assert_eq!(inst["instances"][0]["policy_version"], 3);
    assert_eq!(inst["instances"][0]["current"], true);
}

#[test]
fn mask_and_rule_off() {
    let (_d, s) = start();
    let t = now();
    let mut b = batch("m-1", "envoy-a", "default", t, &[]);
    b["events"] = json!([
        event(
            "a",
            t - 3.0,
            "shop",
            "192.0.2.1",
            "/search",
            "detected",
            &[(942100, "CRITICAL")]
        ),
        event(
            "b",
            t - 2.0,
            "shop",
            "192.0.2.2",
            "/search",
            "detected",
            &[(942100, "CRITICAL")]
        ),
        event(
            "c",
            t - 1.0,
            "shop",
            "192.0.2.3",
            "/other",
            "detected",
            &[(942100, "CRITICAL")]
        ),
        event(
            "d",
            t,
            "shop",
            "192.0.2.4",
            "/search",
            "blocked",
            &[(942100, "CRITICAL"), (949110, "CRITICAL")]
        ),
    ]);
    assert_eq!(s.post("/api/v1/telemetry", &b).0, 200);
    let (_, all) = s.get("/api/v1/events");
    let ids: Vec<i64> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| n(&e["id"]))
        .collect();
    assert_eq!(ids.len(), 4);
    let first = *ids.last().unwrap(); // event "a"
    let (st, m) = s.post(
        &format!("/api/v1/events/{first}/mask"),
        &json!({"comment": "false positive"}),
    );
    assert_eq!(st, 200, "{m}");
    assert_eq!(
        m["masks"],
        json!([{"rule_id": 942100, "authority": "shop", "path": "/search"}])
    );
    assert_eq!(m["policy_version"], 2);
    // "a" and "b" (same rule, host, path) are hidden; "c" (other path) and
    // "d" (a second, unmasked rule) stay
    let (_, vis) = s.get("/api/v1/events");
    let names: Vec<&str> = vis["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["d", "c"]);
    let (_, inc) = s.get("/api/v1/events?include_masked=true");
    let masked: Vec<bool> = inc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["masked"].as_bool().unwrap())
        .collect();
    assert_eq!(masked, vec![false, false, true, true]);
    let (_, one) = s.get(&format!("/api/v1/events/{first}"));
    assert_eq!(one["masked"], true);
    // the filters get the mask with the policy
    let (_, p) = s.get("/api/v1/policy");
    assert_eq!(p["masks"][0]["path"], "/search");
    // top clients skip masked events
    let (_, tc) = s.get("/api/v1/top/clients?limit=10");
    assert_eq!(tc["clients"].as_array().unwrap().len(), 2);
    // unmask
    let (st, _) = s.post(&format!("/api/v1/events/{first}/unmask"), &json!({}));
    assert_eq!(st, 200);
    assert_eq!(
        s.get("/api/v1/events").1["events"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // rule off globally, then for one host (which starts from the global list)
    let (st, r) = s.post("/api/v1/rules/920350/disable", &json!({"comment": "noisy"}));
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["policy"]["disabled_rules"], json!([920350]));
    let (st, r) = s.post("/api/v1/rules/942100/disable", &json!({"host": "shop"}));
    assert_eq!(st, 200);
    assert_eq!(
        r["policy"]["hosts"]["shop"]["disabled_rules"],
        json!([920350, 942100])
    );
    assert_eq!(r["policy"]["disabled_rules"], json!([920350]));
    let (_, r) = s.post("/api/v1/rules/942100/enable", &json!({"host": "shop"}));
    assert_eq!(
        r["policy"]["hosts"]["shop"]["disabled_rules"],
        json!([920350])
    );
    let (_, r) = s.post("/api/v1/rules/920350/enable", &json!({}));
    assert_eq!(r["policy"]["disabled_rules"], json!([]));
    let (_, h) = s.get("/api/v1/policy/history");
    let actions: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "rule-on",
            "rule-on-host",
            "rule-off-host",
            "rule-off",
            "unmask",
            "mask",
            "init"
        ]
    );
    assert_eq!(s.post("/api/v1/events/99999/mask", &json!({})).0, 404);
    assert_eq!(
        s.post("/api/v1/rules/abc/disable", &json!({})).1["error"]["field"],
        "id"
    );
}

#[test]
fn bad_inputs_get_4xx_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        Opts {
            args: vec![
                "--proc-net-dev".into(),
                "off".into(),
                "--nft".into(),
                "off".into(),
                "--max-telemetry-bytes".into(),
                "4096".into(),
            ],
            ..Opts::default()
        },
    );
    let post = |body: &[u8], token: Option<&str>| {
        let (st, b) = request(s.addr, "POST", "/api/v1/telemetry", token, Some(body));
        (st, parse(&b))
    };
    let (st, e) = post(b"{\"batch_id\": \"x\", ", Some(WRITE));
    assert_eq!(st, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed"),
        "{e}"
    );
    let (st, e) = post(br#"{"batch_id":"x","instance":"i","sent_at":1763900000,"counters":[{"authority":"a","outcome":"pass","count":"12"}]}"#, Some(WRITE));
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (400, Some("counters[0].count"))
    );
    let (st, e) = post(br#"{"batch_id":"x","instance":"i","sent_at":1763900000,"counters":[{"authority":"a","outcome":"maybe","count":1}]}"#, Some(WRITE));
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (400, Some("counters[0].outcome"))
    );
    let (st, e) = post(br#"{"instance":"i","sent_at":1763900000}"#, Some(WRITE));
    assert_eq!(st, 400);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("batch_id"),
        "{e}"
    );
    let (st, e) = post(
        br#"{"batch_id":"","instance":"i","sent_at":1763900000}"#,
        Some(WRITE),
    );
    assert_eq!((st, e["error"]["field"].as_str()), (400, Some("batch_id")));
    let (st, e) = post(
        br#"{"batch_id":"x","instance":"i","sent_at":-5}"#,
        Some(WRITE),
    );
    assert_eq!((st, e["error"]["field"].as_str()), (400, Some("sent_at")));
    let (st, e) = post(b"[1,2,3]", Some(WRITE));
    assert_eq!(st, 400, "{e}");
    let big = format!("{{\"batch_id\":\"{}\"}}", "x".repeat(5000));
    let (st, e) = post(big.as_bytes(), Some(WRITE));
    assert_eq!((st, e["error"]["code"].as_str()), (413, Some("too_large")));
    // a body larger than announced limit without Content-Length (chunked)
    let chunk = "x".repeat(3000);
    let raw = format!(
        "POST /api/v1/telemetry HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {WRITE}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len(), chunk.len()
    );
    assert_eq!(raw_request(s.addr, raw.as_bytes()).0, 413);
    // tokens
    let ok = batch("tok", "i", "default", now(), &[]).to_string();
    assert_eq!(post(ok.as_bytes(), None).0, 401);
    assert_eq!(post(ok.as_bytes(), Some("wrong")).0, 401);
    let (st, _) = request(s.addr, "PUT", "/api/v1/policy", None, Some(b"{}"));
    assert_eq!(st, 401);
    // policy validation names the field
    let (st, e) = s.send("PUT", "/api/v1/policy", &json!({"mode": "block", "paranoia_level": 9, "inbound_threshold": 5, "outbound_threshold": 4}));
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (400, Some("paranoia_level"))
    );
    let (st, e) = s.send("PUT", "/api/v1/policy", &json!({"mode": "loud", "paranoia_level": 1, "inbound_threshold": 5, "outbound_threshold": 4}));
    assert_eq!((st, e["error"]["field"].as_str()), (400, Some("mode")));
    let (st, e) = s.send("PUT", "/api/v1/policy", &json!({"mode": "block", "paranoia_level": 1, "inbound_threshold": 5, "outbound_threshold": 4, "surprise": 1}));
    assert_eq!(st, 400, "{e}");
    // parameters
    for (q, field) in [
        ("/api/v1/waf/summary?from=yesterday", "from"),
        ("/api/v1/waf/summary?from=200&to=100", "from"),
        ("/api/v1/waf/summary?bucket=week", "bucket"),
        ("/api/v1/events?limit=0", "limit"),
        ("/api/v1/events?limit=abc", "limit"),
        ("/api/v1/events?severity=loud", "severity"),
        ("/api/v1/events?rule=-1", "rule"),
        ("/api/v1/events?action=maybe", "action"),
        ("/api/v1/events?include_masked=perhaps", "include_masked"),
        ("/api/v1/events/abc", "id"),
        ("/api/v1/network/summary?to=%ff", "to"),
    ] {
        let (st, e) = s.get(q);
        assert_eq!(
            (st, e["error"]["field"].as_str()),
            (400, Some(field)),
            "{q}: {e}"
        );
    }
    assert_eq!(s.get("/api/v1/nothing").0, 404);
    assert_eq!(s.get("/api/v1/top/things").0, 404);
    assert_eq!(
        request(s.addr, "DELETE", "/api/v1/policy", Some(WRITE), None).0,
        405
    );
    assert_eq!(
        request(s.addr, "GET", "/api/v1/telemetry", None, None).0,
        405
    );
    // garbage on the socket
    let _ = raw_request(s.addr, b"\x00\x01\x02 not http at all\r\n\r\n");
    let _ = raw_request(
        s.addr,
        b"GET /api/v1/events?limit=1 HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    );
    // still serving, and the Threat Monitoring page is there
    let (st, body) = request(s.addr, "GET", "/", None, None);
    assert_eq!(st, 200);
    assert!(String::from_utf8_lossy(&body).contains("Threat Monitoring"));
    assert_eq!(s.get("/healthz").0, 200);
    assert_eq!(
        s.post(
            "/api/v1/telemetry",
            &batch("fine", "i", "default", now(), &[("h", "pass", 1)])
        )
        .0,
        200
    );
}

#[test]
fn generated_token_on_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(
        &data,
        Opts {
            write_token: false,
            ..Opts::default()
        },
    );
    let token = std::fs::read_to_string(data.join("write-token")).unwrap();
    let token = token.trim();
    assert!(token.len() >= 40);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(data.join("write-token"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let b = batch("g", "i", "default", now(), &[]).to_string();
    assert_eq!(
        request(
            s.addr,
            "POST",
            "/api/v1/telemetry",
            Some(token),
            Some(b.as_bytes())
        )
        .0,
        200
    );
    assert_eq!(
        request(
            s.addr,
            "POST",
            "/api/v1/telemetry",
            Some(WRITE),
            Some(b.as_bytes())
        )
        .0,
        401
    );
    // the audit names the generated token
    let (_, p) = s.post("/api/v1/rules/1/disable", &json!({}));
    assert_eq!(p["error"]["code"], "unauthorized");
    let (st, _) = {
        let (st, b) = request(
            s.addr,
            "POST",
            "/api/v1/rules/920350/disable",
            Some(token),
            None,
        );
        (st, parse(&b))
    };
    assert_eq!(st, 200);
    assert_eq!(
        s.get("/api/v1/policy/history").1["entries"][0]["who"],
        "generated"
    );
}

#[test]
fn metrics_text() {
    let (_d, s) = start();
    let mut b = batch(
        "mt",
        "envoy-m",
        "prod",
        now(),
        &[("a.example", "blocked", 2)],
    );
    b["rule_hits"] = json!([{"rule_id": 949110, "count": 2}]);
    assert_eq!(s.post("/api/v1/telemetry", &b).0, 200);
    let (st, text) = request_text(&s, "/metrics");
    assert_eq!(st, 200);
    for want in [
        "# TYPE palisade_waf_requests_total counter",
        "palisade_waf_requests_total{environment=\"prod\",authority=\"a.example\",outcome=\"blocked\"} 2",
        "palisade_waf_rule_hits_total{rule_id=\"949110\"} 2",
        "palisade_policy_version 1",
        "palisade_filter_policy_version{instance=\"envoy-m\",environment=\"prod\"} 1",
        "palisade_ingest_duration_seconds_count 1",
        "palisade_http_requests_total{route=\"/api/v1/telemetry\",status=\"200\"} 1",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}
