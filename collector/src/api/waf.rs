//! WAF handlers: telemetry ingest, the summary, events, top lists,
//! instances, and the /metrics text.

use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, BytesMut};

use super::{json, json_bytes, App, Req, Resp};
use crate::config::Role;
use crate::error::{AppError, AppResult};
use crate::metrics::Gauges;
use crate::store::query::{self, EventFilter};
use crate::store::{ingest, now};
use crate::wire::{parse_json, severity_rank, TelemetryBatch};

pub async fn telemetry(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Write)?;
    let body = match r.body(app.cfg.limits.telemetry_body_bytes).await {
        Ok(b) => b,
        Err(e) => {
            app.metrics.batch("rejected");
            return Err(e);
        }
    };
    let parsed = parse_json::<TelemetryBatch>(&body)
        .and_then(|b| b.validate(&app.cfg.limits.batch).map(|_| b));
    let batch = match parsed {
        Ok(b) => b,
        Err(e) => {
            app.metrics.batch("rejected");
            return Err(e.into());
        }
    };
    let started = Instant::now();
    let totals = ingest::totals(&batch);
    let environment = batch.environment.clone();
    let t = now();
    let out = app
        .store
        .write(move |c| ingest::ingest(c, &batch, t))
        .await?;
    if out.duplicate {
        app.metrics.batch("duplicate");
    } else {
        app.metrics.batch("accepted");
        app.metrics
            .ingested(&environment, &totals, started.elapsed().as_secs_f64());
    }
    let policy = app.store.policy();
    let mut b = BytesMut::with_capacity(policy.json.len() + 48);
    b.put_slice(b"{\"accepted\":true,\"duplicate\":");
    b.put_slice(if out.duplicate { b"true" } else { b"false" });
    b.put_slice(b",\"policy\":");
    b.put_slice(&policy.json);
    b.put_slice(b"}");
    Ok(json_bytes(200, b.freeze()))
}

pub async fn summary(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let t = now();
    let w = r.query.window(t)?;
    let res = match r.query.bucket()? {
        Some(res) => {
            if (w.to - w.from) / res as f64 > 20_000.0 {
                return Err(AppError::bad(
                    "bucket",
                    "more than 20000 buckets over this window",
                ));
            }
            res
        }
        None => query::choose_res(w, t, &app.cfg.retention),
    };
    let env = r.query.environment()?;
    let host = r.query.str("host")?;
    let s = app
        .store
        .read(move |c| query::waf_summary(c, w, res, env.as_deref(), host.as_deref()))
        .await?;
    Ok(json(200, &s))
}

fn event_filter(r: &Req) -> AppResult<EventFilter> {
    let q = &r.query;
    let action = q.str("action")?;
    if let Some(a) = &action {
        if a != "detected" && a != "blocked" {
            return Err(AppError::bad("action", "must be detected or blocked"));
        }
    }
    let severity = match q.str("severity")? {
        None => None,
        Some(s) => {
            let rank = severity_rank(&s);
            if rank > 7 {
                return Err(AppError::bad("severity", format!("unknown severity {s:?}")));
            }
            Some(rank)
        }
    };
    let rule = q.u64("rule")?;
    if rule == Some(0) {
        return Err(AppError::bad("rule", "must be a positive rule id"));
    }
    let from = q.time("from")?;
    let to = q.time("to")?;
    Ok(EventFilter {
        environment: q.environment()?,
        from,
        to,
        rule,
        authority: q.str("host")?,
        client: q.str("client")?,
        path: q.str("path")?,
        action,
        max_severity_rank: severity,
        include_masked: q.bool("include_masked")?,
        before_id: q.i64("cursor")?,
    })
}

pub async fn events(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let f = event_filter(r)?;
    let limit = r.query.limit(100, 1000)?;
    let page = app
        .store
        .read(move |c| query::list_events(c, &f, limit))
        .await?;
    Ok(json(200, &page))
}

pub fn parse_id(id: &str) -> AppResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| AppError::bad("id", format!("not an event id: {id:?}")))
}

pub async fn event(app: &Arc<App>, r: &mut Req, id: &str) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let id = parse_id(id)?;
    let e = app.store.read(move |c| query::get_event(c, id)).await?;
    Ok(json(200, &e))
}

pub async fn top(app: &Arc<App>, r: &mut Req, what: &str) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let t = now();
    let w = r.query.window(t)?;
    let limit = r.query.limit(10, 1000)?;
    let env = r.query.environment()?;
    match what {
        "rules" => {
            let res = query::finest_res(w, t, &app.cfg.retention);
            let rows = app
                .store
                .read(move |c| query::top_rules(c, w, res, env.as_deref(), limit))
                .await?;
            Ok(json(
                200,
                &serde_json::json!({"from": w.from, "to": w.to, "rules": rows}),
            ))
        }
        "clients" | "paths" => {
            let mut f = event_filter(r)?;
            f.from = Some(w.from);
            f.to = Some(w.to);
            let by_path = what == "paths";
            let rows = app
                .store
                .read(move |c| query::top_events(c, &f, by_path, limit))
                .await?;
            Ok(json(
                200,
                &serde_json::json!({"from": w.from, "to": w.to, what: rows}),
            ))
        }
        _ => Err(AppError::NotFound(format!(
            "no top list {what:?}; try rules, clients or paths"
        ))),
    }
}

pub async fn instances(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let current = app.store.policy().policy.version;
    let env = r.query.environment()?;
    let list = app
        .store
        .read(move |c| query::instances(c, current, env.as_deref()))
        .await?;
    Ok(json(
        200,
        &serde_json::json!({"policy_version": current, "instances": list}),
    ))
}

pub async fn metrics_text(app: &Arc<App>) -> AppResult<String> {
    let current = app.store.policy().policy.version;
    let (instances, stored_events) = app
        .store
        .read(move |c| {
            let list = query::instances(c, current, None)?;
            let n = query::event_count(c)?;
            Ok((
                list.into_iter()
                    .map(|i| (i.instance, i.environment, i.policy_version))
                    .collect(),
                n,
            ))
        })
        .await?;
    Ok(app.metrics.render(&Gauges {
        policy_version: current,
        instances,
        stored_events,
    }))
}
