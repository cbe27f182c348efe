//! Running Debian's nginx with the Palisade module for a test.
//!
//! - [`nginx_binary`]: `$NGINX_BIN`, else `/usr/sbin/nginx`.
//! - [`module`]: `$PALISADE_NGINX_MODULE`, else `make nginx-module` (once
//!   per test binary, honouring CARGO_TARGET_DIR).
//! - [`Nginx::start`] writes a configuration into a fresh prefix under the
//!   temp dir (listener → backend on loopback, the metrics location, the
//!   filter and optionally the service with a collector), starts nginx in
//!   the foreground, waits until it answers, and stops it when dropped.
//! - [`check_config`] runs `nginx -t` on such a configuration.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::envoy::{free_port, prom_value, wasm_module, workspace_root};
use crate::http;

pub fn nginx_binary() -> PathBuf {
    let p = std::env::var_os("NGINX_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    assert!(p.is_file(), "nginx not found at {} (apt-get install nginx, or set NGINX_BIN)", p.display());
    p
}

/// The built module (`dist/ngx_http_palisade_module.so` after `make nginx-module`).
pub fn module() -> PathBuf {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| {
        if let Some(p) = std::env::var_os("PALISADE_NGINX_MODULE") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "PALISADE_NGINX_MODULE={} does not exist", p.display());
            return p;
        }
        let root = workspace_root();
        let mut cmd = Command::new("make");
        cmd.current_dir(&root).arg("nginx-module");
        if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
            cmd.arg(format!("CARGO_TARGET_DIR={}", PathBuf::from(t).display()));
        }
        let status = cmd.status().expect("run make nginx-module");
        assert!(status.success(), "make nginx-module failed ({status})");
        let p = root.join("dist/ngx_http_palisade_module.so");
        assert!(p.is_file(), "{} missing after make nginx-module", p.display());
        p
    })
    .clone()
}

/// What to run.
#[derive(Clone)]
pub struct Options {
    pub filter: Value,
    /// The service configuration and the collector port.
    pub service: Option<(Value, u16)>,
    pub backend_port: u16,
    pub workers: u32,
    /// `open` or `closed`.
    pub failure: &'static str,
    /// Path of the .wasm (default: the built filter).
    pub wasm: Option<PathBuf>,
    /// `wasmtime` or `wasmi` (default: the module's default).
    pub runtime: Option<&'static str>,
    /// More directives for the http block.
    pub http_extra: String,
    /// Error-log level.
    pub log_level: &'static str,
}

impl Options {
    pub fn new(filter: Value, backend_port: u16) -> Options {
        Options {
            filter,
            service: None,
            backend_port,
            workers: 2,
            failure: "closed",
            wasm: None,
            runtime: None,
            http_extra: String::new(),
            log_level: "info",
        }
    }

    /// Adds the service talking to a collector on `port`, with `token`
    /// (instance name `e2e-nginx`).
    pub fn with_collector(mut self, port: u16, flush_interval_ms: u64, token: &str) -> Options {
        let service = json!({"role": "service", "collector": {
            "cluster": "palisade_collector", "flush_interval_ms": flush_interval_ms,
            "max_backoff_ms": 2000, "environment": "e2e", "instance": "e2e-nginx", "token": token
        }});
        self.service = Some((service, port));
        self
    }
}

/// Quotes a string for an nginx configuration (single quotes).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn work_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "palisade-nginx-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(d.join("logs")).expect("create the nginx prefix");
    d
}

pub fn config(opts: &Options, dir: &Path, listen: u16) -> String {
    let wasm = opts.wasm.clone().unwrap_or_else(wasm_module);
    let runtime = opts.runtime.map(|r| format!(" {r}")).unwrap_or_default();
    let d = dir.display();
    let mut service = String::new();
    if let Some((cfg, port)) = &opts.service {
        service = format!(
            "    palisade_wasm_cluster palisade_collector 127.0.0.1:{port};\n    palisade_wasm_service palisade {};\n",
            quote(&cfg.to_string())
        );
    }
    format!(
        r#"load_module {module};
daemon off;
master_process on;
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/logs/error.log {level};
events {{ worker_connections 256; }}
palisade_wasm_module palisade {wasm}{runtime};
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 16m;
    client_body_buffer_size 16k;
{service}{extra}
    upstream app {{ server 127.0.0.1:{backend}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{listen};
        palisade_wasm palisade {filter};
        palisade_wasm_failure {failure};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
        location = /palisade/metrics {{
            palisade_wasm off;
            palisade_wasm_metrics;
        }}
    }}
}}
"#,
        module = module().display(),
        workers = opts.workers,
        wasm = wasm.display(),
        backend = opts.backend_port,
        filter = quote(&opts.filter.to_string()),
        failure = opts.failure,
        level = opts.log_level,
        extra = opts.http_extra,
    )
}

/// A running nginx (master + workers); stopped when dropped.
pub struct Nginx {
    child: Child,
    pub dir: PathBuf,
    pub listen: String,
    pub startup: Duration,
}

impl Nginx {
    pub fn start(opts: &Options) -> Result<Nginx, String> {
        let dir = work_dir();
        let listen = free_port();
        let conf = dir.join("nginx.conf");
        fs::write(&conf, config(opts, &dir, listen)).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(fs::File::create(dir.join("logs/stderr.log")).map_err(|e| e.to_string())?))
            .spawn()
            .map_err(|e| format!("cannot start nginx: {e}"))?;
        let mut n = Nginx { child, dir, listen: format!("127.0.0.1:{listen}"), startup: Duration::ZERO };
        let deadline = started + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = n.child.try_wait() {
                return Err(format!("nginx exited ({status}) before serving:\n{}", n.log()));
            }
            // Ready when every worker has started its VM and answers.
            let started_vms = n.log().matches("VM \"palisade\" started").count();
            if started_vms >= opts.workers as usize {
                if let Ok(r) = http::get(&n.listen, "/palisade/metrics") {
                    if r.status() == 200 {
                        n.startup = started.elapsed();
                        return Ok(n);
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!("nginx not ready after 120 s:\n{}", n.log()));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn addr(&self) -> &str {
        &self.listen
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The error log and nginx's own stderr.
    pub fn log(&self) -> String {
        let read =
            |p: &str| fs::read(self.dir.join(p)).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        format!("{}{}", read("logs/stderr.log"), read("logs/error.log"))
    }

    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.log().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        self.log().contains(needle)
    }

    pub fn prometheus(&self) -> String {
        http::get(&self.listen, "/palisade/metrics").map(|r| r.body_str()).unwrap_or_default()
    }

    pub fn metric(&self, sample: &str) -> Option<f64> {
        prom_value(&self.prometheus(), sample)
    }

    /// Waits until `sample` equals `want` (metrics are counted in the log
    /// phase, after the response has gone out); returns the last value.
    pub fn wait_metric(&self, sample: &str, want: f64, timeout: Duration) -> Option<f64> {
        let end = Instant::now() + timeout;
        loop {
            let v = self.metric(sample);
            if v == Some(want) || Instant::now() > end {
                return v;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill").args([&format!("-{sig}"), &self.pid().to_string()]).status();
    }

    /// Rewrites the configuration (e.g. another filter JSON) for a reload.
    pub fn rewrite(&self, opts: &Options) {
        let port: u16 = self.listen.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        fs::write(self.dir.join("nginx.conf"), config(opts, &self.dir, port)).expect("rewrite nginx.conf");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers and exits.
        self.signal("TERM");
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("PALISADE_KEEP").is_none() && !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("nginx prefix kept: {}", self.dir.display());
        }
    }
}

/// Runs `nginx -t` on the configuration `opts` describes; returns whether
/// it passed and what nginx printed.
pub fn check_config(opts: &Options) -> (bool, String) {
    let dir = work_dir();
    let conf = dir.join("nginx.conf");
    fs::write(&conf, config(opts, &dir, free_port())).expect("write nginx.conf");
    let out =
        Command::new(nginx_binary()).arg("-t").arg("-p").arg(&dir).arg("-c").arg(&conf).output().expect("run nginx -t");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = fs::remove_dir_all(&dir);
    (out.status.success(), text)
}

/// The CRS go-ftw suite through NGINX: [`crate::ftw`]'s marker protocol,
/// filter configuration, runner and judging, with NGINX lanes (one worker
/// each, its own error log) instead of Envoy ones.
pub mod ftw {
    use std::fs::File;
    use std::io::{Read, Seek, SeekFrom};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::thread;
    use std::time::{Duration, Instant};

    use palisade_rules::ftw::runner::{self, StageRef};
    use palisade_rules::ftw::StageOutcome;
    use serde_json::Value;

    use super::{Nginx, Options};
    use crate::backend::Backend;
    use crate::envoy::workspace_root;
    use crate::ftw::{exchange, filter_config, Results, Run};

    static MARKERS: AtomicU64 = AtomicU64::new(0);

    /// NGINX settings for the suite: headers nginx would drop (underscores,
    /// odd characters) reach the filter; big header buffers; slashes kept.
    const HTTP_EXTRA: &str = "    ignore_invalid_headers off;\n    underscores_in_headers on;\n    \
        large_client_header_buffers 8 64k;\n    merge_slashes off;\n    client_header_timeout 3s;\n    \
        client_body_timeout 3s;\n    proxy_read_timeout 5s;\n";

    pub struct Lane {
        pub nginx: Nginx,
        _backend: Backend,
        log: File,
        pending: String,
        pub timeout: Duration,
    }

    impl Lane {
        pub fn start(filter: &Value) -> Result<Lane, String> {
            let backend = Backend::albedo();
            let mut o = Options::new(filter.clone(), backend.port);
            o.workers = 1;
            o.failure = "open";
            o.http_extra = HTTP_EXTRA.to_string();
            let nginx = Nginx::start(&o)?;
            let mut log = File::open(nginx.dir.join("logs/error.log")).map_err(|e| format!("open nginx's log: {e}"))?;
            log.seek(SeekFrom::End(0)).map_err(|e| format!("seek nginx's log: {e}"))?;
            Ok(Lane { nginx, _backend: backend, log, pending: String::new(), timeout: Duration::from_secs(5) })
        }

        fn read_log(&mut self) {
            let mut buf = Vec::new();
            if self.log.read_to_end(&mut buf).is_ok() && !buf.is_empty() {
                self.pending.push_str(&String::from_utf8_lossy(&buf));
            }
        }

        fn marker(&mut self) -> Result<(usize, usize), String> {
            let id = format!("palisade-ftw-nginx-{}-{}", std::process::id(), MARKERS.fetch_add(1, Ordering::Relaxed));
            let req = format!(
                "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: go-ftw test agent\r\nAccept: */*\r\nX-CRS-Test: {id}\r\nConnection: close\r\n\r\n"
            );
            let sent = exchange(&self.nginx.listen, req.as_bytes(), self.timeout);
            if sent.status != Some(200) {
                return Err(format!("marker request {id} got {:?} / {:?}", sent.status, sent.error));
            }
            let end = Instant::now() + self.timeout;
            let needle = format!("X-CRS-Test {id}");
            loop {
                self.read_log();
                if let Some(at) = self.pending.find(&needle) {
                    let start = self.pending[..at].rfind('\n').map_or(0, |i| i + 1);
                    let stop = self.pending[at..].find('\n').map_or(self.pending.len(), |i| at + i + 1);
                    return Ok((start, stop));
                }
                if Instant::now() > end {
                    return Err(format!("marker {id} did not appear in nginx's log within {:?}", self.timeout));
                }
                thread::sleep(Duration::from_millis(1));
            }
        }

        pub fn run_stage(&mut self, raw: &[u8]) -> StageOutcome {
            let fail = |e: String| StageOutcome { error: Some(format!("harness: {e}")), ..Default::default() };
            let (_, after_start) = match self.marker() {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            self.pending.drain(..after_start);
            let mut outcome = exchange(&self.nginx.listen, raw, self.timeout);
            let (before_end, after_end) = match self.marker() {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            outcome.log_lines =
                self.pending[..before_end].lines().filter(|l| l.contains("ModSecurity:")).map(String::from).collect();
            self.pending.drain(..after_end);
            outcome
        }
    }

    /// `PALISADE_FTW_LANES` and `PALISADE_FTW_RULE` as for Envoy; the
    /// overrides file is `tests/ftw-nginx-overrides.yaml`.
    pub fn run_config() -> Result<Run, String> {
        let mut run = Run::from_env()?;
        run.overrides = workspace_root().join("tests/ftw-nginx-overrides.yaml");
        Ok(run)
    }

    /// Runs the suite through `run.lanes` NGINX servers.
    pub fn run(run: &Run) -> Result<Results, String> {
        let mut files = runner::load_suite(&run.crs.join("tests/regression/tests"))?;
        if let Some(rule) = run.rule {
            files.retain(|f| f.file.as_ref().is_some_and(|t| t.rule_id == rule));
        }
        let overrides = runner::load_overrides(&run.overrides)?;
        let filter = filter_config(&run.crs)?;
        let started = Instant::now();
        let lanes: Vec<Lane> = (0..run.lanes).map(|_| Lane::start(&filter)).collect::<Result<_, _>>()?;
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
        Ok(Results { reports, summary, overrides, elapsed: started.elapsed() })
    }
}

/// A tiny proxy-wasm module whose `proxy_on_request_headers` traps
/// (`unreachable`), for the failure-policy tests.
pub fn trapping_module() -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    fn section(id: u8, body: Vec<u8>, out: &mut Vec<u8>) {
        out.push(id);
        leb(body.len(), out);
        out.extend(body);
    }
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    // Types: (i32)->i32, (i32,i32)->(), (i32,i32)->i32, (i32,i32,i32)->i32, ()->(), (i32)->().
    section(
        1,
        vec![
            6, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 2, 0x7f, 0x7f, 1, 0x7f, 0x60, 3, 0x7f, 0x7f, 0x7f,
            1, 0x7f, 0x60, 0, 0, 0x60, 1, 0x7f, 0,
        ],
        &mut m,
    );
    section(3, vec![7, 4, 0, 1, 2, 3, 0, 5], &mut m);
    section(5, vec![1, 0, 1], &mut m);
    let exports: [(&str, u8, u8); 10] = [
        ("memory", 2, 0),
        ("proxy_abi_version_0_2_1", 0, 0),
        ("proxy_on_memory_allocate", 0, 1),
        ("proxy_on_context_create", 0, 2),
        ("proxy_on_vm_start", 0, 3),
        ("proxy_on_configure", 0, 3),
        ("proxy_on_request_headers", 0, 4),
        ("proxy_on_done", 0, 5),
        ("proxy_on_log", 0, 6),
        ("proxy_on_delete", 0, 6),
    ];
    let mut e = vec![exports.len() as u8];
    for (name, kind, idx) in exports {
        e.push(name.len() as u8);
        e.extend_from_slice(name.as_bytes());
        e.extend([kind, idx]);
    }
    section(7, e, &mut m);
    let bodies: [&[u8]; 7] = [
        &[0, 0x0b],
        &[0, 0x41, 0x80, 0x08, 0x0b],
        &[0, 0x0b],
        &[0, 0x41, 1, 0x0b],
        &[0, 0x00, 0x0b],
        &[0, 0x41, 1, 0x0b],
        &[0, 0x0b],
    ];
    let mut code = vec![bodies.len() as u8];
    for b in bodies {
        code.push(b.len() as u8);
        code.extend_from_slice(b);
    }
    section(10, code, &mut m);
    m
}
