//! Loading the real Core Rule Sets: CRS v4.28 (`PALISADE_CRS_DIR` or
//! ../shared/crs/v4.28.0) and Debian's CRS 3.3.4 (package modsecurity-crs).
//! Both must load without error and block the classic SQL injection at PL1.

use palisade_rules::crs::{default_dir, CrsLayout};
use palisade_rules::engine::{FsSource, Overrides};
use palisade_rules::{RuleSet, Transaction};
use std::path::Path;

fn load(dir: &Path) -> RuleSet {
    let layout = CrsLayout::locate(dir).unwrap_or_else(|e| panic!("{e}"));
    let text = layout.config("", "SecRuleEngine On");
    match RuleSet::load("crs-test", &text, &FsSource) {
        Ok((rs, _warnings)) => rs,
        Err(e) => panic!("CRS at {} failed to load: {e}", dir.display()),
    }
}

/// Runs `?id=1' OR 1=1--` and returns (matched ids, intervention status).
fn sqli(rs: &RuleSet) -> (Vec<u32>, Option<u16>) {
    let mut tx = Transaction::new(rs, "crs-1", &Overrides::default());
    tx.process_connection("198.51.100.4", 41000, "127.0.0.1", 80);
    tx.process_uri(b"GET", b"/?id=1'%20OR%201=1--", b"HTTP/1.1");
    tx.add_request_header(b"Host", b"localhost");
    tx.add_request_header(b"User-Agent", b"curl/8.0");
    tx.add_request_header(b"Accept", b"*/*");
    let mut stop = tx.process_request_headers();
    if stop.is_none() {
        stop = tx.process_request_body();
    }
    tx.process_logging();
    (tx.matched_rules().iter().filter(|m| m.logged).map(|m| m.id).collect(), stop.map(|i| i.status))
}

fn benign(rs: &RuleSet) -> Vec<u32> {
    let mut tx = Transaction::new(rs, "crs-2", &Overrides::default());
    tx.process_connection("198.51.100.4", 41001, "127.0.0.1", 80);
    tx.process_uri(b"GET", b"/search?q=running+shoes&page=2", b"HTTP/1.1");
    tx.add_request_header(b"Host", b"localhost");
    tx.add_request_header(b"User-Agent", b"Mozilla/5.0 (X11; Linux x86_64)");
    tx.add_request_header(b"Accept", b"text/html");
    assert!(tx.process_request_headers().is_none());
    assert!(tx.process_request_body().is_none());
    tx.process_logging();
    tx.matched_rules().iter().filter(|m| m.logged).map(|m| m.id).collect()
}

#[test]
fn crs4_blocks_sqli_at_pl1() {
    let dir = default_dir();
    assert!(dir.join("rules").is_dir(), "CRS v4 not found at {} (set PALISADE_CRS_DIR)", dir.display());
    let rs = load(&dir);
    let (ids, status) = sqli(&rs);
    assert!(ids.contains(&942100) && ids.contains(&949110), "{ids:?}");
    assert_eq!(status, Some(403));
    assert_eq!(benign(&rs), Vec::<u32>::new());
}

#[test]
fn debian_crs3_loads_and_blocks_sqli_like_modsecurity() {
    let dir = Path::new("/usr/share/modsecurity-crs");
    assert!(
        dir.join("rules").is_dir(),
        "Debian CRS 3.3.4 not installed: apt-get install modsecurity-crs (.ci/run does this)"
    );
    let rs = load(dir);
    let (ids, status) = sqli(&rs);
    assert!(ids.contains(&942100) && ids.contains(&949110), "{ids:?}");
    assert_eq!(status, Some(403));
    assert_eq!(benign(&rs), Vec::<u32>::new());
}
