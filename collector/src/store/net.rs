//! Packet counters: turning cumulative readings into deltas (across counter
//! resets, reboots and collector restarts, using the last reading kept in
//! `net_state`), spreading each delta over the minutes it accrued in, and
//! the network summary.

use std::collections::BTreeMap;

use rusqlite::{params, params_from_iter, types::Value, Connection, OptionalExtension};
use serde::Serialize;

use super::query::{bucket_range, res_name, Window};
use super::{bucket_start, DAY, HOUR, MINUTE};
use crate::error::AppResult;

/// One cumulative reading of a counter series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Identifies the series within its source (interface, rule, label set).
    pub series: String,
    /// Environment / namespace the series belongs to.
    pub namespace: String,
    pub inbound: u64,
    pub outbound: u64,
    pub forwarded: u64,
    pub dropped: u64,
}

/// Largest gap over which a delta is spread minute by minute; a longer gap
/// (collector down for more than a day) puts the delta in the current minute.
const MAX_SPREAD: f64 = 86_400.0;

fn field_delta(cur: u64, last: u64) -> u64 {
    // A counter that went down was reset (interface re-created, agent
    // restarted): it counted from zero since.
    if cur >= last {
        cur - last
    } else {
        cur
    }
}

/// Splits `delta` over the minute buckets of `(a, b]` in proportion to the
/// overlap, exactly (the parts add up to `delta`).
pub fn spread(delta: u64, a: f64, b: f64) -> Vec<(i64, u64)> {
    if delta == 0 {
        return Vec::new();
    }
    if b <= a || b.is_nan() || a.is_nan() || b - a > MAX_SPREAD {
        return vec![(bucket_start(b, MINUTE), delta)];
    }
    let total = b - a;
    let mut out = Vec::new();
    let mut m = bucket_start(a, MINUTE);
    let mut given = 0u64;
    let mut covered = 0.0;
    while (m as f64) < b {
        let lo = a.max(m as f64);
        let hi = b.min((m + MINUTE) as f64);
        if hi > lo {
            covered += hi - lo;
            let upto = if hi >= b {
                delta
            } else {
                ((delta as f64) * (covered / total)).round() as u64
            }
            .min(delta);
            let part = upto.saturating_sub(given);
            given = upto.max(given);
            if part > 0 {
                out.push((m, part));
            }
        }
        m += MINUTE;
    }
    out
}

/// Records readings of `source` taken at `now`; returns the deltas per
/// namespace (inbound, outbound, forwarded, dropped) for the metrics.
pub fn record(
    c: &Connection,
    source: &str,
    boot_id: &str,
    now: f64,
    readings: &[Reading],
) -> AppResult<BTreeMap<String, [u64; 4]>> {
    let mut get = c.prepare_cached(
        "SELECT boot_id, sampled_at, inbound, outbound, forwarded, dropped FROM net_state WHERE source = ?1 AND series = ?2",
    )?;
    let mut put = c.prepare_cached(
        "INSERT INTO net_state(source, series, boot_id, sampled_at, inbound, outbound, forwarded, dropped)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(source, series) DO UPDATE SET boot_id = excluded.boot_id, sampled_at = excluded.sampled_at,
           inbound = excluded.inbound, outbound = excluded.outbound, forwarded = excluded.forwarded,
           dropped = excluded.dropped",
    )?;
    // (minute, namespace) → deltas
    let mut minutes: BTreeMap<(i64, String), [u64; 4]> = BTreeMap::new();
    let mut totals: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for r in readings {
        let last: Option<(String, f64, i64, i64, i64, i64)> = get
            .query_row(params![source, r.series], |x| {
                Ok((
                    x.get(0)?,
                    x.get(1)?,
                    x.get(2)?,
                    x.get(3)?,
                    x.get(4)?,
                    x.get(5)?,
                ))
            })
            .optional()?;
        let cur = [r.inbound, r.outbound, r.forwarded, r.dropped];
        let (deltas, since) = match last {
            // First sight of the series: a baseline, nothing to count yet.
            None => ([0u64; 4], now),
            Some((boot, at, i, o, f, d)) => {
                if !boot.is_empty() && !boot_id.is_empty() && boot != boot_id {
                    // The machine rebooted: the counters started from zero.
                    (cur, at)
                } else {
                    let prev = [i as u64, o as u64, f as u64, d as u64];
                    let mut out = [0u64; 4];
                    for k in 0..4 {
                        out[k] = field_delta(cur[k], prev[k]);
                    }
                    (out, at)
                }
            }
        };
        put.execute(params![
            source,
            r.series,
            boot_id,
            now,
            r.inbound as i64,
            r.outbound as i64,
            r.forwarded as i64,
            r.dropped as i64
        ])?;
        for (k, &delta) in deltas.iter().enumerate() {
            if delta == 0 {
                continue;
            }
            totals.entry(r.namespace.clone()).or_default()[k] += delta;
            for (m, part) in spread(delta, since, now) {
                minutes.entry((m, r.namespace.clone())).or_default()[k] += part;
            }
        }
    }
    let mut up = c.prepare_cached(
        "INSERT INTO net_buckets(res, t, source, namespace, inbound, outbound, forwarded, dropped)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(res, t, source, namespace) DO UPDATE SET inbound = inbound + excluded.inbound,
           outbound = outbound + excluded.outbound, forwarded = forwarded + excluded.forwarded,
           dropped = dropped + excluded.dropped",
    )?;
    let mut coarse: BTreeMap<(i64, i64, String), [u64; 4]> = BTreeMap::new();
    for ((m, ns), d) in &minutes {
        up.execute(params![
            MINUTE,
            m,
            source,
            ns,
            d[0] as i64,
            d[1] as i64,
            d[2] as i64,
            d[3] as i64
        ])?;
        for res in [HOUR, DAY] {
            let e = coarse
                .entry((res, bucket_start(*m as f64, res), ns.clone()))
                .or_default();
            for k in 0..4 {
                e[k] += d[k];
            }
        }
    }
    for ((res, t, ns), d) in &coarse {
        up.execute(params![
            res,
            t,
            source,
            ns,
            d[0] as i64,
            d[1] as i64,
            d[2] as i64,
            d[3] as i64
        ])?;
    }
    Ok(totals)
}

#[derive(Debug, Serialize, Default, Clone, Copy)]
pub struct NetPoint {
    pub t: i64,
    pub forwarded: i64,
    pub dropped: i64,
    pub forwarded_per_second: f64,
    pub dropped_per_second: f64,
}

#[derive(Debug, Serialize, Default, Clone, Copy)]
pub struct SourceTotals {
    pub inbound: i64,
    pub outbound: i64,
    pub forwarded: i64,
    pub dropped: i64,
}

#[derive(Debug, Serialize)]
pub struct NetSummary {
    pub environment: Option<String>,
    pub from: i64,
    pub to: i64,
    pub bucket: &'static str,
    pub bucket_seconds: i64,
    /// `interfaces` (procnetdev + nftables) or `hubble` (when Hubble data is
    /// present, forwarded/dropped come from its flow and drop counters).
    pub basis: &'static str,
    pub inbound_packets: i64,
    pub outbound_packets: i64,
    pub forwarded_packets: i64,
    pub dropped_packets: i64,
    pub dropped_share: f64,
    pub forwarded_per_second: f64,
    pub dropped_per_second: f64,
    pub sources: BTreeMap<String, SourceTotals>,
    pub history: Vec<NetPoint>,
}

/// Forwarded and dropped for one set of per-source sums.
fn combine(s: &BTreeMap<String, SourceTotals>, hubble: bool) -> (i64, i64, i64) {
    let get = |k: &str| s.get(k).copied().unwrap_or_default();
    let (ifc, nft, hub) = (get("procnetdev"), get("nftables"), get("hubble"));
    if hubble {
        let seen = hub.forwarded + hub.dropped;
        return (hub.forwarded, hub.dropped, seen);
    }
    // Interface drop counters are packets never counted as received or sent;
    // netfilter drops were counted by the interface first.
    let dropped = ifc.dropped + nft.dropped;
    let forwarded = (ifc.inbound + ifc.outbound - nft.dropped).max(0);
    let seen = ifc.inbound + ifc.outbound + ifc.dropped;
    (forwarded, dropped, seen)
}

pub fn summary(
    c: &Connection,
    w: Window,
    res: i64,
    environment: Option<&str>,
) -> AppResult<NetSummary> {
    let (start, end) = bucket_range(w, res);
    let mut args: Vec<Value> = vec![res.into(), start.into(), end.into()];
    let mut sql = String::from(
        "SELECT t, source, sum(inbound), sum(outbound), sum(forwarded), sum(dropped) FROM net_buckets
         WHERE res = ?1 AND t >= ?2 AND t < ?3",
    );
    if let Some(e) = environment {
        args.push(e.to_string().into());
        sql.push_str(&format!(" AND namespace = ?{}", args.len()));
    }
    sql.push_str(" GROUP BY t, source");
    let mut per_bucket: BTreeMap<i64, BTreeMap<String, SourceTotals>> = BTreeMap::new();
    let mut sources: BTreeMap<String, SourceTotals> = BTreeMap::new();
    {
        let mut st = c.prepare_cached(&sql)?;
        let mut rows = st.query(params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            let t: i64 = r.get(0)?;
            let src: String = r.get(1)?;
            let v = SourceTotals {
                inbound: r.get(2)?,
                outbound: r.get(3)?,
                forwarded: r.get(4)?,
                dropped: r.get(5)?,
            };
            let e = per_bucket
                .entry(t)
                .or_default()
                .entry(src.clone())
                .or_default();
            let s = sources.entry(src).or_default();
            for (a, b) in [
                (&mut e.inbound, v.inbound),
                (&mut e.outbound, v.outbound),
                (&mut e.forwarded, v.forwarded),
                (&mut e.dropped, v.dropped),
            ] {
                *a += b;
            }
            s.inbound += v.inbound;
            s.outbound += v.outbound;
            s.forwarded += v.forwarded;
            s.dropped += v.dropped;
        }
    }
    let hubble = sources.contains_key("hubble");
    let n = ((end - start + res - 1) / res) as usize;
    let mut history = Vec::with_capacity(n);
    for i in 0..n {
        let t = start + i as i64 * res;
        let (f, d, _) = per_bucket
            .get(&t)
            .map(|s| combine(s, hubble))
            .unwrap_or((0, 0, 0));
        history.push(NetPoint {
            t,
            forwarded: f,
            dropped: d,
            forwarded_per_second: f as f64 / res as f64,
            dropped_per_second: d as f64 / res as f64,
        });
    }
    let (forwarded, dropped, seen) = combine(&sources, hubble);
    let ifc = sources.get("procnetdev").copied().unwrap_or_default();
    let secs = (end - start).max(1) as f64;
    Ok(NetSummary {
        environment: environment.map(String::from),
        from: start,
        to: end,
        bucket: res_name(res),
        bucket_seconds: res,
        basis: if hubble { "hubble" } else { "interfaces" },
        inbound_packets: ifc.inbound,
        outbound_packets: ifc.outbound,
        forwarded_packets: forwarded,
        dropped_packets: dropped,
        dropped_share: if seen > 0 {
            dropped as f64 / seen as f64
        } else {
            0.0
        },
        forwarded_per_second: forwarded as f64 / secs,
        dropped_per_second: dropped as f64 / secs,
        sources,
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_exact_and_proportional() {
        let parts = spread(100, 30.0, 150.0); // 30 s, 60 s, 30 s
        assert_eq!(parts, vec![(0, 25), (60, 50), (120, 25)]);
        let parts = spread(7, 59.5, 60.5);
        assert_eq!(parts.iter().map(|p| p.1).sum::<u64>(), 7);
        assert_eq!(spread(5, 100.0, 100.0), vec![(60, 5)]);
        assert_eq!(
            spread(5, 0.0, 200_000.0),
            vec![(bucket_start(200_000.0, 60), 5)]
        );
        assert!(spread(0, 0.0, 10.0).is_empty());
    }

    #[test]
    fn resets_count_from_zero() {
        assert_eq!(field_delta(10, 4), 6);
        assert_eq!(field_delta(3, 40), 3);
    }
}
