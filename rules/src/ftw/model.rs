//! Serde model of the go-ftw test format (schema v2, the keys the CRS suite
//! uses plus the rest of the schema) and of platform override files.
//!
//! Keys the model does not know are kept in `extra` maps rather than dropped,
//! so the loader can report them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_yaml::Value;

/// Unknown keys of one mapping, kept for reporting.
pub type Extra = BTreeMap<String, Value>;

/// One YAML test file.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TestFile {
    #[serde(default)]
    pub meta: Meta,
    /// The rule the tests target; 0 when absent (the loader then takes the
    /// digits of the file name, as go-ftw does).
    #[serde(default)]
    pub rule_id: u32,
    #[serde(default)]
    pub tests: Vec<Test>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Meta {
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    /// Deprecated in go-ftw and ignored there; kept for reporting.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One test: stages run in sequence.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Test {
    /// 0 when absent; the loader numbers such tests by position (from 1).
    #[serde(default)]
    pub test_id: u32,
    #[serde(default)]
    pub test_title: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub stages: Vec<Stage>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Stage {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub input: Input,
    #[serde(default)]
    pub output: Output,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What to send. Absent fields take go-ftw's defaults at render time.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Input {
    #[serde(default)]
    pub dest_addr: Option<String>,
    #[serde(default)]
    pub port: Option<i64>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub uri: Option<String>,
    /// Schema v3: run the stage once per URI. Not supported by the renderer.
    #[serde(default)]
    pub uris: Vec<String>,
    #[serde(default)]
    pub follow_redirect: Option<bool>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub method: Option<String>,
    /// Header name to value; go-ftw sends them sorted by name. Scalars of
    /// any type are taken as text (`Content-Length: 7`).
    #[serde(default, deserialize_with = "opt_headers")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub data: Option<String>,
    /// Base64 body, sent verbatim.
    #[serde(default)]
    pub encoded_data: Option<String>,
    #[serde(default)]
    pub save_cookie: Option<bool>,
    /// Deprecated inverse of `autocomplete_headers`.
    #[serde(default)]
    pub stop_magic: Option<bool>,
    /// Defaults to true: add Content-Type, Connection and Content-Length.
    #[serde(default)]
    pub autocomplete_headers: Option<bool>,
    /// Base64 of the complete request, sent verbatim.
    #[serde(default)]
    pub encoded_request: Option<String>,
    /// Deprecated predecessor of `encoded_request` (also base64).
    #[serde(default)]
    pub raw_request: Option<String>,
    /// Schema v3: a response for the backend to send. Not supported.
    #[serde(default)]
    pub response: Option<Value>,
    #[serde(default)]
    pub virtual_host_mode: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What to expect.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct Output {
    /// Expected HTTP status. go-ftw v2 takes one number; the older list form
    /// (`[200, 404]`, any of them) is accepted too.
    #[serde(
        default,
        deserialize_with = "opt_status",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<Vec<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_contains: Option<String>,
    /// Deprecated: becomes `log.match_regex` when that and `expect_ids` are unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_contains: Option<String>,
    /// Deprecated: becomes `log.no_match_regex` when that and `no_expect_ids` are unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_log_contains: Option<String>,
    #[serde(default)]
    pub log: LogExpect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_error: Option<bool>,
    /// A workaround for log flushing races in go-ftw; meaningless in-process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_once: Option<bool>,
    /// Exactly one rule may trigger (the single one in `expect_ids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Expectations on the WAF's error-log lines for the stage.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct LogExpect {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_ids: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_expect_ids: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_match_regex: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Output {
    /// The expectations go-ftw actually checks: the deprecated
    /// `log_contains`/`no_log_contains` folded into `log` as go-ftw does.
    pub fn effective_log(&self) -> LogExpect {
        let mut log = self.log.clone();
        if let Some(s) = self.log_contains.as_ref().filter(|s| !s.is_empty()) {
            if log.expect_ids.is_empty() && log.match_regex.as_deref().unwrap_or("").is_empty() {
                log.match_regex = Some(s.clone());
            }
        }
        if let Some(s) = self.no_log_contains.as_ref().filter(|s| !s.is_empty()) {
            if log.no_expect_ids.is_empty()
                && log.no_match_regex.as_deref().unwrap_or("").is_empty()
            {
                log.no_match_regex = Some(s.clone());
            }
        }
        log
    }
}

/// A platform override file (CRS's `tests/regression/*-overrides.yaml`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OverridesFile {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub meta: OverridesMeta,
    #[serde(default)]
    pub test_overrides: Vec<TestOverride>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OverridesMeta {
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    /// A map in the schema; CRS's own files write a list of one-key maps.
    #[serde(default)]
    pub annotations: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Replaces the expected output of some tests (all of `rule_id`'s when
/// `test_ids` is empty) and stages (all when `stage_ids` is empty; stage
/// ids count from 0).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TestOverride {
    pub rule_id: u32,
    #[serde(default)]
    pub test_ids: Vec<u32>,
    #[serde(default)]
    pub stage_ids: Vec<u32>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub retry_once: Option<bool>,
    #[serde(default)]
    pub output: Output,
    #[serde(flatten)]
    pub extra: Extra,
}

impl TestOverride {
    pub fn applies_to(&self, rule_id: u32, test_id: u32) -> bool {
        self.rule_id == rule_id && (self.test_ids.is_empty() || self.test_ids.contains(&test_id))
    }

    pub fn applies_to_stage(&self, index: usize) -> bool {
        self.stage_ids.is_empty() || self.stage_ids.iter().any(|&s| s as usize == index)
    }
}

/// A YAML scalar as text: strings as they are, numbers and booleans in
/// their plain form, null as empty (what go-ftw's YAML decoder yields for a
/// string field).
fn scalar_text(v: Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        Value::Tagged(t) => scalar_text(t.value),
        Value::Sequence(_) => Err("expected a scalar, found a sequence".into()),
        Value::Mapping(_) => Err("expected a scalar, found a mapping".into()),
    }
}

fn opt_scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(v) => scalar_text(v).map(Some).map_err(serde::de::Error::custom),
    }
}

fn opt_headers<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    let v = Option::<serde_yaml::Mapping>::deserialize(d)?;
    let Some(map) = v else { return Ok(None) };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let k =
            scalar_text(k).map_err(|e| serde::de::Error::custom(format!("header name: {e}")))?;
        let v = scalar_text(v).map_err(|e| serde::de::Error::custom(format!("header {k}: {e}")))?;
        out.insert(k, v);
    }
    Ok(Some(out))
}

fn opt_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u16>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u16),
        Many(Vec<u16>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(0)) => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) if v.is_empty() => None,
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_typical_file_with_scalars_of_all_kinds() {
        let yaml = r#"
meta:
  author: "someone"
  description: "d"
rule_id: 920181
tests:
  - test_id: 1
    desc: x
    stages:
      - input:
          dest_addr: "127.0.0.1"
          port: 80
          method: "POST"
          headers:
            Host: "localhost"
            Content-Length: 7
            X-Empty:
          data: "7\x0D\x0Afoo=bar\x0D\x0A0\x0D\x0A\x0D\x0A"
          autocomplete_headers: false
        output:
          status: 200
          log:
            no_expect_ids: [920181]
          retry_once: true
"#;
        let f: TestFile = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(f.rule_id, 920181);
        let stage = &f.tests[0].stages[0];
        let h = stage.input.headers.as_ref().unwrap();
        assert_eq!(h["Content-Length"], "7");
        assert_eq!(h["X-Empty"], "");
        assert_eq!(
            stage.input.data.as_deref(),
            Some("7\r\nfoo=bar\r\n0\r\n\r\n")
        );
        assert_eq!(stage.input.autocomplete_headers, Some(false));
        assert_eq!(stage.output.status, Some(vec![200]));
        assert_eq!(stage.output.log.no_expect_ids, vec![920181]);
        assert!(
            f.extra.is_empty() && stage.input.extra.is_empty() && stage.output.extra.is_empty()
        );
    }

    #[test]
    fn unknown_keys_are_kept() {
        let f: TestFile = serde_yaml::from_str(
            "rule_id: 1\nauthor: x\ntests:\n  - stages:\n      - input: {bogus: 1}\n        output: {log: {expect_id: 5}}\n",
        )
        .unwrap();
        assert!(f.extra.contains_key("author"));
        assert!(f.tests[0].stages[0].input.extra.contains_key("bogus"));
        assert!(f.tests[0].stages[0]
            .output
            .log
            .extra
            .contains_key("expect_id"));
    }

    #[test]
    fn status_forms_and_deprecated_log_keys() {
        let o: Output =
            serde_yaml::from_str("status: [200, 404]\nlog_contains: abc\nno_log_contains: def")
                .unwrap();
        assert_eq!(o.status, Some(vec![200, 404]));
        let log = o.effective_log();
        assert_eq!(log.match_regex.as_deref(), Some("abc"));
        assert_eq!(log.no_match_regex.as_deref(), Some("def"));
        let o: Output = serde_yaml::from_str("log_contains: abc\nlog: {expect_ids: [1]}").unwrap();
        assert_eq!(o.effective_log().match_regex, None);
    }

    #[test]
    fn overrides_file_in_crs_shape() {
        let yaml = r#"
version: "v0.0.0"
meta:
  engine: "libmodsecurity3"
  platform: "nginx"
  annotations:
    - os: "Debian Bullseye"
test_overrides:
  - rule_id: 920100
    test_ids: [4]
    reason: "Nginx returns a 400 bad request"
    output:
      status: 400
  - rule_id: 920270
    reason: all of them
    output:
      log:
        expect_ids: [920270]
"#;
        let f: OverridesFile = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(f.test_overrides.len(), 2);
        assert!(f.test_overrides[0].applies_to(920100, 4));
        assert!(!f.test_overrides[0].applies_to(920100, 5));
        assert!(f.test_overrides[1].applies_to(920270, 99));
        assert!(f.test_overrides[1].applies_to_stage(3));
        assert_eq!(f.test_overrides[0].output.status, Some(vec![400]));
    }
}
