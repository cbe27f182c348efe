//! Runs one raw request through CRS N times, for profilers and instruction
//! counts (`perf record`, `valgrind --tool=callgrind
//! --toggle-collect='palisade_rules::offline::evaluate*'`):
//!
//!   cargo run --release -p palisade-rules --example profile -- REQUEST_FILE N
//!
//! CRS comes from `PALISADE_CRS_DIR` (default ../shared/crs/v4.28.0) with
//! Palisade's base configuration, as `palisade rules eval` loads it.

use palisade_rules::crs::{default_dir, CrsLayout};
use palisade_rules::engine::{FsSource, Overrides};
use palisade_rules::offline::evaluate;
use palisade_rules::RuleSet;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(n)) = (args.next(), args.next().and_then(|s| s.parse::<usize>().ok())) else {
        eprintln!("usage: profile REQUEST_FILE N");
        std::process::exit(2);
    };
    let raw = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let layout = CrsLayout::locate(&default_dir()).expect("CRS folder");
    let (rs, _) = RuleSet::load("profile", &layout.config("", ""), &FsSource).expect("CRS loads");
    let start = std::time::Instant::now();
    let mut matched = 0;
    for _ in 0..n {
        matched += evaluate(&rs, &raw, &Overrides::default()).expect("request parses").report.matched.len();
    }
    let el = start.elapsed();
    println!("{file}: {n} transactions, {:.1} us each (wall), {} logged matches each", el.as_secs_f64() * 1e6 / n as f64, matched / n.max(1));
}
