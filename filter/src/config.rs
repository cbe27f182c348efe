//! The plugin configuration: the JSON that Envoy (`configuration`) or Istio
//! (`WasmPlugin.pluginConfig`) hands to the module, parsed and validated.
//!
//! One module plays two roles. The HTTP filter (`"role": "filter"`, the
//! default) inspects traffic; the bootstrap singleton (`"role": "service"`)
//! talks to the collector. Each role accepts only its own fields, so a setting
//! put in the wrong place is an error rather than silently ignored.
//!
//! Every problem is reported as a [`ConfigProblem`] naming the field.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::policy::{Mode, Policy};

/// A configuration problem: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "invalid plugin configuration: {}", self.message)
        } else {
            write!(
                f,
                "invalid plugin configuration: `{}`: {}",
                self.field, self.message
            )
        }
    }
}

fn problem(field: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        field: field.to_string(),
        message: message.into(),
    }
}

/// What to do when a rule set cannot be compiled at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// Refuse to start (Envoy then rejects the configuration).
    Closed,
    /// Start, pass traffic for the affected hosts without rule inspection,
    /// and say so in the log and in `palisade.engine_unavailable`.
    Open,
}

/// What to do when a body is larger than its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitAction {
    /// Block mode: answer 413 (requests) or replace the body (responses).
    /// Detect mode: record a body-limit event and inspect the first bytes.
    Reject,
    /// Inspect the first `limit_bytes` bytes, let the rest through.
    InspectPartial,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestBody {
    pub limit_bytes: usize,
    pub on_limit: LimitAction,
    /// Hold the request headers until the body is inspected, so the upstream
    /// sees nothing of a blocked request. Needs Envoy's
    /// `allow_on_headers_stop_iteration: true` in the wasm plugin config
    /// (Istio's WasmPlugin cannot set it). Off: headers go upstream at once,
    /// the body is held until inspected.
    pub hold_headers: bool,
}

impl Default for RequestBody {
    fn default() -> Self {
        RequestBody {
            limit_bytes: 128 * 1024,
            on_limit: LimitAction::Reject,
            hold_headers: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseBody {
    /// Whether response bodies are inspected at all (SecResponseBodyAccess).
    pub enabled: bool,
    pub limit_bytes: usize,
    pub on_limit: LimitAction,
    /// MIME types whose bodies are inspected (SecResponseBodyMimeType).
    pub mime_types: Vec<String>,
}

impl Default for ResponseBody {
    fn default() -> Self {
        ResponseBody {
            enabled: true,
            limit_bytes: 512 * 1024,
            on_limit: LimitAction::InspectPartial,
            mime_types: vec!["text/plain".into(), "text/html".into(), "text/xml".into()],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockResponse {
    /// Status for requests blocked by a rule whose action did not name one.
    pub status: u16,
    pub body: String,
    /// Header carrying the transaction id on blocked responses.
    pub transaction_id_header: String,
}

impl Default for BlockResponse {
    fn default() -> Self {
        BlockResponse {
            status: 403,
            body: "Request blocked by Palisade.\n".into(),
            transaction_id_header: "x-palisade-transaction-id".into(),
        }
    }
}

/// The HTTP filter's configuration (`"role": "filter"`).
#[derive(Clone, Debug, PartialEq)]
pub struct FilterConfig {
    /// The static policy: in force until the collector publishes one.
    pub policy: Policy,
    /// Rule sets by name; `default` always exists.
    pub rule_sets: BTreeMap<String, String>,
    /// Authority (lowercase, no port; `*.suffix` allowed) → rule set name.
    pub authorities: BTreeMap<String, String>,
    pub request_body: RequestBody,
    pub response_body: ResponseBody,
    pub block_response: BlockResponse,
    pub failure_mode: FailureMode,
    /// One error-log line per matched rule.
    pub error_log: bool,
    /// Distinct rule ids that get their own hit counter; the rest share one.
    pub max_rule_metrics: usize,
    /// Events a worker keeps before handing them to the service.
    pub max_buffered_events: usize,
}

/// The bootstrap service's configuration (`"role": "service"`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Envoy cluster of the collector.
    pub cluster: String,
    /// `:authority` sent to the collector.
    pub authority: String,
    /// Bearer token for the collector's write API (empty: no header).
    pub token: String,
    pub flush_interval_ms: u64,
    pub timeout_ms: u64,
    /// Upper bound of the retry backoff when the collector is down.
    pub max_backoff_ms: u64,
    /// Events held for the collector; the oldest are dropped past this.
    pub max_buffered_events: usize,
    /// Events sent in one batch.
    pub max_batch_events: usize,
    /// Environment name reported with every batch.
    pub environment: String,
    /// Instance name reported with every batch (default: Envoy's node id).
    pub instance: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            cluster: "palisade_collector".into(),
            authority: "palisade-collector".into(),
            token: String::new(),
            flush_interval_ms: 5000,
            timeout_ms: 2000,
            max_backoff_ms: 60_000,
            max_buffered_events: 1000,
            max_batch_events: 200,
            environment: "default".into(),
            instance: String::new(),
        }
    }
}

/// The parsed plugin configuration.
#[derive(Clone, Debug, PartialEq)]
pub enum PluginConfig {
    Filter(Box<FilterConfig>),
    Service(ServiceConfig),
}

/// The filter's JSON as written; converted into [`FilterConfig`] after checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    paranoia_level: Option<u8>,
    #[serde(default)]
    inbound_threshold: Option<i64>,
    #[serde(default)]
    outbound_threshold: Option<i64>,
    #[serde(default)]
    disabled_rules: Vec<u32>,
    #[serde(default)]
    disabled_tags: Vec<String>,
    #[serde(default)]
    rules: Option<Value>,
    #[serde(default)]
    rule_sets: BTreeMap<String, Value>,
    #[serde(default)]
    authorities: BTreeMap<String, String>,
    #[serde(default)]
    request_body: RequestBody,
    #[serde(default)]
    response_body: ResponseBody,
    #[serde(default)]
    block_response: BlockResponse,
    #[serde(default)]
    failure_mode: Option<FailureMode>,
    #[serde(default)]
    error_log: Option<bool>,
    #[serde(default)]
    max_rule_metrics: Option<usize>,
    #[serde(default)]
    max_buffered_events: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    #[allow(dead_code)]
    role: String,
    #[serde(default)]
    collector: ServiceConfig,
}

/// The directives used when the configuration names none: the base rules
/// (body processors, body parse errors) and CRS as shipped.
pub const DEFAULT_RULES: &str =
    "Include @recommended.conf\nInclude @crs-setup.conf\nInclude @crs/*.conf\n";

/// Parses and validates the plugin configuration. Empty input means all
/// defaults (filter role, detect mode, CRS at PL1).
pub fn parse(bytes: &[u8]) -> Result<PluginConfig, ConfigProblem> {
    let text = std::str::from_utf8(bytes).map_err(|e| problem("", format!("not UTF-8: {e}")))?;
    let value: Value = if text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(text).map_err(|e| problem("", format!("not valid JSON: {e}")))?
    };
    let Value::Object(map) = &value else {
        return Err(problem("", "must be a JSON object"));
    };
    let role = match map.get("role") {
        None => "filter",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(problem("role", "must be \"filter\" or \"service\"")),
    };
    match role {
        "filter" => {
            if map.contains_key("collector") {
                return Err(problem(
                    "collector",
                    "collector settings belong to the bootstrap service's configuration \
                     (\"role\": \"service\"), not to the HTTP filter",
                ));
            }
            let raw: RawFilter =
                serde_json::from_value(value).map_err(|e| problem("", e.to_string()))?;
            validate_filter(raw).map(|c| PluginConfig::Filter(Box::new(c)))
        }
        "service" => {
            let raw: RawService = serde_json::from_value(value).map_err(|e| {
                problem(
                    "",
                    format!("{e} (the service role takes only `role` and `collector`)"),
                )
            })?;
            validate_service(raw.collector).map(PluginConfig::Service)
        }
        other => Err(problem(
            "role",
            format!("unknown role {other:?}: expected \"filter\" or \"service\""),
        )),
    }
}

/// Directives are a string (lines) or an array of strings (one directive or
/// line each).
fn directives(field: &str, v: &Value) -> Result<String, ConfigProblem> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(items) => {
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                let Value::String(s) = item else {
                    return Err(problem(&format!("{field}[{i}]"), "must be a string"));
                };
                out.push_str(s);
                out.push('\n');
            }
            Ok(out)
        }
        _ => Err(problem(field, "must be a string or an array of strings")),
    }
}

fn validate_filter(raw: RawFilter) -> Result<FilterConfig, ConfigProblem> {
    let _ = raw.role;
    let pl = raw.paranoia_level.unwrap_or(1);
    if !(1..=4).contains(&pl) {
        return Err(problem(
            "paranoia_level",
            format!("must be 1 to 4, got {pl}"),
        ));
    }
    let inbound = raw.inbound_threshold.unwrap_or(5);
    let outbound = raw.outbound_threshold.unwrap_or(4);
    if inbound < 1 {
        return Err(problem(
            "inbound_threshold",
            format!("must be at least 1, got {inbound}"),
        ));
    }
    if outbound < 1 {
        return Err(problem(
            "outbound_threshold",
            format!("must be at least 1, got {outbound}"),
        ));
    }

    let mut rule_sets = BTreeMap::new();
    for (name, v) in &raw.rule_sets {
        if name.is_empty() {
            return Err(problem("rule_sets", "a rule set name must not be empty"));
        }
        let text = directives(&format!("rule_sets.{name}"), v)?;
        rule_sets.insert(name.clone(), text);
    }
    match (&raw.rules, rule_sets.contains_key("default")) {
        (Some(_), true) => {
            return Err(problem(
                "rules",
                "both `rules` and `rule_sets.default` are given; `rules` is the default set",
            ))
        }
        (Some(v), false) => {
            rule_sets.insert("default".into(), directives("rules", v)?);
        }
        (None, true) => {}
        (None, false) => {
            rule_sets.insert("default".into(), DEFAULT_RULES.into());
        }
    }

    let mut authorities = BTreeMap::new();
    for (host, set) in &raw.authorities {
        let key = normalize_authority(host);
        if key.is_empty() || (key.starts_with('*') && !key.starts_with("*.")) {
            return Err(problem(
                &format!("authorities.{host}"),
                "must be a host name or `*.suffix`",
            ));
        }
        if !rule_sets.contains_key(set) {
            return Err(problem(
                &format!("authorities.{host}"),
                format!("names rule set {set:?}, which is not defined in `rule_sets`"),
            ));
        }
        authorities.insert(key, set.clone());
    }

    if raw.request_body.limit_bytes == 0 {
        return Err(problem(
            "request_body.limit_bytes",
            "must be greater than 0",
        ));
    }
    if raw.response_body.limit_bytes == 0 {
        return Err(problem(
            "response_body.limit_bytes",
            "must be greater than 0",
        ));
    }
    for (i, m) in raw.response_body.mime_types.iter().enumerate() {
        if m.is_empty() || m.contains(char::is_whitespace) || !m.contains('/') {
            return Err(problem(
                &format!("response_body.mime_types[{i}]"),
                format!("{m:?} is not a MIME type"),
            ));
        }
    }
    let status = raw.block_response.status;
    if !(200..=599).contains(&status) {
        return Err(problem(
            "block_response.status",
            format!("must be an HTTP status 200-599, got {status}"),
        ));
    }
    let h = &raw.block_response.transaction_id_header;
    if h.is_empty()
        || !h
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(problem(
            "block_response.transaction_id_header",
            format!("{h:?} is not a valid header name"),
        ));
    }

    let policy = Policy {
        version: 0,
        mode: raw.mode.unwrap_or(Mode::Detect),
        paranoia_level: pl,
        inbound_threshold: inbound,
        outbound_threshold: outbound,
        disabled_rules: raw.disabled_rules,
        disabled_tags: raw.disabled_tags,
        masks: Vec::new(),
        hosts: BTreeMap::new(),
    };
    Ok(FilterConfig {
        policy,
        rule_sets,
        authorities,
        request_body: raw.request_body,
        response_body: raw.response_body,
        block_response: BlockResponse {
            transaction_id_header: raw
                .block_response
                .transaction_id_header
                .to_ascii_lowercase(),
            ..raw.block_response
        },
        failure_mode: raw.failure_mode.unwrap_or(FailureMode::Closed),
        error_log: raw.error_log.unwrap_or(true),
        max_rule_metrics: raw.max_rule_metrics.unwrap_or(1000),
        max_buffered_events: raw.max_buffered_events.unwrap_or(1000),
    })
}

fn validate_service(c: ServiceConfig) -> Result<ServiceConfig, ConfigProblem> {
    if c.cluster.is_empty() {
        return Err(problem(
            "collector.cluster",
            "must name the collector's Envoy cluster",
        ));
    }
    if c.authority.is_empty() {
        return Err(problem("collector.authority", "must not be empty"));
    }
    if !(100..=3_600_000).contains(&c.flush_interval_ms) {
        return Err(problem(
            "collector.flush_interval_ms",
            format!(
                "must be between 100 and 3600000, got {}",
                c.flush_interval_ms
            ),
        ));
    }
    if c.timeout_ms == 0 || c.timeout_ms > 60_000 {
        return Err(problem(
            "collector.timeout_ms",
            format!("must be 1 to 60000, got {}", c.timeout_ms),
        ));
    }
    if c.max_backoff_ms < c.flush_interval_ms {
        return Err(problem(
            "collector.max_backoff_ms",
            "must be at least flush_interval_ms",
        ));
    }
    if c.max_buffered_events == 0 || c.max_batch_events == 0 {
        return Err(problem(
            "collector.max_buffered_events",
            "event bounds must be greater than 0",
        ));
    }
    if c.token.bytes().any(|b| b.is_ascii_control()) {
        return Err(problem(
            "collector.token",
            "must not contain control characters",
        ));
    }
    Ok(c)
}

/// Lowercases a host and strips a port (`Shop.Example.com:8080` →
/// `shop.example.com`; `[::1]:80` → `[::1]`).
pub fn normalize_authority(host: &str) -> String {
    let h = host.trim();
    let no_port = if h.starts_with('[') {
        match h.find(']') {
            Some(end) => &h[..=end],
            None => h,
        }
    } else {
        match h.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        }
    };
    no_port.to_ascii_lowercase()
}

impl FilterConfig {
    /// The rule set name for an authority: exact host, then the longest
    /// matching `*.suffix`, then `default`.
    pub fn rule_set_for<'a>(&'a self, authority: &str) -> &'a str {
        if let Some(s) = self.authorities.get(authority) {
            return s;
        }
        let mut best: Option<(&str, usize)> = None;
        for (pat, set) in &self.authorities {
            if let Some(suffix) = pat.strip_prefix('*') {
                if authority.ends_with(suffix) && best.is_none_or(|(_, l)| suffix.len() > l) {
                    best = Some((set, suffix.len()));
                }
            }
        }
        best.map(|(s, _)| s).unwrap_or("default")
    }

    /// The directives placed before each rule set: body access, the engine's
    /// body limits (equal to the filter's, with ProcessPartial: the filter
    /// itself decides what an oversized body means) and the response MIME
    /// types. Rule sets may override them after.
    pub fn prelude(&self) -> String {
        let rb = &self.response_body;
        let mut p = format!(
            "SecRequestBodyAccess On\nSecRequestBodyLimit {}\nSecRequestBodyLimitAction ProcessPartial\n",
            self.request_body.limit_bytes
        );
        if rb.enabled {
            p.push_str(&format!(
                "SecResponseBodyAccess On\nSecResponseBodyLimit {}\nSecResponseBodyLimitAction ProcessPartial\n\
                 SecResponseBodyMimeTypesClear\n",
                rb.limit_bytes
            ));
            if !rb.mime_types.is_empty() {
                p.push_str("SecResponseBodyMimeType");
                for m in &rb.mime_types {
                    p.push(' ');
                    p.push_str(m);
                }
                p.push('\n');
            }
        } else {
            p.push_str("SecResponseBodyAccess Off\n");
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(json: &str) -> FilterConfig {
        match parse(json.as_bytes()) {
            Ok(PluginConfig::Filter(f)) => *f,
            other => panic!("expected filter config, got {other:?}"),
        }
    }

    fn err(json: &str) -> ConfigProblem {
        match parse(json.as_bytes()) {
            Err(e) => e,
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn empty_means_defaults() {
        let c = filter("");
        assert_eq!(c.policy.mode, Mode::Detect);
        assert_eq!(c.policy.paranoia_level, 1);
        assert_eq!(
            c.rule_sets.get("default").map(String::as_str),
            Some(DEFAULT_RULES)
        );
        assert_eq!(c.failure_mode, FailureMode::Closed);
        assert_eq!(c.request_body.on_limit, LimitAction::Reject);
        assert_eq!(filter("{}"), c);
    }

    #[test]
    fn full_filter_config() {
        let c = filter(
            r#"{"mode":"block","paranoia_level":2,"inbound_threshold":10,
                "rules":["Include @crs-setup.conf","Include @crs/*.conf"],
                "rule_sets":{"strict":"SecRuleEngine On\nInclude @crs/*.conf"},
                "authorities":{"Admin.Example.com:8443":"strict","*.internal":"strict"},
                "request_body":{"limit_bytes":1000,"on_limit":"inspect_partial"},
                "response_body":{"enabled":false},
                "block_response":{"status":406,"body":"no","transaction_id_header":"X-Tx"},
                "failure_mode":"open","disabled_rules":[920350]}"#,
        );
        assert_eq!(c.policy.mode, Mode::Block);
        assert_eq!(c.policy.inbound_threshold, 10);
        assert_eq!(c.policy.disabled_rules, vec![920350]);
        assert_eq!(
            c.rule_sets["default"],
            "Include @crs-setup.conf\nInclude @crs/*.conf\n"
        );
        assert_eq!(c.rule_set_for("admin.example.com"), "strict");
        assert_eq!(c.rule_set_for("a.b.internal"), "strict");
        assert_eq!(c.rule_set_for("internal"), "default");
        assert_eq!(c.rule_set_for("shop.example.com"), "default");
        assert_eq!(c.request_body.limit_bytes, 1000);
        assert_eq!(c.request_body.on_limit, LimitAction::InspectPartial);
        assert_eq!(c.block_response.transaction_id_header, "x-tx");
        assert_eq!(c.failure_mode, FailureMode::Open);
        assert!(c.prelude().contains("SecResponseBodyAccess Off"));
        assert!(c
            .prelude()
            .contains("SecRequestBodyLimit 1000\nSecRequestBodyLimitAction ProcessPartial\n"));
        let d = filter("{}");
        assert!(d.prelude().ends_with("SecResponseBodyMimeTypesClear\nSecResponseBodyMimeType text/plain text/html text/xml\n"));
    }

    #[test]
    fn problems_name_the_field() {
        assert!(err(r#"{"mode":"blok"}"#)
            .to_string()
            .contains("unknown variant `blok`"));
        assert_eq!(err(r#"{"paranoia_level":5}"#).field, "paranoia_level");
        assert!(err(r#"{"modes":"block"}"#)
            .to_string()
            .contains("unknown field `modes`"));
        assert_eq!(
            err(r#"{"authorities":{"a.com":"nope"}}"#).field,
            "authorities.a.com"
        );
        assert_eq!(err(r#"{"rules":[1]}"#).field, "rules[0]");
        assert_eq!(err(r#"{"collector":{}}"#).field, "collector");
        assert_eq!(
            err(r#"{"block_response":{"transaction_id_header":"a b"}}"#).field,
            "block_response.transaction_id_header"
        );
        assert_eq!(
            err(r#"{"request_body":{"limit_bytes":0}}"#).field,
            "request_body.limit_bytes"
        );
        assert!(err("{not json").to_string().contains("not valid JSON"));
        assert!(err("[]").to_string().contains("JSON object"));
        assert_eq!(err(r#"{"role":"sidecar"}"#).field, "role");
    }

    #[test]
    fn service_config() {
        let c = parse(br#"{"role":"service","collector":{"cluster":"c","flush_interval_ms":1000,"environment":"prod"}}"#);
        let Ok(PluginConfig::Service(s)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(s.cluster, "c");
        assert_eq!(s.flush_interval_ms, 1000);
        assert_eq!(s.environment, "prod");
        assert_eq!(s.timeout_ms, 2000);
        let e = parse(br#"{"role":"service","mode":"block"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `mode`"), "{e}");
        let e = parse(br#"{"role":"service","collector":{"flush_interval_ms":5}}"#).unwrap_err();
        assert_eq!(e.field, "collector.flush_interval_ms");
    }

    #[test]
    fn authority_normalization() {
        assert_eq!(
            normalize_authority("Shop.Example.COM:8080"),
            "shop.example.com"
        );
        assert_eq!(normalize_authority("[::1]:80"), "[::1]");
        assert_eq!(normalize_authority("[::1"), "[::1");
        assert_eq!(normalize_authority("host:"), "host");
        assert_eq!(normalize_authority(""), "");
    }
}
