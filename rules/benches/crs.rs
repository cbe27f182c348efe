//! CPU per transaction with CRS at paranoia level 1, for the request mixes the
//! README reports: a GET with 4 short args, a 1 KB urlencoded form (11 args),
//! a 2 KB JSON body (~110 leaf values), and a SQL injection GET. Also the time
//! to load and compile the rule set.
//!
//! `cargo bench -p palisade-rules --bench crs` (CRS folder: `PALISADE_CRS_DIR`,
//! default ../shared/crs/v4.28.0).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use palisade_rules::crs::{default_dir, CrsLayout};
use palisade_rules::engine::{FsSource, Overrides};
use palisade_rules::{RuleSet, Transaction};
use std::time::Duration;

fn load() -> RuleSet {
    let layout = CrsLayout::locate(&default_dir()).expect("CRS folder");
    let text = layout.config("SecRuleEngine On", "");
    RuleSet::load("bench", &text, &FsSource).expect("CRS loads").0
}

fn form_body() -> String {
    let mut s = String::new();
    for i in 0..11 {
        if i > 0 {
            s.push('&');
        }
        s.push_str(&format!("field_{i}=value%20number%20{i}%20with%20some%20ordinary%20text%20in%20it%20ok%2C%20fine"));
    }
    s
}

fn json_body() -> String {
    let mut items = Vec::new();
    for i in 0..22 {
        items.push(format!(
            "{{\"id\":{i},\"name\":\"item {i}\",\"tags\":[\"red\",\"blue\"],\"price\":{}.5,\"ok\":true}}",
            i * 3
        ));
    }
    format!("{{\"order\":{{\"items\":[{}],\"note\":\"deliver after 5pm\"}}}}", items.join(","))
}

fn run(rs: &RuleSet, method: &str, uri: &str, ctype: Option<&str>, body: &[u8]) -> usize {
    let mut tx = Transaction::new(rs, "bench", &Overrides::default());
    tx.process_connection("203.0.113.7", 40000, "127.0.0.1", 8080);
    tx.process_uri(method.as_bytes(), uri.as_bytes(), b"HTTP/1.1");
    tx.add_request_header(b"Host", b"localhost");
    tx.add_request_header(b"User-Agent", b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36");
    tx.add_request_header(b"Accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
    tx.add_request_header(b"Accept-Language", b"en-US,en;q=0.5");
    if let Some(ct) = ctype {
        tx.add_request_header(b"Content-Type", ct.as_bytes());
        tx.add_request_header(b"Content-Length", body.len().to_string().as_bytes());
    }
    tx.process_request_headers();
    if !body.is_empty() {
        tx.append_request_body(body);
    }
    tx.process_request_body();
    tx.add_response_header(b"Content-Type", b"text/html");
    tx.process_response_headers(200, b"HTTP/1.1");
    tx.append_response_body(b"<html><body>hello</body></html>");
    tx.process_response_body();
    tx.process_logging();
    tx.matched_rules().len()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("crs-pl1");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("load", |b| b.iter(|| black_box(load())));
    let rs = load();
    let form = form_body();
    let json = json_body();
    g.bench_function("get_4_args", |b| {
        b.iter(|| run(&rs, "GET", "/search?q=shoes&page=2&sort=price&lang=en", None, b""))
    });
    g.bench_function("form_1k", |b| {
        b.iter(|| run(&rs, "POST", "/submit", Some("application/x-www-form-urlencoded"), form.as_bytes()))
    });
    g.bench_function("json_2k", |b| b.iter(|| run(&rs, "POST", "/api/order", Some("application/json"), json.as_bytes())));
    g.bench_function("sqli_get", |b| b.iter(|| run(&rs, "GET", "/search?id=1%27%20OR%201%3D1--", None, b"")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
