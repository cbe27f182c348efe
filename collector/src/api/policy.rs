//! Policy handlers: get/put with versioning, history, masks and rule-off.

use std::sync::Arc;

use serde::Deserialize;

use super::waf::parse_id;
use super::{json, who, App, Req, Resp};
use crate::config::Role;
use crate::error::{AppError, AppResult};
use crate::store::policy as pstore;
use crate::wire::{parse_json, PolicyUpdate};

pub async fn get(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    Ok(super::json_bytes(200, app.store.policy().json.clone()))
}

pub async fn put(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    let caller = r.require(&app.auth, Role::Write)?;
    let body = r.body(app.cfg.limits.body_bytes).await?;
    if body.is_empty() {
        return Err(AppError::bad("body", "a policy document is required"));
    }
    let update: PolicyUpdate = parse_json(&body)?;
    let name = who(&caller);
    let ch = app
        .store
        .write(move |c| pstore::put(c, &name, update))
        .await?;
    app.store.publish_policy(ch.policy.clone());
    Ok(json(200, &ch))
}

pub async fn history(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let limit = r.query.limit(50, 1000)?;
    let before = r.query.i64("cursor")?;
    let entries = app
        .store
        .read(move |c| pstore::history(c, limit, before))
        .await?;
    let next = if entries.len() as u32 == limit {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(json(
        200,
        &serde_json::json!({"entries": entries, "next_cursor": next}),
    ))
}

pub async fn version(app: &Arc<App>, r: &mut Req, v: &str) -> AppResult<Resp> {
    r.require(&app.auth, Role::Read)?;
    let v: u64 = v
        .parse()
        .map_err(|_| AppError::bad("version", format!("not a version number: {v:?}")))?;
    let p = app.store.read(move |c| pstore::load_version(c, v)).await?;
    match p {
        Some(p) => Ok(json(200, &p)),
        None => Err(AppError::NotFound(format!("no policy version {v}"))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    #[serde(default)]
    comment: Option<String>,
    /// For rule-off: the authority (host) to turn the rule off for.
    #[serde(default)]
    host: Option<String>,
}

async fn note(app: &Arc<App>, r: &mut Req) -> AppResult<Note> {
    let body = r.body(app.cfg.limits.body_bytes).await?;
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Note::default());
    }
    let n: Note = parse_json(&body)?;
    if n.comment.as_ref().is_some_and(|c| c.len() > 4096) {
        return Err(AppError::bad("comment", "longer than 4096 bytes"));
    }
    if let Some(h) = &n.host {
        if h.is_empty() || h.len() > 256 {
            return Err(AppError::bad("host", "must be 1 to 256 bytes"));
        }
    }
    Ok(n)
}

pub async fn mask(app: &Arc<App>, r: &mut Req, id: &str, unmask: bool) -> AppResult<Resp> {
    let caller = r.require(&app.auth, Role::Write)?;
    let id = parse_id(id)?;
    let n = note(app, r).await?;
    if n.host.is_some() {
        return Err(AppError::bad(
            "host",
            "not used when masking; the event's own host is masked",
        ));
    }
    let name = who(&caller);
    let (ch, masks) = app
        .store
        .write(move |c| pstore::mask_event(c, &name, id, unmask, n.comment.as_deref()))
        .await?;
    app.store.publish_policy(ch.policy.clone());
    Ok(json(
        200,
        &serde_json::json!({"event": id, "masked": !unmask, "masks": masks, "policy_version": ch.policy.version,
                            "changed": ch.changed}),
    ))
}

pub async fn rule(app: &Arc<App>, r: &mut Req, id: &str, off: bool) -> AppResult<Resp> {
    let caller = r.require(&app.auth, Role::Write)?;
    let rule: u64 = id
        .parse()
        .ok()
        .filter(|v| *v > 0 && *v <= i64::MAX as u64)
        .ok_or_else(|| AppError::bad("id", format!("not a rule id: {id:?}")))?;
    let n = note(app, r).await?;
    let name = who(&caller);
    let ch = app
        .store
        .write(move |c| {
            pstore::set_rule(c, &name, rule, n.host.as_deref(), off, n.comment.as_deref())
        })
        .await?;
    app.store.publish_policy(ch.policy.clone());
    Ok(json(200, &ch))
}
