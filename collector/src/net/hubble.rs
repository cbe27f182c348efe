//! Cilium Hubble counters from a Prometheus endpoint:
//! `hubble_flows_processed_total{verdict="FORWARDED"}` (forwarded) and
//! `hubble_drop_total{reason}` (dropped), per namespace when the metrics
//! carry source/destination namespace context.

use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::PacketSource;
use crate::store::net::Reading;

/// One sample line of the Prometheus text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

fn parse_labels(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    // `s` starts after '{'; returns the labels and the rest after '}'.
    let mut labels = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if let Some(r) = rest.strip_prefix('}') {
            return Some((labels, r));
        }
        let eq = rest.find('=')?;
        let name = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        rest = &rest[end + 1..];
        labels.push((name, value));
    }
}

/// Parses the Prometheus text exposition format (comments skipped, bad
/// lines ignored).
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .unwrap_or(line.len());
        let name = &line[..name_end];
        let rest = &line[name_end..];
        let (labels, rest) = match rest.strip_prefix('{') {
            Some(r) => match parse_labels(r) {
                Some(x) => x,
                None => continue,
            },
            None => (Vec::new(), rest),
        };
        let Some(v) = rest.split_whitespace().next() else {
            continue;
        };
        let value = match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => match v.parse::<f64>() {
                Ok(x) => x,
                Err(_) => continue,
            },
        };
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}

fn label<'a>(s: &'a Sample, k: &str) -> Option<&'a str> {
    s.labels
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

/// The namespace a Hubble series belongs to: the destination's, else the
/// source's (labels `destination_namespace`, `destination` = "ns" or
/// "ns/pod", and the same for source), else `default_ns`.
pub fn namespace_of(s: &Sample, default_ns: &str) -> String {
    for k in [
        "destination_namespace",
        "destination",
        "source_namespace",
        "source",
    ] {
        if let Some(v) = label(s, k) {
            let ns = v.split('/').next().unwrap_or("");
            if !ns.is_empty() {
                return ns.to_string();
            }
        }
    }
    default_ns.to_string()
}

/// Turns the scrape into readings, one per series.
pub fn readings(samples: &[Sample], default_ns: &str) -> Vec<Reading> {
    let mut out = Vec::new();
    for s in samples {
        let forwarded =
            s.name == "hubble_flows_processed_total" && label(s, "verdict") == Some("FORWARDED");
        let dropped = s.name == "hubble_drop_total";
        if !(forwarded || dropped) || !s.value.is_finite() || s.value < 0.0 {
            continue;
        }
        let mut labels = s.labels.clone();
        labels.sort();
        let series = format!(
            "{}{{{}}}",
            s.name,
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let v = s.value.min(u64::MAX as f64) as u64;
        out.push(Reading {
            series,
            namespace: namespace_of(s, default_ns),
            inbound: 0,
            outbound: 0,
            forwarded: if forwarded { v } else { 0 },
            dropped: if dropped { v } else { 0 },
        });
    }
    out
}

pub struct Hubble {
    pub url: hyper::Uri,
    pub namespace: String,
}

/// Scrapes are capped at this size.
const MAX_SCRAPE: usize = 32 << 20;

#[async_trait]
impl PacketSource for Hubble {
    fn name(&self) -> &'static str {
        "hubble"
    }

    async fn sample(&mut self) -> Result<Vec<Reading>, String> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
        let req = hyper::Request::get(self.url.clone())
            .header("accept", "text/plain")
            .body(Empty::new())
            .map_err(|e| format!("bad request: {e}"))?;
        let fetch = async {
            let resp = client
                .request(req)
                .await
                .map_err(|e| format!("scrape of {} failed: {e}", self.url))?;
            if !resp.status().is_success() {
                return Err(format!("scrape of {} answered {}", self.url, resp.status()));
            }
            let body = Limited::new(resp.into_body(), MAX_SCRAPE)
                .collect()
                .await
                .map_err(|e| format!("scrape of {}: {e}", self.url))?
                .to_bytes();
            Ok(body)
        };
        let body = tokio::time::timeout(Duration::from_secs(10), fetch)
            .await
            .map_err(|_| format!("scrape of {} timed out", self.url))??;
        let text = String::from_utf8_lossy(&body);
        Ok(readings(&parse(&text), &self.namespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP hubble_flows_processed_total Total number of flows processed
# TYPE hubble_flows_processed_total counter
hubble_flows_processed_total{destination="shop",source="web",subtype="to-endpoint",type="Trace",verdict="FORWARDED"} 1234
hubble_flows_processed_total{destination="shop",source="web",subtype="",type="Drop",verdict="DROPPED"} 7
hubble_drop_total{destination_namespace="shop/api-0",protocol="TCP",reason="POLICY_DENIED"} 7
hubble_drop_total{protocol="UDP",reason="a \"quoted\", odd"} 2.5e1
broken{x="unterminated 5
"#;

    #[test]
    fn parses_prometheus_text() {
        let s = parse(TEXT);
        assert_eq!(s.len(), 4);
        assert_eq!(label(&s[3], "reason"), Some("a \"quoted\", odd"));
        assert_eq!(s[3].value, 25.0);
    }

    #[test]
    fn maps_hubble_series() {
        let r = readings(&parse(TEXT), "default");
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].forwarded, r[0].namespace.as_str()), (1234, "shop"));
        assert_eq!((r[1].dropped, r[1].namespace.as_str()), (7, "shop"));
        assert_eq!((r[2].dropped, r[2].namespace.as_str()), (25, "default"));
    }
}
