//! Reading CRS's anomaly scores and the verdict out of a finished transaction.
//!
//! Scoring itself is done by CRS's rules (`setvar` on TX); this module only
//! reads the result under the names CRS v4 and v3 use, and summarises the
//! transaction for hosts and reports.

use crate::engine::{EngineMode, Intervention, MatchedRule, Transaction};
use serde::Serialize;

/// What happened to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No rule scored.
    Pass,
    /// Rules matched (or a disruptive action fired) without blocking.
    Detected,
    /// A disruptive action was enforced.
    Blocked,
}

/// Scores, matches and verdict of one transaction.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub inbound_score: i64,
    pub outbound_score: i64,
    pub inbound_threshold: Option<i64>,
    pub outbound_threshold: Option<i64>,
    pub intervention: Option<Intervention>,
    pub mode: EngineMode,
    pub matched: Vec<MatchedRule>,
}

fn first_number(tx: &Transaction, names: &[&str]) -> Option<i64> {
    names.iter().find_map(|n| tx.tx_var(n)).map(|v| v.trim().parse::<i64>().unwrap_or(0))
}

/// The inbound anomaly score (CRS v4 `blocking_inbound_anomaly_score`, v3 `inbound_anomaly_score`).
pub fn inbound_score(tx: &Transaction) -> i64 {
    first_number(tx, &["blocking_inbound_anomaly_score", "inbound_anomaly_score"]).unwrap_or(0)
}

/// The outbound anomaly score.
pub fn outbound_score(tx: &Transaction) -> i64 {
    first_number(tx, &["blocking_outbound_anomaly_score", "outbound_anomaly_score"]).unwrap_or(0)
}

/// Summarises a transaction.
pub fn report(tx: &Transaction) -> Report {
    let scoring = tx.matched_rules().iter().any(|m| m.id != 0 && m.logged);
    let verdict = if tx.interrupted() {
        Verdict::Blocked
    } else if scoring || tx.intervention().is_some() {
        Verdict::Detected
    } else {
        Verdict::Pass
    };
    Report {
        verdict,
        inbound_score: inbound_score(tx),
        outbound_score: outbound_score(tx),
        inbound_threshold: first_number(tx, &["inbound_anomaly_score_threshold"]),
        outbound_threshold: first_number(tx, &["outbound_anomaly_score_threshold"]),
        intervention: tx.intervention().cloned(),
        mode: tx.mode(),
        matched: tx.matched_rules().to_vec(),
    }
}
