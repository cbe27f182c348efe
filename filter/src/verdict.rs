//! Reading a finished transaction: its anomaly scores, the outcome counted for
//! it, and the event reported for it.
//!
//! Scores are read from CRS's TX variables: v4 names first
//! (`blocking_inbound_anomaly_score`), then the v3 ones (`anomaly_score`,
//! `inbound_anomaly_score`), so Debian's CRS 3.3 works as well.

use palisade_rules::engine::MatchedRule;

use crate::errorlog::severity_name;
use crate::telemetry::{truncate, Event, Outcome, RuleEvidence, MAX_DATA, MAX_REQUEST_LINE};

fn first_number(tx_var: &dyn Fn(&str) -> Option<String>, names: &[&str]) -> i64 {
    names
        .iter()
        .find_map(|n| tx_var(n).and_then(|v| v.trim().parse::<i64>().ok()))
        .unwrap_or(0)
}

/// (inbound, outbound) anomaly scores.
pub fn scores(tx_var: &dyn Fn(&str) -> Option<String>) -> (i64, i64) {
    let inbound = first_number(
        tx_var,
        &[
            "blocking_inbound_anomaly_score",
            "inbound_anomaly_score",
            "anomaly_score",
        ],
    );
    let outbound = first_number(
        tx_var,
        &["blocking_outbound_anomaly_score", "outbound_anomaly_score"],
    );
    (inbound, outbound)
}

/// The rules an operator sees: those that matched with `log` in effect.
pub fn reported(rules: &[MatchedRule]) -> impl Iterator<Item = &MatchedRule> {
    rules.iter().filter(|r| r.logged)
}

/// `blocked` if the filter enforced a block, `detected` if any logged rule
/// matched, else `pass`.
pub fn outcome(blocked: bool, rules: &[MatchedRule]) -> Outcome {
    if blocked {
        Outcome::Blocked
    } else if reported(rules).next().is_some() {
        Outcome::Detected
    } else {
        Outcome::Pass
    }
}

/// What the filter knows about the request besides the engine's view.
pub struct RequestInfo<'a> {
    pub transaction_id: &'a str,
    pub time: f64,
    pub authority: &'a str,
    pub client: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub protocol: &'a str,
    pub status: u16,
    pub policy_version: u64,
}

/// The event for a transaction with reported rules (`None` for a pass).
pub fn event(
    info: &RequestInfo<'_>,
    outcome: Outcome,
    rules: &[MatchedRule],
    scores: (i64, i64),
) -> Option<Event> {
    if outcome == Outcome::Pass {
        return None;
    }
    let path = info.uri.split('?').next().unwrap_or(info.uri);
    let evidence: Vec<RuleEvidence> = reported(rules)
        .map(|r| RuleEvidence {
            id: r.id,
            msg: truncate(&r.msg, MAX_DATA),
            data: truncate(&r.data, MAX_DATA),
            severity: severity_name(r.severity).to_string(),
            tags: r.tags.clone(),
            variable: truncate(&r.variable, MAX_DATA),
            value: truncate(&r.value, MAX_DATA),
        })
        .collect();
    Some(Event {
        id: info.transaction_id.to_string(),
        time: info.time,
        authority: truncate(info.authority, MAX_DATA),
        client: info.client.to_string(),
        method: truncate(info.method, 32),
        path: truncate(path, MAX_REQUEST_LINE),
        request_line: truncate(
            &format!("{} {} {}", info.method, info.uri, info.protocol),
            MAX_REQUEST_LINE,
        ),
        inbound_score: scores.0,
        outbound_score: scores.1,
        action: outcome,
        status: info.status,
        policy_version: info.policy_version,
        rules: evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: u32, logged: bool) -> MatchedRule {
        MatchedRule {
            id,
            logged,
            msg: "m".into(),
            severity: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn scores_from_v4_then_v3_names() {
        let v4 = |n: &str| match n {
            "blocking_inbound_anomaly_score" => Some("10".to_string()),
            "blocking_outbound_anomaly_score" => Some("4".to_string()),
            _ => None,
        };
        assert_eq!(scores(&v4), (10, 4));
        let v3 = |n: &str| (n == "anomaly_score").then(|| " 7".to_string());
        assert_eq!(scores(&v3), (7, 0));
        let junk = |_: &str| Some("x".to_string());
        assert_eq!(scores(&junk), (0, 0));
    }

    #[test]
    fn outcome_and_event() {
        let rules = vec![rule(901100, false), rule(942100, true), rule(949110, true)];
        assert_eq!(outcome(false, &rules[..1]), Outcome::Pass);
        assert_eq!(outcome(false, &rules), Outcome::Detected);
        assert_eq!(outcome(true, &[]), Outcome::Blocked);
        let info = RequestInfo {
            transaction_id: "t1",
            time: 2.5,
            authority: "shop",
            client: "10.0.0.1",
            method: "GET",
            uri: "/search?q=1",
            protocol: "HTTP/1.1",
            status: 200,
            policy_version: 3,
        };
        assert!(event(&info, Outcome::Pass, &rules, (0, 0)).is_none());
        let e = event(&info, Outcome::Detected, &rules, (10, 0)).expect("event");
        assert_eq!(e.path, "/search");
        assert_eq!(e.request_line, "GET /search?q=1 HTTP/1.1");
        assert_eq!(
            e.rules.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![942100, 949110]
        );
        assert_eq!(e.rules[0].severity, "CRITICAL");
        let json = serde_json::to_value(&e).expect("serializes");
        assert_eq!(json["action"], "detected");
    }
}
