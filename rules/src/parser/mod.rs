//! Reading SecLang configuration text into directives.
//!
//! This module owns the lexical layer only: physical lines joined by trailing
//! backslashes, `#` comment lines, and the splitting of a directive line into
//! its name and arguments (bare words, or double- or single-quoted strings in
//! which a backslash before the quote character escapes it). What the
//! arguments mean is decided by [`crate::engine::load`], which also follows
//! `Include`. Variable lists and action lists have their own grammars, parsed
//! in [`crate::variables`] and [`crate::actions`].

use crate::engine::ConfigError;
use std::sync::Arc;

/// One directive with its arguments, as written (quotes removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub location: Location,
}

/// Where a directive starts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Location {
    pub file: Arc<str>,
    pub line: usize,
}

impl Location {
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError { file: self.file.to_string(), line: self.line, message: message.into() }
    }
}

/// Splits configuration text into directives.
pub fn directives(file: &str, text: &str) -> Result<Vec<Directive>, ConfigError> {
    let file: Arc<str> = Arc::from(file);
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut start_line = 0;
    let mut continuing = false;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if !continuing {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            start_line = line_no;
            logical.clear();
        }
        let body = raw.trim_end();
        if let Some(stripped) = body.strip_suffix('\\') {
            logical.push_str(stripped);
            continuing = true;
            continue;
        }
        logical.push_str(raw);
        continuing = false;
        let location = Location { file: file.clone(), line: start_line };
        if let Some(d) = split_line(&logical, location)? {
            out.push(d);
        }
    }
    if continuing {
        let location = Location { file: file.clone(), line: start_line };
        if let Some(d) = split_line(&logical, location)? {
            out.push(d);
        }
    }
    Ok(out)
}

/// Splits one logical line into the directive name and its arguments.
fn split_line(line: &str, location: Location) -> Result<Option<Directive>, ConfigError> {
    let mut args = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let quote = c;
            let mut value = Vec::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < bytes.len() {
                let b = bytes[j];
                if b == b'\\' && j + 1 < bytes.len() {
                    if bytes[j + 1] == quote {
                        value.push(quote);
                    } else {
                        value.push(b'\\');
                        value.push(bytes[j + 1]);
                    }
                    j += 2;
                    continue;
                }
                if b == quote {
                    closed = true;
                    break;
                }
                value.push(b);
                j += 1;
            }
            if !closed {
                let snippet: String = line[i..].chars().take(40).collect();
                return Err(location.error(format!("unterminated quoted argument starting at `{snippet}`")));
            }
            args.push(String::from_utf8_lossy(&value).into_owned());
            i = j + 1;
            if i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                let snippet: String = line[i..].chars().take(40).collect();
                return Err(location.error(format!("unexpected text `{snippet}` after a quoted argument")));
            }
        } else {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            args.push(line[start..i].to_string());
        }
    }
    if args.is_empty() {
        return Ok(None);
    }
    let name = args.remove(0);
    Ok(Some(Directive { name, args, location }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Directive {
        let mut d = directives("t.conf", text).unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        d.remove(0)
    }

    #[test]
    fn continuation_and_quotes() {
        let d = one("# comment\n\nSecRule ARGS \"@rx a\\\"b\" \\\n    \"id:1,\\\n    phase:2\"\n");
        assert_eq!(d.name, "SecRule");
        assert_eq!(d.args, vec!["ARGS", "@rx a\"b", "id:1,    phase:2"]);
        assert_eq!(d.location.line, 3);
    }

    #[test]
    fn backslashes_other_than_quote_are_kept() {
        let d = one(r#"SecRule ARGS "@rx \d+\\" "id:1""#);
        assert_eq!(d.args[1], r"@rx \d+\\");
    }

    #[test]
    fn unterminated_quote_is_located() {
        let e = directives("x.conf", "\nSecRule ARGS \"@rx a").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unterminated"), "{e}");
    }

    #[test]
    fn crlf_and_trailing_space_after_backslash() {
        let d = one("SecAction \\  \r\n \"id:1,pass\"\r\n");
        assert_eq!(d.args, vec!["id:1,pass"]);
    }

    #[test]
    fn garbage_after_quote() {
        assert!(directives("x", "SecRule \"ARGS\"x \"@rx a\"").is_err());
    }
}
