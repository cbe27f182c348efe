//! Running `palisade up` for a test: finding (building) the `palisade`
//! binary, starting `up` on free loopback ports with its output collected
//! line by line, reading the collector's API, signalling it, and checking
//! that the processes it reported are gone.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::envoy::{envoy_binary, free_port, wasm_module, workspace_root};
use crate::http;

/// `$PALISADE_BIN`; else `palisade` in the profile directory this test was
/// built into, when it is newer than every source it is built from (as
/// after `cargo test --workspace`, which builds it); else built by cargo in
/// that profile. Decided once per test binary.
pub fn palisade_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("PALISADE_BIN") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "PALISADE_BIN={} is not a file", p.display());
            return p;
        }
        // This test runs as <target>/<profile dir>/deps/<name>-<hash>.
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("<target>/<profile>/deps layout")
            .to_path_buf();
        let bin = profile_dir.join("palisade");
        let root = workspace_root();
        let sources = [
            "collector/src",
            "collector/web",
            "collector/build.rs",
            "collector/Cargo.toml",
            "rules/src",
            "rules/Cargo.toml",
            "Cargo.lock",
        ];
        let newest = sources
            .iter()
            .filter_map(|s| newest_mtime(&root.join(s), 0))
            .max();
        let built = fs::metadata(&bin).and_then(|m| m.modified()).ok();
        if let (Some(built), Some(newest)) = (built, newest) {
            if built >= newest {
                return bin;
            }
        }
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .env("CARGO_TARGET_DIR", &target_dir)
            .args(["build", "-p", "palisade-collector", "--bin", "palisade"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo to build palisade");
        assert!(status.success(), "building palisade failed ({status})");
        assert!(bin.is_file(), "built binary not found at {}", bin.display());
        bin
    })
    .clone()
}

/// The newest modification time of a file, or of any file under a folder.
fn newest_mtime(path: &Path, depth: usize) -> Option<SystemTime> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    if depth > 8 {
        return None;
    }
    fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|e| newest_mtime(&e.path(), depth + 1))
        .max()
}

/// The four ports `up` is given.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub app: u16,
    pub upstream: u16,
    pub admin: u16,
    pub collector: u16,
}

impl Ports {
    /// Four distinct free loopback ports.
    pub fn free() -> Ports {
        loop {
            let v = [free_port(), free_port(), free_port(), free_port()];
            if (1..4).all(|i| !v[..i].contains(&v[i])) {
                return Ports {
                    app: v[0],
                    upstream: v[1],
                    admin: v[2],
                    collector: v[3],
                };
            }
        }
    }
}

/// A running `palisade up`; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Up {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    pub ports: Ports,
}

impl Up {
    /// Starts `palisade up --data <data>` on `ports` with `extra` flags.
    pub fn start(data: &Path, ports: Ports, extra: &[&str]) -> Up {
        let mut child = Command::new(palisade_binary())
            .arg("up")
            .arg("--data")
            .arg(data)
            .arg("--wasm")
            .arg(wasm_module())
            .arg("--envoy")
            .arg(envoy_binary())
            .args(["--app-port", &ports.app.to_string()])
            .args(["--upstream-port", &ports.upstream.to_string()])
            .args(["--admin-port", &ports.admin.to_string()])
            .args(["--collector-port", &ports.collector.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start palisade up");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("[up] {line}");
                    if let Ok(mut v) = lines.lock() {
                        v.push(line);
                    }
                }
            });
        }
        Up {
            child,
            lines,
            ports,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> Vec<String> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Waits for a line containing `needle`; panics (with the output) if
    /// `up` exits first or `timeout` passes.
    pub fn wait_line(&mut self, needle: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            if let Some(l) = self.output().into_iter().find(|l| l.contains(needle)) {
                return l;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                thread::sleep(Duration::from_millis(200));
                panic!(
                    "palisade up exited ({status}) before printing {needle:?}:\n{}",
                    self.output().join("\n")
                );
            }
            if Instant::now() > end {
                panic!(
                    "no {needle:?} from palisade up within {timeout:?}:\n{}",
                    self.output().join("\n")
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The processes `up` reported starting (`pid N` in its progress lines).
    pub fn child_pids(&self) -> Vec<u32> {
        self.output()
            .iter()
            .filter(|l| l.starts_with("palisade up: ["))
            .filter_map(|l| {
                let rest = l.split("pid ").nth(1)?;
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    }

    /// The process group `up` reported.
    pub fn group(&self) -> Option<i32> {
        self.output().iter().find_map(|l| {
            let rest = l.split(", group ").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
    }

    pub fn collector(&self) -> String {
        format!("127.0.0.1:{}", self.ports.collector)
    }

    pub fn app(&self) -> String {
        format!("127.0.0.1:{}", self.ports.app)
    }

    /// GET on the collector's API (reads are open), as JSON.
    pub fn api(&self, target: &str) -> Value {
        let r =
            http::get(&self.collector(), target).unwrap_or_else(|e| panic!("GET {target}: {e}"));
        assert_eq!(r.status(), 200, "GET {target}: {}", r.body_str());
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("GET {target}: not JSON ({e}): {}", r.body_str()))
    }

    /// Sends `sig` (e.g. "INT", "TERM") to `up` itself.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args(["-s", sig, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {sig} {} failed", self.pid());
    }

    /// Waits for `up` to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                // Let the reader threads take the last lines.
                thread::sleep(Duration::from_millis(200));
                return Some(s);
            }
            if Instant::now() > end {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-s", "TERM", &self.pid().to_string()])
                .status();
            if self.wait_exit(Duration::from_secs(30)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Whether `pid` is a live process (not gone, not a zombie).
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| s != "Z"),
        Err(_) => false,
    }
}

/// Live processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .is_some_and(|stat| {
                    // After the command name: state, ppid, pgrp, ...
                    let fields: Vec<&str> = stat
                        .rsplit_once(')')
                        .map(|(_, r)| r.split_whitespace().collect())
                        .unwrap_or_default();
                    fields.first().is_some_and(|s| *s != "Z")
                        && fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
                })
        })
        .collect()
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("palisade-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("create a temp dir");
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("PALISADE_KEEP").is_none() && !thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        } else {
            eprintln!("data dir kept: {}", self.0.display());
        }
    }
}
