//! A small stand-in for palisade-collector, speaking collector/WIRE.md:
//! `POST /api/v1/telemetry` records the batch (counting a `batch_id` once) and
//! answers `{"accepted", "duplicate", "policy"}`; `GET /api/v1/policy` returns
//! the policy. Tests change the policy, read the batches, or make it answer
//! 503 to play an unreachable collector.

use std::collections::HashSet;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::{read_message, write_response, Message};

#[derive(Default)]
struct State {
    policy: Value,
    batches: Vec<Value>,
    /// Batch requests as received (including duplicates), with headers.
    requests: Vec<Message>,
    seen: HashSet<String>,
    down: bool,
}

pub struct FakeCollector {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

/// A policy document with the given version and mode, PL1, default thresholds.
pub fn policy(version: u64, mode: &str) -> Value {
    json!({
        "version": version, "mode": mode, "paranoia_level": 1,
        "inbound_threshold": 5, "outbound_threshold": 4,
        "disabled_rules": [], "disabled_tags": [], "masks": [], "hosts": {}
    })
}

impl FakeCollector {
    pub fn start(initial: Value) -> FakeCollector {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake collector on 127.0.0.1");
        let port = listener.local_addr().expect("collector address").port();
        let state = Arc::new(Mutex::new(State {
            policy: initial,
            ..Default::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, stp) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stp.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                thread::spawn(move || serve(conn, st));
            }
        });
        FakeCollector { port, state, stop }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    pub fn set_policy(&self, p: Value) {
        self.with(|s| s.policy = p);
    }

    /// While down, every call is answered 503 and nothing is recorded.
    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }

    /// Distinct batches received, in order.
    pub fn batches(&self) -> Vec<Value> {
        self.with(|s| s.batches.clone())
    }

    /// Every telemetry request received (duplicates included).
    pub fn requests(&self) -> Vec<Message> {
        self.with(|s| s.requests.clone())
    }

    /// All events of all batches.
    pub fn events(&self) -> Vec<Value> {
        self.batches()
            .iter()
            .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Sum of a counter outcome over all batches.
    pub fn count(&self, outcome: &str) -> u64 {
        self.batches()
            .iter()
            .flat_map(|b| b["counters"].as_array().cloned().unwrap_or_default())
            .filter(|c| c["outcome"] == outcome)
            .map(|c| c["count"].as_u64().unwrap_or(0))
            .sum()
    }

    /// Polls `pred` over the batches until it holds or `timeout` passes.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&[Value]) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if pred(&self.batches()) {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for FakeCollector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(conn: TcpStream, state: Arc<Mutex<State>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let Ok(Some(req)) = read_message(&mut reader, false) else {
        return;
    };
    let json_ct = vec![("content-type".to_string(), "application/json".to_string())];
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if s.down {
        drop(s);
        let _ = write_response(&mut writer, 503, &[], b"down");
        return;
    }
    let path = req.start[1].split('?').next().unwrap_or("").to_string();
    let (status, body) = match (req.start[0].as_str(), path.as_str()) {
        ("POST", "/api/v1/telemetry") => match serde_json::from_slice::<Value>(&req.body) {
            Ok(batch) => {
                s.requests.push(req.clone());
                let id = batch["batch_id"].as_str().unwrap_or("").to_string();
                let duplicate = !s.seen.insert(id);
                if !duplicate {
                    s.batches.push(batch);
                }
                (
                    200,
                    json!({"accepted": true, "duplicate": duplicate, "policy": s.policy}),
                )
            }
            Err(e) => (400, json!({"error": format!("bad batch: {e}")})),
        },
        ("GET", "/api/v1/policy") => (200, s.policy.clone()),
        _ => (404, json!({"error": "not found"})),
    };
    drop(s);
    let _ = write_response(&mut writer, status, &json_ct, body.to_string().as_bytes());
}
