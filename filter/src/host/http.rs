//! One HTTP exchange through the rules: request headers (phase 1), the
//! request body buffered up to its limit (phase 2, also when the body ends
//! with HTTP/2 trailers), response headers (phase 3), the response body for
//! the configured MIME types (phase 4) and logging (phase 5).
//!
//! Blocking before the response has started sends a local reply (status and
//! body from `block_response`, plus the transaction id header). Once response
//! headers have gone downstream (phase 4), a block replaces the response
//! body with the block body instead: the status already sent stays, and
//! `content-length` is removed from inspected responses beforehand so the
//! replacement is framed correctly.

use std::rc::Rc;

use palisade_rules::engine::{Intervention, RuleSet, Transaction};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use self_cell::self_cell;

use super::filter::Shared;
use super::props;
use crate::config::{normalize_authority, LimitAction};
use crate::errorlog::{self, LineContext};
use crate::policy::{ActivePolicy, Mode};
use crate::verdict::{self, RequestInfo};

type Tx<'a> = Transaction<'a>;

self_cell!(
    /// A transaction together with the rule set it borrows.
    struct TxCell {
        owner: Rc<RuleSet>,
        #[not_covariant]
        dependent: Tx,
    }
);

/// Where the exchange stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Request headers not seen yet (or mode off: nothing to do).
    Idle,
    /// Buffering the request body.
    RequestBody,
    /// Request fully inspected, waiting for the response.
    Forwarded,
    /// Buffering the response body.
    ResponseBody,
    /// Nothing more to inspect.
    Done,
}

pub struct Http {
    shared: Rc<Shared>,
    policy: Rc<ActivePolicy>,
    tx: Option<TxCell>,
    mode: Mode,
    stage: Stage,
    id: String,
    authority: String,
    method: String,
    uri: String,
    protocol: String,
    client: String,
    status: u16,
    /// Request/response body bytes given to the engine so far.
    fed: usize,
    /// The status of the local reply the filter sent, if it blocked.
    local_reply: Option<u16>,
    /// The response body was replaced by the block body.
    body_replaced: bool,
    body_limit_hit: bool,
    /// Matched rules already written to the error log.
    logged_upto: usize,
    /// The rule whose intervention the filter enforced, and its status.
    enforced: Option<(u32, u16)>,
    /// A request body callback came (to detect a host that withholds them).
    body_seen: bool,
}

impl Http {
    pub fn new(shared: Rc<Shared>) -> Http {
        let policy = shared.policy();
        Http {
            shared,
            policy,
            tx: None,
            mode: Mode::Off,
            stage: Stage::Idle,
            id: String::new(),
            authority: String::new(),
            method: String::new(),
            uri: String::new(),
            protocol: String::new(),
            client: String::new(),
            status: 0,
            fed: 0,
            local_reply: None,
            body_replaced: false,
            body_limit_hit: false,
            logged_upto: 0,
            enforced: None,
            body_seen: false,
        }
    }

    fn with_tx<R>(&mut self, f: impl FnOnce(&mut Transaction<'_>) -> R) -> Option<R> {
        self.tx
            .as_mut()
            .map(|cell| cell.with_dependent_mut(|_, tx| f(tx)))
    }

    /// Writes the error-log lines of rules matched since the last call.
    fn log_new_matches(&mut self) {
        if !self.shared.config.error_log {
            return;
        }
        let Some(cell) = self.tx.as_ref() else { return };
        let ctx = LineContext {
            client: &self.client,
            authority: &self.authority,
            uri: &self.uri,
            transaction_id: &self.id,
        };
        let enforced = self.enforced;
        let upto = cell.with_dependent(|_, tx| {
            let rules = tx.matched_rules();
            for r in rules.iter().skip(self.logged_upto).filter(|r| r.logged) {
                let denied = enforced.filter(|(id, _)| *id == r.id).map(|(_, s)| s);
                log::warn!("{}", errorlog::format(r, &ctx, denied));
            }
            rules.len()
        });
        self.logged_upto = upto;
    }

    fn block_status(&self, iv: &Intervention) -> u16 {
        // A rule that names its own status keeps it; otherwise the configured one.
        if iv.redirect.is_some() || iv.status != 403 {
            iv.status
        } else {
            self.shared.config.block_response.status
        }
    }

    /// Sends the local block reply (request side, or response headers).
    fn send_block(&mut self, status: u16, location: Option<&str>) {
        let br = &self.shared.config.block_response;
        let mut headers = vec![
            ("content-type", "text/plain; charset=utf-8"),
            (br.transaction_id_header.as_str(), self.id.as_str()),
        ];
        if let Some(l) = location {
            headers.push(("location", l));
        }
        let body = br.body.clone();
        if let Err(e) = hostcalls::send_http_response(status as u32, headers, Some(body.as_bytes()))
        {
            log::error!("palisade: cannot send block reply: {e:?}");
        }
        self.local_reply = Some(status);
        self.status = status;
        self.stage = Stage::Done;
    }

    /// Enforces an intervention in block mode; returns whether it blocked.
    fn enforce(&mut self, iv: Option<Intervention>) -> bool {
        let blocked = match iv {
            Some(iv) if self.mode == Mode::Block => {
                let status = self.block_status(&iv);
                self.enforced = Some((iv.rule_id, status));
                self.send_block(status, iv.redirect.as_deref());
                true
            }
            _ => false,
        };
        self.log_new_matches();
        blocked
    }

    fn note_body_limit(&mut self, response: bool) {
        if !self.body_limit_hit {
            self.body_limit_hit = true;
            self.shared.metrics.body_limit(response);
        }
    }

    /// Phase 2; returns the action for the request.
    fn finish_request_body(&mut self) -> Action {
        let iv = self.with_tx(|tx| tx.process_request_body()).flatten();
        if self.enforce(iv) {
            return Action::Pause;
        }
        self.stage = Stage::Forwarded;
        Action::Continue
    }

    /// The request body is over its limit.
    fn request_over_limit(&mut self) -> Action {
        self.note_body_limit(false);
        let rb = &self.shared.config.request_body;
        if rb.on_limit == LimitAction::Reject && self.mode == Mode::Block {
            self.send_block(413, None);
            self.log_new_matches();
            return Action::Pause;
        }
        self.finish_request_body()
    }

    /// Feeds new body bytes `[fed, min(size, limit + 1))` to the engine. The
    /// one byte past the limit lets the engine see the overflow and set
    /// INBOUND_DATA_ERROR / OUTBOUND_DATA_ERROR, as ModSecurity does.
    // `let _ =`: the engine's append methods return () or an intervention
    // depending on its version; neither is acted on here.
    #[allow(clippy::let_unit_value)]
    fn feed(&mut self, buffer: BufferType, size: usize, limit: usize) {
        let end = size.min(limit.saturating_add(1));
        if end <= self.fed {
            return;
        }
        let start = self.fed;
        if let Ok(Some(bytes)) = hostcalls::get_buffer(buffer, start, end - start) {
            self.fed = start + bytes.len();
            let response = buffer == BufferType::HttpResponseBody;
            // The prelude sets the engine's limits to ProcessPartial: the
            // filter decides what an oversized body means.
            self.with_tx(|tx| {
                if response {
                    let _ = tx.append_response_body(&bytes);
                } else {
                    let _ = tx.append_request_body(&bytes);
                }
            });
        }
    }

    /// Phase 4; replaces the buffered body if the rules block.
    fn finish_response_body(&mut self, size: usize) {
        self.stage = Stage::Done;
        let iv = self.with_tx(|tx| tx.process_response_body()).flatten();
        if let Some(iv) = iv.filter(|_| self.mode == Mode::Block) {
            // Logged with the status the rule asked for, though the one
            // already sent stays.
            self.enforced = Some((iv.rule_id, self.block_status(&iv)));
            self.replace_response_body(size);
        }
        self.log_new_matches();
    }

    fn replace_response_body(&mut self, size: usize) {
        let body = self.shared.config.block_response.body.clone();
        if let Err(e) =
            hostcalls::set_buffer(BufferType::HttpResponseBody, 0, size, body.as_bytes())
        {
            log::error!("palisade: cannot replace the response body: {e:?}");
        }
        self.body_replaced = true;
    }

    /// Starts the transaction from the request headers. `has_body`: the
    /// headers did not end the stream.
    fn setup(&mut self, headers: &[(String, Vec<u8>)], has_body: bool) {
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        // Present but empty when the request had an empty Host header.
        let authority_header = get(":authority");
        let raw_authority = authority_header.clone().unwrap_or_default();
        self.authority = normalize_authority(&raw_authority);
        self.method = get(":method").unwrap_or_default();
        self.uri = get(":path").unwrap_or_default();
        if self.method == "CONNECT" && self.uri.is_empty() {
            // Envoy keeps a CONNECT's authority-form target in :authority.
            self.uri = raw_authority.clone();
        }
        self.protocol =
            props::string(&["request", "protocol"]).unwrap_or_else(|| "HTTP/1.1".into());
        let source = props::string(&["source", "address"]).unwrap_or_default();
        let (client_ip, client_port) = props::split_address(&source);
        self.client = client_ip.clone();
        self.id = match get("x-request-id") {
            Some(v)
                if !v.is_empty()
                    && v.len() <= 64
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                v
            }
            _ => self.shared.next_tx_id(),
        };

        let effective = self.policy.for_authority(&self.authority).clone();
        self.mode = effective.mode;
        if self.mode == Mode::Off {
            return;
        }
        match self.shared.rules_for(&self.authority) {
            Ok(rules) => {
                let id = self.id.clone();
                self.tx = Some(TxCell::new(rules, |rs| {
                    Transaction::new(rs, &id, &effective.overrides)
                }));
            }
            Err(()) => self.shared.metrics.engine_unavailable(),
        }
        let dest = props::string(&["destination", "address"]).unwrap_or_default();
        let (server_ip, server_port) = props::split_address(&dest);
        let (method, uri, protocol) =
            (self.method.clone(), self.uri.clone(), self.protocol.clone());
        self.with_tx(|tx| {
            tx.process_connection(&client_ip, client_port, &server_ip, server_port);
            tx.process_uri(method.as_bytes(), uri.as_bytes(), protocol.as_bytes());
            // Envoy moves Host into :authority; give it back to the rules
            // (empty if it was empty, nothing when the request had none).
            if let Some(host) = &authority_header {
                tx.add_request_header(b"host", host.as_bytes());
            }
            for (k, v) in headers {
                if !k.starts_with(':') {
                    tx.add_request_header(k.as_bytes(), v);
                }
            }
            if implied_chunked(&protocol, has_body, headers) {
                tx.add_request_header(b"transfer-encoding", b"chunked");
            }
        });
    }
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.shared.refresh_policy(false);
        self.policy = self.shared.policy();
        let headers = hostcalls::get_map_bytes(MapType::HttpRequestHeaders).unwrap_or_default();
        self.setup(&headers, !end_of_stream);
        if self.mode == Mode::Off {
            self.stage = Stage::Done;
            return Action::Continue;
        }
        let iv = self.with_tx(|tx| tx.process_request_headers()).flatten();
        if self.enforce(iv) {
            return Action::Pause;
        }
        if end_of_stream || self.method == "CONNECT" {
            // A CONNECT's "body" is the tunnel: nothing to buffer.
            return self.finish_request_body();
        }
        let limit = self.shared.config.request_body.limit_bytes;
        let declared = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64)
            && self.shared.config.request_body.on_limit == LimitAction::Reject
            && self.mode == Mode::Block
        {
            self.note_body_limit(false);
            self.send_block(413, None);
            return Action::Pause;
        }
        self.stage = Stage::RequestBody;
        if self.shared.config.request_body.hold_headers {
            // Needs Envoy's allow_on_headers_stop_iteration; otherwise Envoy
            // stops all iteration and the body never reaches the filter.
            Action::Pause
        } else {
            // Headers go upstream now; the body is held until inspected.
            Action::Continue
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.body_seen = true;
        if self.stage != Stage::RequestBody {
            return Action::Continue;
        }
        let limit = self.shared.config.request_body.limit_bytes;
        self.feed(BufferType::HttpRequestBody, body_size, limit);
        if body_size > limit {
            return self.request_over_limit();
        }
        if end_of_stream {
            return self.finish_request_body();
        }
        Action::Pause
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.stage != Stage::RequestBody {
            return Action::Continue;
        }
        // An HTTP/2 body that ends with trailers: the body is complete now.
        self.finish_request_body()
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        // Our own local replies pass through here too; nothing to inspect.
        if self.local_reply.is_some() || self.stage != Stage::Forwarded {
            return Action::Continue;
        }
        let headers = hostcalls::get_map_bytes(MapType::HttpResponseHeaders).unwrap_or_default();
        self.status = headers
            .iter()
            .find(|(k, _)| k == ":status")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        if self.tx.is_none() {
            self.stage = Stage::Done;
            return Action::Continue;
        }
        let (status, protocol) = (self.status, self.protocol.clone());
        let iv = self
            .with_tx(|tx| {
                for (k, v) in &headers {
                    if !k.starts_with(':') {
                        tx.add_response_header(k.as_bytes(), v);
                    }
                }
                tx.process_response_headers(status, protocol.as_bytes())
            })
            .flatten();
        if self.enforce(iv) {
            return Action::Pause;
        }
        let wants_body = self.with_tx(|tx| tx.wants_response_body()).unwrap_or(false);
        if end_of_stream || !wants_body {
            // Phase 4 still runs (outbound scoring), with no body, while a
            // block can still be a proper local reply.
            self.stage = Stage::Done;
            let iv = self.with_tx(|tx| tx.process_response_body()).flatten();
            if self.enforce(iv) {
                return Action::Pause;
            }
            return Action::Continue;
        }
        // The body will be inspected and may be replaced: drop the length.
        let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, "content-length", None);
        self.fed = 0;
        self.stage = Stage::ResponseBody;
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.body_replaced {
            // Swallow what follows a replaced body.
            let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, body_size, b"");
            return Action::Continue;
        }
        if self.stage != Stage::ResponseBody {
            return Action::Continue;
        }
        let rb = &self.shared.config.response_body;
        let (limit, on_limit) = (rb.limit_bytes, rb.on_limit);
        self.feed(BufferType::HttpResponseBody, body_size, limit);
        if body_size > limit {
            self.note_body_limit(true);
            if on_limit == LimitAction::Reject && self.mode == Mode::Block {
                self.stage = Stage::Done;
                self.replace_response_body(body_size);
                return Action::Continue;
            }
            self.finish_response_body(body_size);
            return Action::Continue;
        }
        if end_of_stream {
            self.finish_response_body(body_size);
            return Action::Continue;
        }
        Action::Pause
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.stage == Stage::ResponseBody {
            // The body ended with trailers; what is buffered is all of it.
            self.stage = Stage::Done;
            let iv = self.with_tx(|tx| tx.process_response_body()).flatten();
            if iv.is_some() && self.mode == Mode::Block {
                log::warn!(
                    "palisade: response of {} blocked after its body was sent (trailers); cannot replace it",
                    self.id
                );
            }
            self.log_new_matches();
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        if self.stage == Stage::RequestBody
            && !self.body_seen
            && self.shared.config.request_body.hold_headers
        {
            self.shared.warn_hold_headers();
        }
        if self.mode != Mode::Off {
            self.with_tx(|tx| tx.process_logging());
            self.log_new_matches();
        }
        let blocked = self.local_reply.is_some() || self.body_replaced;
        let status = self.local_reply.unwrap_or(self.status);
        let shared = self.shared.clone();
        let metrics = &shared.metrics;
        let (outcome, rule_ids, event) = match self.tx.as_ref() {
            Some(cell) => cell.with_dependent(|_, tx| {
                let rules = tx.matched_rules();
                let outcome = verdict::outcome(blocked, rules);
                let scores = verdict::scores(&|n: &str| tx.tx_var(n));
                metrics.anomaly_score(scores.0);
                let ids: Vec<u32> = verdict::reported(rules).map(|r| r.id).collect();
                let masked = !ids.is_empty()
                    && ids
                        .iter()
                        .all(|id| self.policy.is_masked(*id, &self.authority, self.path()));
                let info = RequestInfo {
                    transaction_id: &self.id,
                    time: props::now_secs(),
                    authority: &self.authority,
                    client: &self.client,
                    method: &self.method,
                    uri: &self.uri,
                    protocol: &self.protocol,
                    status,
                    policy_version: self.policy.version,
                };
                let event = if masked {
                    None
                } else {
                    verdict::event(&info, outcome, rules, scores)
                };
                (outcome, ids, event)
            }),
            None => (verdict::outcome(blocked, &[]), Vec::new(), None),
        };
        metrics.outcome(outcome);
        for id in &rule_ids {
            metrics.rule_hit(*id);
        }
        let mut buffer = shared.buffer.borrow_mut();
        buffer.record(&self.authority, outcome, &rule_ids, self.body_limit_hit);
        if let Some(e) = event {
            buffer.push_event(e);
        }
    }
}

/// Envoy's HTTP/1 codec removes `Transfer-Encoding` from the headers it
/// hands to filters. An HTTP/1.x request with a body and no Content-Length
/// can only have been chunked, so the rules get the header back (CRS checks
/// it: 920171, 920180).
fn implied_chunked(protocol: &str, has_body: bool, headers: &[(String, Vec<u8>)]) -> bool {
    has_body
        && protocol.starts_with("HTTP/1")
        && !headers
            .iter()
            .any(|(k, _)| k == "content-length" || k == "transfer-encoding")
}

impl Http {
    fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or(&self.uri)
    }
}
