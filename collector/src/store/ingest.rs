//! Writing one telemetry batch: idempotent by `batch_id`, counters rolled
//! into minute, hour and day buckets at once, events stored raw.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

use super::{bucket_start, DAY, HOUR, MINUTE};
use crate::error::AppResult;
use crate::wire::{severity_rank, Outcome, TelemetryBatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    pub duplicate: bool,
    pub events: usize,
}

/// Totals of one batch, for the in-memory Prometheus counters.
#[derive(Debug, Default, Clone)]
pub struct BatchTotals {
    /// (authority, outcome) → count
    pub requests: BTreeMap<(String, Outcome), u64>,
    pub rule_hits: BTreeMap<u64, u64>,
    pub events_detected: u64,
    pub events_blocked: u64,
}

pub fn totals(b: &TelemetryBatch) -> BatchTotals {
    let mut t = BatchTotals::default();
    for c in &b.counters {
        *t.requests
            .entry((c.authority.clone(), c.outcome))
            .or_default() += c.count;
    }
    for r in &b.rule_hits {
        *t.rule_hits.entry(r.rule_id).or_default() += r.count;
    }
    for e in &b.events {
        match e.action {
            crate::wire::Action::Detected => t.events_detected += 1,
            crate::wire::Action::Blocked => t.events_blocked += 1,
        }
    }
    t
}

/// Stores a validated batch received at `now`. A batch id seen before is
/// acknowledged as a duplicate and changes nothing.
pub fn ingest(c: &Connection, b: &TelemetryBatch, now: f64) -> AppResult<IngestOutcome> {
    let inserted = c
        .prepare_cached(
            "INSERT OR IGNORE INTO batches(batch_id, instance, received_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![b.batch_id, b.instance, now as i64])?;
    if inserted == 0 {
        return Ok(IngestOutcome {
            duplicate: true,
            events: 0,
        });
    }
    // Counters are deltas up to `sent_at`; a clock ahead of ours is clamped.
    let at = b.sent_at.min(now);

    c.prepare_cached(
        "INSERT INTO instances(instance, environment, policy_version, version_since, last_sent_at,
                               first_seen, last_seen, batches, dropped_events, body_limit_events)
         VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?4, 1, ?6, ?7)
         ON CONFLICT(instance) DO UPDATE SET
           environment = CASE WHEN excluded.last_sent_at >= last_sent_at THEN excluded.environment ELSE environment END,
           version_since = CASE WHEN excluded.last_sent_at >= last_sent_at AND excluded.policy_version != policy_version
                                THEN excluded.version_since ELSE version_since END,
           policy_version = CASE WHEN excluded.last_sent_at >= last_sent_at THEN excluded.policy_version ELSE policy_version END,
           last_sent_at = max(last_sent_at, excluded.last_sent_at),
           last_seen = excluded.last_seen,
           batches = batches + 1,
           dropped_events = dropped_events + excluded.dropped_events,
           body_limit_events = body_limit_events + excluded.body_limit_events",
    )?
    .execute(params![
        b.instance,
        b.environment,
        b.policy_version as i64,
        now,
        b.sent_at,
        b.dropped_events as i64,
        b.body_limit_events as i64
    ])?;

    let mut per_authority: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for ctr in &b.counters {
        let slot = per_authority.entry(ctr.authority.as_str()).or_default();
        let i = match ctr.outcome {
            Outcome::Pass => 0,
            Outcome::Detected => 1,
            Outcome::Blocked => 2,
        };
        slot[i] = slot[i].saturating_add(ctr.count);
    }
    {
        let mut st = c.prepare_cached(
            "INSERT INTO waf_buckets(res, t, environment, authority, pass, detected, blocked)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(res, t, environment, authority) DO UPDATE SET
               pass = pass + excluded.pass, detected = detected + excluded.detected,
               blocked = blocked + excluded.blocked",
        )?;
        for (authority, [p, d, bl]) in &per_authority {
            if p + d + bl == 0 {
                continue;
            }
            for res in [MINUTE, HOUR, DAY] {
                st.execute(params![
                    res,
                    bucket_start(at, res),
                    b.environment,
                    authority,
                    *p as i64,
                    *d as i64,
                    *bl as i64
                ])?;
            }
        }
    }

    let mut hits: BTreeMap<u64, u64> = BTreeMap::new();
    for r in &b.rule_hits {
        *hits.entry(r.rule_id).or_default() += r.count;
    }
    {
        let mut st = c.prepare_cached(
            "INSERT INTO rule_buckets(res, t, environment, rule_id, hits) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(res, t, environment, rule_id) DO UPDATE SET hits = hits + excluded.hits",
        )?;
        for (rule, n) in &hits {
            if *n == 0 {
                continue;
            }
            for res in [MINUTE, HOUR, DAY] {
                st.execute(params![
                    res,
                    bucket_start(at, res),
                    b.environment,
                    *rule as i64,
                    *n as i64
                ])?;
            }
        }
    }

    let mut ev = c.prepare_cached(
        "INSERT INTO events(event_key, batch_id, instance, environment, time, authority, client, method, path,
                            request_line, inbound_score, outbound_score, action, status, policy_version,
                            severity, rules)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?;
    let mut er =
        c.prepare_cached("INSERT OR IGNORE INTO event_rules(rule_id, event_id) VALUES (?1, ?2)")?;
    let mut info = c.prepare_cached(
        "INSERT INTO rule_info(rule_id, msg, severity, tags, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(rule_id) DO UPDATE SET msg = excluded.msg, severity = excluded.severity,
           tags = excluded.tags, last_seen = excluded.last_seen
         WHERE excluded.last_seen >= last_seen",
    )?;
    let mut seen_rules: BTreeMap<u64, (&str, &str, &Vec<String>, f64)> = BTreeMap::new();
    for e in &b.events {
        let severity = e
            .rules
            .iter()
            .map(|r| severity_rank(&r.severity))
            .min()
            .unwrap_or(8);
        let rules_json = serde_json::to_string(&e.rules)?;
        ev.execute(params![
            e.id,
            b.batch_id,
            b.instance,
            b.environment,
            e.time,
            e.authority,
            e.client,
            e.method,
            e.path,
            e.request_line,
            e.inbound_score,
            e.outbound_score,
            e.action.as_str(),
            e.status.map(i64::from),
            e.policy_version as i64,
            severity as i64,
            rules_json
        ])?;
        let id = c.last_insert_rowid();
        for r in &e.rules {
            er.execute(params![r.id as i64, id])?;
            let newer = seen_rules.get(&r.id).map(|s| s.3 <= e.time).unwrap_or(true);
            if newer {
                seen_rules.insert(r.id, (&r.msg, &r.severity, &r.tags, e.time));
            }
        }
    }
    for (id, (msg, sev, tags, t)) in seen_rules {
        info.execute(params![
            id as i64,
            msg,
            sev,
            serde_json::to_string(tags)?,
            t
        ])?;
    }
    Ok(IngestOutcome {
        duplicate: false,
        events: b.events.len(),
    })
}
