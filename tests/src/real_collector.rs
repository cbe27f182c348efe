//! The real `palisade collector` (crate `palisade-collector`) for tests
//! where the collector's own behaviour matters: policy changes made through
//! its API, events as it stores them, and the instance view that says which
//! policy version each filter applied.
//!
//! [`collector_binary`] takes `$PALISADE_BIN`, else builds the `palisade`
//! binary once per test binary (dev profile, honouring CARGO_TARGET_DIR).
//! [`RealCollector::start`] runs it on an ephemeral loopback port with its
//! own data directory and write token, with packet sampling off, and kills
//! it when dropped.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::envoy::workspace_root;
use crate::http;

/// The write token the tests' collector accepts (the service config in
/// [`crate::envoy::Options::with_collector`] sends it).
pub const TOKEN: &str = "t0ken";

pub fn collector_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("PALISADE_BIN") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "PALISADE_BIN={} is not a file", p.display());
            return p;
        }
        let root = workspace_root();
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", &target_dir)
            .args(["build", "-p", "palisade-collector", "--bin", "palisade"])
            .status()
            .expect("run cargo to build the collector");
        assert!(status.success(), "building the collector failed ({status})");
        let p = target_dir.join("debug/palisade");
        assert!(p.is_file(), "built collector not found at {}", p.display());
        p
    })
    .clone()
}

/// A running collector; killed (and its data removed) when dropped.
pub struct RealCollector {
    child: Child,
    data: PathBuf,
    pub addr: String,
    pub port: u16,
}

impl RealCollector {
    pub fn start() -> RealCollector {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let data =
            std::env::temp_dir().join(format!("palisade-e2e-collector-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&data);
        fs::create_dir_all(&data).expect("create the collector's data dir");
        let mut cmd = Command::new(collector_binary());
        cmd.arg("collector")
            .arg("--data")
            .arg(&data)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--proc-net-dev",
                "off",
                "--nft",
                "off",
                "--environment",
                "e2e",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for k in [
            "PALISADE_READ_TOKEN",
            "PALISADE_WRITE_TOKEN_FILE",
            "PALISADE_READ_TOKEN_FILE",
            "PALISADE_CONFIG",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("PALISADE_WRITE_TOKEN", TOKEN);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e})", collector_binary().display()));
        let stdout = child.stdout.take().expect("collector stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            // Keep draining so the collector never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("palisade collector listening on http://") {
                        break a.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait();
                    panic!("the collector did not say where it listens within 30 s ({status:?})");
                }
            }
        };
        let port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("collector port");
        RealCollector {
            child,
            data,
            addr,
            port,
        }
    }

    /// `GET path` as JSON.
    pub fn get(&self, path: &str) -> Value {
        let r = http::get(&self.addr, path)
            .unwrap_or_else(|e| panic!("GET {path} from the collector: {e}"));
        assert_eq!(r.status(), 200, "GET {path}: {}", r.body_str());
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", r.body_str()))
    }

    /// Replaces the policy through `PUT /api/v1/policy`; returns the new one.
    pub fn put_policy(&self, doc: &Value) -> Value {
        let auth = format!("Bearer {TOKEN}");
        let body = doc.to_string();
        let r = http::request(
            &self.addr,
            "PUT",
            "/api/v1/policy",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
        .expect("PUT /api/v1/policy");
        assert_eq!(r.status(), 200, "PUT /api/v1/policy: {}", r.body_str());
        let v: Value = serde_json::from_slice(&r.body).expect("PUT answer is JSON");
        v["policy"].clone()
    }

    /// The policy version the collector says `instance` applied, if it has
    /// heard from it.
    pub fn applied_version(&self, instance: &str) -> Option<(u64, bool)> {
        let v = self.get("/api/v1/instances");
        v["instances"]
            .as_array()?
            .iter()
            .find(|i| i["instance"] == instance)
            .map(|i| {
                (
                    i["policy_version"].as_u64().unwrap_or(0),
                    i["current"].as_bool().unwrap_or(false),
                )
            })
    }

    /// Polls `f` until it returns `Some` or `timeout` passes.
    pub fn wait<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&RealCollector) -> Option<T>,
    ) -> Option<T> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(t) = f(self) {
                return Some(t);
            }
            if Instant::now() > end {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RealCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.data);
    }
}
