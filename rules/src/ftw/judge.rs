//! Judging one stage's outcome against its expected output, as go-ftw does
//! (`runner/run.go` `checkResult`, `check/*.go`, `waflog/read.go`):
//!
//! 1. `expect_error: true` passes exactly when the client saw an error (no
//!    valid HTTP response), and nothing else is checked; an error that was
//!    not expected fails the stage.
//! 2. `status` must equal the response status.
//! 3. `response_contains` must occur in the full response.
//! 4. Log checks, per log line of the stage: `match_regex` must match some
//!    line, every `expect_ids` entry must be among the triggered rule ids,
//!    `isolated` allows exactly one triggered id, `no_match_regex` may match
//!    no line and no `no_expect_ids` entry may be triggered.
//!
//! Triggered ids are read from the lines with go-ftw's own pattern,
//! `\[id \\?"(\d+)\\?"\]|"id":\s*"?(\d+)"?`, so a rule counts as triggered
//! exactly when go-ftw would see it. Regexes use RE2-compatible syntax.
//! Unlike go-ftw, every failed check is reported, not just the first.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::bytes::Regex;
use serde::Serialize;

use super::model::Output;

/// What happened to one stage, as a client and a log reader see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StageOutcome {
    /// Status of the response; `None` when there was no HTTP response.
    pub status: Option<u16>,
    /// The WAF's error-log lines for this stage.
    pub log_lines: Vec<String>,
    /// A transport or protocol error the client saw instead of a response.
    pub error: Option<String>,
    /// The full response (status line, headers, body) when known, for
    /// `response_contains`.
    #[serde(skip)]
    pub response: Option<Vec<u8>>,
}

/// Result of judging one stage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub passed: bool,
    /// One entry per failed check (empty when passed).
    pub reasons: Vec<String>,
}

fn id_pattern() -> &'static Regex {
    static ID: OnceLock<Regex> = OnceLock::new();
    ID.get_or_init(|| {
        Regex::new(r#"\[id \\?"(\d+)\\?"\]|"id":\s*"?(\d+)"?"#).expect("static pattern compiles")
    })
}

/// Rule ids triggered according to the log lines (go-ftw's reading).
pub fn triggered_ids<S: AsRef<str>>(lines: &[S]) -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    for line in lines {
        for caps in id_pattern().captures_iter(line.as_ref().as_bytes()) {
            for m in [caps.get(1), caps.get(2)].into_iter().flatten() {
                if let Some(id) = std::str::from_utf8(m.as_bytes())
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    ids.insert(id);
                }
            }
        }
    }
    ids
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("invalid regex {pattern:?}: {e}"))
}

fn any_line_matches(re: &Regex, lines: &[String]) -> bool {
    lines.iter().any(|l| re.is_match(l.as_bytes()))
}

/// Judges `outcome` against `expected`.
pub fn judge(expected: &Output, outcome: &StageOutcome) -> Verdict {
    let mut reasons = Vec::new();

    if expected.expect_error == Some(true) {
        if outcome.error.is_none() {
            reasons.push(format!(
                "expected a client error, got status {}",
                show_status(outcome.status)
            ));
        }
        return Verdict {
            passed: reasons.is_empty(),
            reasons,
        };
    }
    if let Some(e) = &outcome.error {
        reasons.push(format!("unexpected client error: {e}"));
        return Verdict {
            passed: false,
            reasons,
        };
    }

    if let Some(statuses) = &expected.status {
        if !outcome.status.is_some_and(|s| statuses.contains(&s)) {
            reasons.push(format!(
                "expected status {}, got {}",
                show_list(statuses),
                show_status(outcome.status)
            ));
        }
    }
    if let Some(needle) = expected
        .response_contains
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        let found = outcome
            .response
            .as_deref()
            .is_some_and(|r| memchr::memmem::find(r, needle.as_bytes()).is_some());
        if !found {
            reasons.push(format!("response does not contain {needle:?}"));
        }
    }

    let log = expected.effective_log();
    let ids = triggered_ids(&outcome.log_lines);
    if let Some(p) = log.match_regex.as_deref().filter(|s| !s.is_empty()) {
        match compile(p) {
            Ok(re) if any_line_matches(&re, &outcome.log_lines) => {}
            Ok(_) => reasons.push(format!("no log line matches {p:?}")),
            Err(e) => reasons.push(e),
        }
    }
    let missing: Vec<u32> = log
        .expect_ids
        .iter()
        .copied()
        .filter(|id| !ids.contains(&u64::from(*id)))
        .collect();
    if !missing.is_empty() {
        reasons.push(format!("expected ids not logged: {}", show_list(&missing)));
    }
    if expected.isolated == Some(true) && ids.len() != 1 {
        reasons.push(format!(
            "isolated test triggered {} rules: {}",
            ids.len(),
            show_list(&ids.iter().collect::<Vec<_>>())
        ));
    }
    if let Some(p) = log.no_match_regex.as_deref().filter(|s| !s.is_empty()) {
        match compile(p) {
            Ok(re) => {
                if let Some(line) = outcome.log_lines.iter().find(|l| re.is_match(l.as_bytes())) {
                    reasons.push(format!("log line matches {p:?}: {}", clip(line, 300)));
                }
            }
            Err(e) => reasons.push(e),
        }
    }
    let unwanted: Vec<u32> = log
        .no_expect_ids
        .iter()
        .copied()
        .filter(|id| ids.contains(&u64::from(*id)))
        .collect();
    if !unwanted.is_empty() {
        reasons.push(format!("unexpected ids logged: {}", show_list(&unwanted)));
    }
    Verdict {
        passed: reasons.is_empty(),
        reasons,
    }
}

fn show_status(s: Option<u16>) -> String {
    s.map_or_else(|| "no response".to_string(), |s| s.to_string())
}

fn show_list<T: std::fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(yaml: &str) -> Output {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn outcome(status: u16, lines: &[&str]) -> StageOutcome {
        StageOutcome {
            status: Some(status),
            log_lines: lines.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    const L942100: &str = r#"ModSecurity: Warning. Matched variable `ARGS:id' [file "x.conf"] [line "1"] [id "942100"] [msg "SQLi"] [data "Matched Data: s&1 found within ARGS:id: 1' or 1=1"]"#;
    const L949110: &str = r#"ModSecurity: Warning. [id "949110"] [msg "Inbound Anomaly Score Exceeded (Total Score: 5)"]"#;

    #[test]
    fn ids_are_read_like_go_ftw() {
        let ids = triggered_ids(&[L942100, L949110, r#"[id \"12\"] {"id": "13"} "id":14"#]);
        assert_eq!(
            ids.into_iter().collect::<Vec<_>>(),
            vec![12, 13, 14, 942100, 949110]
        );
    }

    #[test]
    fn expect_and_no_expect_ids() {
        let o = outcome(200, &[L942100, L949110]);
        assert!(judge(&output("log: {expect_ids: [942100, 949110]}"), &o).passed);
        let v = judge(&output("log: {expect_ids: [942100, 942200]}"), &o);
        assert!(!v.passed);
        assert_eq!(v.reasons, vec!["expected ids not logged: [942200]"]);
        let v = judge(&output("log: {no_expect_ids: [949110, 1]}"), &o);
        assert_eq!(v.reasons, vec!["unexpected ids logged: [949110]"]);
        assert!(judge(&output("log: {no_expect_ids: [1]}"), &outcome(200, &[])).passed);
    }

    #[test]
    fn regexes_apply_per_line() {
        let o = outcome(200, &[L942100, L949110]);
        assert!(
            judge(
                &output(r#"log: {match_regex: 'found within ARGS:id:'}"#),
                &o
            )
            .passed
        );
        assert!(
            judge(
                &output(r#"log: {match_regex: 'Inbound Anomaly Score Exceeded \(Total Score: '}"#),
                &o
            )
            .passed
        );
        // Spans two lines: no single line matches.
        assert!(!judge(&output(r#"log: {match_regex: 'SQLi.*Inbound'}"#), &o).passed);
        let v = judge(&output(r#"log: {no_match_regex: '\[id "\d+"\]'}"#), &o);
        assert!(!v.passed && v.reasons[0].starts_with("log line matches"));
        assert!(
            judge(
                &output(r#"log: {no_match_regex: '\[id "\d+"\]'}"#),
                &outcome(200, &[])
            )
            .passed
        );
        let v = judge(&output("log: {match_regex: '('}"), &o);
        assert!(v.reasons[0].starts_with("invalid regex"));
    }

    #[test]
    fn status_and_errors() {
        assert!(judge(&output("status: 400"), &outcome(400, &[])).passed);
        let v = judge(&output("status: 400"), &outcome(200, &[L942100]));
        assert_eq!(v.reasons, vec!["expected status [400], got 200"]);
        let err = StageOutcome {
            error: Some("no status line".into()),
            log_lines: vec![L942100.into()],
            ..Default::default()
        };
        // expect_error short-circuits: logs are not looked at.
        assert!(judge(&output("expect_error: true\nlog: {expect_ids: [1]}"), &err).passed);
        assert!(!judge(&output("expect_error: true"), &outcome(200, &[])).passed);
        let v = judge(&output("log: {expect_ids: [942100]}"), &err);
        assert!(!v.passed && v.reasons[0].starts_with("unexpected client error"));
        let none = StageOutcome::default();
        assert_eq!(
            judge(&output("status: 200"), &none).reasons,
            vec!["expected status [200], got no response"]
        );
    }

    #[test]
    fn isolated_and_response_contains_and_legacy_keys() {
        let o = outcome(200, &[L942100]);
        assert!(judge(&output("isolated: true\nlog: {expect_ids: [942100]}"), &o).passed);
        assert!(
            !judge(
                &output("isolated: true\nlog: {expect_ids: [942100]}"),
                &outcome(200, &[L942100, L949110])
            )
            .passed
        );
        let mut r = outcome(200, &[]);
        r.response = Some(b"HTTP/1.1 200 OK\r\n\r\nhello".to_vec());
        assert!(judge(&output("response_contains: hello"), &r).passed);
        assert!(!judge(&output("response_contains: bye"), &r).passed);
        assert!(judge(&output("log_contains: 'id \"942100\"'"), &o).passed);
        assert!(!judge(&output("no_log_contains: 'id \"942100\"'"), &o).passed);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("abc", 10), "abc");
    }
}
