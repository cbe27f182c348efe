//! The records a transaction leaves: one ModSecurity-style error-log line per
//! logged rule match (the form go-ftw and log tooling read), and a JSON audit
//! record in the shape of ModSecurity's JSON audit log.

use crate::engine::{severity_name, MatchedRule, Transaction};
use serde_json::{json, Value};

pub mod errorlog;

/// One error-log line for a matched rule, in the transaction's context.
pub fn error_log_line(tx: &Transaction, m: &MatchedRule) -> String {
    let var = |n: &str| tx.variable(n).map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default();
    let (client, host, uri, id) = (var("REMOTE_ADDR"), var("SERVER_NAME"), var("REQUEST_URI_RAW"), tx.id());
    let ctx = errorlog::LineContext { client: &client, authority: &host, uri: &uri, transaction_id: &id };
    let denied = tx.intervention().filter(|i| tx.interrupted() && i.rule_id == m.id).map(|i| i.status);
    errorlog::format(m, &ctx, denied)
}

/// Error-log lines for every logged match of the transaction.
pub fn error_log_lines(tx: &Transaction) -> Vec<String> {
    tx.matched_rules().iter().filter(|m| m.logged).map(|m| error_log_line(tx, m)).collect()
}

/// The JSON audit record.
pub fn audit_record(tx: &Transaction, response_status: Option<u16>) -> Value {
    let var = |n: &str| tx.variable(n).map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default();
    let mut headers = serde_json::Map::new();
    for kv in tx.request_headers() {
        headers.insert(String::from_utf8_lossy(&kv.key).into_owned(), Value::String(String::from_utf8_lossy(&kv.value).into_owned()));
    }
    let messages: Vec<Value> = tx
        .matched_rules()
        .iter()
        .filter(|m| m.logged)
        .map(|m| {
            json!({
                "message": m.msg,
                "details": {
                    "match": format!("Matched \"Operator `{}' against variable `{}' (Value: `{}' )", m.operator, m.variable, m.value),
                    "reference": "",
                    "ruleId": m.id.to_string(),
                    "file": m.file,
                    "lineNumber": m.line.to_string(),
                    "data": m.data,
                    "severity": m.severity.map(|s| s.to_string()).unwrap_or_default(),
                    "severityName": m.severity.map(severity_name).unwrap_or(""),
                    "ver": m.ver,
                    "rev": "",
                    "tags": m.tags,
                    "maturity": "0",
                    "accuracy": "0"
                }
            })
        })
        .collect();
    let proto = var("REQUEST_PROTOCOL");
    json!({
        "transaction": {
            "client_ip": var("REMOTE_ADDR"),
            "time_stamp": var("TIME_EPOCH"),
            "server_id": "palisade",
            "client_port": var("REMOTE_PORT").parse::<u64>().unwrap_or(0),
            "host_ip": var("SERVER_ADDR"),
            "host_port": var("SERVER_PORT").parse::<u64>().unwrap_or(0),
            "unique_id": tx.id(),
            "request": {
                "method": var("REQUEST_METHOD"),
                "http_version": proto.trim_start_matches("HTTP/").parse::<f64>().unwrap_or(1.1),
                "uri": var("REQUEST_URI_RAW"),
                "headers": headers,
            },
            "response": {
                "http_code": response_status.unwrap_or(0),
                "headers": {},
            },
            "producer": {
                "modsecurity": concat!("Palisade ", env!("CARGO_PKG_VERSION")),
                "connector": "palisade-rules",
                "secrules_engine": format!("{:?}", tx.mode()),
                "components": [],
            },
            "messages": messages,
        }
    })
}
