//! Envoy metrics through `define_metric`, shared by all VMs of the process.
//! Names are dotted (`palisade.requests.outcome.pass`); envoy/envoy.yaml turns
//! the last segment pair into a Prometheus label (`outcome="pass"`).
//!
//! Rule-hit counters are created on first hit, at most `max_rule_metrics`
//! of them per VM; further rule ids share `palisade.rule_hits.rule_id.other`.

use std::cell::RefCell;
use std::collections::HashMap;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

use crate::telemetry::Outcome;

fn define(kind: MetricType, name: &str) -> Option<u32> {
    match hostcalls::define_metric(kind, name) {
        Ok(id) => Some(id),
        Err(e) => {
            log::warn!("palisade: cannot define metric {name}: {e:?}");
            None
        }
    }
}

fn inc(id: Option<u32>, n: i64) {
    if let Some(id) = id {
        let _ = hostcalls::increment_metric(id, n);
    }
}

pub struct Metrics {
    outcome: [Option<u32>; 3],
    body_limit_request: Option<u32>,
    body_limit_response: Option<u32>,
    engine_unavailable: Option<u32>,
    anomaly_score: Option<u32>,
    policy_version: Option<u32>,
    rule_hits: RefCell<HashMap<u32, Option<u32>>>,
    rule_other: Option<u32>,
    max_rules: usize,
}

impl Metrics {
    pub fn new(max_rules: usize) -> Metrics {
        let c = |n: &str| define(MetricType::Counter, n);
        Metrics {
            outcome: [
                c("palisade.requests.outcome.pass"),
                c("palisade.requests.outcome.detected"),
                c("palisade.requests.outcome.blocked"),
            ],
            body_limit_request: c("palisade.body_limit_events.direction.request"),
            body_limit_response: c("palisade.body_limit_events.direction.response"),
            engine_unavailable: c("palisade.engine_unavailable"),
            anomaly_score: define(MetricType::Histogram, "palisade.anomaly_score"),
            policy_version: define(MetricType::Gauge, "palisade.policy_version"),
            rule_hits: RefCell::new(HashMap::new()),
            rule_other: c("palisade.rule_hits.rule_id.other"),
            max_rules,
        }
    }

    pub fn outcome(&self, o: Outcome) {
        let i = match o {
            Outcome::Pass => 0,
            Outcome::Detected => 1,
            Outcome::Blocked => 2,
        };
        inc(self.outcome[i], 1);
    }

    pub fn body_limit(&self, response: bool) {
        inc(
            if response {
                self.body_limit_response
            } else {
                self.body_limit_request
            },
            1,
        );
    }

    pub fn engine_unavailable(&self) {
        inc(self.engine_unavailable, 1);
    }

    pub fn anomaly_score(&self, score: i64) {
        if let Some(id) = self.anomaly_score {
            let _ = hostcalls::record_metric(id, score.max(0) as u64);
        }
    }

    pub fn policy_version(&self, v: u64) {
        if let Some(id) = self.policy_version {
            let _ = hostcalls::record_metric(id, v);
        }
    }

    pub fn rule_hit(&self, rule_id: u32) {
        let mut hits = self.rule_hits.borrow_mut();
        let id = match hits.get(&rule_id) {
            Some(id) => *id,
            None if hits.len() < self.max_rules => {
                let id = define(
                    MetricType::Counter,
                    &format!("palisade.rule_hits.rule_id.{rule_id}"),
                );
                hits.insert(rule_id, id);
                id
            }
            None => self.rule_other,
        };
        inc(id, 1);
    }
}

/// The service's own counters.
pub struct ServiceMetrics {
    pub batches_sent: Option<u32>,
    pub batches_failed: Option<u32>,
    pub events_dropped: Option<u32>,
    pub events_sent: Option<u32>,
}

impl ServiceMetrics {
    pub fn new() -> Self {
        let c = |n: &str| define(MetricType::Counter, n);
        ServiceMetrics {
            batches_sent: c("palisade.telemetry.batches_sent"),
            batches_failed: c("palisade.telemetry.batches_failed"),
            events_dropped: c("palisade.telemetry.events_dropped"),
            events_sent: c("palisade.telemetry.events_sent"),
        }
    }
    pub fn add(id: Option<u32>, n: u64) {
        inc(id, n as i64);
    }
}
