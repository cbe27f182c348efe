//! Network handlers: the packet summary and the network-policy list, show
//! and enforcement toggle (with its audit trail).

use std::sync::Arc;

use rusqlite::params;
use serde::Deserialize;

use super::{json, who, App, Req, Resp};
use crate::config::Role;
use crate::error::{AppError, AppResult};
use crate::store::{net, now, query};
use crate::wire::parse_json;

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
    let s = app
        .store
        .read(move |c| net::summary(c, w, res, env.as_deref()))
        .await?;
    Ok(json(200, &s))
}

pub async fn list(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let env = r.query.environment()?;
    let list = app.netpol.list(env.as_deref()).await?;
    Ok(json(
        200,
        &serde_json::json!({"backend": app.netpol.name(), "policies": list}),
    ))
}

pub async fn show(app: &Arc<App>, r: &mut Req, id: &str) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let doc = app.netpol.get(id).await?;
    Ok(json(200, &doc))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Enforcement {
    enforced: bool,
}

pub async fn set_enforcement(app: &Arc<App>, r: &mut Req, id: &str) -> AppResult<Resp> {
    let caller = r.require(&app.auth, Role::Write)?;
    let body = r.body(app.cfg.limits.body_bytes).await?;
    if body.is_empty() {
        return Err(AppError::bad(
            "enforced",
            "a body {\"enforced\": true|false} is required",
        ));
    }
    let e: Enforcement = parse_json(&body)?;
    let (doc, changed) = app.netpol.set_enforced(id, e.enforced).await?;
    if changed {
        let name = who(&caller);
        let pid = doc.info.id.clone();
        let enforced = e.enforced;
        app.store
            .write(move |c| {
                c.execute(
                    "INSERT INTO netpol_audit(at, who, policy_id, enforced) VALUES (?1, ?2, ?3, ?4)",
                    params![now(), name, pid, enforced],
                )?;
                Ok(())
            })
            .await?;
    }
    Ok(json(
        200,
        &serde_json::json!({"changed": changed, "policy": doc}),
    ))
}

pub async fn history(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let limit = r.query.limit(50, 1000)?;
    let rows = app
        .store
        .read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, at, who, policy_id, enforced FROM netpol_audit ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit], |x| {
                Ok(serde_json::json!({"id": x.get::<_, i64>(0)?, "at": x.get::<_, f64>(1)?,
                    "who": x.get::<_, String>(2)?, "policy_id": x.get::<_, String>(3)?,
                    "enforced": x.get::<_, bool>(4)?}))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(json(200, &serde_json::json!({"entries": rows})))
}
