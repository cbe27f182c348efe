//! Load benchmark (not a test): the release `palisade collector` binary on
//! loopback with a fresh SQLite file.
//!
//! 1. Sustained ingest: many simulated filter instances, each on a
//!    keep-alive connection; first paced (one batch per instance per second,
//!    latency at a held rate), then back to back (the ceiling); reports
//!    batches/s, events/s and ingest latency percentiles.
//! 2. Queries over 30 days of minute buckets (seeded through the API):
//!    summary, top lists and events, latency percentiles.
//!
//! Run: `cargo bench -p palisade-collector --bench load` (knobs:
//! PALISADE_BENCH_INSTANCES, PALISADE_BENCH_SECONDS, PALISADE_BENCH_EVENTS).

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    fn call(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {WRITE}\r\n");
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        let mut raw = req.into_bytes();
        if let Some(b) = body {
            raw.extend_from_slice(b);
        }
        self.w.write_all(&raw).unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            self.r.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body).unwrap();
        (status, body)
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn env_num(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn filter_batch(instance: usize, seq: u64, t: f64, events: usize) -> Vec<u8> {
    let hosts = [
        "shop.example.com",
        "api.example.com",
        "admin.example.com",
        "cdn.example.com",
        "auth.example.com",
    ];
    let counters: Vec<_> = hosts
        .iter()
        .flat_map(|h| {
            [
                json!({"authority": h, "outcome": "pass", "count": 200}),
                json!({"authority": h, "outcome": "detected", "count": 3}),
                json!({"authority": h, "outcome": "blocked", "count": 1}),
            ]
        })
        .collect();
    let evs: Vec<_> = (0..events)
        .map(|i| {
            let h = hosts[i % hosts.len()];
            event(
                &format!("{instance}-{seq}-{i}"),
                t,
                h,
                &format!("203.0.113.{}", i % 250),
                &format!("/p/{}", i % 40),
                if i % 4 == 0 { "blocked" } else { "detected" },
                &[(942100, "CRITICAL"), (941100 + (i as u64 % 20), "WARNING")],
            )
        })
        .collect();
    json!({
        "batch_id": format!("bench-{instance}-{seq}"), "instance": format!("envoy-{instance}"), "environment": "prod",
        "policy_version": 1, "sent_at": t, "counters": counters,
        "rule_hits": (0..10).map(|r| json!({"rule_id": 942100 + r, "count": 2})).collect::<Vec<_>>(),
        "body_limit_events": 0, "dropped_events": 0, "events": evs
    })
    .to_string()
    .into_bytes()
}

fn ingest_phase(data: &std::path::Path) {
    let instances = env_num("PALISADE_BENCH_INSTANCES", 64) as usize;
    let seconds = env_num("PALISADE_BENCH_SECONDS", 15);
    let events = env_num("PALISADE_BENCH_EVENTS", 20) as usize;
    let s = Server::start(data, Opts::default());
    let addr = s.addr;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..instances)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Conn::new(addr);
                let mut lat = Vec::new();
                let mut seq = 0u64;
                while Instant::now() < deadline {
                    let body = filter_batch(i, seq, now(), events);
                    let t = Instant::now();
                    let (st, _) = c.call("POST", "/api/v1/telemetry", Some(&body));
                    lat.push(t.elapsed().as_secs_f64());
                    assert_eq!(st, 200);
                    seq += 1;
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<f64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let wall = started.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = lat.len() as f64;
    println!("ingest: {instances} filter instances back to back for {seconds} s, {events} events + 15 counters + 10 rule hits per batch");
    println!(
        "  {:.0} batches/s, {:.0} events/s held; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} batches)",
        n / wall,
        n * events as f64 / wall,
        pct(&lat, 0.5) * 1e3,
        pct(&lat, 0.99) * 1e3,
        pct(&lat, 1.0) * 1e3,
        lat.len()
    );
    let db = std::fs::metadata(data.join("palisade.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "  database after ingest: {:.1} MiB",
        db as f64 / (1 << 20) as f64
    );
}

/// Open loop: `instances` filters each sending one batch every `every`
/// seconds (the filters' flush tick), so latency is measured at a held rate.
fn paced_phase(data: &std::path::Path) {
    let instances = env_num("PALISADE_BENCH_PACED_INSTANCES", 400) as usize;
    let every = 1.0;
    let seconds = env_num("PALISADE_BENCH_SECONDS", 15);
    let events = env_num("PALISADE_BENCH_EVENTS", 20) as usize;
    let s = Server::start(data, Opts::default());
    let addr = s.addr;
    let started = Instant::now();
    let handles: Vec<_> = (0..instances)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Conn::new(addr);
                let mut lat = Vec::new();
                // spread the instances' ticks over the period
                let offset = every * i as f64 / instances as f64;
                let mut seq = 0u64;
                loop {
                    let due = started + Duration::from_secs_f64(offset + seq as f64 * every);
                    if due > started + Duration::from_secs(seconds) {
                        break;
                    }
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let body = filter_batch(i, seq, now(), events);
                    let t = Instant::now();
                    let (st, _) = c.call("POST", "/api/v1/telemetry", Some(&body));
                    lat.push(t.elapsed().as_secs_f64());
                    assert_eq!(st, 200);
                    seq += 1;
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<f64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let wall = started.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = lat.len() as f64;
    println!("paced ingest: {instances} filter instances, one batch each per {every} s for {seconds} s, {events} events per batch");
    println!(
        "  {:.0} batches/s, {:.0} events/s held; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        n / wall,
        n * events as f64 / wall,
        pct(&lat, 0.5) * 1e3,
        pct(&lat, 0.99) * 1e3,
        pct(&lat, 1.0) * 1e3
    );
}

fn query_phase(data: &std::path::Path) {
    let opts = Opts {
        config: "[retention]\nminute_days = 31\nraw_events_days = 31\n".into(),
        ..Opts::default()
    };
    let s = Server::start(data, opts);
    let addr = s.addr;
    let t0 = now();
    let minutes = 30 * 1440;
    let hosts = 10;
    let seed_start = Instant::now();
    let threads = 16;
    let handles: Vec<_> = (0..threads)
        .map(|w| {
            std::thread::spawn(move || {
                let mut c = Conn::new(addr);
                let mut m = w;
                while m < minutes {
                    let t = t0 - (m as f64) * 60.0;
                    let counters: Vec<_> = (0..hosts)
                        .flat_map(|h| {
                            [json!({"authority": format!("h{h}.example"), "outcome": "pass", "count": 100}), json!({"authority": format!("h{h}.example"), "outcome": "detected", "count": 2})]
                        })
                        .collect();
                    let evs: Vec<_> = if m % 10 == 0 {
                        (0..5).map(|i| event(&format!("s{m}-{i}"), t, &format!("h{i}.example"), &format!("198.51.100.{i}"), "/login", "detected", &[(942100 + i as u64, "CRITICAL")])).collect()
                    } else {
                        Vec::new()
                    };
                    let b = json!({"batch_id": format!("seed-{m}"), "instance": format!("seed-{w}"), "environment": "prod",
                        "policy_version": 1, "sent_at": t, "counters": counters,
                        "rule_hits": [{"rule_id": 942100 + (m % 30) as u64, "count": 1}], "events": evs});
                    let (st, _) = c.call("POST", "/api/v1/telemetry", Some(b.to_string().as_bytes()));
                    assert_eq!(st, 200);
                    m += threads;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    println!(
        "queries: seeded 30 days × 1440 minutes × {hosts} hosts (minute, hour and day buckets; {} events) in {:.1} s",
        minutes / 10 * 5,
        seed_start.elapsed().as_secs_f64()
    );
    let day = 86400.0;
    let queries: Vec<(&str, String)> = vec![
        (
            "summary 1 h (minute buckets)",
            format!(
                "/api/v1/waf/summary?environment=prod&from={}&to={t0}",
                t0 - 3600.0
            ),
        ),
        (
            "summary 24 h (hour buckets)",
            format!(
                "/api/v1/waf/summary?environment=prod&from={}&to={t0}",
                t0 - day
            ),
        ),
        (
            "summary 7 d (hour buckets)",
            format!(
                "/api/v1/waf/summary?environment=prod&from={}&to={t0}",
                t0 - 7.0 * day
            ),
        ),
        (
            "summary 30 d (day buckets)",
            format!(
                "/api/v1/waf/summary?environment=prod&from={}&to={t0}",
                t0 - 30.0 * day
            ),
        ),
        (
            "summary 30 d, bucket=hour",
            format!(
                "/api/v1/waf/summary?environment=prod&from={}&to={t0}&bucket=hour",
                t0 - 30.0 * day
            ),
        ),
        (
            "summary 7 d, bucket=minute (10080 pts)",
            format!(
                "/api/v1/waf/summary?environment=prod&from={}&to={t0}&bucket=minute",
                t0 - 7.0 * day
            ),
        ),
        (
            "summary 30 d, one host",
            format!(
                "/api/v1/waf/summary?environment=prod&host=h3.example&from={}&to={t0}",
                t0 - 30.0 * day
            ),
        ),
        (
            "top rules 30 d",
            format!("/api/v1/top/rules?from={}&to={t0}", t0 - 30.0 * day),
        ),
        (
            "top clients 30 d",
            format!("/api/v1/top/clients?from={}&to={t0}", t0 - 30.0 * day),
        ),
        ("events, newest 100", "/api/v1/events?limit=100".to_string()),
        (
            "events by rule 942101",
            "/api/v1/events?rule=942101&limit=100".to_string(),
        ),
    ];
    let mut c = Conn::new(addr);
    for (name, q) in &queries {
        let mut lat = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let (st, body) = c.call("GET", q, None);
            lat.push(t.elapsed().as_secs_f64());
            assert_eq!(st, 200, "{name}: {}", String::from_utf8_lossy(&body));
        }
        lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "  {name:<42} p50 {:>7.2} ms   p99 {:>7.2} ms",
            pct(&lat, 0.5) * 1e3,
            pct(&lat, 0.99) * 1e3
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing and
    // only wants to know it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load benchmark: run with `cargo bench -p palisade-collector --bench load`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    paced_phase(&dir.path().join("paced"));
    ingest_phase(&dir.path().join("ingest"));
    query_phase(&dir.path().join("query"));
}
