//! The CRS regression suite (go-ftw YAML tests) sent through a real Envoy
//! with the Palisade filter, judged the way go-ftw judges it.
//!
//! - **Setup** ([`filter_config`]): CRS as the suite's README asks (rule
//!   900005 from the README, in DetectionOnly), the filter's base rules
//!   (`@recommended.conf`, ModSecurity's recommended body-processor rules)
//!   and go-ftw's log marker rule 999999. The filter runs in detect mode
//!   and writes one error-log line per matched rule to Envoy's log. Behind
//!   Envoy is the CRS test backend (albedo, [`crate::backend::Backend::albedo`]).
//! - **Protocol** ([`Lane::run_stage`]): for every stage, a marker request
//!   carrying `X-CRS-Test: <unique id>`, then the stage's request, then a
//!   second marker. Each marker is awaited in Envoy's log; only the lines
//!   between the two markers are the stage's. Requests are rendered by
//!   `palisade_rules::ftw::render` and written to a raw socket byte for
//!   byte, so malformed requests reach Envoy as the YAML wrote them.
//! - **Judging and overrides**: `palisade_rules::ftw::runner` loads the
//!   suite, applies `tests/ftw-envoy-overrides.yaml` (CRS's override format;
//!   every entry says why Envoy differs) and judges each stage.
//! - **Concurrency**: markers only delimit a stage when nothing else writes
//!   to the same log, so each [`Lane`] is its own Envoy (one worker thread,
//!   its own log) driven by one thread; lanes run side by side.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use palisade_rules::ftw::runner::{self, FileReport, StageRef, Summary};
use palisade_rules::ftw::{OverridesFile, StageOutcome};
use serde_json::{json, Value};

use crate::backend::Backend;
use crate::envoy::{workspace_root, Envoy, Options};

/// The CRS release the module embeds: `$PALISADE_CRS_DIR` (as in
/// filter/build.rs), else `../shared/crs/v4.28.0` beside the repository.
pub fn crs_dir() -> Result<PathBuf, String> {
    let dir = std::env::var_os("PALISADE_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/crs/v4.28.0"));
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("CRS folder {} not found: {e}", dir.display()))?;
    if !dir.join("tests/regression/tests").is_dir() {
        return Err(format!(
            "{} has no tests/regression/tests (the go-ftw suite)",
            dir.display()
        ));
    }
    Ok(dir)
}

/// Engine settings of the CRS test environment (ModSecurity's recommended
/// configuration, as the suite's docker images use it): the filter's base
/// rules (`@recommended.conf`: body processors by Content-Type, body parse
/// errors) and the argument separator. Body access and limits come from the
/// filter's own prelude.
const BASE_RULES: &str = "Include @recommended.conf\nSecArgumentSeparator &";

/// go-ftw's marker rule, as the CRS test images install it: it logs the
/// marker and switches every other rule off for the marker request.
const MARKER_RULE: &str = r#"SecRule REQUEST_HEADERS:X-CRS-Test "@rx ^.*$" "id:999999,phase:1,pass,t:none,log,msg:'X-CRS-Test %{MATCHED_VAR}',ctl:ruleRemoveById=1-999999""#;

/// The `SecAction` of rule 900005 from the suite's README, on one line.
fn readme_setup_rule(crs: &Path) -> Result<String, String> {
    let path = crs.join("tests/regression/README.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let block = text
        .split("```")
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .find(|b| b.starts_with("SecAction") && b.contains("id:900005"))
        .ok_or_else(|| format!("{}: no SecAction for rule 900005", path.display()))?;
    // Join the backslash-continued lines.
    Ok(block
        .lines()
        .map(|l| l.trim().trim_end_matches('\\').trim())
        .collect::<Vec<_>>()
        .join(""))
}

/// The filter configuration the suite runs under.
pub fn filter_config(crs: &Path) -> Result<Value, String> {
    let mut rules: Vec<String> = BASE_RULES.lines().map(String::from).collect();
    rules.push("Include @crs-setup.conf".into());
    rules.push(readme_setup_rule(crs)?);
    rules.push(MARKER_RULE.into());
    rules.push("Include @crs/*.conf".into());
    Ok(json!({
        "mode": "detect",
        // The filter's policy sets the paranoia level for every transaction;
        // the suite runs at 4 (rule 900005's blocking_paranoia_level).
        "paranoia_level": 4,
        "rules": rules,
        // The suite's request body limit (SecRequestBodyLimit 13107200)
        // would need Envoy to buffer 12.5 MiB per request; the largest test
        // body is some 64 KiB.
        "request_body": {"limit_bytes": 1048576, "on_limit": "inspect_partial", "hold_headers": true},
        "response_body": {"limit_bytes": 524288, "on_limit": "inspect_partial",
                          "mime_types": ["text/plain", "text/html", "text/xml", "application/json"]},
        "failure_mode": "closed",
        "error_log": true
    }))
}

/// Envoy settings for the suite, beyond the harness defaults.
///
/// - HTTP/1.0 requests are accepted (Envoy answers them 426 by default);
///   several tests are written in HTTP/1.0.
/// - Methods Envoy does not know (`FOO`, `TEST`) are passed on instead of
///   answered 400 (`allow_custom_methods`), so the rules see them.
/// - `request_timeout` turns a request that never completes (a body shorter
///   than its Content-Length) into Envoy's 408 rather than a client timeout.
/// - The buffer limit is above the filter's request body limit.
fn envoy_options(filter: Value, backend_port: u16) -> Options {
    let mut o = Options::new(filter, backend_port);
    o.concurrency = 1;
    o.log_level = "warning";
    o.hcm = json!({
        "http_protocol_options": {"accept_http_10": true, "default_host_for_http_10": "localhost",
                                   "allow_custom_methods": true},
        "request_timeout": "3s",
        "request_headers_timeout": "3s"
    });
    o.listener = json!({"per_connection_buffer_limit_bytes": 2097152});
    o
}

static MARKERS: AtomicU64 = AtomicU64::new(0);

/// One Envoy with its own log, driven by one thread at a time.
pub struct Lane {
    pub envoy: Envoy,
    _backend: Backend,
    log: File,
    /// Log text read but not yet consumed by a stage.
    pending: String,
    /// How long to wait for a response, and for a marker to show in the log.
    pub timeout: Duration,
}

impl Lane {
    pub fn start(filter: &Value) -> Result<Lane, String> {
        let backend = Backend::albedo();
        let envoy = Envoy::start(&envoy_options(filter.clone(), backend.port))?;
        let mut log = File::open(envoy.log_path()).map_err(|e| format!("open Envoy's log: {e}"))?;
        log.seek(SeekFrom::End(0))
            .map_err(|e| format!("seek Envoy's log: {e}"))?;
        Ok(Lane {
            envoy,
            _backend: backend,
            log,
            pending: String::new(),
            timeout: Duration::from_secs(5),
        })
    }

    /// Reads what Envoy logged since the last call.
    fn read_log(&mut self) {
        let mut buf = Vec::new();
        if self.log.read_to_end(&mut buf).is_ok() && !buf.is_empty() {
            self.pending.push_str(&String::from_utf8_lossy(&buf));
        }
    }

    /// Sends a marker request and waits for its log line; returns the byte
    /// range of that line in `pending`.
    fn marker(&mut self) -> Result<(usize, usize), String> {
        let id = format!(
            "palisade-ftw-{}-{}",
            std::process::id(),
            MARKERS.fetch_add(1, Ordering::Relaxed)
        );
        let req = format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: go-ftw test agent\r\nAccept: */*\r\nX-CRS-Test: {id}\r\nConnection: close\r\n\r\n"
        );
        let sent = exchange(&self.envoy.listen, req.as_bytes(), self.timeout);
        if sent.status != Some(200) {
            return Err(format!(
                "marker request {id} got {:?} / {:?}",
                sent.status, sent.error
            ));
        }
        let end = Instant::now() + self.timeout;
        let needle = format!("X-CRS-Test {id}");
        loop {
            self.read_log();
            if let Some(at) = self.pending.find(&needle) {
                let start = self.pending[..at].rfind('\n').map_or(0, |i| i + 1);
                let stop = self.pending[at..]
                    .find('\n')
                    .map_or(self.pending.len(), |i| at + i + 1);
                return Ok((start, stop));
            }
            if Instant::now() > end {
                return Err(format!(
                    "marker {id} did not appear in Envoy's log within {:?}",
                    self.timeout
                ));
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// One stage under the marker protocol.
    pub fn run_stage(&mut self, raw: &[u8]) -> StageOutcome {
        let fail = |e: String| StageOutcome {
            error: Some(format!("harness: {e}")),
            ..Default::default()
        };
        let (_, after_start) = match self.marker() {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        self.pending.drain(..after_start);
        let mut outcome = exchange(&self.envoy.listen, raw, self.timeout);
        let (before_end, after_end) = match self.marker() {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        outcome.log_lines = self.pending[..before_end]
            .lines()
            .filter(|l| l.contains("ModSecurity:"))
            .map(String::from)
            .collect();
        self.pending.drain(..after_end);
        outcome
    }
}

/// Writes `raw` to a new connection and reads one response: its status and
/// bytes, or the error a client would see.
pub fn exchange(addr: &str, raw: &[u8], timeout: Duration) -> StageOutcome {
    let mut s = match TcpStream::connect(addr) {
        Ok(s) => s,
        Err(e) => {
            return StageOutcome {
                error: Some(format!("connect: {e}")),
                ..Default::default()
            }
        }
    };
    let _ = s.set_nodelay(true);
    let _ = s.set_write_timeout(Some(timeout));
    // A server that answers early (400) and closes may refuse the rest of
    // the bytes; what it answered still counts.
    let _ = s.write_all(raw);
    let end = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    let mut why_stopped = None;
    loop {
        if response_complete(&got) {
            break;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            why_stopped = Some("timed out waiting for the response");
            break;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                why_stopped = Some("timed out waiting for the response");
                break;
            }
            Err(_) => {
                why_stopped = Some("connection reset");
                break;
            }
        }
    }
    let _ = s.shutdown(Shutdown::Both);
    match status_of(&got) {
        Some(status) => StageOutcome {
            status: Some(status),
            response: Some(got),
            ..Default::default()
        },
        None if got.is_empty() => StageOutcome {
            error: Some(
                why_stopped
                    .unwrap_or("connection closed without a response")
                    .to_string(),
            ),
            ..Default::default()
        },
        None => StageOutcome {
            error: Some(format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&got[..got.len().min(64)])
            )),
            ..Default::default()
        },
    }
}

/// The status of `HTTP/x.y NNN ...` at the start of `resp`.
fn status_of(resp: &[u8]) -> Option<u16> {
    let line = resp.split(|&b| b == b'\n').next()?;
    let mut parts = line.split(|&b| b == b' ');
    let version = parts.next()?;
    if !version.starts_with(b"HTTP/") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Whether `got` holds a whole response (head, and the body its framing
/// announces). A response framed by the connection's end is never complete
/// here; reading stops at the end of the stream instead.
fn response_complete(got: &[u8]) -> bool {
    let Some(head_end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    let body = &got[head_end + 4..];
    let status = status_of(got).unwrap_or(0);
    if status / 100 == 1 || status == 204 || status == 304 {
        return true;
    }
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        return chunked_complete(body);
    }
    match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) => body.len() >= n,
        None => false,
    }
}

fn chunked_complete(mut body: &[u8]) -> bool {
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return true;
        };
        body = &body[eol + 2..];
        if size == 0 {
            // Trailers end with an empty line.
            return body.windows(2).any(|w| w == b"\r\n");
        }
        if body.len() < size + 2 {
            return false;
        }
        body = &body[size + 2..];
    }
}

/// What to run.
pub struct Run {
    pub crs: PathBuf,
    pub overrides: PathBuf,
    /// Envoys side by side.
    pub lanes: usize,
    /// Only the test file of this rule.
    pub rule: Option<u32>,
}

impl Run {
    /// The defaults, overridable from the environment: `PALISADE_FTW_LANES`,
    /// `PALISADE_FTW_RULE`.
    pub fn from_env() -> Result<Run, String> {
        let num = |k: &str| {
            std::env::var(k).ok().map(|v| {
                v.parse::<u32>()
                    .map_err(|_| format!("{k}={v:?} is not a number"))
            })
        };
        let lanes = num("PALISADE_FTW_LANES").transpose()?.unwrap_or(3).max(1) as usize;
        let rule = num("PALISADE_FTW_RULE").transpose()?;
        Ok(Run {
            crs: crs_dir()?,
            overrides: workspace_root().join("tests/ftw-envoy-overrides.yaml"),
            lanes,
            rule,
        })
    }
}

/// The suite's results.
pub struct Results {
    pub reports: Vec<FileReport>,
    pub summary: Summary,
    pub overrides: OverridesFile,
    pub elapsed: Duration,
}

/// Runs the suite through `run.lanes` Envoys.
pub fn run(run: &Run) -> Result<Results, String> {
    let mut files = runner::load_suite(&run.crs.join("tests/regression/tests"))?;
    if let Some(rule) = run.rule {
        files.retain(|f| f.file.as_ref().is_some_and(|t| t.rule_id == rule));
        if files.is_empty() {
            return Err(format!("no test file for rule {rule}"));
        }
    }
    let overrides = runner::load_overrides(&run.overrides)?;
    let filter = filter_config(&run.crs)?;
    let started = Instant::now();
    let lanes: Vec<Result<Lane, String>> = thread::scope(|s| {
        let handles: Vec<_> = (0..run.lanes)
            .map(|_| s.spawn(|| Lane::start(&filter)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("lane start panicked".into()))
            })
            .collect()
    });
    let lanes: Vec<Lane> = lanes.into_iter().collect::<Result<_, _>>()?;
    let n = lanes.len();
    let pool = Mutex::new(lanes);
    let exec = |_: StageRef, raw: &[u8]| {
        let mut lane = loop {
            if let Some(l) = pool.lock().ok().and_then(|mut p| p.pop()) {
                break l;
            }
            thread::sleep(Duration::from_millis(1));
        };
        let outcome = lane.run_stage(raw);
        if let Ok(mut p) = pool.lock() {
            p.push(lane);
        }
        outcome
    };
    let reports = runner::run_suite(&files, &overrides, &exec, n);
    let summary = runner::summarize(&reports, &overrides, run.rule.is_none());
    Ok(Results {
        reports,
        summary,
        overrides,
        elapsed: started.elapsed(),
    })
}

/// The failures, one line each with the first reason, and the totals.
pub fn report(r: &Results, overrides_path: &Path) -> String {
    let mut out = String::new();
    for f in &r.reports {
        if let Some(e) = &f.error {
            out.push_str(&format!("FAIL {}: file not loaded: {e}\n", f.path));
        }
        for t in f.tests.iter().filter(|t| !t.passed) {
            let first = t
                .reasons
                .iter()
                .chain(t.stages.iter().flat_map(|s| s.verdict.reasons.iter()))
                .next();
            out.push_str(&format!(
                "FAIL {}: {}\n",
                t.name(),
                first.map_or("failed", String::as_str)
            ));
        }
    }
    let s = &r.summary;
    let as_written = r
        .reports
        .iter()
        .flat_map(|f| f.tests.iter())
        .filter(|t| t.passed && t.overridden.is_none())
        .count();
    out.push_str(&format!(
        "{} files, {} tests, {} stages through Envoy in {:.0} s\n\
         {as_written} pass as written; {} judged against {} (Envoy rejects or normalises those requests)\n",
        s.files,
        s.tests,
        s.stages,
        r.elapsed.as_secs_f64(),
        s.overridden,
        overrides_path.display()
    ));
    for u in &s.unneeded_overrides {
        out.push_str(&format!("override not needed: {u} passes as written\n"));
    }
    for u in &s.stale_overrides {
        out.push_str(&format!("stale override: {u}\n"));
    }
    out.push_str(&s.line());
    out.push('\n');
    out
}

/// Writes the full results (every stage's request, status and log lines) as
/// JSON, for looking into failures.
pub fn write_json(r: &Results, path: &Path) -> Result<(), String> {
    let doc = json!({"summary": r.summary, "files": r.reports});
    let text =
        serde_json::to_string_pretty(&doc).map_err(|e| format!("cannot encode JSON: {e}"))?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_framing() {
        assert!(!response_complete(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabc"
        ));
        assert!(response_complete(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabcde"
        ));
        assert!(response_complete(b"HTTP/1.1 204 No Content\r\n\r\n"));
        assert!(!response_complete(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n"
        ));
        assert!(response_complete(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        ));
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\n\r\nuntil close"));
        assert_eq!(status_of(b"HTTP/1.1 403 Forbidden\r\n"), Some(403));
        assert_eq!(status_of(b"garbage"), None);
    }

    #[test]
    fn setup_rule_from_the_readme() {
        let crs = crs_dir().expect("the CRS release with its test suite");
        let rule = readme_setup_rule(&crs).expect("900005 in the README");
        assert!(
            rule.starts_with("SecAction \"id:900005,") && !rule.contains('\n'),
            "{rule}"
        );
        assert!(rule.contains("ctl:ruleEngine=DetectionOnly"));
    }
}
