//! The one-line error-log record per matched rule, in the ModSecurity form
//! that go-ftw and log tooling read:
//! `ModSecurity: Warning. ... [id "942100"] [msg "..."] [data "..."] [severity "2"] [tag "..."] ...`.
//!
//! Field values are escaped the way libmodsecurity 3.0.9 writes them (`\xHH`),
//! so a record is always one line and a `"` inside `[data]` cannot end the
//! field early.

use std::fmt::Write;

use crate::engine::MatchedRule;

/// Context of the transaction the rule matched in.
pub struct LineContext<'a> {
    pub client: &'a str,
    pub authority: &'a str,
    pub uri: &'a str,
    pub transaction_id: &'a str,
}

/// How a field's text is escaped, following libmodsecurity 3.0.9's log.
#[derive(Clone, Copy)]
enum Esc {
    /// Text copied from the rule (msg, tags, file): control characters as
    /// `\xHH`, everything else as is.
    RuleText,
    /// Request-derived values (variable, value): bytes outside printable
    /// ASCII as `\xHH`.
    Value,
    /// `[data]`: like `Value`, and `"` and `\` as well.
    Data,
}

/// Appends `s` escaped, cut after `max` input bytes (marked with `...`).
fn push(out: &mut String, s: &str, esc: Esc, max: usize) {
    let mut used = 0;
    for c in s.chars() {
        if used + c.len_utf8() > max {
            out.push_str("...");
            return;
        }
        used += c.len_utf8();
        let plain = match esc {
            Esc::RuleText => !c.is_control(),
            Esc::Value => (' '..='~').contains(&c),
            Esc::Data => (' '..='~').contains(&c) && c != '"' && c != '\\',
        };
        if plain {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

fn field(out: &mut String, name: &str, value: &str, esc: Esc, max: usize) {
    out.push_str(" [");
    out.push_str(name);
    out.push_str(" \"");
    push(out, value, esc, max);
    out.push_str("\"]");
}

/// Formats the record for one matched rule. `denied` is `Some(status)` when
/// this rule's disruptive action was enforced. Empty msg, data, severity and
/// ver are left out, as ModSecurity does.
pub fn format(rule: &MatchedRule, ctx: &LineContext<'_>, denied: Option<u16>) -> String {
    let mut out = String::with_capacity(256 + rule.msg.len() + rule.data.len());
    out.push_str("[client ");
    push(&mut out, ctx.client, Esc::Value, 64);
    out.push_str("] ModSecurity: ");
    match denied {
        Some(status) => {
            let _ = write!(
                out,
                "Access denied with code {status} (phase {}). ",
                rule.phase
            );
        }
        None => out.push_str("Warning. "),
    }
    if rule.variable.is_empty() {
        out.push_str("Matched.");
    } else {
        out.push_str("Matched variable `");
        push(&mut out, &rule.variable, Esc::Value, 256);
        out.push_str("' (Value: `");
        push(&mut out, &rule.value, Esc::Value, 1024);
        out.push_str("' )");
    }
    field(&mut out, "file", &rule.file, Esc::RuleText, 256);
    field(&mut out, "line", &rule.line.to_string(), Esc::RuleText, 16);
    field(&mut out, "id", &rule.id.to_string(), Esc::RuleText, 16);
    if !rule.msg.is_empty() {
        field(&mut out, "msg", &rule.msg, Esc::RuleText, 1024);
    }
    if !rule.data.is_empty() {
        field(&mut out, "data", &rule.data, Esc::Data, 1024);
    }
    if let Some(sev) = rule.severity {
        field(&mut out, "severity", &sev.to_string(), Esc::RuleText, 8);
    }
    if !rule.ver.is_empty() {
        field(&mut out, "ver", &rule.ver, Esc::RuleText, 64);
    }
    for tag in &rule.tags {
        field(&mut out, "tag", tag, Esc::RuleText, 256);
    }
    field(&mut out, "hostname", ctx.authority, Esc::Value, 256);
    field(&mut out, "uri", ctx.uri, Esc::RuleText, 1024);
    field(&mut out, "unique_id", ctx.transaction_id, Esc::Value, 128);
    out
}

/// The syslog-style name of a ModSecurity severity number.
pub fn severity_name(s: Option<u8>) -> &'static str {
    match s {
        Some(0) => "EMERGENCY",
        Some(1) => "ALERT",
        Some(2) => "CRITICAL",
        Some(3) => "ERROR",
        Some(4) => "WARNING",
        Some(5) => "NOTICE",
        Some(6) => "INFO",
        Some(7) => "DEBUG",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> MatchedRule {
        MatchedRule {
            id: 942100,
            phase: 2,
            msg: "SQL Injection Attack Detected via libinjection".into(),
            data: "Matched Data: s&1c found within ARGS:id: 1\" OR 1=1--".into(),
            severity: Some(2),
            tags: vec!["attack-sqli".into(), "paranoia-level/1".into()],
            variable: "ARGS:id".into(),
            value: "1\" OR 1=1--\n".into(),
            logged: true,
            disruptive: "block".into(),
            file: "@crs/REQUEST-942-APPLICATION-ATTACK-SQLI.conf".into(),
            line: 46,
            ver: "OWASP_CRS/4.28.0".into(),
            ..Default::default()
        }
    }

    #[test]
    fn ftw_readable_line() {
        let ctx = LineContext {
            client: "127.0.0.1",
            authority: "localhost",
            uri: "/?id=1",
            transaction_id: "abc",
        };
        let line = format(&rule(), &ctx, None);
        assert!(!line.contains('\n'));
        assert!(line.contains("ModSecurity: Warning. "));
        assert!(line.contains(r#"[id "942100"]"#));
        assert!(line.contains(r#"[msg "SQL Injection Attack Detected via libinjection"]"#));
        assert!(
            line.contains(r#"[data "Matched Data: s&1c found within ARGS:id: 1\x22 OR 1=1--"]"#)
        );
        assert!(line.contains(r#"[severity "2"]"#));
        assert!(line.contains(r#"[tag "attack-sqli"] [tag "paranoia-level/1"]"#));
        assert!(line.contains(r#"(Value: `1" OR 1=1--\x0a' )"#), "{line}");
        assert!(line.contains(r#"[unique_id "abc"]"#));
        let denied = format(&rule(), &ctx, Some(403));
        assert!(denied.contains("Access denied with code 403 (phase 2)."));
    }

    #[test]
    fn long_values_are_cut_on_char_boundaries() {
        let mut r = rule();
        r.value = "é".repeat(600);
        r.msg = String::new();
        let ctx = LineContext {
            client: "c",
            authority: "h",
            uri: "/",
            transaction_id: "t",
        };
        let line = format(&r, &ctx, None);
        assert!(line.contains("\\xc3\\xa9...' )"), "{line}");
        assert!(!line.contains("[msg "), "empty msg is left out");
        assert_eq!(severity_name(Some(2)), "CRITICAL");
        assert_eq!(severity_name(None), "");
    }
}
