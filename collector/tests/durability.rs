//! Kill -9 while filters are sending; restart: every acknowledged batch is
//! present and none is counted twice.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

#[test]
fn kill9_loses_no_acknowledged_batch_and_counts_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start(&data, Opts::default());
    let addr = s.addr;
    let t0 = now();
    let stop = Arc::new(AtomicBool::new(false));
    // (batch id, acknowledged)
    let sent: Arc<Mutex<Vec<(String, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for w in 0..8 {
        let stop = stop.clone();
        let sent = sent.clone();
        senders.push(std::thread::spawn(move || {
            for i in 0..5000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let id = format!("w{w}-{i}");
                let mut b = batch(
                    &id,
                    &format!("filter-{w}"),
                    "default",
                    t0,
                    &[("d.example", "pass", 1)],
                );
                b["events"] = serde_json::json!([event(
                    &id,
                    t0,
                    "d.example",
                    "192.0.2.1",
                    "/",
                    "detected",
                    &[(942100, "CRITICAL")]
                )]);
                let body = b.to_string();
                // a connection refused after the kill is simply not acked
                let r = try_request(
                    addr,
                    "POST",
                    "/api/v1/telemetry",
                    Some(WRITE),
                    Some(body.as_bytes()),
                );
                let acked = matches!(&r, Some((200, b)) if parse(b)["accepted"] == true);
                sent.lock().unwrap().push((id, acked));
                if r.is_none() {
                    break;
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for h in senders {
        let _ = h.join();
    }
    let sent = sent.lock().unwrap().clone();
    let acked: Vec<&String> = sent.iter().filter(|(_, a)| *a).map(|(id, _)| id).collect();
    eprintln!(
        "sent {} batches, {} acknowledged before kill -9",
        sent.len(),
        acked.len()
    );
    assert!(
        acked.len() > 50,
        "too few batches got through to test anything: {}",
        acked.len()
    );

    let s = Server::start(&data, Opts::default());
    let total = |s: &Server| {
        s.get(&format!(
            "/api/v1/waf/summary?from={}&to={}",
            t0 - 120.0,
            now() + 1.0
        ))
        .1["total_requests"]
            .as_i64()
            .unwrap()
    };
    let after_restart = total(&s);
    assert!(
        after_restart >= acked.len() as i64,
        "acknowledged {} but only {after_restart} counted",
        acked.len()
    );
    assert!(after_restart <= sent.len() as i64);
    // Every acknowledged batch is there: resending it is a duplicate.
    for id in &acked {
        let (st, ack) = s.post(
            "/api/v1/telemetry",
            &batch(id, "x", "default", t0, &[("d.example", "pass", 1)]),
        );
        assert_eq!(st, 200);
        assert_eq!(
            ack["duplicate"], true,
            "acknowledged batch {id} is missing after kill -9"
        );
    }
    // Filters resend what was not acknowledged; each batch counts once.
    for (id, a) in &sent {
        if !a {
            let mut b = batch(id, "x", "default", t0, &[("d.example", "pass", 1)]);
            b["events"] = serde_json::json!([event(
                id,
                t0,
                "d.example",
                "192.0.2.1",
                "/",
                "detected",
                &[(942100, "CRITICAL")]
            )]);
            assert_eq!(s.post("/api/v1/telemetry", &b).0, 200);
        }
    }
    assert_eq!(total(&s), sent.len() as i64);
    let (_, tp) = s.get(&format!(
        "/api/v1/top/paths?from={}&to={}",
        t0 - 120.0,
        now() + 1.0
    ));
    assert_eq!(
        tp["paths"][0]["events"].as_i64(),
        Some(sent.len() as i64),
        "events stored once each"
    );
}
