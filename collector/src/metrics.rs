//! Prometheus metrics: in-memory counters since the process started, plus
//! gauges read at scrape time, rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::store::ingest::BatchTotals;
use crate::wire::Outcome;

/// Distinct label values kept per metric before folding into "other".
const MAX_SERIES: usize = 2000;

#[derive(Default)]
struct Inner {
    batches: BTreeMap<&'static str, u64>,
    requests: BTreeMap<(String, String, &'static str), u64>,
    rule_hits: BTreeMap<u64, u64>,
    events: BTreeMap<&'static str, u64>,
    packets: BTreeMap<(&'static str, String, &'static str), u64>,
    source_errors: BTreeMap<&'static str, u64>,
    http: BTreeMap<(String, u16), u64>,
    ingest_latency: Histogram,
}

struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        const B: &[f64] = &[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        Histogram {
            bounds: B,
            counts: vec![0; B.len()],
            sum: 0.0,
            count: 0,
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn bump<K: Ord>(m: &mut BTreeMap<K, u64>, k: K, by: u64, fold: impl FnOnce() -> K) {
    if m.len() >= MAX_SERIES && !m.contains_key(&k) {
        *m.entry(fold()).or_default() += by;
    } else {
        *m.entry(k).or_default() += by;
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Gauges read from the store at scrape time.
#[derive(Debug, Default)]
pub struct Gauges {
    pub policy_version: u64,
    /// (instance, environment, applied version)
    pub instances: Vec<(String, String, i64)>,
    pub stored_events: i64,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn batch(&self, result: &'static str) {
        *self.lock().batches.entry(result).or_default() += 1;
    }

    pub fn ingested(&self, environment: &str, t: &BatchTotals, seconds: f64) {
        let mut g = self.lock();
        for ((authority, outcome), n) in &t.requests {
            let o = match outcome {
                Outcome::Pass => "pass",
                Outcome::Detected => "detected",
                Outcome::Blocked => "blocked",
            };
            bump(
                &mut g.requests,
                (environment.to_string(), authority.clone(), o),
                *n,
                || (environment.to_string(), "other".into(), o),
            );
        }
        for (rule, n) in &t.rule_hits {
            bump(&mut g.rule_hits, *rule, *n, || 0);
        }
        *g.events.entry("detected").or_default() += t.events_detected;
        *g.events.entry("blocked").or_default() += t.events_blocked;
        let h = &mut g.ingest_latency;
        for (i, b) in h.bounds.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn add_packets(&self, source: &'static str, deltas: &BTreeMap<String, [u64; 4]>) {
        let mut g = self.lock();
        for (ns, d) in deltas {
            for (k, kind) in ["inbound", "outbound", "forwarded", "dropped"]
                .into_iter()
                .enumerate()
            {
                if d[k] > 0 {
                    bump(&mut g.packets, (source, ns.clone(), kind), d[k], || {
                        (source, "other".into(), kind)
                    });
                }
            }
        }
    }

    pub fn source_error(&self, source: &'static str) {
        *self.lock().source_errors.entry(source).or_default() += 1;
    }

    pub fn http(&self, route: &str, status: u16) {
        let mut g = self.lock();
        bump(&mut g.http, (route.to_string(), status), 1, || {
            ("other".into(), status)
        });
    }

    /// The text exposition.
    pub fn render(&self, gauges: &Gauges) -> String {
        let g = self.lock();
        let mut s = String::with_capacity(4096);
        let head = |s: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            &mut s,
            "palisade_telemetry_batches_total",
            "counter",
            "Telemetry batches received, by result.",
        );
        for (r, n) in &g.batches {
            let _ = writeln!(s, "palisade_telemetry_batches_total{{result=\"{r}\"}} {n}");
        }
        head(
            &mut s,
            "palisade_waf_requests_total",
            "counter",
            "Requests seen by the filters, by outcome.",
        );
        for ((e, a, o), n) in &g.requests {
            let _ = writeln!(
                s,
                "palisade_waf_requests_total{{environment=\"{}\",authority=\"{}\",outcome=\"{o}\"}} {n}",
                esc(e),
                esc(a)
            );
        }
        head(
            &mut s,
            "palisade_waf_rule_hits_total",
            "counter",
            "Rule matches reported by the filters (rule_id 0: other).",
        );
        for (r, n) in &g.rule_hits {
            let _ = writeln!(s, "palisade_waf_rule_hits_total{{rule_id=\"{r}\"}} {n}");
        }
        head(
            &mut s,
            "palisade_waf_events_total",
            "counter",
            "Security events received, by action.",
        );
        for (a, n) in &g.events {
            let _ = writeln!(s, "palisade_waf_events_total{{action=\"{a}\"}} {n}");
        }
        head(
            &mut s,
            "palisade_packets_total",
            "counter",
            "Packets counted by the node sources, by kind.",
        );
        for ((src, ns, kind), n) in &g.packets {
            let _ = writeln!(
                s,
                "palisade_packets_total{{source=\"{src}\",namespace=\"{}\",kind=\"{kind}\"}} {n}",
                esc(ns)
            );
        }
        head(
            &mut s,
            "palisade_packet_source_errors_total",
            "counter",
            "Failed samples of a packet source.",
        );
        for (src, n) in &g.source_errors {
            let _ = writeln!(
                s,
                "palisade_packet_source_errors_total{{source=\"{src}\"}} {n}"
            );
        }
        head(
            &mut s,
            "palisade_http_requests_total",
            "counter",
            "API requests, by route and status.",
        );
        for ((route, code), n) in &g.http {
            let _ = writeln!(
                s,
                "palisade_http_requests_total{{route=\"{}\",status=\"{code}\"}} {n}",
                esc(route)
            );
        }
        head(
            &mut s,
            "palisade_ingest_duration_seconds",
            "histogram",
            "Time to store one telemetry batch.",
        );
        let h = &g.ingest_latency;
        for (b, c) in h.bounds.iter().zip(&h.counts) {
            let _ = writeln!(
                s,
                "palisade_ingest_duration_seconds_bucket{{le=\"{b}\"}} {c}"
            );
        }
        let _ = writeln!(
            s,
            "palisade_ingest_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(s, "palisade_ingest_duration_seconds_sum {}", h.sum);
        let _ = writeln!(s, "palisade_ingest_duration_seconds_count {}", h.count);
        head(
            &mut s,
            "palisade_policy_version",
            "gauge",
            "Current WAF policy version.",
        );
        let _ = writeln!(s, "palisade_policy_version {}", gauges.policy_version);
        head(
            &mut s,
            "palisade_filter_policy_version",
            "gauge",
            "Policy version each filter instance last reported.",
        );
        for (i, e, v) in &gauges.instances {
            let _ = writeln!(
                s,
                "palisade_filter_policy_version{{instance=\"{}\",environment=\"{}\"}} {v}",
                esc(i),
                esc(e)
            );
        }
        head(
            &mut s,
            "palisade_stored_events",
            "gauge",
            "Security events currently stored.",
        );
        let _ = writeln!(s, "palisade_stored_events {}", gauges.stored_events);
        s
    }
}
