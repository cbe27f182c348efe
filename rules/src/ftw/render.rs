//! Turning a stage's input into the exact bytes go-ftw puts on the wire.
//!
//! go-ftw's rules, established from its source (`ftwhttp/request.go`,
//! `ftwhttp/header.go`, `test/defaults.go`, `test/data.go`, `runner/run.go`):
//!
//! - `encoded_request` (base64) is decoded and sent as it is; nothing else of
//!   the input is used. It may not be combined with `data`.
//! - Otherwise the request line is `{method} {uri} {version}\r\n` with the
//!   defaults `GET`, `/` and `HTTP/1.1`; the strings are used verbatim (an
//!   empty version leaves `GET / ` followed by CRLF).
//! - Headers from the YAML map are written sorted by name (byte order), each as
//!   `Name: value\r\n`. go-ftw never adds a Host header of its own.
//! - The body is `data` (after Go-template expansion: the suite uses
//!   `{{ "1" | repeat 64200 }}`) or base64 `encoded_data`. No newline is
//!   added or stripped; YAML decides the bytes.
//! - With `autocomplete_headers` (default true; `stop_magic` is its deprecated
//!   inverse) and a non-empty body: `Content-Type:
//!   application/x-www-form-urlencoded` is appended if no Content-Type was
//!   given, and when a Content-Type equal (ignoring case) to that is present
//!   and the body contains neither `%` nor `+`, each `key=value` pair of the
//!   body is URL-encoded (Go's `url.QueryEscape`, so spaces become `+`).
//! - When a Content-Type contains `multipart/form-data;` every LF in the body
//!   becomes CRLF (regardless of `autocomplete_headers`).
//! - With `autocomplete_headers`: `Connection: close` is appended unless a
//!   Connection header exists, then `Content-Length: <body length>` unless one
//!   exists, when the body is non-empty or the method matches go-ftw's
//!   `^POST|PUT|PATCH|DELETE$` (sic: that regex is unanchored for PUT and PATCH).
//! - Header names are compared the way Go's `CanonicalMIMEHeaderKey` does.

use std::fmt;

use base64::Engine as _;

use super::model::Input;

/// Why a stage could not be turned into a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderError(pub String);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RenderError {}

/// Largest body a template may expand to.
const MAX_TEMPLATE_OUTPUT: usize = 16 << 20;

/// Whether go-ftw would autocomplete headers for this input.
pub fn autocomplete(input: &Input) -> bool {
    match (input.autocomplete_headers, input.stop_magic) {
        (Some(a), _) => a,
        (None, Some(stop)) => !stop,
        (None, None) => true,
    }
}

/// The bytes go-ftw sends for `input`.
pub fn render(input: &Input) -> Result<Vec<u8>, RenderError> {
    if !input.uris.is_empty() {
        return Err(RenderError("`uris` (schema v3) is not supported".into()));
    }
    if input.response.is_some() {
        return Err(RenderError(
            "`input.response` (schema v3) is not supported".into(),
        ));
    }
    if input.follow_redirect == Some(true) {
        return Err(RenderError("`follow_redirect` is not supported".into()));
    }
    let encoded = input.encoded_request.as_deref().filter(|s| !s.is_empty());
    let raw = input.raw_request.as_deref().filter(|s| !s.is_empty());
    if let Some(b64) = encoded.or(raw) {
        if input.data.as_deref().is_some_and(|d| !d.is_empty()) {
            return Err(RenderError(
                "'data' and 'encoded_request' must not be set simultaneously".into(),
            ));
        }
        return decode_base64(b64).map_err(|e| RenderError(format!("encoded_request: {e}")));
    }

    let method = input.method.as_deref().unwrap_or("GET");
    let uri = input.uri.as_deref().unwrap_or("/");
    let version = input.version.as_deref().unwrap_or("HTTP/1.1");
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // BTreeMap iteration is already byte-ordered, like go-ftw's sort.
    let mut data = body(input)?;
    let auto = autocomplete(input);

    if !data.is_empty() && auto {
        if !has_any(&headers, "Content-Type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let form = headers
            .iter()
            .any(|(n, v)| same_name(n, "Content-Type") && v.eq_ignore_ascii_case(FORM));
        if form {
            data = encode_form(data);
        }
    }
    let multipart = headers.iter().any(|(n, v)| {
        same_name(n, "Content-Type") && v.to_ascii_lowercase().contains("multipart/form-data;")
    });
    if multipart {
        data = lf_to_crlf(&data);
    }
    if auto {
        if !has_any(&headers, "Connection") {
            headers.push(("Connection".into(), "close".into()));
        }
        if !has_any(&headers, "Content-Length") && (!data.is_empty() || method_wants_length(method))
        {
            headers.push(("Content-Length".into(), data.len().to_string()));
        }
    }

    let mut out = Vec::with_capacity(64 + uri.len() + data.len() + headers.len() * 32);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(uri.as_bytes());
    out.push(b' ');
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&data);
    Ok(out)
}

const FORM: &str = "application/x-www-form-urlencoded";

/// The body before any header-dependent rewriting.
fn body(input: &Input) -> Result<Vec<u8>, RenderError> {
    if let Some(d) = &input.data {
        return expand_template(d)
            .map(String::into_bytes)
            .map_err(|e| RenderError(format!("data template: {e}")));
    }
    if let Some(b64) = &input.encoded_data {
        return decode_base64(b64).map_err(|e| RenderError(format!("encoded_data: {e}")));
    }
    Ok(Vec::new())
}

/// Go's `base64.StdEncoding.DecodeString`, which skips CR and LF.
fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    let cleaned: Vec<u8> = s.bytes().filter(|&b| b != b'\r' && b != b'\n').collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .map_err(|e| format!("invalid base64: {e}"))
}

/// go-ftw's `methodsWithBodyRegex`, `^POST|PUT|PATCH|DELETE$`.
fn method_wants_length(m: &str) -> bool {
    m.starts_with("POST") || m.contains("PUT") || m.contains("PATCH") || m.ends_with("DELETE")
}

fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: names with a non-token byte are
/// left alone, others get `Upper-Case-Words`.
pub fn canonical_name(name: &str) -> String {
    if !name.bytes().all(is_token_byte) {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

fn same_name(a: &str, b: &str) -> bool {
    canonical_name(a) == canonical_name(b)
}

fn has_any(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| same_name(n, name))
}

/// go-ftw's `encodeDataParameters` for form bodies: left alone when it looks
/// escaped already (contains `%` or `+`, so unescaping would change or reject
/// it); otherwise every key and value is query-escaped.
fn encode_form(data: Vec<u8>) -> Vec<u8> {
    if data.is_empty() || data.contains(&b'%') || data.contains(&b'+') {
        return data;
    }
    let mut out = Vec::with_capacity(data.len() * 2);
    let mut rest: &[u8] = &data;
    while !rest.is_empty() {
        let token = match rest.iter().position(|&b| b == b'&') {
            Some(i) => {
                let t = &rest[..i];
                rest = &rest[i + 1..];
                t
            }
            None => std::mem::take(&mut rest),
        };
        match token.iter().position(|&b| b == b'=') {
            Some(eq) => {
                query_escape(&token[..eq], &mut out);
                out.push(b'=');
                query_escape(&token[eq + 1..], &mut out);
            }
            None => query_escape(token, &mut out),
        }
        out.push(b'&');
    }
    out.pop();
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
}

/// Expands the Go-template actions go-ftw evaluates in `data`. Supported:
/// string literals and sprig's `repeat` (`{{ "x" | repeat 5 }}` or
/// `{{ repeat 5 "x" }}`), with `{{-`/`-}}` trimming. Anything else is an
/// error (go-ftw would send an empty body instead, silently).
pub fn expand_template(text: &str) -> Result<String, String> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let mut literal = &rest[..open];
        let mut action = &rest[open + 2..];
        if let Some(a) = action.strip_prefix("- ") {
            literal = literal.trim_end();
            action = a;
        }
        out.push_str(literal);
        let close = find_action_end(action).ok_or_else(|| "unclosed `{{` action".to_string())?;
        let mut inner = &action[..close];
        let mut after = &action[close + 2..];
        if let Some(i) = inner.strip_suffix(" -") {
            inner = i;
            after = after.trim_start();
        }
        out.push_str(&eval_action(inner.trim())?);
        if out.len() > MAX_TEMPLATE_OUTPUT {
            return Err(format!("expansion exceeds {MAX_TEMPLATE_OUTPUT} bytes"));
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// Offset of the `}}` ending an action, skipping over string literals.
fn find_action_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' => {
                i += 1 + s.get(i + 1..)?.find('`')?;
                i += 1;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[derive(Debug, PartialEq)]
enum Tok {
    Str(String),
    Int(usize),
    Ident(String),
    Pipe,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '|' => {
                chars.next();
                toks.push(Tok::Pipe);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string".into()),
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => v.push('\n'),
                            Some((_, 't')) => v.push('\t'),
                            Some((_, 'r')) => v.push('\r'),
                            Some((_, c @ ('"' | '\\'))) => v.push(c),
                            _ => return Err("unsupported escape in string".into()),
                        },
                        Some((_, c)) => v.push(c),
                    }
                }
                toks.push(Tok::Str(v));
            }
            '`' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated raw string".into()),
                        Some((_, '`')) => break,
                        Some((_, c)) => v.push(c),
                    }
                }
                toks.push(Tok::Str(v));
            }
            c if c.is_ascii_digit() => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                let n = s[i..end]
                    .parse::<usize>()
                    .map_err(|e| format!("bad number: {e}"))?;
                toks.push(Tok::Int(n));
            }
            c if c.is_ascii_alphabetic() => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if !(d.is_ascii_alphanumeric() || d == '_') {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                toks.push(Tok::Ident(s[i..end].to_string()));
            }
            other => {
                return Err(format!(
                    "unsupported character {other:?} in template action"
                ))
            }
        }
    }
    Ok(toks)
}

fn repeat(s: &str, n: usize) -> Result<String, String> {
    if s.len().saturating_mul(n) > MAX_TEMPLATE_OUTPUT {
        return Err(format!("repeat of {n} exceeds {MAX_TEMPLATE_OUTPUT} bytes"));
    }
    Ok(s.repeat(n))
}

fn eval_action(action: &str) -> Result<String, String> {
    let toks = tokenize(action)?;
    match toks.as_slice() {
        [Tok::Str(s)] => Ok(s.clone()),
        [Tok::Str(s), Tok::Pipe, Tok::Ident(f), Tok::Int(n)] if f == "repeat" => repeat(s, *n),
        [Tok::Ident(f), Tok::Int(n), Tok::Str(s)] if f == "repeat" => repeat(s, *n),
        _ => Err(format!("unsupported template action `{{{{{action}}}}}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn input(yaml: &str) -> Input {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn text(yaml: &str) -> String {
        String::from_utf8(render(&input(yaml)).unwrap()).unwrap()
    }

    #[test]
    fn defaults_and_sorted_headers() {
        let s = text("headers: {User-Agent: ua, Host: localhost, Accept: '*/*'}");
        assert_eq!(s, "GET / HTTP/1.1\r\nAccept: */*\r\nHost: localhost\r\nUser-Agent: ua\r\nConnection: close\r\n\r\n");
    }

    #[test]
    fn post_without_data_gets_zero_length() {
        let s = text("method: POST\nuri: /post\nheaders: {Host: h}");
        assert_eq!(
            s,
            "POST /post HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
        // The unanchored alternatives of go-ftw's regex.
        assert!(text("method: XPUTX").contains("Content-Length: 0"));
        assert!(!text("method: DELETEX").contains("Content-Length"));
        assert!(text("method: XDELETE").contains("Content-Length: 0"));
    }

    #[test]
    fn form_data_is_encoded_pairwise() {
        let s = text("method: POST\nheaders: {Host: h}\ndata: \"a=<b c>&x=1/2&flag\"");
        assert!(s.ends_with(
            "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 24\r\n\r\na=%3Cb+c%3E&x=1%2F2&flag"
        ), "{s}");
        // Looks escaped already: left alone.
        assert!(text("method: POST\ndata: \"a=%3C&b=c+d\"").ends_with("\r\n\r\na=%3C&b=c+d"));
        assert!(text("method: POST\ndata: \"a=1&\"").ends_with("\r\n\r\na=1"));
        // Another content type: left alone.
        assert!(
            text("method: POST\nheaders: {Content-Type: text/plain}\ndata: \"a=<b>\"")
                .ends_with("\r\n\r\na=<b>")
        );
        // Content-Type compared case-insensitively, in name and value.
        assert!(text("method: POST\nheaders: {content-type: Application/X-WWW-Form-Urlencoded}\ndata: \"a=<\"")
            .ends_with("\r\n\r\na=%3C"));
    }

    #[test]
    fn no_autocomplete_sends_exactly_what_was_given() {
        let s = text("method: POST\nheaders: {Host: h, Content-Length: 7, Transfer-Encoding: chunked}\ndata: \"7\\r\\nfoo=bar\\r\\n0\\r\\n\\r\\n\"\nautocomplete_headers: false");
        assert_eq!(s, "POST / HTTP/1.1\r\nContent-Length: 7\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nfoo=bar\r\n0\r\n\r\n");
        let s2 = text("method: POST\ndata: \"a=<\"\nstop_magic: true");
        assert_eq!(s2, "POST / HTTP/1.1\r\n\r\na=<");
    }

    #[test]
    fn existing_connection_and_length_are_kept() {
        let s = text("method: POST\nheaders: {connection: keep-alive, content-length: 3, Content-Type: text/plain}\ndata: abcdef");
        assert_eq!(s, "POST / HTTP/1.1\r\nContent-Type: text/plain\r\nconnection: keep-alive\r\ncontent-length: 3\r\n\r\nabcdef");
    }

    #[test]
    fn multipart_lf_becomes_crlf() {
        let s = text("method: POST\nheaders: {Content-Type: 'multipart/form-data; boundary=b'}\ndata: \"--b\\nContent-Disposition: form-data; name=a\\n\\nv\\n--b--\\n\"");
        assert!(s.ends_with("Content-Length: 57\r\n\r\n--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--\r\n"), "{s}");
    }

    #[test]
    fn version_and_method_verbatim() {
        assert!(text("version: ''\nheaders: {Host: h}").starts_with("GET / \r\n"));
        assert!(text("method: \"\\tGET\"\nversion: HTTP/0.9").starts_with("\tGET / HTTP/0.9\r\n"));
    }

    #[test]
    fn encoded_request_is_verbatim() {
        let raw = b"GET / HTTP/1.0\r\nHost:\r\n\r\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(
            render(&input(&format!("encoded_request: {b64}\nuri: /ignored"))).unwrap(),
            raw
        );
        assert!(render(&input(&format!("encoded_request: {b64}\ndata: x"))).is_err());
        assert!(render(&input("encoded_request: '!!notbase64'")).is_err());
    }

    #[test]
    fn templates() {
        assert_eq!(
            expand_template("a{{ \"1\" | repeat 3 }}b").unwrap(),
            "a111b"
        );
        assert_eq!(
            expand_template("a {{- repeat 2 \"xy\" -}} b").unwrap(),
            "axyxyb"
        );
        assert_eq!(expand_template("{{ `q}}` }}").unwrap(), "q}}");
        assert!(expand_template("{{ .Foo }}").is_err());
        assert!(expand_template("{{ \"1\" | repeat 99999999999 }}").is_err());
        assert!(expand_template("{{ unclosed").is_err());
        let i = Input {
            data: Some("x{{ nope }}".into()),
            ..Default::default()
        };
        assert!(render(&i).unwrap_err().0.contains("template"));
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_name("content-type"), "Content-Type");
        assert_eq!(canonical_name("x_filename"), "X_filename");
        assert_eq!(canonical_name("bad name"), "bad name");
    }

    #[test]
    fn encoded_data_body() {
        let i = Input {
            method: Some("POST".into()),
            encoded_data: Some(base64::engine::general_purpose::STANDARD.encode(b"\x00\xff")),
            headers: Some(BTreeMap::from([(
                "Content-Type".to_string(),
                "application/octet-stream".to_string(),
            )])),
            ..Default::default()
        };
        assert!(render(&i)
            .unwrap()
            .ends_with(b"Content-Length: 2\r\n\r\n\x00\xff"));
    }
}
