//! The compiled rule set ([`RuleSet`]) and the per-request [`Transaction`].
//!
//! A `RuleSet` is loaded once (every regex, automaton and data file compiled
//! then) and shared read-only by any number of concurrent transactions. The
//! transaction API mirrors a proxy's view of a request: connection, request
//! line, headers, body, response headers, response body, logging. Each
//! `process_*` step runs the rules of its phase and returns an
//! [`Intervention`] when a disruptive action fires in blocking mode.

mod data;
mod eval;
pub(crate) mod load;
mod rule;

pub use data::Kv;
pub use eval::severity_name;

use data::{Stores, TxData};
use eval::{Run, State};
use rule::Entry;
use crate::variables::{Scalar, Store};
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
    /// The operator as written (`@rx ...`).
    pub operator: String,
}

/// Engine-wide settings from the configuration directives.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub engine_mode: EngineMode,
    pub request_body_access: bool,
    pub request_body_limit: u64,
    pub request_body_no_files_limit: u64,
    pub request_body_limit_reject: bool,
    pub response_body_access: bool,
    pub response_body_limit: u64,
    pub response_body_limit_reject: bool,
    pub response_mime_types: Vec<String>,
    pub argument_separator: u8,
    pub collection_timeout: u64,
    pub json_depth_limit: usize,
    pub arguments_limit: usize,
    pub component_signatures: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            engine_mode: EngineMode::On,
            request_body_access: false,
            request_body_limit: 13_107_200,
            request_body_no_files_limit: 131_072,
            request_body_limit_reject: true,
            response_body_access: false,
            response_body_limit: 524_288,
            response_body_limit_reject: false,
            response_mime_types: vec!["text/plain".into(), "text/html".into()],
            argument_separator: b'&',
            collection_timeout: 3600,
            json_depth_limit: 512,
            arguments_limit: 1000,
            component_signatures: Vec::new(),
        }
    }
}

/// The compiled rules and configuration, shared by transactions.
pub struct RuleSet {
    pub(crate) config: Config,
    pub(crate) phases: [Vec<Entry>; 6],
}

impl RuleSet {
    pub(crate) fn from_parts(config: Config, phases: [Vec<Entry>; 6]) -> RuleSet {
        RuleSet { config, phases }
    }

    /// Loads configuration text named `name` (used in error locations); its
    /// `Include` directives are resolved through `source`. Returns the rule set
    /// and the warnings (directives accepted but not meaningful in a proxy).
    pub fn load(name: &str, text: &str, source: &dyn ConfigSource) -> Result<(RuleSet, Vec<String>), ConfigError> {
        let mut loader = load::Loader::new(source);
        loader.load_text(name, text, 0)?;
        loader.finish()
    }

    /// Loads configuration files from disk, in order.
    pub fn from_files(paths: &[&str]) -> Result<(RuleSet, Vec<String>), ConfigError> {
        let text: String = paths.iter().map(|p| format!("Include \"{p}\"\n")).collect();
        Self::load("<command line>", &text, &FsSource)
    }

    /// Number of rules (chains count once) per phase 1..=5.
    pub fn rule_counts(&self) -> [usize; 5] {
        let mut out = [0; 5];
        for (p, list) in self.phases.iter().enumerate().skip(1) {
            out[p - 1] = list.iter().filter(|e| matches!(e, Entry::Rule(_))).count();
        }
        out
    }

    /// Builds every regex and phrase automaton now. Loading only checks
    /// patterns and defers building them to first use, which keeps a proxy
    /// worker's start fast.
    pub fn warm_up(&self) {
        while self.warm_up_step(usize::MAX) {}
    }

    /// Builds at most `budget` of the automata not built yet, and returns
    /// whether it built any (call again until it returns false). A host calls
    /// it from a timer, off the request path, so neither start-up nor any one
    /// moment stalls traffic for long.
    pub fn warm_up_step(&self, budget: usize) -> bool {
        fn rule(r: &rule::Rule, left: &mut usize) {
            if *left > 0 && r.operator.warm_up() {
                *left -= 1;
            }
            if let Some(c) = r.chained.as_deref() {
                rule(c, left);
            }
        }
        let mut left = budget;
        for list in self.phases.iter() {
            for e in list {
                if let Entry::Rule(r) = e {
                    rule(r, &mut left);
                    if left == 0 {
                        return true;
                    }
                }
            }
        }
        left < budget
    }

    /// The configured SecRuleEngine mode.
    pub fn engine_mode(&self) -> EngineMode {
        self.config.engine_mode
    }

    /// SecComponentSignature values.
    pub fn component_signatures(&self) -> &[String] {
        &self.config.component_signatures
    }

    /// SecRequestBodyLimit and whether exceeding it rejects.
    pub fn request_body_limit(&self) -> (u64, bool) {
        (self.config.request_body_limit, self.config.request_body_limit_reject)
    }

    /// Index after the first marker `name` following position `from` in
    /// `phase`'s list (end of list when there is none).
    pub(crate) fn find_marker(&self, phase: u8, from: usize, name: &str) -> usize {
        let list = &self.phases[phase as usize];
        for (i, e) in list.iter().enumerate().skip(from + 1) {
            if let Entry::Marker(m) = e {
                if m == name {
                    return i + 1;
                }
            }
        }
        list.len()
    }

}

/// One HTTP exchange going through the rules.
pub struct Transaction<'r> {
    rules: &'r RuleSet,
    data: TxData,
    stores: Stores,
    st: State,
    request_body: Vec<u8>,
    request_body_truncated: bool,
    response_body: Vec<u8>,
    started: clock::Started,
    phases_done: u8,
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

impl<'r> Transaction<'r> {
    /// Starts a transaction with the given unique id (UNIQUE_ID).
    pub fn new(rules: &'r RuleSet, id: &str, overrides: &Overrides) -> Self {
        let mut data = TxData::new();
        data.set_scalar(Scalar::UniqueId, id.as_bytes().to_vec());
        // REQBODY_PROCESSOR exists (empty) until a Content-Type or ctl picks one,
        // so rules can test for "no processor".
        data.set_scalar(Scalar::ReqbodyProcessor, Vec::new());
        set_time(&mut data, clock::epoch_seconds());
        let mut stores = Stores::default();
        let tx = stores.get_mut(Store::Tx);
        if let Some(pl) = overrides.paranoia_level {
            tx.set(b"blocking_paranoia_level", pl.to_string().into_bytes());
            tx.set(b"detection_paranoia_level", pl.to_string().into_bytes());
        }
        if let Some(t) = overrides.inbound_threshold {
            tx.set(b"inbound_anomaly_score_threshold", t.to_string().into_bytes());
        }
        if let Some(t) = overrides.outbound_threshold {
            tx.set(b"outbound_anomaly_score_threshold", t.to_string().into_bytes());
        }
        let mut removed = Vec::new();
        if !overrides.disabled_rule_ids.is_empty() {
            removed.push(load::RuleMatcher::Ids(
                overrides.disabled_rule_ids.iter().map(|&i| crate::actions::IdRange(i, i)).collect(),
            ));
        }
        for t in &overrides.disabled_tags {
            removed.push(load::RuleMatcher::Tag(t.clone()));
        }
        let st = State {
            mode: overrides.engine_mode.unwrap_or(rules.config.engine_mode),
            removed,
            removed_targets: Vec::new(),
            matched: Vec::new(),
            intervention: None,
            interrupted: false,
            allow: None,
            request_body_access: rules.config.request_body_access,
            response_body_access: rules.config.response_body_access,
            force_request_body_variable: false,
            audit_engine: None,
            audit_log_parts: None,
            highest_severity: None,
            cache: Default::default(),
            matched_var: None,
        };
        Transaction {
            rules,
            data,
            stores,
            st,
            request_body: Vec::new(),
            request_body_truncated: false,
            response_body: Vec::new(),
            started: clock::Started::now(),
            phases_done: 0,
        }
    }

    fn run(&mut self, phase: u8) {
        let elapsed = self.started.elapsed_micros().to_string();
        self.data.set_scalar(Scalar::Duration, elapsed.into_bytes());
        self.st.cache.clear();
        let mut run = Run { rules: self.rules, data: &mut self.data, stores: &mut self.stores, st: &mut self.st };
        run.phase(phase);
        self.phases_done = self.phases_done.max(phase);
    }

    fn enforced(&self) -> Option<Intervention> {
        if self.st.interrupted {
            self.st.intervention.clone()
        } else {
            None
        }
    }

    /// The effective engine mode (after overrides and `ctl:ruleEngine`).
    pub fn mode(&self) -> EngineMode {
        self.st.mode
    }

    pub fn process_connection(&mut self, client_ip: &str, client_port: u16, server_ip: &str, server_port: u16) {
        self.data.set_scalar(Scalar::RemoteAddr, client_ip.as_bytes().to_vec());
        self.data.set_scalar(Scalar::RemoteHost, client_ip.as_bytes().to_vec());
        self.data.set_scalar(Scalar::RemotePort, client_port.to_string().into_bytes());
        self.data.set_scalar(Scalar::ServerAddr, server_ip.as_bytes().to_vec());
        self.data.set_scalar(Scalar::ServerPort, server_port.to_string().into_bytes());
    }

    /// The request line: method, URI as sent (path and query), protocol (`HTTP/1.1`).
    pub fn process_uri(&mut self, method: &[u8], uri: &[u8], protocol: &[u8]) {
        let d = &mut self.data;
        d.set_scalar(Scalar::RequestMethod, method.to_vec());
        d.set_scalar(Scalar::RequestProtocol, protocol.to_vec());
        let mut line = Vec::with_capacity(method.len() + uri.len() + protocol.len() + 2);
        line.extend_from_slice(method);
        line.push(b' ');
        line.extend_from_slice(uri);
        line.push(b' ');
        line.extend_from_slice(protocol);
        d.set_scalar(Scalar::RequestLine, line);
        d.set_scalar(Scalar::RequestUriRaw, uri.to_vec());
        let decoded = percent_decode(uri);
        let path: &[u8] = match memchr::memchr(b'?', &decoded) {
            Some(p) => &decoded[..p],
            None => &decoded,
        };
        d.set_scalar(Scalar::PathInfo, path.to_vec());
        d.set_scalar(Scalar::RequestFilename, path.to_vec());
        // The part after the last `/` or `\`: empty for `/dir/`, so rules can
        // still test it.
        let base = match path.iter().rposition(|&c| c == b'/' || c == b'\\') {
            Some(p) => &path[p + 1..],
            None => path,
        };
        d.set_scalar(Scalar::RequestBasename, base.to_vec());
        // REQUEST_URI drops a `scheme://host` prefix, as ModSecurity does.
        let mut request_uri: &[u8] = &decoded;
        if !decoded.is_empty() && decoded[0] != b'/' {
            if let Some(colon) = memchr::memchr(b':', &decoded) {
                if decoded[colon + 1..].starts_with(b"//") {
                    let netloc = colon + 3;
                    if let Some(slash) = decoded[netloc..].iter().position(|&c| c == b'/') {
                        request_uri = &decoded[netloc + slash..];
                    }
                }
            }
        }
        d.set_scalar(Scalar::RequestUri, request_uri.to_vec());
        if let Some(q) = memchr::memchr(b'?', uri) {
            let qs = &uri[q + 1..];
            d.set_scalar(Scalar::QueryString, qs.to_vec());
            if !qs.is_empty() {
                let sep = self.rules.config.argument_separator;
                d.args_get = crate::body::urlencoded::parse(qs, sep)
                    .into_iter()
                    .map(|(k, v)| Kv { key: k.into_owned(), value: v.into_owned() })
                    .collect();
            }
        }
        self.update_args_size();
    }

    fn update_args_size(&mut self) {
        let n: usize =
            self.data.args_get.iter().chain(self.data.args_post.iter()).map(|kv| kv.key.len() + kv.value.len()).sum();
        self.data.set_scalar(Scalar::ArgsCombinedSize, n.to_string().into_bytes());
    }

    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        let d = &mut self.data;
        d.request_headers.push(Kv::new(name, value));
        let lower = name.to_ascii_lowercase();
        match lower.as_slice() {
            b"cookie" => parse_cookies(value, &mut d.request_cookies),
            b"content-type" => {
                let l = value.to_ascii_lowercase();
                if l.starts_with(b"multipart/form-data") {
                    d.set_scalar(Scalar::ReqbodyProcessor, b"MULTIPART".to_vec());
                } else if l.starts_with(b"application/x-www-form-urlencoded") {
                    d.set_scalar(Scalar::ReqbodyProcessor, b"URLENCODED".to_vec());
                }
            }
            b"host" => {
                let host = value.split(|&c| c == b':').next().unwrap_or(value);
                d.set_scalar(Scalar::ServerName, host.to_vec());
            }
            b"authorization" => {
                let t = value.split(|&c| c == b' ').next().unwrap_or(value);
                d.set_scalar(Scalar::AuthType, t.to_vec());
            }
            _ => {}
        }
    }

    /// Phase 1.
    pub fn process_request_headers(&mut self) -> Option<Intervention> {
        self.run(1);
        self.enforced()
    }

    /// Appends request body bytes. Past SecRequestBodyLimit the excess is
    /// dropped and INBOUND_DATA_ERROR set; with SecRequestBodyLimitAction
    /// Reject, an engine in On mode then answers 413.
    pub fn append_request_body(&mut self, data: &[u8]) -> Option<Intervention> {
        let limit = self.rules.config.request_body_limit as usize;
        let room = limit.saturating_sub(self.request_body.len());
        if data.len() > room && limit > 0 {
            self.request_body.extend_from_slice(&data[..room]);
            self.request_body_truncated = true;
            self.data.set_scalar(Scalar::InboundDataError, b"1".to_vec());
            if self.rules.config.request_body_limit_reject && self.st.mode == EngineMode::On && !self.st.interrupted {
                let i = Intervention { status: 413, redirect: None, rule_id: 0, action: "deny".into() };
                self.st.intervention = Some(i.clone());
                self.st.interrupted = true;
                return Some(i);
            }
            return None;
        }
        self.request_body.extend_from_slice(data);
        None
    }

    /// Phase 2 (runs the body processor first).
    pub fn process_request_body(&mut self) -> Option<Intervention> {
        if self.st.interrupted {
            return self.enforced();
        }
        if self.data.scalar(Scalar::InboundDataError).is_none() {
            self.data.set_scalar(Scalar::InboundDataError, b"0".to_vec());
        }
        if self.st.request_body_access {
            self.process_body();
        }
        self.run(2);
        self.enforced()
    }

    fn process_body(&mut self) {
        let body = std::mem::take(&mut self.request_body);
        let processor = self.data.scalar(Scalar::ReqbodyProcessor).filter(|p| !p.is_empty()).map(|p| p.to_vec());
        let content_type = self
            .data
            .request_headers
            .iter()
            .find(|kv| kv.key.eq_ignore_ascii_case(b"content-type"))
            .map(|kv| kv.value.clone())
            .unwrap_or_default();
        let result = if body.is_empty() {
            Ok(())
        } else {
            body_glue::run(processor.as_deref(), &body, &content_type, &self.rules.config, &mut self.data)
        };
        match result {
            Ok(()) => {
                self.data.set_scalar(Scalar::ReqbodyError, b"0".to_vec());
                self.data.set_scalar(Scalar::ReqbodyProcessorError, b"0".to_vec());
            }
            Err(msg) => {
                self.data.set_scalar(Scalar::ReqbodyError, b"1".to_vec());
                self.data.set_scalar(Scalar::ReqbodyProcessorError, b"1".to_vec());
                self.data.set_scalar(Scalar::ReqbodyErrorMsg, msg.clone().into_bytes());
                self.data.set_scalar(Scalar::ReqbodyProcessorErrorMsg, msg.into_bytes());
            }
        }
        self.update_args_size();
        let mut full = Vec::new();
        for kv in &self.data.request_headers {
            full.extend_from_slice(&kv.key);
            full.extend_from_slice(b": ");
            full.extend_from_slice(&kv.value);
            full.push(b'\n');
        }
        full.extend_from_slice(b"\n\n");
        full.extend_from_slice(&body);
        self.data.set_scalar(Scalar::FullRequestLength, full.len().to_string().into_bytes());
        self.data.set_scalar(Scalar::FullRequest, full);
        if !body.is_empty() {
            self.data.set_scalar(Scalar::RequestBodyLength, body.len().to_string().into_bytes());
            // The raw body is exposed for the URLENCODED and JSON processors
            // (JSON keys and structure are only partly visible in the
            // flattened ARGS names), and when a rule forced it with
            // ctl:forceRequestBodyVariable. XML and multipart bodies are
            // inspected through what their processors parsed (XML text and
            // attributes, form fields and file names), so element names and
            // file contents do not raise false positives.
            let raw_visible = matches!(processor.as_deref(), Some(b"URLENCODED") | Some(b"JSON"));
            if raw_visible || self.st.force_request_body_variable {
                self.data.set_scalar(Scalar::RequestBody, body);
            }
        }
    }

    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        self.data.response_headers.push(Kv::new(name, value));
        if name.eq_ignore_ascii_case(b"content-type") {
            let ct = value.split(|&c| c == b';').next().unwrap_or(value);
            self.data.set_scalar(Scalar::ResponseContentType, ct.to_vec());
        }
    }

    /// Phase 3.
    pub fn process_response_headers(&mut self, status: u16, protocol: &[u8]) -> Option<Intervention> {
        self.data.set_scalar(Scalar::ResponseStatus, status.to_string().into_bytes());
        self.data.set_scalar(Scalar::ResponseProtocol, protocol.to_vec());
        let mut line = protocol.to_vec();
        line.extend_from_slice(format!(" {status}").as_bytes());
        self.data.set_scalar(Scalar::StatusLine, line);
        if self.st.interrupted {
            return self.enforced();
        }
        self.run(3);
        self.enforced()
    }

    /// Whether the response body should be buffered and given to the engine
    /// (SecResponseBodyAccess and the MIME type list).
    pub fn wants_response_body(&self) -> bool {
        if !self.st.response_body_access || self.st.mode == EngineMode::Off {
            return false;
        }
        let ct = self.data.scalar(Scalar::ResponseContentType).unwrap_or(b"");
        let ct = String::from_utf8_lossy(ct).trim().to_ascii_lowercase();
        self.rules.config.response_mime_types.is_empty() || self.rules.config.response_mime_types.iter().any(|m| *m == ct)
    }

    pub fn append_response_body(&mut self, data: &[u8]) {
        let limit = self.rules.config.response_body_limit as usize;
        let room = limit.saturating_sub(self.response_body.len());
        if data.len() > room && limit > 0 {
            self.response_body.extend_from_slice(&data[..room]);
            self.data.set_scalar(Scalar::OutboundDataError, b"1".to_vec());
        } else {
            self.response_body.extend_from_slice(data);
        }
    }

    /// Phase 4.
    pub fn process_response_body(&mut self) -> Option<Intervention> {
        if self.st.interrupted {
            return self.enforced();
        }
        if self.wants_response_body() {
            if self.data.scalar(Scalar::OutboundDataError).is_none() {
                self.data.set_scalar(Scalar::OutboundDataError, b"0".to_vec());
            }
            let body = std::mem::take(&mut self.response_body);
            self.data.set_scalar(Scalar::ResponseContentLength, body.len().to_string().into_bytes());
            self.data.set_scalar(Scalar::ResponseBody, body);
        }
        self.run(4);
        self.enforced()
    }

    /// Phase 5.
    pub fn process_logging(&mut self) {
        self.run(5);
    }

    /// Every rule that matched so far, in order.
    pub fn matched_rules(&self) -> &[MatchedRule] {
        &self.st.matched
    }

    /// A TX collection value, e.g. `tx_var("blocking_inbound_anomaly_score")`.
    pub fn tx_var(&self, name: &str) -> Option<String> {
        self.stores.get(Store::Tx).get(name.as_bytes()).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The intervention that fired, if any (also in detection-only mode, where
    /// it was recorded but not enforced).
    pub fn intervention(&self) -> Option<&Intervention> {
        self.st.intervention.as_ref()
    }

    /// Whether a disruptive action was enforced (engine On).
    pub fn interrupted(&self) -> bool {
        self.st.interrupted
    }

    /// A scalar variable's value by name (`REQUEST_URI`, `REMOTE_ADDR`, ...).
    pub fn variable(&self, name: &str) -> Option<Vec<u8>> {
        match crate::variables::Var::from_name(name)? {
            crate::variables::Var::Scalar(s) => self.data.scalar(s).map(|v| v.to_vec()),
            _ => None,
        }
    }

    /// ARGS (GET then POST) as parsed, for reports and tests.
    pub fn args(&self) -> impl Iterator<Item = &Kv> {
        self.data.args_get.iter().chain(self.data.args_post.iter())
    }

    /// The request headers as given.
    pub fn request_headers(&self) -> &[Kv] {
        &self.data.request_headers
    }

    /// The unique id given at creation.
    pub fn id(&self) -> String {
        self.data.scalar(Scalar::UniqueId).map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default()
    }
}

fn set_time(d: &mut TxData, epoch: u64) {
    // Civil date from the Unix epoch (UTC), days-from-civil inverse.
    let secs = epoch % 86_400;
    let days = (epoch / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    let wday = (days + 4).rem_euclid(7);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    d.set_scalar(Scalar::TimeEpoch, epoch.to_string().into_bytes());
    d.set_scalar(Scalar::TimeYear, year.to_string().into_bytes());
    d.set_scalar(Scalar::TimeMon, format!("{month:02}").into_bytes());
    d.set_scalar(Scalar::TimeDay, format!("{day:02}").into_bytes());
    d.set_scalar(Scalar::TimeHour, format!("{h:02}").into_bytes());
    d.set_scalar(Scalar::TimeMin, format!("{m:02}").into_bytes());
    d.set_scalar(Scalar::TimeSec, format!("{s:02}").into_bytes());
    d.set_scalar(Scalar::TimeWday, wday.to_string().into_bytes());
    d.set_scalar(Scalar::Time, format!("{h:02}:{m:02}:{s:02}").into_bytes());
}

/// Splits a Cookie header the way ModSecurity does: `;`-separated pairs,
/// the key left-trimmed, empty keys skipped, the value after the first `=`.
fn parse_cookies(value: &[u8], out: &mut Vec<Kv>) {
    let mut parts: Vec<&[u8]> = value.split(|&c| c == b';').collect();
    if let Some(last) = parts.last_mut() {
        while let Some((&c, rest)) = last.split_last() {
            if c.is_ascii_whitespace() {
                *last = rest;
            } else {
                break;
            }
        }
    }
    for c in parts {
        if c.is_empty() {
            continue;
        }
        let (k, v) = match memchr::memchr(b'=', c) {
            Some(p) => (&c[..p], &c[p + 1..]),
            None => (c, &b""[..]),
        };
        let k = match k.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(p) => &k[p..],
            None => continue,
        };
        out.push(Kv::new(k, v));
    }
}

mod body_glue;

/// Time for TIME_* and DURATION. Browsers' wasm (wasm32-unknown-unknown) has
/// no clock the standard library can read, so there both read as zero and a
/// host that needs them passes a time through the request.
mod clock {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn epoch_seconds() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    pub fn epoch_seconds() -> u64 {
        0
    }

    pub struct Started {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        at: std::time::Instant,
    }

    impl Started {
        pub fn now() -> Started {
            Started {
                #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
                at: std::time::Instant::now(),
            }
        }

        pub fn elapsed_micros(&self) -> u128 {
            #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
            return self.at.elapsed().as_micros();
            #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
            return 0;
        }
    }
}

impl ConfigSource for FsSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let (dir, file) = match pattern.rfind('/') {
            Some(p) => (&pattern[..p], &pattern[p + 1..]),
            None => (".", pattern),
        };
        if dir.contains(['*', '?', '[']) {
            return Err(format!("wildcards are only supported in the file name: `{pattern}`"));
        }
        let entries = std::fs::read_dir(if dir.is_empty() { "/" } else { dir }).map_err(|e| format!("cannot list {dir}: {e}"))?;
        let mut out: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file() || t.is_symlink()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| load::glob_match(file.as_bytes(), name.as_bytes()))
            .map(|name| if pattern.contains('/') { format!("{dir}/{name}") } else { name })
            .collect();
        out.sort();
        Ok(out)
    }
}

impl ConfigSource for BundleSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files.get(path).cloned().ok_or_else(|| format!("no bundled file {path}"))
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let (dir, file) = match pattern.rfind('/') {
            Some(p) => (&pattern[..p + 1], &pattern[p + 1..]),
            None => ("", pattern),
        };
        let mut out: Vec<String> = self
            .files
            .keys()
            .filter(|k| k.starts_with(dir) && !k[dir.len()..].contains('/'))
            .filter(|k| load::glob_match(file.as_bytes(), k[dir.len()..].as_bytes()))
            .cloned()
            .collect();
        out.sort();
        Ok(out)
    }
}
