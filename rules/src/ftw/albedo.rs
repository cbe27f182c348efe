//! The backend the CRS test setup runs behind the WAF: albedo
//! (`ghcr.io/coreruleset/albedo`, a small Go `net/http` server), emulated so
//! that response phases see what they would see there.
//!
//! - `POST /reflect` (and `/reflect/...`): the body is a JSON spec
//!   `{"status", "headers", "body", "encodedBody", "logMessage"}` (keys
//!   matched case-insensitively, as Go's JSON decoder does). The response has
//!   that status (0 means 200; outside 100..=599 gives 400 `Invalid status
//!   code: N`), those headers, and that body (`body`, else base64
//!   `encodedBody`). Invalid JSON gives 400 `Invalid JSON in request body`.
//! - Anything else: 200 with an empty body.
//!
//! Like Go's server, a non-empty body without a Content-Type gets one by
//! content sniffing (the part of `http.DetectContentType` that tells HTML,
//! XML, common binary formats and plain text apart), and Content-Length is
//! set. Headers are sent in canonical form (`Content-Type`), sorted.

use base64::Engine as _;
use serde_json::Value;

use crate::http::HttpRequest;

use super::render::canonical_name;

/// A response from the emulated backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendResponse {
    pub status: u16,
    /// Canonical names, sorted, as Go writes them.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl BackendResponse {
    fn new(status: u16, mut headers: Vec<(String, Vec<u8>)>, body: Vec<u8>) -> Self {
        if !body.is_empty() && !headers.iter().any(|(n, _)| n == "Content-Type") {
            headers.push((
                "Content-Type".into(),
                sniff_content_type(&body).as_bytes().to_vec(),
            ));
        }
        if !headers.iter().any(|(n, _)| n == "Content-Length") {
            headers.push(("Content-Length".into(), body.len().to_string().into_bytes()));
        }
        headers.sort_by(|a, b| a.0.cmp(&b.0));
        BackendResponse {
            status,
            headers,
            body,
        }
    }

    /// The response as a client reads it (status line, headers, body).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        )
        .into_bytes();
        for (n, v) in &self.headers {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// The path of a request target (origin-form or absolute-form), without query.
fn path_of(uri: &[u8]) -> &[u8] {
    let mut p = uri;
    if let Some(i) = memchr::memmem::find(p, b"://") {
        let after = &p[i + 3..];
        p = match after.iter().position(|&b| b == b'/') {
            Some(slash) => &after[slash..],
            None => b"/",
        };
    }
    match p.iter().position(|&b| b == b'?') {
        Some(q) => &p[..q],
        None => p,
    }
}

/// What albedo answers to `req`.
pub fn respond(req: &HttpRequest) -> BackendResponse {
    let path = path_of(&req.uri);
    if req.method == b"POST" && (path == b"/reflect" || path.starts_with(b"/reflect/")) {
        reflect(&req.body)
    } else {
        BackendResponse::new(200, Vec::new(), Vec::new())
    }
}

/// Go's `encoding/json` field matching: exact key first, then ASCII
/// case-insensitive.
fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn plain(status: u16, text: String) -> BackendResponse {
    BackendResponse::new(status, Vec::new(), text.into_bytes())
}

fn reflect(body: &[u8]) -> BackendResponse {
    let invalid = || plain(400, "Invalid JSON in request body".into());
    let Ok(Value::Object(spec)) = serde_json::from_slice::<Value>(body) else {
        return invalid();
    };
    let status = match field(&spec, "status") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(s) => s,
            None => return invalid(),
        },
        Some(_) => return invalid(),
    };
    let mut headers = Vec::new();
    match field(&spec, "headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (name, value) in h {
                let Value::String(value) = value else {
                    return invalid();
                };
                let valid_name =
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
                let valid_value = !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
                if valid_name && valid_value {
                    headers.push((canonical_name(name), value.as_bytes().to_vec()));
                }
            }
        }
        Some(_) => return invalid(),
    }
    let text = |key| match field(&spec, key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(()),
    };
    let (Ok(body_text), Ok(encoded), Ok(_log)) =
        (text("body"), text("encodedBody"), text("logMessage"))
    else {
        return invalid();
    };
    if !(0..600).contains(&status) || (1..100).contains(&status) {
        return plain(400, format!("Invalid status code: {status}"));
    }
    let status = if status == 0 { 200 } else { status as u16 };
    let body = if !body_text.is_empty() {
        body_text.into_bytes()
    } else if encoded.is_empty() {
        Vec::new()
    } else {
        let cleaned: Vec<u8> = encoded
            .bytes()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(cleaned) {
            Ok(b) => b,
            // albedo has already written the status at this point.
            Err(_) => b"invalid base64 encoding of response body".to_vec(),
        }
    };
    BackendResponse::new(status, headers, body)
}

/// The part of Go's `http.DetectContentType` that matters for deciding
/// whether a WAF inspects a response body.
pub fn sniff_content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(512)];
    let ws = data
        .iter()
        .take_while(|b| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))
        .count();
    let trimmed = &data[ws..];
    const HTML_TAGS: [&[u8]; 17] = [
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    for tag in HTML_TAGS {
        if trimmed.len() > tag.len()
            && trimmed[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(trimmed[tag.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if trimmed.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    const MAGIC: [(&[u8], &str); 9] = [
        (b"%PDF-", "application/pdf"),
        (b"%!PS-Adobe-", "application/postscript"),
        (b"\xFE\xFF", "text/plain; charset=utf-16be"),
        (b"\xFF\xFE", "text/plain; charset=utf-16le"),
        (b"\xEF\xBB\xBF", "text/plain; charset=utf-8"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
    ];
    for (magic, ct) in MAGIC {
        if data.starts_with(magic) {
            return ct;
        }
    }
    if data.starts_with(b"PK\x03\x04") {
        return "application/zip";
    }
    if data.starts_with(b"\x1F\x8B\x08") {
        return "application/x-gzip";
    }
    let binary = data
        .iter()
        .any(|&b| matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F));
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_request;

    fn req(method: &str, uri: &str, body: &str) -> HttpRequest {
        let raw = format!(
            "{method} {uri} HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        parse_request(raw.as_bytes()).unwrap()
    }

    fn header<'a>(r: &'a BackendResponse, name: &str) -> Option<&'a [u8]> {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    #[test]
    fn default_is_empty_200() {
        let r = respond(&req("GET", "/get?x=1", ""));
        assert_eq!((r.status, r.body.as_slice()), (200, &b""[..]));
        assert_eq!(header(&r, "Content-Length"), Some(&b"0"[..]));
        assert_eq!(header(&r, "Content-Type"), None);
        // Only POST reflects.
        assert_eq!(
            respond(&req("GET", "/reflect", r#"{"status": 500}"#)).status,
            200
        );
    }

    #[test]
    fn reflect_spec() {
        let r = respond(&req(
            "POST",
            "/reflect",
            r#"{"Status": 201, "headers": {"x-a": "1"}, "body": "<?php echo 1 ?>"}"#,
        ));
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"<?php echo 1 ?>");
        assert_eq!(header(&r, "X-A"), Some(&b"1"[..]));
        assert_eq!(
            header(&r, "Content-Type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["Content-Length", "Content-Type", "X-A"]);
        let r = respond(&req(
            "POST",
            "http://h/reflect/x?q",
            r#"{"encodedBody": "PGh0bWw+aGk8L2h0bWw+"}"#,
        ));
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &b"<html>hi</html>"[..])
        );
        assert_eq!(
            header(&r, "Content-Type"),
            Some(&b"text/html; charset=utf-8"[..])
        );
        let r = respond(&req(
            "POST",
            "/reflect",
            r#"{"body": "x", "headers": {"Content-Type": "application/json"}}"#,
        ));
        assert_eq!(header(&r, "Content-Type"), Some(&b"application/json"[..]));
    }

    #[test]
    fn reflect_errors() {
        let r = respond(&req("POST", "/reflect", "<%- sidebar.id %>"));
        assert_eq!(
            (r.status, r.body.as_slice()),
            (400, &b"Invalid JSON in request body"[..])
        );
        assert_eq!(
            respond(&req("POST", "/reflect", r#"{"status": "200"}"#)).status,
            400
        );
        let r = respond(&req("POST", "/reflect", r#"{"status": 42}"#));
        assert_eq!(
            (r.status, r.body.as_slice()),
            (400, &b"Invalid status code: 42"[..])
        );
        let r = respond(&req(
            "POST",
            "/reflect",
            r#"{"status": 418, "encodedBody": "!!"}"#,
        ));
        assert_eq!(r.status, 418);
        // Unknown keys are ignored.
        assert_eq!(
            respond(&req("POST", "/reflect", r#"{"noJavascriptError": 1}"#)).status,
            200
        );
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff_content_type(b"  <!DOCTYPE html><p>"),
            "text/html; charset=utf-8"
        );
        assert_eq!(sniff_content_type(b"<p>x"), "text/html; charset=utf-8");
        assert_eq!(sniff_content_type(b"<pre>x"), "text/plain; charset=utf-8");
        assert_eq!(
            sniff_content_type(b"<?xml version"),
            "text/xml; charset=utf-8"
        );
        assert_eq!(
            sniff_content_type(b"{\"a\": 1}"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(sniff_content_type(b"\x00\x01"), "application/octet-stream");
        assert_eq!(sniff_content_type(b"%PDF-1.4"), "application/pdf");
    }

    #[test]
    fn response_bytes() {
        let r = respond(&req(
            "POST",
            "/reflect",
            r#"{"status": 404, "body": "nope"}"#,
        ));
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\nnope"));
    }
}
