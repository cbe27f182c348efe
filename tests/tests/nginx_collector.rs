//! NGINX with the real collector (`palisade collector`): telemetry arrives,
//! and a policy changed through the collector's API reaches traffic within
//! 2 s, without a reload.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use palisade_tests::backend::Backend;
use palisade_tests::envoy::{free_port, workspace_root};
use palisade_tests::nginx::{Nginx, Options};
use palisade_tests::{filter_config, http};
use serde_json::Value;

const TOKEN: &str = "e2e-write-token";

/// `$PALISADE_COLLECTOR_BIN`, else builds the `palisade` binary.
fn collector_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PALISADE_COLLECTOR_BIN") {
        return PathBuf::from(p);
    }
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = Command::new(cargo)
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "-p", "palisade-collector", "--bin", "palisade"])
        .status()
        .expect("build the collector");
    assert!(st.success(), "building the collector failed");
    target.join("debug/palisade")
}

struct Collector {
    child: Child,
    addr: String,
    dir: PathBuf,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_collector() -> Collector {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("palisade-nginx-collector-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(collector_binary())
        .args(["collector", "--listen", &addr, "--data"])
        .arg(&dir)
        .args(["--proc-net-dev", "off", "--nft", "off"])
        .env("PALISADE_WRITE_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("collector.log")).unwrap()))
        .spawn()
        .expect("start the collector");
    let c = Collector { child, addr, dir };
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if http::get(&c.addr, "/api/v1/policy").map(|r| r.status() == 200).unwrap_or(false) {
            return c;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("collector not ready: {}", std::fs::read_to_string(c.dir.join("collector.log")).unwrap_or_default());
}

fn policy(c: &Collector) -> Value {
    let r = http::get(&c.addr, "/api/v1/policy").expect("GET policy");
    serde_json::from_slice(&r.body).expect("policy JSON")
}

#[test]
fn policy_flip_through_the_real_collector_within_2s() {
    let collector = start_collector();
    let port: u16 = collector.addr.rsplit(':').next().unwrap().parse().unwrap();
    let backend = Backend::start();
    let opts = Options::new(filter_config("detect"), backend.port).with_collector(port, 300, TOKEN);
    let n = Nginx::start(&opts).unwrap_or_else(|e| panic!("{e}"));
    let gauge = || n.metric("palisade_policy_version{}");

    // The first acknowledgement carries the collector's current version.
    let v0 = policy(&collector)["version"].as_f64().unwrap_or(0.0);
    let end = Instant::now() + Duration::from_secs(15);
    while gauge() != Some(v0) && Instant::now() < end {
        let _ = http::get(n.addr(), "/warmup");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(gauge(), Some(v0), "initial policy not applied:\n{}", n.log());
    assert_eq!(http::get(n.addr(), "/?id=1%27%20OR%201=1--").unwrap().status(), 200, "detect mode blocked");

    // Flip to block mode through the API.
    let mut p = policy(&collector);
    p["mode"] = "block".into();
    let body = p.to_string();
    let auth = format!("Bearer {TOKEN}");
    let r = http::request(
        &collector.addr,
        "PUT",
        "/api/v1/policy",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .expect("PUT policy");
    assert_eq!(r.status(), 200, "{r:?}");
    let v1 = serde_json::from_slice::<Value>(&r.body).unwrap()["policy"]["version"].as_f64().unwrap();
    assert!(v1 > v0);
    let flipped = Instant::now();
    while gauge() != Some(v1) && flipped.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = flipped.elapsed();
    assert_eq!(gauge(), Some(v1), "policy {v1} not applied within 5 s:\n{}", n.log());
    assert!(took <= Duration::from_secs(2), "policy applied after {took:?} (> 2 s)");
    eprintln!("policy version {v1} applied {took:?} after the collector changed it");
    // Every worker runs it: a few SQLi requests, all blocked.
    for _ in 0..6 {
        assert_eq!(http::get(n.addr(), "/?id=1%27%20OR%201=1--").unwrap().status(), 403, "{}", n.log());
    }
    assert_eq!(http::get(n.addr(), "/ok?x=1").unwrap().status(), 200);

    // Telemetry reached the collector.
    let sent = n.metric("palisade_telemetry_batches_sent{}").unwrap_or(0.0);
    assert!(sent >= 1.0, "no batch acknowledged:\n{}\n{}", n.prometheus(), n.log());
}
