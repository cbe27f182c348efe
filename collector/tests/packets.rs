//! Packet counters: totals and rates across counter resets, reboots and
//! collector restarts (interface counters from a file the test controls,
//! Hubble counters from a Prometheus endpoint the test serves), and real
//! traffic between two network namespaces with an nftables drop rule.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::Value;

fn proc_net_dev(rx: u64, rx_drop: u64, tx: u64, tx_drop: u64) -> String {
    format!(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
         lo: 100 9 0 0 0 0 0 0 100 9 0 0 0 0 0 0\n  \
         eth0: {} {rx} 0 {rx_drop} 0 0 0 0 {} {tx} 0 {tx_drop} 0 0 0 0\n",
        rx * 100,
        tx * 100
    )
}

fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn net_summary(s: &Server, t0: f64, env: Option<&str>) -> Value {
    let env = env.map(|e| format!("&environment={e}")).unwrap_or_default();
    s.get(&format!(
        "/api/v1/network/summary?from={}&to={}&bucket=minute{env}",
        t0 - 120.0,
        now() + 120.0
    ))
    .1
}

fn totals(v: &Value) -> (i64, i64, i64, i64) {
    (
        v["inbound_packets"].as_i64().unwrap(),
        v["outbound_packets"].as_i64().unwrap(),
        v["forwarded_packets"].as_i64().unwrap(),
        v["dropped_packets"].as_i64().unwrap(),
    )
}

/// Sum of rate × bucket length over the history: must give the counts back.
fn integrated(v: &Value) -> (f64, f64) {
    let secs = v["bucket_seconds"].as_f64().unwrap();
    let h = v["history"].as_array().unwrap();
    (
        h.iter()
            .map(|p| p["forwarded_per_second"].as_f64().unwrap() * secs)
            .sum(),
        h.iter()
            .map(|p| p["dropped_per_second"].as_f64().unwrap() * secs)
            .sum(),
    )
}

#[test]
fn interface_counters_across_resets_reboots_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dev = dir.path().join("net-dev");
    let boot = dir.path().join("boot-id");
    write_atomic(&dev, &proc_net_dev(1000, 0, 500, 0));
    write_atomic(&boot, "boot-1\n");
    let opts = || Opts {
        config: format!(
            "[network]\ninterval_seconds = 0.1\nboot_id_path = {:?}\n",
            boot.display().to_string()
        ),
        args: vec![
            "--proc-net-dev".into(),
            dev.display().to_string(),
            "--nft".into(),
            "off".into(),
        ],
        ..Opts::default()
    };
    let t0 = now();
    let mut s = Server::start(&data, opts());
    std::thread::sleep(Duration::from_millis(600)); // baseline reading taken
    assert_eq!(totals(&net_summary(&s, t0, None)), (0, 0, 0, 0));

    write_atomic(&dev, &proc_net_dev(1100, 5, 550, 0));
    let v = s.wait_for(10.0, |s| {
        Some(net_summary(s, t0, None)).filter(|v| totals(v).0 == 100)
    });
    assert_eq!(totals(&v), (100, 50, 150, 5));
    assert_eq!(v["basis"], "interfaces");
    let (f, d) = integrated(&v);
    assert!(
        (f - 150.0).abs() < 1e-6 && (d - 5.0).abs() < 1e-6,
        "{f} {d}"
    );

    // the interface was re-created: counters start again from zero
    write_atomic(&dev, &proc_net_dev(30, 0, 10, 0));
    s.wait_for(10.0, |s| {
        (totals(&net_summary(s, t0, None)).0 == 130).then_some(())
    });
    assert_eq!(totals(&net_summary(&s, t0, None)), (130, 60, 190, 5));

    // the collector dies; traffic goes on; after the restart it is counted once
    s.kill9();
    write_atomic(&dev, &proc_net_dev(80, 0, 20, 0));
    let s = Server::start(&data, opts());
    s.wait_for(10.0, |s| {
        (totals(&net_summary(s, t0, None)).0 == 180).then_some(())
    });
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(totals(&net_summary(&s, t0, None)), (180, 70, 250, 5));

    // the machine rebooted: everything since boot is new, even though the
    // counter is above the last reading
    write_atomic(&dev, &proc_net_dev(100, 0, 20, 0));
    write_atomic(&boot, "boot-2\n");
    s.wait_for(10.0, |s| {
        (totals(&net_summary(s, t0, None)).0 == 280).then_some(())
    });
    std::thread::sleep(Duration::from_millis(400));
    let v = net_summary(&s, t0, None);
    assert_eq!(totals(&v), (280, 90, 370, 5));
    let (f, _) = integrated(&v);
    assert!((f - 370.0).abs() < 1e-6);
    assert_eq!(v["sources"]["procnetdev"]["inbound"], 280);
    let m = String::from_utf8(request(s.addr, "GET", "/metrics", None, None).1).unwrap();
    assert!(m.contains("palisade_packets_total{source=\"procnetdev\",namespace=\"default\",kind=\"inbound\"} 150"), "{m}");
}

/// A Prometheus endpoint serving whatever text the test sets.
fn fake_prometheus(text: Arc<Mutex<String>>) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let body = text.lock().unwrap().clone();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn hubble_text(fwd: u64, drops: u64, other_ns_fwd: u64) -> String {
    format!(
        "# TYPE hubble_flows_processed_total counter\n\
         hubble_flows_processed_total{{destination=\"shop\",source=\"web\",subtype=\"to-endpoint\",type=\"Trace\",verdict=\"FORWARDED\"}} {fwd}\n\
         hubble_flows_processed_total{{destination=\"shop\",source=\"web\",subtype=\"\",type=\"Drop\",verdict=\"DROPPED\"}} {drops}\n\
         hubble_flows_processed_total{{destination=\"bank\",source=\"web\",subtype=\"to-endpoint\",type=\"Trace\",verdict=\"FORWARDED\"}} {other_ns_fwd}\n\
         # TYPE hubble_drop_total counter\n\
         hubble_drop_total{{destination=\"shop\",protocol=\"TCP\",reason=\"POLICY_DENIED\"}} {drops}\n"
    )
}

#[test]
fn hubble_counters_per_namespace_across_agent_restart() {
    let text = Arc::new(Mutex::new(hubble_text(1000, 10, 7)));
    let addr = fake_prometheus(text.clone());
    let dir = tempfile::tempdir().unwrap();
    let t0 = now();
    let s = Server::start(
        &dir.path().join("data"),
        Opts {
            config: "[network]\ninterval_seconds = 0.1\n".into(),
            args: vec![
                "--proc-net-dev".into(),
                "off".into(),
                "--nft".into(),
                "off".into(),
                "--hubble-metrics-url".into(),
                format!("http://{addr}/metrics"),
            ],
            ..Opts::default()
        },
    );
    std::thread::sleep(Duration::from_millis(600));
    *text.lock().unwrap() = hubble_text(1500, 14, 9);
    let v = s.wait_for(10.0, |s| {
        Some(net_summary(s, t0, Some("shop"))).filter(|v| totals(v).2 == 500)
    });
    assert_eq!(v["basis"], "hubble");
    assert_eq!(totals(&v), (0, 0, 500, 4));
    // the Cilium agent restarted: its counters begin again
    *text.lock().unwrap() = hubble_text(100, 1, 1);
    let v = s.wait_for(10.0, |s| {
        Some(net_summary(s, t0, Some("shop"))).filter(|v| totals(v).2 == 600)
    });
    assert_eq!(totals(&v), (0, 0, 600, 5));
    assert!((v["dropped_share"].as_f64().unwrap() - 5.0 / 605.0).abs() < 1e-9);
    let bank = net_summary(&s, t0, Some("bank"));
    assert_eq!(totals(&bank).2, 3);
    let all = net_summary(&s, t0, None);
    assert_eq!(totals(&all).2, 603);
}

// ------------------------------------------------------------ real traffic

fn sh(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Says so on the terminal even when cargo captures test output.
fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "\nSKIPPED netns packet test: {why}\n");
}

struct Netns {
    names: Vec<String>,
    keep: Option<std::process::Child>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(mut c) = self.keep.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn mac_of(ns: &str, dev: &str) -> Result<String, String> {
    let out = sh(&["ip", "-n", ns, "-j", "link", "show", dev])?;
    let v: Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    v[0]["address"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| "no MAC address".into())
}

#[test]
fn netns_veth_nftables_forwarded_and_dropped_match_what_was_sent() {
    if sh(&["id", "-u"]).map(|s| s.trim() != "0").unwrap_or(true) {
        return skip("not running as root");
    }
    if sh(&["nft", "--version"]).is_err() {
        return skip("nft is not installed");
    }
    let pid = std::process::id();
    let (a, b) = (format!("pal-a-{pid}"), format!("pal-b-{pid}"));
    let (va, vb) = (format!("pa{pid}"), format!("pb{pid}"));
    let mut guard = Netns {
        names: Vec::new(),
        keep: None,
    };
    for n in [&a, &b] {
        if let Err(e) = sh(&["ip", "netns", "add", n]) {
            return skip(&format!("cannot create network namespaces ({e})"));
        }
        guard.names.push(n.clone());
    }
    let setup = || -> Result<(), String> {
        for n in [&a, &b] {
            // no IPv6 chatter (router solicitations, MLD) on the link
            sh(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
            ])?;
            sh(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                "net.ipv6.conf.default.disable_ipv6=1",
            ])?;
            sh(&["ip", "-n", n, "link", "set", "lo", "up"])?;
        }
        sh(&[
            "ip", "link", "add", &va, "netns", &a, "type", "veth", "peer", "name", &vb, "netns", &b,
        ])?;
        sh(&["ip", "-n", &a, "addr", "add", "198.18.0.1/30", "dev", &va])?;
        sh(&["ip", "-n", &b, "addr", "add", "198.18.0.2/30", "dev", &vb])?;
        // static neighbours: no ARP on the link either
        let (ma, mb) = (mac_of(&a, &va)?, mac_of(&b, &vb)?);
        sh(&[
            "ip",
            "-n",
            &a,
            "neigh",
            "add",
            "198.18.0.2",
            "lladdr",
            &mb,
            "dev",
            &va,
            "nud",
            "permanent",
        ])?;
        sh(&[
            "ip",
            "-n",
            &b,
            "neigh",
            "add",
            "198.18.0.1",
            "lladdr",
            &ma,
            "dev",
            &vb,
            "nud",
            "permanent",
        ])?;
        sh(&["ip", "-n", &a, "link", "set", &va, "up"])?;
        sh(&["ip", "-n", &b, "link", "set", &vb, "up"])?;
        // drop port 9999 (counted); silence the port-unreachable replies (not counted)
        let rules = "table inet paltest {\n\
            chain input { type filter hook input priority 0; policy accept; udp dport 9999 counter drop; }\n\
            chain output { type filter hook output priority 0; policy accept; icmp type destination-unreachable drop; }\n}\n";
        let f = std::env::temp_dir().join(format!("paltest-{pid}.nft"));
        std::fs::write(&f, rules).map_err(|e| e.to_string())?;
        let r = sh(&["ip", "netns", "exec", &b, "nft", "-f", f.to_str().unwrap()]);
        let _ = std::fs::remove_file(&f);
        r.map(|_| ())
    };
    if let Err(e) = setup() {
        return skip(&format!("cannot set up the veth pair and nftables ({e})"));
    }
    // A process inside B whose /proc/<pid>/net/dev is B's interface table.
    let keep = Command::new("ip")
        .args(["netns", "exec", &b, "sleep", "300"])
        .spawn()
        .unwrap();
    let keep_pid = keep.id();
    guard.keep = Some(keep);
    let dev = format!("/proc/{keep_pid}/net/dev");
    let d = sh(&["ip", "netns", "exec", &b, "cat", "/proc/self/net/dev"]).unwrap_or_default();
    assert!(d.contains(&vb), "B's interface table does not show {vb}");
    s_wait_file(&dev, &vb);

    let dir = tempfile::tempdir().unwrap();
    let t0 = now();
    let cfg = format!(
        "environment = \"lab\"\n[network]\ninterval_seconds = 0.2\nnft = \"on\"\nnft_command = [\"ip\", \"netns\", \"exec\", \"{b}\", \"nft\", \"-j\", \"list\", \"ruleset\"]\n"
    );
    let s = Server::start(
        &dir.path().join("data"),
        Opts {
            config: cfg,
            args: vec!["--proc-net-dev".into(), dev.clone()],
            ..Opts::default()
        },
    );
    std::thread::sleep(Duration::from_millis(1200)); // baselines of both sources
    let before = net_summary(&s, t0, Some("lab"));
    assert_eq!(totals(&before), (0, 0, 0, 0), "link not quiet: {before}");

    let (pass, drop) = (200u64, 50u64);
    let send = |port: u16, n: u64| {
        let script = format!("for i in $(seq {n}); do printf x > /dev/udp/198.18.0.2/{port}; done");
        sh(&["ip", "netns", "exec", &a, "bash", "-c", &script]).expect("send");
    };
    send(9998, pass);
    send(9999, drop);
    let v = s.wait_for(20.0, |s| {
        Some(net_summary(s, t0, Some("lab"))).filter(|v| {
            let (i, _, _, d) = totals(v);
            i >= (pass + drop) as i64 && d >= drop as i64
        })
    });
    std::thread::sleep(Duration::from_millis(600));
    let v2 = net_summary(&s, t0, Some("lab"));
    assert_eq!(totals(&v), totals(&v2), "counts still moving");
    let (inbound, outbound, forwarded, dropped) = totals(&v2);
    assert_eq!(inbound, (pass + drop) as i64, "{v2}");
    assert_eq!(outbound, 0, "{v2}");
    assert_eq!(dropped, drop as i64, "{v2}");
    assert_eq!(forwarded, pass as i64, "{v2}");
    assert_eq!(v2["sources"]["nftables"]["dropped"], drop);
    let (f, d) = integrated(&v2);
    assert!(
        (f - pass as f64).abs() < 1e-6 && (d - drop as f64).abs() < 1e-6,
        "rates: {f} {d}"
    );
    let secs = (v2["to"].as_f64().unwrap() - v2["from"].as_f64().unwrap()).max(1.0);
    assert!((v2["forwarded_per_second"].as_f64().unwrap() - pass as f64 / secs).abs() < 1e-9);
    assert!(
        (v2["dropped_share"].as_f64().unwrap() - drop as f64 / (pass + drop) as f64).abs() < 1e-9
    );
    let _ = writeln!(std::io::stderr(), "netns packet test: sent {pass} forwarded + {drop} dropped; collector counted {forwarded} + {dropped}");
}

fn s_wait_file(path: &str, needle: &str) {
    for _ in 0..50 {
        if std::fs::read_to_string(path)
            .map(|t| t.contains(needle))
            .unwrap_or(false)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{path} never showed {needle}");
}
