//! The NGINX benchmark (ignored by default; figures in nginx/README.md):
//! the same request mixes through plain nginx, nginx + Palisade and nginx +
//! ModSecurity 3.0.9 with the same CRS (v4.28.0, PL1, detection only) and
//! the same base rules (rules/conf/recommended.conf: JSON/XML body
//! processors by Content-Type), one run. Each nginx has one worker and serves its own upstream (a `return`
//! location on a second port), so the worker's CPU time per request is the
//! whole cost; the WAF's share is that minus plain nginx's.
//!
//! `cargo test -p palisade-tests --test nginx_bench -- --ignored --nocapture`
//! (`PALISADE_BENCH_N` requests per mix, default 400).

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use palisade_tests::envoy::{free_port, wasm_module};
use palisade_tests::http::read_message;
use palisade_tests::nginx::{module, nginx_binary, quote};

const MODSEC_SO: &str = "/usr/share/nginx/modules/ngx_http_modsecurity_module.so";

fn crs_dir() -> PathBuf {
    std::env::var_os("PALISADE_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| palisade_tests::envoy::workspace_root().join("../shared/crs/v4.28.0"))
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Waf {
    None,
    Palisade,
    ModSecurity,
}

struct Server {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(waf: Waf) -> Server {
    let dir = std::env::temp_dir().join(format!("palisade-bench-{}-{waf:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let (port, upstream) = (free_port(), free_port());
    let d = dir.display();
    let crs = crs_dir();
    let (head, main, server) = match waf {
        Waf::None => (String::new(), String::new(), String::new()),
        Waf::Palisade => {
            let cfg = serde_json::json!({"mode": "detect", "paranoia_level": 1,
                "rules": ["Include @recommended.conf", "Include @crs-setup.conf", "Include @crs/*.conf"]});
            (
                format!("load_module {};\n", module().display()),
                format!("palisade_wasm_module palisade {};\n", wasm_module().display()),
                format!("palisade_wasm palisade {};\n", quote(&cfg.to_string())),
            )
        }
        Waf::ModSecurity => {
            let rules = dir.join("modsec.conf");
            std::fs::write(
                &rules,
                format!(
                    "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\nSecRequestBodyLimit 131072\n\
                     SecRequestBodyLimitAction ProcessPartial\nSecResponseBodyAccess On\nSecResponseBodyLimit 524288\n\
                     SecResponseBodyLimitAction ProcessPartial\nSecResponseBodyMimeType text/plain text/html text/xml\n\
                     SecAuditEngine Off\nSecArgumentSeparator &\nSecCookieFormat 0\n\
                     Include {recommended}\nInclude {crs}/crs-setup.conf.example\nInclude {crs}/rules/*.conf\n",
                    recommended = palisade_tests::envoy::workspace_root().join("rules/conf/recommended.conf").display(),
                    crs = crs.display()
                ),
            )
            .unwrap();
            (
                format!("load_module {MODSEC_SO};\n"),
                String::new(),
                format!("modsecurity on;\nmodsecurity_rules_file {};\n", rules.display()),
            )
        }
    };
    let conf = format!(
        r#"{head}daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 256; }}
{main}http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream app {{ server 127.0.0.1:{upstream}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{upstream};
        location / {{ default_type text/html; return 200 "<html><body>ok</body></html>"; }}
    }}
    server {{
        listen 127.0.0.1:{port};
        {server}
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("logs/stderr.log")).unwrap()))
        .spawn()
        .expect("start nginx");
    let s = Server { child, dir, port };
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        if let Ok(mut c) = Client::connect(s.port) {
            if c.send(&get("/ready")).is_ok() {
                return s;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{waf:?} nginx did not start: {}",
        std::fs::read_to_string(s.dir.join("logs/stderr.log")).unwrap_or_default()
    );
}

fn worker_pid(master: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// CPU time of a process in ns (/proc/PID/schedstat).
fn cpu_ns(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.set_nodelay(true)?;
        Ok(Client { w: s.try_clone()?, r: BufReader::new(s) })
    }

    fn send(&mut self, raw: &[u8]) -> std::io::Result<u16> {
        self.w.write_all(raw)?;
        let m = read_message(&mut self.r, true)?.ok_or_else(|| std::io::Error::other("closed"))?;
        Ok(m.status())
    }
}

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\nAccept: text/html\r\nAccept-Language: en-US,en;q=0.5\r\n\r\n").into_bytes()
}

fn post(target: &str, ct: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\nAccept: */*\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn mixes() -> Vec<(&'static str, Vec<u8>)> {
    let form: Vec<String> = (0..11)
        .map(|i| format!("field_{i}=value%20number%20{i}%20with%20some%20ordinary%20text%20in%20it%20ok%2C%20fine"))
        .collect();
    let items: Vec<String> = (0..22)
        .map(|i| {
            format!(
                "{{\"id\":{i},\"name\":\"item {i}\",\"tags\":[\"red\",\"blue\"],\"price\":{}.5,\"ok\":true}}",
                i * 3
            )
        })
        .collect();
    let json = format!("{{\"order\":{{\"items\":[{}],\"note\":\"deliver after 5pm\"}}}}", items.join(","));
    vec![
        ("GET, 4 args", get("/search?q=blue+shoes&page=2&sort=price&lang=en")),
        ("POST 1 KB form", post("/contact", "application/x-www-form-urlencoded", &form.join("&"))),
        ("POST 2 KB JSON", post("/api/orders", "application/json", &json)),
        ("GET SQLi", get("/?id=1%27%20OR%201=1--")),
    ]
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn nginx_palisade_vs_plain_vs_modsecurity() {
    let n: usize = std::env::var("PALISADE_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let mixes = mixes();
    let mut table: Vec<(Waf, Vec<f64>)> = Vec::new();
    for waf in [Waf::None, Waf::Palisade, Waf::ModSecurity] {
        let s = start(waf);
        let worker = worker_pid(s.child.id()).expect("worker pid");
        let mut per = Vec::new();
        for (name, raw) in &mixes {
            let mut c = Client::connect(s.port).expect("connect");
            for _ in 0..50 {
                let st = c.send(raw).expect("warm-up request");
                assert_eq!(st, 200, "{waf:?} {name}");
            }
            let before = cpu_ns(worker);
            for _ in 0..n {
                c.send(raw).expect("request");
            }
            let us = (cpu_ns(worker) - before) as f64 / 1000.0 / n as f64;
            per.push(us);
        }
        table.push((waf, per));
    }
    println!("\nnginx worker CPU per request (us), {n} requests per mix, CRS v4.28.0 PL1 detection only:");
    println!(
        "{:<16} {:>10} {:>10} {:>12} {:>14} {:>14}",
        "mix", "plain", "Palisade", "ModSecurity", "Palisade WAF", "ModSec WAF"
    );
    for (i, (name, _)) in mixes.iter().enumerate() {
        let (p, w, m) = (table[0].1[i], table[1].1[i], table[2].1[i]);
        println!(
            "{:<16} {:>10.1} {:>10.1} {:>12.1} {:>14.1} {:>14.1}   ratio {:.1}x",
            name,
            p,
            w,
            m,
            w - p,
            m - p,
            (m - p) / (w - p).max(0.1)
        );
    }
}
