//! Prometheus text exposition of the shared metrics, in Envoy's shape so
//! dashboards work for both: dots become underscores, and the last two
//! segments of a name with a known tag become a label
//! (`palisade.requests.outcome.pass` → `palisade_requests{outcome="pass"}`).
//! Untagged samples carry `{}` as Envoy prints them.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::shared::{MetricKind, MetricSample, HISTOGRAM_BOUNDS};

/// (name prefix, tag) pairs: `<prefix>.<tag>.<value>` gets `tag="value"`.
pub const DEFAULT_TAGS: [(&str, &str); 3] =
    [("palisade.requests", "outcome"), ("palisade.rule_hits", "rule_id"), ("palisade.body_limit_events", "direction")];

fn prom_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect()
}

fn label_value(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Splits a dotted name into family and label using `tags`.
fn family(name: &str, tags: &[(&str, &str)]) -> (String, String) {
    for (prefix, tag) in tags {
        if let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
            if let Some(value) = rest.strip_prefix(tag).and_then(|r| r.strip_prefix('.')) {
                return (prom_name(prefix), format!("{tag}=\"{}\"", label_value(value)));
            }
        }
    }
    (prom_name(name), String::new())
}

type Families<'a> = BTreeMap<String, (MetricKind, Vec<(String, &'a MetricSample)>)>;

pub fn render(samples: &[MetricSample], tags: &[(&str, &str)]) -> String {
    let mut families: Families = BTreeMap::new();
    for s in samples {
        let (fam, label) = family(&s.name, tags);
        families.entry(fam).or_insert_with(|| (s.kind, Vec::new())).1.push((label, s));
    }
    let mut out = String::new();
    for (fam, (kind, mut members)) in families {
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let kind_name = match kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# TYPE {fam} {kind_name}");
        for (label, s) in members {
            if kind == MetricKind::Histogram {
                let sep = if label.is_empty() { "" } else { "," };
                let mut cum = 0;
                for (i, le) in HISTOGRAM_BOUNDS.iter().enumerate() {
                    cum += s.buckets.get(i).copied().unwrap_or(0);
                    let _ = writeln!(out, "{fam}_bucket{{{label}{sep}le=\"{le}\"}} {cum}");
                }
                cum += s.buckets.get(HISTOGRAM_BOUNDS.len()).copied().unwrap_or(0);
                let _ = writeln!(out, "{fam}_bucket{{{label}{sep}le=\"+Inf\"}} {cum}");
                let _ = writeln!(out, "{fam}_sum{{{label}}} {}", s.sum);
                let _ = writeln!(out, "{fam}_count{{{label}}} {cum}");
            } else {
                let _ = writeln!(out, "{fam}{{{label}}} {}", s.value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, kind: MetricKind, value: i64) -> MetricSample {
        MetricSample { name: name.into(), kind, value, buckets: vec![0; 11], sum: 0 }
    }

    #[test]
    fn envoy_shaped_output() {
        let mut h = s("palisade.anomaly_score", MetricKind::Histogram, 2);
        h.buckets[0] = 1;
        h.buckets[3] = 1;
        h.sum = 5;
        let text = render(
            &[
                s("palisade.requests.outcome.pass", MetricKind::Counter, 3),
                s("palisade.requests.outcome.blocked", MetricKind::Counter, 1),
                s("palisade.policy_version", MetricKind::Gauge, 2),
                s("palisade.telemetry.batches_sent", MetricKind::Counter, 4),
                h,
            ],
            &DEFAULT_TAGS,
        );
        assert!(text.contains("# TYPE palisade_requests counter\npalisade_requests{outcome=\"blocked\"} 1\npalisade_requests{outcome=\"pass\"} 3\n"), "{text}");
        assert!(text.contains("palisade_policy_version{} 2\n"), "{text}");
        assert!(text.contains("palisade_telemetry_batches_sent{} 4\n"), "{text}");
        assert!(text.contains("palisade_anomaly_score_bucket{le=\"0.5\"} 1\n"), "{text}");
        assert!(text.contains("palisade_anomaly_score_bucket{le=\"5\"} 2\n"), "{text}");
        assert!(text.contains("palisade_anomaly_score_count{} 2\n"), "{text}");
        assert_eq!(text.matches("# TYPE palisade_requests ").count(), 1);
    }
}
