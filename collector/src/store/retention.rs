//! Retention with downsampling: counters are written at minute, hour and day
//! resolution at once, so expiring the finer buckets keeps the coarser
//! totals; raw events expire on their own clock (their rule hits live on in
//! the rule buckets). Deletion goes in bounded chunks so ingest is not
//! blocked for long.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{DAY, HOUR, MINUTE};
use crate::config::Retention;
use crate::error::AppResult;

#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Swept {
    pub events: usize,
    pub minute_buckets: usize,
    pub hour_buckets: usize,
    pub day_buckets: usize,
    pub batch_ids: usize,
}

impl Swept {
    pub fn total(&self) -> usize {
        self.events + self.minute_buckets + self.hour_buckets + self.day_buckets + self.batch_ids
    }
}

/// Rows removed per chunk (one write transaction each).
pub const CHUNK: i64 = 5000;

/// Deletes at most `CHUNK` expired rows of each kind; call until it returns
/// a zero total.
pub fn sweep_chunk(c: &Connection, ret: &Retention, now: f64) -> AppResult<Swept> {
    let mut s = Swept::default();
    let cutoff = now - ret.raw_events;
    c.execute(
        "DELETE FROM event_rules WHERE event_id IN (SELECT id FROM events WHERE time < ?1 ORDER BY time LIMIT ?2)",
        params![cutoff, CHUNK],
    )?;
    s.events = c.execute(
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ?1 ORDER BY time LIMIT ?2)",
        params![cutoff, CHUNK],
    )?;
    let buckets = |res: i64, keep: f64| -> AppResult<usize> {
        // A bucket expires when its end is older than the cutoff. Tables are
        // keyed by (res, t, ..), so chunks are spans of time, not row counts.
        let cutoff = (now - keep) as i64 - res;
        let span = res * 360;
        let mut n = 0;
        for table in ["waf_buckets", "rule_buckets", "net_buckets"] {
            n += c.execute(
                &format!(
                    "DELETE FROM {table} WHERE res = ?1 AND t < min(?2,
                       coalesce((SELECT min(t) FROM {table} WHERE res = ?1), ?2) + ?3)"
                ),
                params![res, cutoff, span],
            )?;
        }
        Ok(n)
    };
    s.minute_buckets = buckets(MINUTE, ret.minute)?;
    s.hour_buckets = buckets(HOUR, ret.hour)?;
    s.day_buckets = buckets(DAY, ret.day)?;
    s.batch_ids = c.execute(
        "DELETE FROM batches WHERE batch_id IN (SELECT batch_id FROM batches WHERE received_at < ?1 LIMIT ?2)",
        params![(now - ret.batch_ids) as i64, CHUNK],
    )?;
    Ok(s)
}
