//! Evaluating one raw HTTP/1.1 request offline: the engine behind
//! `palisade rules eval` and the rule playground. The request goes through
//! every phase; the response is a plain `200` without a body.

use crate::audit;
use crate::engine::{Overrides, RuleSet, Transaction};
use crate::http::{parse_request, ParseError};
use crate::scoring::{report, Report};
use serde::Serialize;

/// What one offline evaluation found.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub report: Report,
    /// One ModSecurity-style error-log line per logged match.
    pub log: Vec<String>,
}

/// Parses `raw` (the bytes as sent) and runs it through `rules`.
pub fn evaluate(rules: &RuleSet, raw: &[u8], overrides: &Overrides) -> Result<Outcome, ParseError> {
    let req = parse_request(raw)?;
    let mut tx = Transaction::new(rules, "offline-1", overrides);
    tx.process_connection("127.0.0.1", 50000, "127.0.0.1", 80);
    let protocol: &[u8] = if req.is_http09() { b"HTTP/0.9" } else { &req.version };
    tx.process_uri(&req.method, &req.uri, protocol);
    for (name, value) in req.forwarded_headers() {
        tx.add_request_header(&name, &value);
    }
    let mut stop = tx.process_request_headers();
    if stop.is_none() {
        if !req.body.is_empty() {
            stop = tx.append_request_body(&req.body);
        }
        if stop.is_none() {
            stop = tx.process_request_body();
        }
    }
    if stop.is_none() {
        tx.add_response_header(b"Content-Type", b"text/html");
        if tx.process_response_headers(200, b"HTTP/1.1").is_none() {
            tx.process_response_body();
        }
    }
    tx.process_logging();
    let log = audit::error_log_lines(&tx);
    Ok(Outcome { report: report(&tx), log })
}
