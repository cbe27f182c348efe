//! The filter ⇄ collector wire format (see `WIRE.md`): serde types for the
//! telemetry batch and the policy document, and their validation.
//!
//! Parsing goes through `serde_path_to_error` so that a wrong type names the
//! field (`counters[0].count`); validation after parsing names the field too.

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// A client error in a request body or parameter, naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Parses JSON, reporting the path of the field that failed.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let field = if path == "." || path.is_empty() {
                "body".to_string()
            } else {
                path
            };
            let message = match inner.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    format!("malformed JSON: {inner}")
                }
                _ => inner.to_string(),
            };
            Err(FieldError::new(field, message))
        }
    }
}

/// Largest count accepted in one delta; keeps sums far from i64 overflow.
pub const MAX_COUNT: u64 = 1 << 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Detected,
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Detected,
    Blocked,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Detected => "detected",
            Action::Blocked => "blocked",
        }
    }
}

fn default_environment() -> String {
    "default".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TelemetryBatch {
    pub batch_id: String,
    pub instance: String,
    #[serde(default = "default_environment")]
    pub environment: String,
    #[serde(default)]
    pub policy_version: u64,
    pub sent_at: f64,
    #[serde(default)]
    pub counters: Vec<Counter>,
    #[serde(default)]
    pub rule_hits: Vec<RuleHit>,
    #[serde(default)]
    pub body_limit_events: u64,
    #[serde(default)]
    pub dropped_events: u64,
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Counter {
    pub authority: String,
    pub outcome: Outcome,
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleHit {
    pub rule_id: u64,
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Event {
    pub id: String,
    pub time: f64,
    pub authority: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub request_line: String,
    #[serde(default)]
    pub inbound_score: i64,
    #[serde(default)]
    pub outbound_score: i64,
    pub action: Action,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub policy_version: u64,
    #[serde(default)]
    pub rules: Vec<EventRule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventRule {
    pub id: u64,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub data: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub variable: String,
    #[serde(default)]
    pub value: String,
}

/// Limits applied to one telemetry batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_events: usize,
    pub max_counters: usize,
    pub max_rule_hits: usize,
    pub max_rules_per_event: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_events: 5000,
            max_counters: 10_000,
            max_rule_hits: 10_000,
            max_rules_per_event: 256,
        }
    }
}

fn check_str(field: &str, value: &str, max: usize, required: bool) -> Result<(), FieldError> {
    if required && value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(FieldError::new(field, format!("longer than {max} bytes")));
    }
    if value.chars().any(|c| c == '\0') {
        return Err(FieldError::new(field, "contains a NUL character"));
    }
    Ok(())
}

fn check_count(field: impl FnOnce() -> String, value: u64) -> Result<(), FieldError> {
    if value > MAX_COUNT {
        return Err(FieldError::new(field(), format!("larger than {MAX_COUNT}")));
    }
    Ok(())
}

fn check_time(field: impl FnOnce() -> String, value: f64) -> Result<(), FieldError> {
    // Between 2000-01-01 and 2200-01-01, in seconds since the epoch.
    if !value.is_finite() || !(946_684_800.0..7_258_118_400.0).contains(&value) {
        return Err(FieldError::new(field(), "must be a Unix time in seconds"));
    }
    Ok(())
}

impl TelemetryBatch {
    /// Checks sizes, ranges and required fields; the error names the field.
    pub fn validate(&self, limits: &BatchLimits) -> Result<(), FieldError> {
        check_str("batch_id", &self.batch_id, 200, true)?;
        check_str("instance", &self.instance, 256, true)?;
        check_str("environment", &self.environment, 128, true)?;
        check_time(|| "sent_at".into(), self.sent_at)?;
        check_count(|| "body_limit_events".into(), self.body_limit_events)?;
        check_count(|| "dropped_events".into(), self.dropped_events)?;
        if self.counters.len() > limits.max_counters {
            return Err(FieldError::new(
                "counters",
                format!("more than {} entries", limits.max_counters),
            ));
        }
        for (i, c) in self.counters.iter().enumerate() {
            check_str(
                &format!("counters[{i}].authority"),
                &c.authority,
                256,
                false,
            )?;
            check_count(|| format!("counters[{i}].count"), c.count)?;
        }
        if self.rule_hits.len() > limits.max_rule_hits {
            return Err(FieldError::new(
                "rule_hits",
                format!("more than {} entries", limits.max_rule_hits),
            ));
        }
        for (i, r) in self.rule_hits.iter().enumerate() {
            check_rule_id(|| format!("rule_hits[{i}].rule_id"), r.rule_id)?;
            check_count(|| format!("rule_hits[{i}].count"), r.count)?;
        }
        if self.events.len() > limits.max_events {
            return Err(FieldError::new(
                "events",
                format!("more than {} events", limits.max_events),
            ));
        }
        for (i, e) in self.events.iter().enumerate() {
            let f = |name: &str| format!("events[{i}].{name}");
            check_str(&f("id"), &e.id, 200, false)?;
            check_time(|| f("time"), e.time)?;
            check_str(&f("authority"), &e.authority, 256, false)?;
            check_str(&f("client"), &e.client, 128, false)?;
            check_str(&f("method"), &e.method, 32, false)?;
            check_str(&f("path"), &e.path, 4096, false)?;
            check_str(&f("request_line"), &e.request_line, 8192, false)?;
            if e.inbound_score.unsigned_abs() > 1_000_000 {
                return Err(FieldError::new(f("inbound_score"), "out of range"));
            }
            if e.outbound_score.unsigned_abs() > 1_000_000 {
                return Err(FieldError::new(f("outbound_score"), "out of range"));
            }
            if e.rules.len() > limits.max_rules_per_event {
                return Err(FieldError::new(
                    f("rules"),
                    format!("more than {} rules", limits.max_rules_per_event),
                ));
            }
            for (j, r) in e.rules.iter().enumerate() {
                let g = |name: &str| format!("events[{i}].rules[{j}].{name}");
                check_rule_id(|| g("id"), r.id)?;
                check_str(&g("msg"), &r.msg, 2048, false)?;
                check_str(&g("data"), &r.data, 4096, false)?;
                check_str(&g("severity"), &r.severity, 32, false)?;
                check_str(&g("variable"), &r.variable, 1024, false)?;
                check_str(&g("value"), &r.value, 4096, false)?;
                if r.tags.len() > 64 {
                    return Err(FieldError::new(g("tags"), "more than 64 tags"));
                }
                for (k, t) in r.tags.iter().enumerate() {
                    check_str(&format!("events[{i}].rules[{j}].tags[{k}]"), t, 256, false)?;
                }
            }
        }
        Ok(())
    }
}

fn check_rule_id(field: impl FnOnce() -> String, id: u64) -> Result<(), FieldError> {
    if id == 0 || id > i64::MAX as u64 {
        return Err(FieldError::new(field(), "must be a positive rule id"));
    }
    Ok(())
}

/// Severity rank as in ModSecurity: 0 (EMERGENCY) is the most severe.
/// Accepts names in any case and the numeric forms; unknown text ranks 8.
pub fn severity_rank(s: &str) -> u8 {
    let t = s.trim();
    if let Ok(n) = t.parse::<u8>() {
        return n.min(8);
    }
    match t.to_ascii_uppercase().as_str() {
        "EMERGENCY" => 0,
        "ALERT" => 1,
        "CRITICAL" => 2,
        "ERROR" => 3,
        "WARNING" => 4,
        "NOTICE" => 5,
        "INFO" => 6,
        "DEBUG" => 7,
        _ => 8,
    }
}

/// The name for a severity rank (the inverse of [`severity_rank`]).
pub fn severity_name(rank: u8) -> &'static str {
    match rank {
        0 => "EMERGENCY",
        1 => "ALERT",
        2 => "CRITICAL",
        3 => "ERROR",
        4 => "WARNING",
        5 => "NOTICE",
        6 => "INFO",
        7 => "DEBUG",
        _ => "UNKNOWN",
    }
}

// ---------------------------------------------------------------- policy

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Off,
    Detect,
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mask {
    pub rule_id: u64,
    pub authority: String,
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paranoia_level: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_rules: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_tags: Option<Vec<String>>,
}

/// The policy document the filters run (see WIRE.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub version: u64,
    pub mode: Mode,
    pub paranoia_level: u8,
    pub inbound_threshold: u32,
    pub outbound_threshold: u32,
    #[serde(default)]
    pub disabled_rules: Vec<u64>,
    #[serde(default)]
    pub disabled_tags: Vec<String>,
    #[serde(default)]
    pub masks: Vec<Mask>,
    #[serde(default)]
    pub hosts: BTreeMap<String, HostOverride>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            version: 1,
            mode: Mode::Detect,
            paranoia_level: 1,
            inbound_threshold: 5,
            outbound_threshold: 4,
            disabled_rules: Vec::new(),
            disabled_tags: Vec::new(),
            masks: Vec::new(),
            hosts: BTreeMap::new(),
        }
    }
}

/// Body of `PUT /api/v1/policy`: the policy fields, an optional `version`
/// (when given it must equal the current version, else 409) and an optional
/// `comment` kept in the audit trail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    #[serde(default)]
    pub version: Option<u64>,
    pub mode: Mode,
    pub paranoia_level: u8,
    pub inbound_threshold: u32,
    pub outbound_threshold: u32,
    #[serde(default)]
    pub disabled_rules: Vec<u64>,
    #[serde(default)]
    pub disabled_tags: Vec<String>,
    #[serde(default)]
    pub masks: Vec<Mask>,
    #[serde(default)]
    pub hosts: BTreeMap<String, HostOverride>,
    #[serde(default)]
    pub comment: Option<String>,
}

impl PolicyUpdate {
    /// The policy this update describes, at the given version.
    pub fn into_policy(self, version: u64) -> Policy {
        Policy {
            version,
            mode: self.mode,
            paranoia_level: self.paranoia_level,
            inbound_threshold: self.inbound_threshold,
            outbound_threshold: self.outbound_threshold,
            disabled_rules: self.disabled_rules,
            disabled_tags: self.disabled_tags,
            masks: self.masks,
            hosts: self.hosts,
        }
    }
}

fn check_threshold(field: &str, v: u32) -> Result<(), FieldError> {
    if v == 0 || v > 100_000 {
        return Err(FieldError::new(field, "must be between 1 and 100000"));
    }
    Ok(())
}

fn check_pl(field: &str, v: u8) -> Result<(), FieldError> {
    if !(1..=4).contains(&v) {
        return Err(FieldError::new(field, "must be 1, 2, 3 or 4"));
    }
    Ok(())
}

fn check_rules_list(field: &str, rules: &[u64]) -> Result<(), FieldError> {
    if rules.len() > 10_000 {
        return Err(FieldError::new(field, "more than 10000 rule ids"));
    }
    for (i, r) in rules.iter().enumerate() {
        check_rule_id(|| format!("{field}[{i}]"), *r)?;
    }
    Ok(())
}

fn check_tags_list(field: &str, tags: &[String]) -> Result<(), FieldError> {
    if tags.len() > 1000 {
        return Err(FieldError::new(field, "more than 1000 tags"));
    }
    for (i, t) in tags.iter().enumerate() {
        check_str(&format!("{field}[{i}]"), t, 256, true)?;
    }
    Ok(())
}

impl Policy {
    /// Validates ranges and sizes; the error names the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_pl("paranoia_level", self.paranoia_level)?;
        check_threshold("inbound_threshold", self.inbound_threshold)?;
        check_threshold("outbound_threshold", self.outbound_threshold)?;
        check_rules_list("disabled_rules", &self.disabled_rules)?;
        check_tags_list("disabled_tags", &self.disabled_tags)?;
        if self.masks.len() > 100_000 {
            return Err(FieldError::new("masks", "more than 100000 masks"));
        }
        for (i, m) in self.masks.iter().enumerate() {
            check_rule_id(|| format!("masks[{i}].rule_id"), m.rule_id)?;
            check_str(&format!("masks[{i}].authority"), &m.authority, 256, false)?;
            check_str(&format!("masks[{i}].path"), &m.path, 4096, false)?;
        }
        if self.hosts.len() > 10_000 {
            return Err(FieldError::new("hosts", "more than 10000 hosts"));
        }
        for (host, o) in &self.hosts {
            let f = |n: &str| format!("hosts.{host}.{n}");
            check_str(&format!("hosts.{host}"), host, 256, true)?;
            if let Some(pl) = o.paranoia_level {
                check_pl(&f("paranoia_level"), pl)?;
            }
            if let Some(t) = o.inbound_threshold {
                check_threshold(&f("inbound_threshold"), t)?;
            }
            if let Some(t) = o.outbound_threshold {
                check_threshold(&f("outbound_threshold"), t)?;
            }
            if let Some(r) = &o.disabled_rules {
                check_rules_list(&f("disabled_rules"), r)?;
            }
            if let Some(t) = &o.disabled_tags {
                check_tags_list(&f("disabled_tags"), t)?;
            }
        }
        Ok(())
    }

    /// Sorts and de-duplicates the lists so equal policies compare equal.
    pub fn normalize(&mut self) {
        self.disabled_rules.sort_unstable();
        self.disabled_rules.dedup();
        self.disabled_tags.sort();
        self.disabled_tags.dedup();
        self.masks.sort();
        self.masks.dedup();
        for o in self.hosts.values_mut() {
            if let Some(r) = o.disabled_rules.as_mut() {
                r.sort_unstable();
                r.dedup();
            }
            if let Some(t) = o.disabled_tags.as_mut() {
                t.sort();
                t.dedup();
            }
        }
    }

    /// Names the top-level fields (and `hosts.<name>`) that differ.
    pub fn changed_fields(&self, other: &Policy) -> Vec<String> {
        let mut out = Vec::new();
        if self.mode != other.mode {
            out.push("mode".into());
        }
        if self.paranoia_level != other.paranoia_level {
            out.push("paranoia_level".into());
        }
        if self.inbound_threshold != other.inbound_threshold {
            out.push("inbound_threshold".into());
        }
        if self.outbound_threshold != other.outbound_threshold {
            out.push("outbound_threshold".into());
        }
        if self.disabled_rules != other.disabled_rules {
            out.push("disabled_rules".into());
        }
        if self.disabled_tags != other.disabled_tags {
            out.push("disabled_tags".into());
        }
        if self.masks != other.masks {
            out.push("masks".into());
        }
        for host in self.hosts.keys().chain(other.hosts.keys()) {
            let name = format!("hosts.{host}");
            if self.hosts.get(host) != other.hosts.get(host) && !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_type_names_the_field() {
        let body = br#"{"batch_id":"b","instance":"i","sent_at":1763900000,
            "counters":[{"authority":"a","outcome":"pass","count":"x"}]}"#;
        let err = parse_json::<TelemetryBatch>(body).unwrap_err();
        assert_eq!(err.field, "counters[0].count");
    }

    #[test]
    fn malformed_json_is_reported() {
        let err = parse_json::<TelemetryBatch>(b"{\"batch_id\": ").unwrap_err();
        assert!(err.message.contains("malformed"), "{err}");
    }

    #[test]
    fn validation_names_nested_fields() {
        let mut b: TelemetryBatch = parse_json(
            br#"{"batch_id":"b","instance":"i","sent_at":1763900000,
            "events":[{"id":"e","time":1763900000,"authority":"a","action":"blocked",
            "rules":[{"id":0}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            b.validate(&BatchLimits::default()).unwrap_err().field,
            "events[0].rules[0].id"
        );
        b.events.clear();
        b.sent_at = f64::NAN;
        assert_eq!(
            b.validate(&BatchLimits::default()).unwrap_err().field,
            "sent_at"
        );
    }

    #[test]
    fn policy_validation_and_diff() {
        let mut p = Policy::default();
        assert!(p.validate().is_ok());
        let mut q = p.clone();
        q.paranoia_level = 5;
        assert_eq!(q.validate().unwrap_err().field, "paranoia_level");
        q.paranoia_level = 2;
        q.hosts.insert(
            "a".into(),
            HostOverride {
                inbound_threshold: Some(0),
                ..Default::default()
            },
        );
        assert_eq!(q.validate().unwrap_err().field, "hosts.a.inbound_threshold");
        q.hosts.clear();
        p.disabled_rules = vec![3, 1, 3];
        p.normalize();
        assert_eq!(p.disabled_rules, vec![1, 3]);
        assert_eq!(
            p.changed_fields(&q),
            vec!["paranoia_level", "disabled_rules"]
        );
    }

    #[test]
    fn severities() {
        assert_eq!(severity_rank("critical"), 2);
        assert_eq!(severity_rank("4"), 4);
        assert_eq!(severity_rank("bogus"), 8);
        assert_eq!(severity_name(severity_rank("WARNING")), "WARNING");
    }
}
