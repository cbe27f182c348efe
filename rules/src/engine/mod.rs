//! The compiled rule set ([`RuleSet`]) and the per-request [`Transaction`].
//!
//! A `RuleSet` is loaded once (every regex, automaton and data file compiled
//! then) and shared read-only by any number of concurrent transactions. The
//! transaction API mirrors a proxy's view of a request: connection, request
//! line, headers, body, response headers, response body, logging. Each
//! `process_*` step runs the rules of its phase and returns an
//! [`Intervention`] when a disruptive action fires in blocking mode.

use std::collections::HashMap;

/// Where configuration text and data files come from: the filesystem, or an
/// in-memory bundle (the wasm filter embeds CRS this way).
pub trait ConfigSource {
    /// Reads one file by path (as resolved by the parser).
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;
    /// Expands a glob pattern (`rules/*.conf`) into sorted paths.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String>;
}

/// Files from the local filesystem.
pub struct FsSource;

/// Files from memory, keyed by path (e.g. `@crs/REQUEST-942-...conf`).
#[derive(Default, Clone)]
pub struct BundleSource {
    pub files: HashMap<String, Vec<u8>>,
}

/// SecRuleEngine: `On` blocks, `DetectionOnly` only records, `Off` skips rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EngineMode {
    On,
    DetectionOnly,
    Off,
}

/// Per-transaction settings a host applies without reloading rules (the live
/// policy). `None` leaves the rule set's own configuration in force.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub engine_mode: Option<EngineMode>,
    /// Sets `tx.blocking_paranoia_level` and `tx.detection_paranoia_level`
    /// before the first phase.
    pub paranoia_level: Option<u8>,
    /// Sets `tx.inbound_anomaly_score_threshold`.
    pub inbound_threshold: Option<i64>,
    /// Sets `tx.outbound_anomaly_score_threshold`.
    pub outbound_threshold: Option<i64>,
    /// Rules that are skipped, as if removed with SecRuleRemoveById.
    pub disabled_rule_ids: Vec<u32>,
    /// Rules carrying one of these tags are skipped.
    pub disabled_tags: Vec<String>,
}

/// What a disruptive action asks the host to do.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Intervention {
    /// HTTP status to answer with (403 by default; `status:` changes it).
    pub status: u16,
    /// `Some(url)` for `redirect:`.
    pub redirect: Option<String>,
    /// The rule whose disruptive action fired.
    pub rule_id: u32,
    /// `deny`, `drop`, `redirect`, ...
    pub action: String,
}

/// A configuration problem, located at file and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One rule that matched in a transaction, with its evidence.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MatchedRule {
    pub id: u32,
    pub phase: u8,
    pub msg: String,
    pub data: String,
    pub severity: Option<u8>,
    pub tags: Vec<String>,
    /// e.g. `ARGS:id`
    pub variable: String,
    /// The matched value (after transformations), truncated for reporting.
    pub value: String,
    /// Whether the rule had `log` in effect (so it goes to the error log).
    pub logged: bool,
    /// The rule's disruptive action, as written (`block`, `deny`, `pass`, ...).
    pub disruptive: String,
    /// The rule file and line it came from.
    pub file: String,
    pub line: usize,
    pub ver: String,
}

/// The compiled rules and configuration, shared by transactions.
pub struct RuleSet {
    _private: (),
}

impl RuleSet {
    /// Loads configuration text named `name` (used in error locations); its
    /// `Include` directives are resolved through `source`. Returns the rule set
    /// and the warnings (directives accepted but not meaningful in a proxy).
    pub fn load(
        name: &str,
        text: &str,
        source: &dyn ConfigSource,
    ) -> Result<(RuleSet, Vec<String>), ConfigError> {
        let _ = (name, text, source);
        Err(ConfigError { file: name.into(), line: 0, message: "engine not implemented yet".into() })
    }

    /// Loads configuration files from disk, in order.
    pub fn from_files(paths: &[&str]) -> Result<(RuleSet, Vec<String>), ConfigError> {
        let text: String = paths.iter().map(|p| format!("Include \"{p}\"\n")).collect();
        Self::load("<command line>", &text, &FsSource)
    }
}

/// One HTTP exchange going through the rules.
pub struct Transaction<'r> {
    rules: &'r RuleSet,
}

impl<'r> Transaction<'r> {
    /// Starts a transaction with the given unique id (UNIQUE_ID).
    pub fn new(rules: &'r RuleSet, id: &str, overrides: &Overrides) -> Self {
        let _ = (id, overrides);
        Transaction { rules }
    }
    pub fn process_connection(&mut self, client_ip: &str, client_port: u16, server_ip: &str, server_port: u16) {
        let _ = (client_ip, client_port, server_ip, server_port, self.rules);
    }
    /// The request line: method, URI as sent (path and query), protocol (`HTTP/1.1`).
    pub fn process_uri(&mut self, method: &[u8], uri: &[u8], protocol: &[u8]) {
        let _ = (method, uri, protocol);
    }
    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        let _ = (name, value);
    }
    /// Phase 1.
    pub fn process_request_headers(&mut self) -> Option<Intervention> {
        None
    }
    /// Appends request body bytes (the host enforces or reports its own limit).
    pub fn append_request_body(&mut self, data: &[u8]) {
        let _ = data;
    }
    /// Phase 2 (runs the body processor first).
    pub fn process_request_body(&mut self) -> Option<Intervention> {
        None
    }
    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        let _ = (name, value);
    }
    /// Phase 3.
    pub fn process_response_headers(&mut self, status: u16, protocol: &[u8]) -> Option<Intervention> {
        let _ = (status, protocol);
        None
    }
    /// Whether the response body should be buffered and given to the engine
    /// (SecResponseBodyAccess and the MIME type list).
    pub fn wants_response_body(&self) -> bool {
        false
    }
    pub fn append_response_body(&mut self, data: &[u8]) {
        let _ = data;
    }
    /// Phase 4.
    pub fn process_response_body(&mut self) -> Option<Intervention> {
        None
    }
    /// Phase 5.
    pub fn process_logging(&mut self) {}

    /// Every rule that matched so far, in order.
    pub fn matched_rules(&self) -> &[MatchedRule] {
        &[]
    }
    /// A TX collection value, e.g. `tx_var("blocking_inbound_anomaly_score")`.
    pub fn tx_var(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
    /// The intervention that fired, if any (also in detection-only mode, where
    /// it was recorded but not enforced).
    pub fn intervention(&self) -> Option<&Intervention> {
        None
    }
}

impl ConfigSource for FsSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let _ = pattern;
        Err("glob not implemented yet".into())
    }
}

impl ConfigSource for BundleSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files.get(path).cloned().ok_or_else(|| format!("no bundled file {path}"))
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let _ = pattern;
        Err("glob not implemented yet".into())
    }
}
