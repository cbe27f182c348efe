//! Runs one request mix in a loop, for profilers (`perf record`, callgrind):
//! `cargo run --release -p palisade-rules --example profile -- get 2000`.

use palisade_rules::crs::{default_dir, CrsLayout};
use palisade_rules::engine::{FsSource, Overrides};
use palisade_rules::offline::evaluate;
use palisade_rules::RuleSet;

fn main() {
    let mut args = std::env::args().skip(1);
    let mix = args.next().unwrap_or_else(|| "get".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let layout = CrsLayout::locate(&default_dir()).expect("CRS folder");
    let (rs, _) = RuleSet::load("profile", &layout.config("", ""), &FsSource).expect("CRS loads");
    let json: String = format!(
        "{{\"order\":{{\"items\":[{}]}}}}",
        (0..20).map(|i| format!("{{\"id\":{i},\"name\":\"item number {i}\",\"tags\":[\"red\",\"blue\"],\"ok\":true}}")).collect::<Vec<_>>().join(",")
    );
    let raw: Vec<u8> = match mix.as_str() {
        "get" => b"GET /search?q=shoes&page=2&sort=price&lang=en HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n\r\n".to_vec(),
        "sqli" => b"GET /search?id=1%27%20OR%201%3D1-- HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n\r\n".to_vec(),
        "json" => format!("POST /api HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}", json.len()).into_bytes(),
        other => panic!("unknown mix {other}"),
    };
    let mut total = 0;
    let start = std::time::Instant::now();
    for _ in 0..n {
        total += evaluate(&rs, &raw, &Overrides::default()).expect("parses").report.matched.len();
    }
    let el = start.elapsed();
    println!("{mix}: {n} transactions, {:.1} us each, {total} matches", el.as_secs_f64() * 1e6 / n as f64);
}
