//! Read queries of the Threat Monitoring API: the WAF summary with bucketed
//! history, events (list, filter, show), top rules/clients/paths, instances.

use rusqlite::{params_from_iter, types::Value, Connection, OptionalExtension};
use serde::Serialize;

use super::{bucket_start, DAY, HOUR, MINUTE};
use crate::config::Retention;
use crate::error::{AppError, AppResult};
use crate::wire::{severity_name, EventRule};

/// A time window `[from, to)` in seconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: f64,
    pub to: f64,
}

pub fn res_name(res: i64) -> &'static str {
    match res {
        MINUTE => "minute",
        HOUR => "hour",
        _ => "day",
    }
}

/// Picks a bucket size for a history over the window: minutes for up to six
/// hours, hours for up to eight days, else days; never a resolution whose
/// buckets retention has already removed for the window's start.
pub fn choose_res(w: Window, now: f64, ret: &Retention) -> i64 {
    let span = w.to - w.from;
    if span <= 6.0 * 3600.0 && w.from >= now - ret.minute {
        MINUTE
    } else if span <= 8.0 * 86400.0 && w.from >= now - ret.hour {
        HOUR
    } else {
        DAY
    }
}

/// The finest resolution still kept for the whole window (for totals).
pub fn finest_res(w: Window, now: f64, ret: &Retention) -> i64 {
    if w.from >= now - ret.minute {
        MINUTE
    } else if w.from >= now - ret.hour {
        HOUR
    } else {
        DAY
    }
}

/// Bucket starts covering the window at resolution `res`.
pub fn bucket_range(w: Window, res: i64) -> (i64, i64) {
    let start = bucket_start(w.from, res);
    let end = (w.to.ceil() as i64).max(start + 1);
    (start, end)
}

#[derive(Debug, Serialize, Default, Clone, Copy)]
pub struct WafPoint {
    pub t: i64,
    pub nominal: i64,
    pub anomalous: i64,
    pub detected: i64,
    pub blocked: i64,
}

#[derive(Debug, Serialize)]
pub struct WafSummary {
    pub environment: Option<String>,
    pub authority: Option<String>,
    pub from: i64,
    pub to: i64,
    pub bucket: &'static str,
    pub bucket_seconds: i64,
    pub total_requests: i64,
    pub nominal: i64,
    pub anomalous: i64,
    pub detected: i64,
    pub blocked: i64,
    pub anomalous_share: f64,
    pub history: Vec<WafPoint>,
}

pub fn waf_summary(
    c: &Connection,
    w: Window,
    res: i64,
    environment: Option<&str>,
    authority: Option<&str>,
) -> AppResult<WafSummary> {
    let (start, end) = bucket_range(w, res);
    let n = ((end - start + res - 1) / res) as usize;
    let mut history: Vec<WafPoint> = (0..n)
        .map(|i| WafPoint {
            t: start + i as i64 * res,
            ..Default::default()
        })
        .collect();
    let mut sql = String::from(
        "SELECT t, sum(pass), sum(detected), sum(blocked) FROM waf_buckets WHERE res = ?1 AND t >= ?2 AND t < ?3",
    );
    let mut args: Vec<Value> = vec![res.into(), start.into(), end.into()];
    if let Some(e) = environment {
        args.push(e.to_string().into());
        sql.push_str(&format!(" AND environment = ?{}", args.len()));
    }
    if let Some(a) = authority {
        args.push(a.to_string().into());
        sql.push_str(&format!(" AND authority = ?{}", args.len()));
    }
    sql.push_str(" GROUP BY t");
    let mut st = c.prepare_cached(&sql)?;
    let mut rows = st.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let t: i64 = r.get(0)?;
        let idx = ((t - start) / res) as usize;
        if let Some(p) = history.get_mut(idx) {
            p.nominal += r.get::<_, i64>(1)?;
            p.detected += r.get::<_, i64>(2)?;
            p.blocked += r.get::<_, i64>(3)?;
            p.anomalous = p.detected + p.blocked;
        }
    }
    let (mut nominal, mut detected, mut blocked) = (0i64, 0i64, 0i64);
    for p in &history {
        nominal += p.nominal;
        detected += p.detected;
        blocked += p.blocked;
    }
    let total = nominal + detected + blocked;
    let anomalous = detected + blocked;
    Ok(WafSummary {
        environment: environment.map(String::from),
        authority: authority.map(String::from),
        from: start,
        to: end,
        bucket: res_name(res),
        bucket_seconds: res,
        total_requests: total,
        nominal,
        anomalous,
        detected,
        blocked,
        anomalous_share: if total > 0 {
            anomalous as f64 / total as f64
        } else {
            0.0
        },
        history,
    })
}

/// Filters of `GET /api/v1/events` (and the top lists built on events).
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub environment: Option<String>,
    pub from: Option<f64>,
    pub to: Option<f64>,
    pub rule: Option<u64>,
    pub authority: Option<String>,
    pub client: Option<String>,
    pub path: Option<String>,
    pub action: Option<String>,
    /// Most severe rank allowed to be the least severe shown (0..=8).
    pub max_severity_rank: Option<u8>,
    pub include_masked: bool,
    /// Only ids below this (paging: pass the previous page's `next_cursor`).
    pub before_id: Option<i64>,
}

/// An event is hidden when every one of its rules is masked for its
/// authority and path.
const VISIBLE: &str = "(NOT EXISTS (SELECT 1 FROM event_rules er0 WHERE er0.event_id = e.id)
    OR EXISTS (SELECT 1 FROM event_rules er1 WHERE er1.event_id = e.id AND NOT EXISTS
        (SELECT 1 FROM masks m WHERE m.rule_id = er1.rule_id AND m.authority = e.authority AND m.path = e.path)))";

fn where_clause(f: &EventFilter) -> (String, Vec<Value>) {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut push = |cond: &str, v: Value, args: &mut Vec<Value>| {
        args.push(v);
        conds.push(cond.replace('?', &format!("?{}", args.len())));
    };
    if let Some(e) = &f.environment {
        push("e.environment = ?", e.clone().into(), &mut args);
    }
    if let Some(t) = f.from {
        push("e.time >= ?", t.into(), &mut args);
    }
    if let Some(t) = f.to {
        push("e.time < ?", t.into(), &mut args);
    }
    if let Some(r) = f.rule {
        push(
            "e.id IN (SELECT event_id FROM event_rules WHERE rule_id = ?)",
            (r as i64).into(),
            &mut args,
        );
    }
    if let Some(a) = &f.authority {
        push("e.authority = ?", a.clone().into(), &mut args);
    }
    if let Some(c) = &f.client {
        push("e.client = ?", c.clone().into(), &mut args);
    }
    if let Some(p) = &f.path {
        push("e.path = ?", p.clone().into(), &mut args);
    }
    if let Some(a) = &f.action {
        push("e.action = ?", a.clone().into(), &mut args);
    }
    if let Some(s) = f.max_severity_rank {
        push("e.severity <= ?", (s as i64).into(), &mut args);
    }
    if let Some(b) = f.before_id {
        push("e.id < ?", b.into(), &mut args);
    }
    if !f.include_masked {
        conds.push(VISIBLE.to_string());
    }
    let w = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    (w, args)
}

#[derive(Debug, Serialize)]
pub struct EventSummary {
    pub id: i64,
    pub event_id: String,
    pub time: f64,
    pub environment: String,
    pub instance: String,
    pub authority: String,
    pub client: String,
    pub method: String,
    pub path: String,
    pub action: String,
    pub status: Option<i64>,
    pub inbound_score: i64,
    pub outbound_score: i64,
    pub severity: &'static str,
    pub rule_ids: Vec<u64>,
    pub masked: bool,
}

#[derive(Debug, Serialize)]
pub struct EventDetail {
    #[serde(flatten)]
    pub summary: EventSummary,
    pub request_line: String,
    pub policy_version: i64,
    pub batch_id: String,
    pub rules: Vec<EventRule>,
}

const EVENT_COLS: &str =
    "e.id, e.event_key, e.time, e.environment, e.instance, e.authority, e.client, e.method,
    e.path, e.action, e.status, e.inbound_score, e.outbound_score, e.severity, e.rules,
    e.request_line, e.policy_version, e.batch_id";

fn masked_set(c: &Connection, authority: &str, path: &str) -> AppResult<Vec<u64>> {
    let mut st =
        c.prepare_cached("SELECT rule_id FROM masks WHERE authority = ?1 AND path = ?2")?;
    let rows = st.query_map([authority, path], |r| r.get::<_, i64>(0))?;
    Ok(rows.filter_map(|r| r.ok()).map(|v| v as u64).collect())
}

fn row_to_detail(c: &Connection, r: &rusqlite::Row<'_>) -> AppResult<EventDetail> {
    let rules_json: String = r.get(14)?;
    let rules: Vec<EventRule> = serde_json::from_str(&rules_json).unwrap_or_default();
    let mut rule_ids: Vec<u64> = rules.iter().map(|x| x.id).collect();
    rule_ids.dedup();
    let authority: String = r.get(5)?;
    let path: String = r.get(8)?;
    let masks = masked_set(c, &authority, &path)?;
    let masked = !rule_ids.is_empty() && rule_ids.iter().all(|id| masks.contains(id));
    Ok(EventDetail {
        summary: EventSummary {
            id: r.get(0)?,
            event_id: r.get(1)?,
            time: r.get(2)?,
            environment: r.get(3)?,
            instance: r.get(4)?,
            authority,
            client: r.get(6)?,
            method: r.get(7)?,
            path,
            action: r.get(9)?,
            status: r.get(10)?,
            inbound_score: r.get(11)?,
            outbound_score: r.get(12)?,
            severity: severity_name(r.get::<_, i64>(13)?.clamp(0, 8) as u8),
            rule_ids,
            masked,
        },
        request_line: r.get(15)?,
        policy_version: r.get(16)?,
        batch_id: r.get(17)?,
        rules,
    })
}

#[derive(Debug, Serialize)]
pub struct EventPage {
    pub events: Vec<EventSummary>,
    pub next_cursor: Option<i64>,
}

pub fn list_events(c: &Connection, f: &EventFilter, limit: u32) -> AppResult<EventPage> {
    let (w, mut args) = where_clause(f);
    args.push((limit as i64).into());
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events e{w} ORDER BY e.id DESC LIMIT ?{}",
        args.len()
    );
    let mut st = c.prepare_cached(&sql)?;
    let mut rows = st.query(params_from_iter(args))?;
    let mut events = Vec::new();
    while let Some(r) = rows.next()? {
        events.push(row_to_detail(c, r)?.summary);
    }
    let next_cursor = if events.len() as u32 == limit {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(EventPage {
        events,
        next_cursor,
    })
}

pub fn get_event(c: &Connection, id: i64) -> AppResult<EventDetail> {
    let sql = format!("SELECT {EVENT_COLS} FROM events e WHERE e.id = ?1");
    let mut st = c.prepare_cached(&sql)?;
    let mut rows = st.query([id])?;
    match rows.next()? {
        Some(r) => row_to_detail(c, r),
        None => Err(AppError::NotFound(format!("no event {id}"))),
    }
}

#[derive(Debug, Serialize)]
pub struct TopRule {
    pub rule_id: u64,
    pub hits: i64,
    pub msg: Option<String>,
    pub severity: Option<String>,
    pub tags: Option<serde_json::Value>,
}

/// Rules by hits (from the counters, so they outlive raw events).
pub fn top_rules(
    c: &Connection,
    w: Window,
    res: i64,
    environment: Option<&str>,
    limit: u32,
) -> AppResult<Vec<TopRule>> {
    let (start, end) = bucket_range(w, res);
    let mut args: Vec<Value> = vec![res.into(), start.into(), end.into()];
    let mut sql = String::from(
        "SELECT b.rule_id, sum(b.hits) AS n, i.msg, i.severity, i.tags FROM rule_buckets b
         LEFT JOIN rule_info i ON i.rule_id = b.rule_id WHERE b.res = ?1 AND b.t >= ?2 AND b.t < ?3",
    );
    if let Some(e) = environment {
        args.push(e.to_string().into());
        sql.push_str(&format!(" AND b.environment = ?{}", args.len()));
    }
    args.push((limit as i64).into());
    sql.push_str(&format!(
        " GROUP BY b.rule_id ORDER BY n DESC, b.rule_id LIMIT ?{}",
        args.len()
    ));
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
        let tags: Option<String> = r.get(4)?;
        Ok(TopRule {
            rule_id: r.get::<_, i64>(0)? as u64,
            hits: r.get(1)?,
            msg: r.get(2)?,
            severity: r.get(3)?,
            tags: tags.and_then(|t| serde_json::from_str(&t).ok()),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[derive(Debug, Serialize)]
pub struct TopEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub events: i64,
    pub blocked: i64,
    pub last_seen: f64,
}

/// Top attacking clients or targeted paths, from the (unmasked) raw events.
pub fn top_events(
    c: &Connection,
    f: &EventFilter,
    by_path: bool,
    limit: u32,
) -> AppResult<Vec<TopEntry>> {
    let (w, mut args) = where_clause(f);
    args.push((limit as i64).into());
    let keys = if by_path {
        "e.authority, e.path"
    } else {
        "e.client"
    };
    let sql = format!(
        "SELECT {keys}, count(*) AS n, sum(e.action = 'blocked'), max(e.time) FROM events e{w}
         GROUP BY {keys} ORDER BY n DESC LIMIT ?{}",
        args.len()
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
        if by_path {
            Ok(TopEntry {
                client: None,
                authority: Some(r.get(0)?),
                path: Some(r.get(1)?),
                events: r.get(2)?,
                blocked: r.get(3)?,
                last_seen: r.get(4)?,
            })
        } else {
            Ok(TopEntry {
                client: Some(r.get(0)?),
                authority: None,
                path: None,
                events: r.get(1)?,
                blocked: r.get(2)?,
                last_seen: r.get(3)?,
            })
        }
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[derive(Debug, Serialize)]
pub struct Instance {
    pub instance: String,
    pub environment: String,
    pub policy_version: i64,
    pub current: bool,
    pub version_since: f64,
    pub first_seen: f64,
    pub last_seen: f64,
    pub batches: i64,
    pub dropped_events: i64,
    pub body_limit_events: i64,
}

pub fn instances(
    c: &Connection,
    current_version: u64,
    environment: Option<&str>,
) -> AppResult<Vec<Instance>> {
    let mut st = c.prepare_cached(
        "SELECT instance, environment, policy_version, version_since, first_seen, last_seen, batches,
                dropped_events, body_limit_events FROM instances
         WHERE ?1 IS NULL OR environment = ?1 ORDER BY instance",
    )?;
    let rows = st.query_map([environment], |r| {
        let v: i64 = r.get(2)?;
        Ok(Instance {
            instance: r.get(0)?,
            environment: r.get(1)?,
            policy_version: v,
            current: v == current_version as i64,
            version_since: r.get(3)?,
            first_seen: r.get(4)?,
            last_seen: r.get(5)?,
            batches: r.get(6)?,
            dropped_events: r.get(7)?,
            body_limit_events: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Number of stored events (for /metrics).
pub fn event_count(c: &Connection) -> AppResult<i64> {
    Ok(c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}
