//! The database schema and its migrations (tracked in `PRAGMA user_version`).

use rusqlite::Connection;

const V1: &str = r#"
-- Batches already counted, for idempotent ingest.
CREATE TABLE batches (
    batch_id    TEXT PRIMARY KEY,
    instance    TEXT NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX batches_received ON batches(received_at);

-- Filter instances and the policy version each last reported running.
CREATE TABLE instances (
    instance          TEXT PRIMARY KEY,
    environment       TEXT NOT NULL,
    policy_version    INTEGER NOT NULL,
    version_since     REAL NOT NULL,
    last_sent_at      REAL NOT NULL,
    first_seen        REAL NOT NULL,
    last_seen         REAL NOT NULL,
    batches           INTEGER NOT NULL,
    dropped_events    INTEGER NOT NULL,
    body_limit_events INTEGER NOT NULL
);

-- Request outcomes per bucket (res = 60, 3600 or 86400 seconds).
CREATE TABLE waf_buckets (
    res         INTEGER NOT NULL,
    t           INTEGER NOT NULL,
    environment TEXT NOT NULL,
    authority   TEXT NOT NULL,
    pass        INTEGER NOT NULL,
    detected    INTEGER NOT NULL,
    blocked     INTEGER NOT NULL,
    PRIMARY KEY (res, t, environment, authority)
) WITHOUT ROWID;

-- Rule hits per bucket.
CREATE TABLE rule_buckets (
    res         INTEGER NOT NULL,
    t           INTEGER NOT NULL,
    environment TEXT NOT NULL,
    rule_id     INTEGER NOT NULL,
    hits        INTEGER NOT NULL,
    PRIMARY KEY (res, t, environment, rule_id)
) WITHOUT ROWID;

-- What we last heard about a rule (for listing top rules).
CREATE TABLE rule_info (
    rule_id   INTEGER PRIMARY KEY,
    msg       TEXT NOT NULL,
    severity  TEXT NOT NULL,
    tags      TEXT NOT NULL,
    last_seen REAL NOT NULL
);

-- Raw security events, with their rules' evidence as JSON.
CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    event_key      TEXT NOT NULL,
    batch_id       TEXT NOT NULL,
    instance       TEXT NOT NULL,
    environment    TEXT NOT NULL,
    time           REAL NOT NULL,
    authority      TEXT NOT NULL,
    client         TEXT NOT NULL,
    method         TEXT NOT NULL,
    path           TEXT NOT NULL,
    request_line   TEXT NOT NULL,
    inbound_score  INTEGER NOT NULL,
    outbound_score INTEGER NOT NULL,
    action         TEXT NOT NULL,
    status         INTEGER,
    policy_version INTEGER NOT NULL,
    severity       INTEGER NOT NULL,
    rules          TEXT NOT NULL
);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_env_time ON events(environment, time);
CREATE INDEX events_authority_time ON events(authority, time);

CREATE TABLE event_rules (
    rule_id  INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (rule_id, event_id)
) WITHOUT ROWID;
CREATE INDEX event_rules_event ON event_rules(event_id);

-- Masks (false positives), mirrored from the current policy's `masks`.
CREATE TABLE masks (
    rule_id   INTEGER NOT NULL,
    authority TEXT NOT NULL,
    path      TEXT NOT NULL,
    PRIMARY KEY (rule_id, authority, path)
) WITHOUT ROWID;

-- Every policy version, and the audit trail of changes.
CREATE TABLE policy_versions (
    version    INTEGER PRIMARY KEY,
    document   TEXT NOT NULL,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE policy_audit (
    id       INTEGER PRIMARY KEY,
    version  INTEGER NOT NULL,
    at       REAL NOT NULL,
    who      TEXT NOT NULL,
    action   TEXT NOT NULL,
    comment  TEXT,
    changes  TEXT NOT NULL,
    old      TEXT,
    new      TEXT NOT NULL
);

-- Network-policy enforcement changes.
CREATE TABLE netpol_audit (
    id        INTEGER PRIMARY KEY,
    at        REAL NOT NULL,
    who       TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    enforced  INTEGER NOT NULL
);

-- Packet counters per bucket and source.
CREATE TABLE net_buckets (
    res       INTEGER NOT NULL,
    t         INTEGER NOT NULL,
    source    TEXT NOT NULL,
    namespace TEXT NOT NULL,
    inbound   INTEGER NOT NULL,
    outbound  INTEGER NOT NULL,
    forwarded INTEGER NOT NULL,
    dropped   INTEGER NOT NULL,
    PRIMARY KEY (res, t, source, namespace)
) WITHOUT ROWID;

-- The last cumulative reading of each counter series, to carry deltas
-- across collector restarts.
CREATE TABLE net_state (
    source     TEXT NOT NULL,
    series     TEXT NOT NULL,
    boot_id    TEXT NOT NULL,
    sampled_at REAL NOT NULL,
    inbound    INTEGER NOT NULL,
    outbound   INTEGER NOT NULL,
    forwarded  INTEGER NOT NULL,
    dropped    INTEGER NOT NULL,
    PRIMARY KEY (source, series)
) WITHOUT ROWID;
"#;

/// Brings the schema to the latest version.
pub fn migrate(c: &mut Connection) -> rusqlite::Result<()> {
    let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if v < 1 {
        let tx = c.transaction()?;
        tx.execute_batch(V1)?;
        super::policy::init(&tx)?;
        tx.pragma_update(None, "user_version", 1)?;
        tx.commit()?;
    }
    Ok(())
}
