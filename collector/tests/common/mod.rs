//! Test harness: runs the real `palisade collector` binary on an ephemeral
//! port with its own data directory, and a tiny blocking HTTP/1.1 client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const WRITE: &str = "test-write-token-0123456789";

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub lines: mpsc::Receiver<String>,
}

pub struct Opts {
    pub config: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Set PALISADE_WRITE_TOKEN=WRITE (default true).
    pub write_token: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            config: String::new(),
            args: vec![
                "--proc-net-dev".into(),
                "off".into(),
                "--nft".into(),
                "off".into(),
            ],
            env: Vec::new(),
            write_token: true,
        }
    }
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

impl Server {
    pub fn start(data: &Path, opts: Opts) -> Server {
        std::fs::create_dir_all(data).unwrap();
        let cfg = data.join("test-config.toml");
        std::fs::write(&cfg, &opts.config).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
        cmd.arg("collector")
            .arg("--data")
            .arg(data)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--config")
            .arg(&cfg)
            .args(&opts.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for k in [
            "PALISADE_WRITE_TOKEN",
            "PALISADE_READ_TOKEN",
            "PALISADE_WRITE_TOKEN_FILE",
            "PALISADE_READ_TOKEN_FILE",
            "PALISADE_DATA",
            "PALISADE_LISTEN",
            "PALISADE_CONFIG",
        ] {
            cmd.env_remove(k);
        }
        if opts.write_token {
            cmd.env("PALISADE_WRITE_TOKEN", WRITE);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn palisade");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // keep draining so the child never blocks on a full pipe
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!("collector did not start (status {:?})", child.try_wait());
                }
            };
            if let Some(a) = line.strip_prefix("palisade collector listening on http://") {
                let addr = a.trim().parse().unwrap();
                return Server {
                    child,
                    addr,
                    data: data.to_path_buf(),
                    lines: rx,
                };
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let (s, b) = request(self.addr, "GET", path, None, None);
        (s, parse(&b))
    }

    pub fn get_with(&self, path: &str, token: &str) -> (u16, Value) {
        let (s, b) = request(self.addr, "GET", path, Some(token), None);
        (s, parse(&b))
    }

    pub fn send(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let text = body.to_string();
        let (s, b) = request(self.addr, method, path, Some(WRITE), Some(text.as_bytes()));
        (s, parse(&b))
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send("POST", path, body)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    /// Polls `f` until it returns Some, or panics after `secs`.
    pub fn wait_for<T>(&self, secs: f64, mut f: impl FnMut(&Server) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("condition not reached within {secs} s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// One HTTP/1.1 request on a fresh connection; returns status and body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    try_request(addr, method, path, token, body).expect("connect")
}

/// Like [`request`], but `None` when the connection is refused.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Option<(u16, Vec<u8>)> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    if let Some(b) = body {
        raw.extend_from_slice(b);
    }
    try_raw_request(addr, &raw)
}

/// Sends raw bytes, returns status and body (status 0 if none came back).
pub fn raw_request(addr: SocketAddr, raw: &[u8]) -> (u16, Vec<u8>) {
    try_raw_request(addr, raw).expect("connect")
}

/// Like [`raw_request`], but `None` when the connection is refused.
pub fn try_raw_request(addr: SocketAddr, raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(raw);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let Some(split) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Some((0, buf));
    };
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = buf[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Some((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < i + 2 + n {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[(i + 4 + n).min(b.len())..];
    }
    out
}

/// A telemetry batch with the given counters (authority, outcome, count).
pub fn batch(
    id: &str,
    instance: &str,
    env: &str,
    sent_at: f64,
    counters: &[(&str, &str, u64)],
) -> Value {
    serde_json::json!({
        "batch_id": id, "instance": instance, "environment": env, "policy_version": 1,
        "sent_at": sent_at,
        "counters": counters.iter().map(|(a, o, c)| serde_json::json!({"authority": a, "outcome": o, "count": c})).collect::<Vec<_>>(),
        "rule_hits": [], "body_limit_events": 0, "dropped_events": 0, "events": []
    })
}

/// A security event with one rule per id.
pub fn event(
    id: &str,
    time: f64,
    authority: &str,
    client: &str,
    path: &str,
    action: &str,
    rules: &[(u64, &str)],
) -> Value {
    serde_json::json!({
        "id": id, "time": time, "authority": authority, "client": client, "method": "GET", "path": path,
        "request_line": format!("GET {path}?q=x HTTP/1.1"), "inbound_score": 10, "outbound_score": 0,
        "action": action, "status": if action == "blocked" { 403 } else { 200 }, "policy_version": 1,
        "rules": rules.iter().map(|(rid, sev)| serde_json::json!({
            "id": rid, "msg": format!("rule {rid}"), "data": format!("Matched Data: {path}"),
            "severity": sev, "tags": ["attack-sqli", "paranoia-level/1"], "variable": "ARGS:q", "value": "x"
        })).collect::<Vec<_>>()
    })
}
