//! The versioned WAF policy: every change writes a new version and an audit
//! entry (who, when, what changed, old and new documents). Masks and rule-off
//! are policy changes too, so they reach the filters with the next ack.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::wire::{HostOverride, Mask, Policy, PolicyUpdate};

/// Writes version 1 (the defaults) into a fresh database.
pub fn init(c: &Connection) -> rusqlite::Result<()> {
    let p = Policy::default();
    let doc = serde_json::to_string(&p).unwrap_or_default();
    let now = super::now();
    c.execute(
        "INSERT INTO policy_versions(version, document, created_at, created_by) VALUES (?1, ?2, ?3, 'system')",
        params![p.version as i64, doc, now],
    )?;
    c.execute(
        "INSERT INTO policy_audit(version, at, who, action, comment, changes, old, new)
         VALUES (?1, ?2, 'system', 'init', 'embedded defaults', '[]', NULL, ?3)",
        params![p.version as i64, now, doc],
    )?;
    Ok(())
}

pub fn load_current(c: &Connection) -> AppResult<Policy> {
    let doc: String = c.query_row(
        "SELECT document FROM policy_versions ORDER BY version DESC LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    serde_json::from_str(&doc)
        .map_err(|e| AppError::Internal(format!("stored policy is unreadable: {e}")))
}

pub fn load_version(c: &Connection, version: u64) -> AppResult<Option<Policy>> {
    let doc: Option<String> = c
        .query_row(
            "SELECT document FROM policy_versions WHERE version = ?1",
            [version as i64],
            |r| r.get(0),
        )
        .optional()?;
    match doc {
        None => Ok(None),
        Some(d) => Ok(Some(serde_json::from_str(&d)?)),
    }
}

/// What a policy change did.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub policy: Policy,
    pub changed: Vec<String>,
}

/// Applies `edit` to the current policy and stores the result as a new
/// version with its audit entry; a no-op edit stores nothing.
pub fn change(
    c: &Connection,
    who: &str,
    action: &str,
    comment: Option<&str>,
    edit: impl FnOnce(&mut Policy) -> AppResult<()>,
) -> AppResult<Change> {
    let old = load_current(c)?;
    let mut new = old.clone();
    edit(&mut new)?;
    new.version = old.version;
    new.normalize();
    new.validate()?;
    let changed = new.changed_fields(&old);
    if changed.is_empty() {
        return Ok(Change {
            policy: old,
            changed,
        });
    }
    new.version = old.version + 1;
    let old_doc = serde_json::to_string(&old)?;
    let new_doc = serde_json::to_string(&new)?;
    let now = super::now();
    c.execute(
        "INSERT INTO policy_versions(version, document, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
        params![new.version as i64, new_doc, now, who],
    )?;
    c.execute(
        "INSERT INTO policy_audit(version, at, who, action, comment, changes, old, new)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            new.version as i64,
            now,
            who,
            action,
            comment,
            serde_json::to_string(&changed)?,
            old_doc,
            new_doc
        ],
    )?;
    if new.masks != old.masks {
        c.execute("DELETE FROM masks", [])?;
        let mut st = c.prepare_cached(
            "INSERT OR IGNORE INTO masks(rule_id, authority, path) VALUES (?1, ?2, ?3)",
        )?;
        for m in &new.masks {
            st.execute(params![m.rule_id as i64, m.authority, m.path])?;
        }
    }
    Ok(Change {
        policy: new,
        changed,
    })
}

/// `PUT /api/v1/policy`.
pub fn put(c: &Connection, who: &str, update: PolicyUpdate) -> AppResult<Change> {
    let comment = update.comment.clone();
    if let Some(cm) = &comment {
        if cm.len() > 4096 {
            return Err(AppError::bad("comment", "longer than 4096 bytes"));
        }
    }
    let expected = update.version;
    change(c, who, "put", comment.as_deref(), move |p| {
        if let Some(v) = expected {
            if v != p.version {
                return Err(AppError::Conflict(format!(
                    "policy version {v} was given but the current version is {}",
                    p.version
                )));
            }
        }
        *p = update.into_policy(p.version);
        Ok(())
    })
}

/// Masks every rule of event `event_id` for the event's authority and path.
pub fn mask_event(
    c: &Connection,
    who: &str,
    event_id: i64,
    unmask: bool,
    comment: Option<&str>,
) -> AppResult<(Change, Vec<Mask>)> {
    let row: Option<(String, String, String)> = c
        .query_row(
            "SELECT authority, path, rules FROM events WHERE id = ?1",
            [event_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((authority, path, rules)) = row else {
        return Err(AppError::NotFound(format!("no event {event_id}")));
    };
    let rules: Vec<crate::wire::EventRule> = serde_json::from_str(&rules)?;
    let mut masks: Vec<Mask> = rules
        .iter()
        .map(|r| Mask {
            rule_id: r.id,
            authority: authority.clone(),
            path: path.clone(),
        })
        .collect();
    masks.sort();
    masks.dedup();
    if masks.is_empty() {
        return Err(AppError::Unprocessable(format!(
            "event {event_id} names no rule to mask"
        )));
    }
    let m2 = masks.clone();
    let action = if unmask { "unmask" } else { "mask" };
    let ch = change(c, who, action, comment, move |p| {
        if unmask {
            p.masks.retain(|m| !m2.contains(m));
        } else {
            p.masks.extend(m2);
        }
        Ok(())
    })?;
    Ok((ch, masks))
}

/// Turns a rule off (or back on) globally or for one host.
///
/// Per WIRE.md a host entry's `disabled_rules` replaces the global list for
/// that host, so a host entry created here starts from the global list.
pub fn set_rule(
    c: &Connection,
    who: &str,
    rule_id: u64,
    host: Option<&str>,
    off: bool,
    comment: Option<&str>,
) -> AppResult<Change> {
    let action = match (off, host) {
        (true, None) => "rule-off",
        (true, Some(_)) => "rule-off-host",
        (false, None) => "rule-on",
        (false, Some(_)) => "rule-on-host",
    };
    change(c, who, action, comment, move |p| {
        match host {
            None => {
                if off {
                    p.disabled_rules.push(rule_id);
                } else {
                    p.disabled_rules.retain(|r| *r != rule_id);
                }
            }
            Some(h) => {
                let global = p.disabled_rules.clone();
                let entry = p
                    .hosts
                    .entry(h.to_string())
                    .or_insert_with(HostOverride::default);
                let list = entry.disabled_rules.get_or_insert(global);
                if off {
                    list.push(rule_id);
                } else {
                    list.retain(|r| *r != rule_id);
                }
            }
        }
        Ok(())
    })
}

#[derive(Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub version: u64,
    pub at: f64,
    pub who: String,
    pub action: String,
    pub comment: Option<String>,
    pub changes: serde_json::Value,
    pub old: Option<serde_json::Value>,
    pub new: serde_json::Value,
}

/// Audit entries, newest first, with ids below `before` when given.
pub fn history(c: &Connection, limit: u32, before: Option<i64>) -> AppResult<Vec<AuditEntry>> {
    let mut st = c.prepare_cached(
        "SELECT id, version, at, who, action, comment, changes, old, new FROM policy_audit
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
        let changes: String = r.get(6)?;
        let old: Option<String> = r.get(7)?;
        let new: String = r.get(8)?;
        Ok(AuditEntry {
            id: r.get(0)?,
            version: r.get::<_, i64>(1)? as u64,
            at: r.get(2)?,
            who: r.get(3)?,
            action: r.get(4)?,
            comment: r.get(5)?,
            changes: serde_json::from_str(&changes).unwrap_or(serde_json::Value::Null),
            old: old.and_then(|o| serde_json::from_str(&o).ok()),
            new: serde_json::from_str(&new).unwrap_or(serde_json::Value::Null),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
