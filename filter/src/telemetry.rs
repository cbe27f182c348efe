//! Telemetry data and its bounded buffering, independent of the host:
//!
//! - [`Event`]: one security event with evidence (collector/WIRE.md).
//! - [`Report`]: what a worker VM hands to the service over the shared queue:
//!   counter deltas, rule hits, body-limit events and events since its last
//!   report. [`WorkerBuffer`] builds it, holding at most N events.
//! - [`Aggregator`]: the service's side: merges reports, keeps at most N
//!   events (dropping the oldest and counting them), and cuts [`Batch`]es that
//!   stay unchanged (same `batch_id`) across retries until acknowledged.
//! - [`Backoff`]: when to try the collector again after a failure.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::policy::Policy;

/// Longest matched-data string sent in an event.
pub const MAX_DATA: usize = 256;
/// Longest request line sent in an event.
pub const MAX_REQUEST_LINE: usize = 1024;
/// Authorities tracked separately per batch; the rest are counted as `other`.
pub const MAX_AUTHORITIES: usize = 256;

/// Cuts a string to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Detected,
    Blocked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Detected => "detected",
            Outcome::Blocked => "blocked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleEvidence {
    pub id: u32,
    pub msg: String,
    pub data: String,
    pub severity: String,
    pub tags: Vec<String>,
    pub variable: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub time: f64,
    pub authority: String,
    pub client: String,
    pub method: String,
    pub path: String,
    pub request_line: String,
    pub inbound_score: i64,
    pub outbound_score: i64,
    /// `detected` or `blocked`.
    pub action: Outcome,
    pub status: u16,
    pub policy_version: u64,
    pub rules: Vec<RuleEvidence>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterDelta {
    pub authority: String,
    pub outcome: Outcome,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHits {
    pub rule_id: u32,
    pub count: u64,
}

/// A worker's report to the service (one shared-queue message).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The policy version the worker runs.
    pub policy_version: u64,
    pub counters: Vec<CounterDelta>,
    pub rule_hits: Vec<RuleHits>,
    pub body_limit_events: u64,
    pub dropped_events: u64,
    pub events: Vec<Event>,
}

/// Counts keyed by (authority, outcome), with a bound on distinct authorities.
#[derive(Default, Debug)]
struct Counters {
    map: BTreeMap<(String, Outcome), u64>,
    authorities: std::collections::BTreeSet<String>,
}

impl Counters {
    fn add(&mut self, authority: &str, outcome: Outcome, n: u64) {
        if n == 0 {
            return;
        }
        let key = (authority.to_string(), outcome);
        if let Some(c) = self.map.get_mut(&key) {
            *c += n;
            return;
        }
        let key =
            if self.authorities.contains(authority) || self.authorities.len() < MAX_AUTHORITIES {
                self.authorities.insert(authority.to_string());
                key
            } else {
                ("other".to_string(), outcome)
            };
        *self.map.entry(key).or_insert(0) += n;
    }

    fn take(&mut self) -> Vec<CounterDelta> {
        self.authorities.clear();
        std::mem::take(&mut self.map)
            .into_iter()
            .map(|((authority, outcome), count)| CounterDelta {
                authority,
                outcome,
                count,
            })
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A bounded list of events: pushing past the bound drops the oldest.
#[derive(Debug)]
struct EventRing {
    events: VecDeque<Event>,
    max: usize,
    dropped: u64,
}

impl EventRing {
    fn new(max: usize) -> Self {
        EventRing {
            events: VecDeque::new(),
            max: max.max(1),
            dropped: 0,
        }
    }
    fn push(&mut self, e: Event) {
        while self.events.len() >= self.max {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(e);
    }
}

/// What a worker VM accumulates between two reports.
#[derive(Debug)]
pub struct WorkerBuffer {
    counters: Counters,
    rule_hits: BTreeMap<u32, u64>,
    body_limit_events: u64,
    ring: EventRing,
}

impl WorkerBuffer {
    pub fn new(max_events: usize) -> Self {
        WorkerBuffer {
            counters: Counters::default(),
            rule_hits: BTreeMap::new(),
            body_limit_events: 0,
            ring: EventRing::new(max_events),
        }
    }

    pub fn record(
        &mut self,
        authority: &str,
        outcome: Outcome,
        rule_ids: &[u32],
        body_limit: bool,
    ) {
        self.counters.add(authority, outcome, 1);
        for id in rule_ids {
            *self.rule_hits.entry(*id).or_insert(0) += 1;
        }
        if body_limit {
            self.body_limit_events += 1;
        }
    }

    pub fn push_event(&mut self, e: Event) {
        self.ring.push(e);
    }

    /// Counts events lost outside the buffer (e.g. a report that could
    /// not be handed over).
    pub fn count_dropped(&mut self, n: u64) {
        self.ring.dropped += n;
    }

    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
            && self.rule_hits.is_empty()
            && self.body_limit_events == 0
            && self.ring.events.is_empty()
            && self.ring.dropped == 0
    }

    /// Takes everything into a report and starts over.
    pub fn take(&mut self, policy_version: u64) -> Report {
        Report {
            policy_version,
            counters: self.counters.take(),
            rule_hits: std::mem::take(&mut self.rule_hits)
                .into_iter()
                .map(|(rule_id, count)| RuleHits { rule_id, count })
                .collect(),
            body_limit_events: std::mem::take(&mut self.body_limit_events),
            dropped_events: std::mem::take(&mut self.ring.dropped),
            events: self.ring.events.drain(..).collect(),
        }
    }
}

/// One telemetry batch (the body of `POST /api/v1/telemetry`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_id: String,
    pub instance: String,
    pub environment: String,
    pub policy_version: u64,
    pub sent_at: f64,
    pub counters: Vec<CounterDelta>,
    pub rule_hits: Vec<RuleHits>,
    pub body_limit_events: u64,
    pub dropped_events: u64,
    pub events: Vec<Event>,
}

/// The collector's answer to a batch. The policy is kept as raw JSON so a
/// policy the filter cannot use does not make the batch count as unsent.
#[derive(Clone, Debug, Deserialize)]
pub struct Ack {
    pub accepted: bool,
    #[serde(default)]
    pub duplicate: bool,
    #[serde(default)]
    pub policy: Option<serde_json::Value>,
}

impl Ack {
    /// The policy riding on the acknowledgement, checked.
    pub fn policy(&self) -> Option<Result<Policy, String>> {
        let v = self.policy.as_ref().filter(|v| !v.is_null())?;
        Some(
            serde_json::from_value::<Policy>(v.clone())
                .map_err(|e| format!("policy: {e}"))
                .and_then(|p| {
                    p.check()?;
                    Ok(p)
                }),
        )
    }
}

/// The service's merge of worker reports, and the batch in flight.
#[derive(Debug)]
pub struct Aggregator {
    instance: String,
    environment: String,
    batch_prefix: String,
    seq: u64,
    counters: Counters,
    rule_hits: BTreeMap<u32, u64>,
    body_limit_events: u64,
    ring: EventRing,
    dropped_by_workers: u64,
    /// Lowest policy version reported by a worker since the last batch.
    reported_version: Option<u64>,
    last_version: u64,
    max_batch_events: usize,
    /// The batch sent and not yet acknowledged; resent as is.
    pending: Option<Batch>,
}

impl Aggregator {
    /// `batch_prefix` must differ between service starts (e.g. start time).
    pub fn new(
        instance: &str,
        environment: &str,
        batch_prefix: &str,
        max_events: usize,
        max_batch_events: usize,
    ) -> Self {
        Aggregator {
            instance: instance.to_string(),
            environment: environment.to_string(),
            batch_prefix: batch_prefix.to_string(),
            seq: 0,
            counters: Counters::default(),
            rule_hits: BTreeMap::new(),
            body_limit_events: 0,
            ring: EventRing::new(max_events),
            dropped_by_workers: 0,
            reported_version: None,
            last_version: 0,
            max_batch_events: max_batch_events.max(1),
            pending: None,
        }
    }

    pub fn merge(&mut self, r: Report) {
        for c in r.counters {
            self.counters.add(&c.authority, c.outcome, c.count);
        }
        for h in r.rule_hits {
            *self.rule_hits.entry(h.rule_id).or_insert(0) += h.count;
        }
        self.body_limit_events += r.body_limit_events;
        self.dropped_by_workers += r.dropped_events;
        for e in r.events {
            self.ring.push(e);
        }
        self.reported_version = Some(
            self.reported_version
                .map_or(r.policy_version, |v| v.min(r.policy_version)),
        );
    }

    /// Events held and not yet in a batch.
    pub fn buffered_events(&self) -> usize {
        self.ring.events.len()
    }

    /// Events dropped so far and not yet reported.
    pub fn dropped_events(&self) -> u64 {
        self.ring.dropped + self.dropped_by_workers
    }

    /// The batch sent and not yet acknowledged.
    pub fn pending(&self) -> Option<&Batch> {
        self.pending.as_ref()
    }

    /// The batch to send now: the unacknowledged one if any (same id),
    /// else a new one cut from what has accumulated (possibly empty: the
    /// flush is also the policy pull).
    pub fn next_batch(&mut self, now: f64) -> &Batch {
        if self.pending.is_none() {
            self.seq += 1;
            if let Some(v) = self.reported_version.take() {
                self.last_version = v;
            }
            let n = self.ring.events.len().min(self.max_batch_events);
            let events: Vec<Event> = self.ring.events.drain(..n).collect();
            let dropped = std::mem::take(&mut self.ring.dropped)
                + std::mem::take(&mut self.dropped_by_workers);
            self.pending = Some(Batch {
                batch_id: format!("{}:{:06}", self.batch_prefix, self.seq),
                instance: self.instance.clone(),
                environment: self.environment.clone(),
                policy_version: self.last_version,
                sent_at: now,
                counters: self.counters.take(),
                rule_hits: std::mem::take(&mut self.rule_hits)
                    .into_iter()
                    .map(|(rule_id, count)| RuleHits { rule_id, count })
                    .collect(),
                body_limit_events: std::mem::take(&mut self.body_limit_events),
                dropped_events: dropped,
                events,
            });
        }
        match &mut self.pending {
            Some(b) => b,
            None => unreachable!("pending was just set"),
        }
    }

    /// The collector acknowledged the pending batch.
    pub fn acknowledged(&mut self) {
        self.pending = None;
    }
}

/// Exponential backoff between `base` and `max` milliseconds.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: u64,
    max: u64,
    failures: u32,
}

impl Backoff {
    pub fn new(base_ms: u64, max_ms: u64) -> Self {
        Backoff {
            base: base_ms.max(1),
            max: max_ms.max(base_ms.max(1)),
            failures: 0,
        }
    }
    /// Delay before the next attempt after one more failure.
    pub fn failed(&mut self) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let shift = self.failures.min(20);
        self.base.saturating_mul(1u64 << shift).min(self.max)
    }
    /// Delay before the next attempt after a success.
    pub fn succeeded(&mut self) -> u64 {
        self.failures = 0;
        self.base
    }
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Event {
        Event {
            id: id.into(),
            time: 1.0,
            authority: "a".into(),
            client: "127.0.0.1".into(),
            method: "GET".into(),
            path: "/".into(),
            request_line: "GET / HTTP/1.1".into(),
            inbound_score: 5,
            outbound_score: 0,
            action: Outcome::Detected,
            status: 200,
            policy_version: 0,
            rules: vec![],
        }
    }

    #[test]
    fn worker_buffer_drops_oldest() {
        let mut w = WorkerBuffer::new(2);
        assert!(w.is_empty());
        w.record("a", Outcome::Pass, &[], false);
        w.record("a", Outcome::Pass, &[], false);
        w.record("a", Outcome::Detected, &[942100, 949110], true);
        for i in 0..5 {
            w.push_event(event(&i.to_string()));
        }
        let r = w.take(3);
        assert_eq!(r.policy_version, 3);
        assert_eq!(
            r.counters,
            vec![
                CounterDelta {
                    authority: "a".into(),
                    outcome: Outcome::Pass,
                    count: 2
                },
                CounterDelta {
                    authority: "a".into(),
                    outcome: Outcome::Detected,
                    count: 1
                },
            ]
        );
        assert_eq!(r.rule_hits.len(), 2);
        assert_eq!(r.body_limit_events, 1);
        assert_eq!(r.dropped_events, 3);
        assert_eq!(
            r.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            vec!["3", "4"]
        );
        assert!(w.is_empty());
    }

    #[test]
    fn authorities_are_bounded() {
        let mut w = WorkerBuffer::new(1);
        for i in 0..(MAX_AUTHORITIES + 10) {
            w.record(&format!("h{i}"), Outcome::Pass, &[], false);
        }
        let r = w.take(0);
        assert_eq!(r.counters.len(), MAX_AUTHORITIES + 1);
        let other = r
            .counters
            .iter()
            .find(|c| c.authority == "other")
            .expect("overflow bucket");
        assert_eq!(other.count, 10);
    }

    #[test]
    fn batches_are_stable_until_acknowledged() {
        let mut agg = Aggregator::new("inst", "env", "p", 3, 2);
        let mut w = WorkerBuffer::new(10);
        w.record("a", Outcome::Blocked, &[942100], false);
        for i in 0..5 {
            w.push_event(event(&i.to_string()));
        }
        agg.merge(w.take(7));
        assert_eq!(agg.dropped_events(), 2, "aggregator holds 3 of 5");
        let b1 = agg.next_batch(10.0).clone();
        assert_eq!(b1.batch_id, "p:000001");
        assert_eq!(b1.policy_version, 7);
        assert_eq!(b1.events.len(), 2);
        assert_eq!(b1.dropped_events, 2);
        assert_eq!(b1.counters[0].outcome, Outcome::Blocked);
        // More data arrives while the batch is unacknowledged: the retry is identical.
        w.record("a", Outcome::Pass, &[], false);
        agg.merge(w.take(8));
        assert_eq!(agg.next_batch(11.0), &b1);
        agg.acknowledged();
        let b2 = agg.next_batch(12.0).clone();
        assert_eq!(b2.batch_id, "p:000002");
        assert_eq!(b2.policy_version, 8);
        assert_eq!(b2.events.len(), 1, "the third held event");
        assert_eq!(b2.dropped_events, 0);
        assert_eq!(
            b2.counters,
            vec![CounterDelta {
                authority: "a".into(),
                outcome: Outcome::Pass,
                count: 1
            }]
        );
        agg.acknowledged();
        let b3 = agg.next_batch(13.0);
        assert!(b3.events.is_empty() && b3.counters.is_empty());
        assert_eq!(b3.policy_version, 8, "keeps the last reported version");
    }

    #[test]
    fn backoff_grows_and_resets() {
        let mut b = Backoff::new(1000, 8000);
        assert_eq!(b.failed(), 2000);
        assert_eq!(b.failed(), 4000);
        assert_eq!(b.failed(), 8000);
        assert_eq!(b.failed(), 8000);
        for _ in 0..100 {
            b.failed();
        }
        assert_eq!(b.failed(), 8000);
        assert_eq!(b.succeeded(), 1000);
        assert_eq!(b.failures(), 0);
    }

    #[test]
    fn truncation_respects_chars() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn ack_parses_with_policy() {
        let a: Ack = serde_json::from_str(
            r#"{"accepted":true,"duplicate":false,"policy":{"version":2,"mode":"block","paranoia_level":1,"inbound_threshold":5,"outbound_threshold":4}}"#,
        )
        .expect("ack parses");
        assert!(a.accepted);
        assert_eq!(a.policy().and_then(Result::ok).map(|p| p.version), Some(2));
        let bad: Ack = serde_json::from_str(r#"{"accepted":true,"policy":{"version":3}}"#)
            .expect("ack still parses");
        assert!(bad.policy().is_some_and(|p| p.is_err()));
        let none: Ack =
            serde_json::from_str(r#"{"accepted":true,"policy":null}"#).expect("ack parses");
        assert!(none.policy().is_none());
    }
}
