//! Parsing one raw HTTP/1.1 request (the bytes as sent on the wire) into its
//! parts, as a server in front of the WAF would read it.
//!
//! [`parse_request`] takes the bytes a client sent and returns the request the
//! front-end server would hand on (method, target, version, headers, decoded
//! body), or a [`ParseError`] with the byte offset of the problem and the
//! status the front-end answers with ([`ErrorKind::status`]). Nothing here
//! panics on any input, and the work is linear in the input size.
//!
//! # Front-end policy
//!
//! The CRS regression expectations were written against Apache httpd 2.4 with
//! its default `HttpProtocolOptions Strict`, so that is the server modelled
//! here. A request is refused, and never reaches the WAF, when:
//!
//! | problem                                                         | status |
//! |-----------------------------------------------------------------|--------|
//! | request line is not `METHOD SP target SP version` (extra spaces, tabs, leading whitespace) | 400 |
//! | method is not an RFC 9110 token                                 | 400    |
//! | target is not origin-form (`/...`), absolute-form (`scheme:...`), `*` (OPTIONS only) or `host:port` (CONNECT only) | 400 |
//! | target contains a control byte or a raw `#` fragment            | 400    |
//! | version is not `HTTP/d.d`, or its major version is 0 (`HTTP/0.9` written out) | 400 |
//! | HTTP/0.9 simple request (no version) with a method other than GET | 400  |
//! | header line without `:`, with whitespace or a non-token byte in the name, or folded (obs-fold) | 400 |
//! | header value containing a bare CR, NUL or another control byte (HTAB allowed) | 400 |
//! | HTTP/1.1 (or later) without a Host header, with an empty one, or with several | 400 |
//! | Host value that is not `name[:port]` (letters, digits, `-`, `_`, `.`) or `[ipv6][:port]` | 400 |
//! | Content-Length that is not all digits, or several that disagree | 400    |
//! | Transfer-Encoding whose last coding is not `chunked`            | 400    |
//! | Transfer-Encoding with a coding besides `chunked` (`gzip, chunked`) | 501 |
//! | malformed chunked body (bad size line, missing CRLF after data) | 400    |
//! | request line longer than 8190 bytes                             | 414    |
//! | a header line longer than 8190 bytes, or more than 100 headers  | 431    |
//! | the bytes end before the head or the announced body does (the server would wait and time out) | 408 |
//!
//! What the front-end accepts and how it passes it on:
//! - Empty lines before the request line are skipped; a bare LF ends a line
//!   as well as CRLF.
//! - A request line with no version (`GET /` or `GET / `) is an HTTP/0.9
//!   simple request: `version` is empty, no headers or body are read.
//! - Header values lose leading and trailing spaces and tabs.
//! - Without Content-Length or Transfer-Encoding a request has no body (it is
//!   never read until the connection closes).
//! - With `Transfer-Encoding: chunked` the body is decoded, chunk extensions
//!   and trailers are dropped, and any Content-Length is ignored and not
//!   passed on (see [`HttpRequest::forwarded_headers`]).
//! - Repeated headers of the same name are passed on merged into one,
//!   values joined with `", "`, at the position of the first.
//! - Bytes after the request (a pipelined or smuggled follow-up) are not
//!   part of it; [`HttpRequest::consumed`] says where the request ended.

use std::fmt;

/// Longest request line accepted (Apache's `LimitRequestLine`).
pub const MAX_REQUEST_LINE: usize = 8190;
/// Longest header line accepted (Apache's `LimitRequestFieldSize`).
pub const MAX_HEADER_LINE: usize = 8190;
/// Most header lines accepted (Apache's `LimitRequestFields`).
pub const MAX_HEADERS: usize = 100;

/// One request as the front-end read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Vec<u8>,
    /// The request target exactly as on the request line.
    pub uri: Vec<u8>,
    /// `HTTP/1.1` etc.; empty for an HTTP/0.9 simple request.
    pub version: Vec<u8>,
    /// Header lines as sent, in order (values trimmed of surrounding blanks).
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The body, chunked coding removed.
    pub body: Vec<u8>,
    /// How the body length was determined.
    pub framing: Framing,
    /// Number of input bytes that made up this request.
    pub consumed: usize,
}

/// How the length of a request body was determined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Neither Content-Length nor Transfer-Encoding: no body.
    NoBody,
    ContentLength(usize),
    Chunked,
}

/// Why a request was refused, where, and what the front-end answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    pub kind: ErrorKind,
    pub detail: String,
}

/// Classes of refusal; each maps to the status the front-end sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input ends before the request does.
    Incomplete,
    RequestLine,
    RequestLineTooLong,
    Method,
    Target,
    Version,
    Header,
    HeaderTooLarge,
    TooManyHeaders,
    Host,
    ContentLength,
    TransferEncoding,
    UnsupportedTransferCoding,
    Chunked,
}

impl ErrorKind {
    /// The HTTP status the front-end answers this problem with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Incomplete => 408,
            ErrorKind::RequestLineTooLong => 414,
            ErrorKind::HeaderTooLarge | ErrorKind::TooManyHeaders => 431,
            ErrorKind::UnsupportedTransferCoding => 501,
            _ => 400,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Incomplete => "incomplete request",
            ErrorKind::RequestLine => "malformed request line",
            ErrorKind::RequestLineTooLong => "request line too long",
            ErrorKind::Method => "invalid method",
            ErrorKind::Target => "invalid request target",
            ErrorKind::Version => "invalid HTTP version",
            ErrorKind::Header => "malformed header",
            ErrorKind::HeaderTooLarge => "header line too long",
            ErrorKind::TooManyHeaders => "too many headers",
            ErrorKind::Host => "invalid Host",
            ErrorKind::ContentLength => "invalid Content-Length",
            ErrorKind::TransferEncoding => "invalid Transfer-Encoding",
            ErrorKind::UnsupportedTransferCoding => "unsupported transfer coding",
            ErrorKind::Chunked => "malformed chunked body",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}: {} (status {})",
            self.kind.describe(),
            self.offset,
            self.detail,
            self.kind.status()
        )
    }
}

impl std::error::Error for ParseError {}

impl HttpRequest {
    /// True for an HTTP/0.9 simple request (request line without version).
    pub fn is_http09(&self) -> bool {
        self.version.is_empty()
    }

    /// The first header of that name (ASCII case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The headers as the front-end passes them on: repeated names merged
    /// into the first occurrence (values joined with `", "`), and
    /// Content-Length left out when the body was chunked.
    pub fn forwarded_headers(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            if self.framing == Framing::Chunked && name.eq_ignore_ascii_case(b"content-length") {
                continue;
            }
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some((_, merged)) => {
                    merged.extend_from_slice(b", ");
                    merged.extend_from_slice(value);
                }
                None => out.push((name.clone(), value.clone())),
            }
        }
        out
    }
}

fn err(offset: usize, kind: ErrorKind, detail: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        kind,
        detail: detail.into(),
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Finds the line starting at `start`: returns (line without its CRLF/LF,
/// offset after the line end). `max` bounds the line length.
fn read_line(
    raw: &[u8],
    start: usize,
    max: usize,
    too_long: ErrorKind,
) -> Result<(&[u8], usize), ParseError> {
    let rest = raw.get(start..).unwrap_or(&[]);
    match memchr::memchr(b'\n', rest) {
        Some(nl) => {
            let mut line = &rest[..nl];
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            if line.len() > max {
                return Err(err(
                    start + max,
                    too_long,
                    format!("line of {} bytes exceeds the limit of {max}", line.len()),
                ));
            }
            Ok((line, start + nl + 1))
        }
        None if rest.len() > max => Err(err(
            start + max,
            too_long,
            format!("line exceeds the limit of {max} bytes"),
        )),
        None => Err(err(
            raw.len(),
            ErrorKind::Incomplete,
            "input ends inside a line",
        )),
    }
}

fn trim_blanks(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Parses one request from `raw` under the front-end policy in the module
/// documentation.
pub fn parse_request(raw: &[u8]) -> Result<HttpRequest, ParseError> {
    let mut pos = 0;
    // Empty lines before the request line are tolerated (RFC 9112 2.2).
    loop {
        match raw.get(pos..) {
            Some([b'\r', b'\n', ..]) => pos += 2,
            Some([b'\n', ..]) => pos += 1,
            _ => break,
        }
    }
    let line_start = pos;
    let (line, after_line) = read_line(raw, pos, MAX_REQUEST_LINE, ErrorKind::RequestLineTooLong)?;
    pos = after_line;

    if let Some(i) = line.iter().position(|&b| b == b'\r') {
        return Err(err(
            line_start + i,
            ErrorKind::RequestLine,
            "bare CR in request line",
        ));
    }
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let (method, target, version) = match parts.as_slice() {
        [m, t] => (*m, *t, &b""[..]),
        [m, t, v] => (*m, *t, *v),
        _ => {
            return Err(err(
                line_start,
                ErrorKind::RequestLine,
                format!(
                    "expected `METHOD SP target SP version`, found {} space-separated parts",
                    parts.len()
                ),
            ))
        }
    };
    if !is_token(method) {
        let at = method.iter().position(|&b| !is_tchar(b)).unwrap_or(0);
        return Err(err(
            line_start + at,
            ErrorKind::Method,
            "method is not a token",
        ));
    }
    let target_start = line_start + method.len() + 1;
    check_target(method, target, target_start)?;

    if version.is_empty() {
        // HTTP/0.9 simple request: nothing but the line is read.
        if method != b"GET" {
            return Err(err(
                line_start,
                ErrorKind::Method,
                "HTTP/0.9 requests allow only GET",
            ));
        }
        return Ok(HttpRequest {
            method: method.to_vec(),
            uri: target.to_vec(),
            version: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            framing: Framing::NoBody,
            consumed: pos,
        });
    }
    let version_start = target_start + target.len() + 1;
    let (major, minor) = parse_version(version).ok_or_else(|| {
        err(
            version_start,
            ErrorKind::Version,
            "expected HTTP/<digit>.<digit>",
        )
    })?;
    if major == 0 {
        return Err(err(
            version_start,
            ErrorKind::Version,
            "HTTP/0.x cannot be written out on a request line",
        ));
    }

    let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    loop {
        let header_start = pos;
        let (hline, next) = read_line(raw, pos, MAX_HEADER_LINE, ErrorKind::HeaderTooLarge)?;
        pos = next;
        if hline.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(err(
                header_start,
                ErrorKind::TooManyHeaders,
                format!("more than {MAX_HEADERS} header lines"),
            ));
        }
        headers.push(parse_header_line(hline, header_start)?);
    }

    check_host(&headers, (major, minor), line_start)?;
    let framing = body_framing(&headers, pos)?;
    let (body, consumed) = match framing {
        Framing::NoBody => (Vec::new(), pos),
        Framing::ContentLength(n) => {
            let end = pos
                .checked_add(n)
                .filter(|&e| e <= raw.len())
                .ok_or_else(|| {
                    err(
                        raw.len(),
                        ErrorKind::Incomplete,
                        format!(
                            "Content-Length announces {n} bytes, {} present",
                            raw.len() - pos
                        ),
                    )
                })?;
            (raw[pos..end].to_vec(), end)
        }
        Framing::Chunked => decode_chunked(raw, pos)?,
    };
    Ok(HttpRequest {
        method: method.to_vec(),
        uri: target.to_vec(),
        version: version.to_vec(),
        headers,
        body,
        framing,
        consumed,
    })
}

fn parse_version(v: &[u8]) -> Option<(u8, u8)> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', maj, b'.', min]
            if maj.is_ascii_digit() && min.is_ascii_digit() =>
        {
            Some((maj - b'0', min - b'0'))
        }
        _ => None,
    }
}

fn check_target(method: &[u8], target: &[u8], start: usize) -> Result<(), ParseError> {
    if target.is_empty() {
        return Err(err(start, ErrorKind::Target, "empty request target"));
    }
    if let Some(i) = target.iter().position(|&b| b < 0x20 || b == 0x7f) {
        return Err(err(
            start + i,
            ErrorKind::Target,
            "control byte in request target",
        ));
    }
    if let Some(i) = target.iter().position(|&b| b == b'#') {
        return Err(err(
            start + i,
            ErrorKind::Target,
            "fragment in request target",
        ));
    }
    if method == b"CONNECT" {
        return if is_authority_form(target) {
            Ok(())
        } else {
            Err(err(
                start,
                ErrorKind::Target,
                "CONNECT needs a host:port target",
            ))
        };
    }
    if target == b"*" {
        return if method == b"OPTIONS" {
            Ok(())
        } else {
            Err(err(
                start,
                ErrorKind::Target,
                "`*` is only valid with OPTIONS",
            ))
        };
    }
    if target.first() == Some(&b'/') || has_scheme(target) {
        Ok(())
    } else {
        Err(err(
            start,
            ErrorKind::Target,
            "target is neither origin-form nor absolute-form",
        ))
    }
}

/// `scheme ":"` with scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn has_scheme(t: &[u8]) -> bool {
    let Some(colon) = t.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &t[..colon];
    matches!(scheme.first(), Some(b) if b.is_ascii_alphabetic())
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

/// `host:port` with a non-empty host (no `/`) and a numeric port.
fn is_authority_form(t: &[u8]) -> bool {
    let Some(colon) = t.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&t[..colon], &t[colon + 1..]);
    !host.is_empty() && !host.contains(&b'/') && valid_port(port) && !port.is_empty()
}

fn valid_port(p: &[u8]) -> bool {
    p.len() <= 5
        && p.iter().all(u8::is_ascii_digit)
        && p.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0')) <= 65535
}

fn parse_header_line(line: &[u8], start: usize) -> Result<(Vec<u8>, Vec<u8>), ParseError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(err(
            start,
            ErrorKind::Header,
            "folded header line (obs-fold)",
        ));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| err(start, ErrorKind::Header, "header line without `:`"))?;
    let name = &line[..colon];
    if name.is_empty() {
        return Err(err(start, ErrorKind::Header, "empty header name"));
    }
    if let Some(i) = name.iter().position(|&b| !is_tchar(b)) {
        return Err(err(
            start + i,
            ErrorKind::Header,
            "header name is not a token",
        ));
    }
    let value_start = start + colon + 1;
    let raw_value = &line[colon + 1..];
    if let Some(i) = raw_value
        .iter()
        .position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        let what = match raw_value[i] {
            b'\r' => "bare CR in header value",
            0 => "NUL in header value",
            _ => "control byte in header value",
        };
        return Err(err(value_start + i, ErrorKind::Header, what));
    }
    Ok((name.to_vec(), trim_blanks(raw_value).to_vec()))
}

fn check_host(
    headers: &[(Vec<u8>, Vec<u8>)],
    version: (u8, u8),
    line_start: usize,
) -> Result<(), ParseError> {
    let hosts: Vec<&[u8]> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"host"))
        .map(|(_, v)| v.as_slice())
        .collect();
    let needs_host = version >= (1, 1);
    match hosts.as_slice() {
        [] if needs_host => Err(err(
            line_start,
            ErrorKind::Host,
            "HTTP/1.1 request without Host",
        )),
        [] => Ok(()),
        [h] if h.is_empty() && needs_host => Err(err(
            line_start,
            ErrorKind::Host,
            "empty Host in an HTTP/1.1 request",
        )),
        [h] if h.is_empty() || valid_host(h) => Ok(()),
        [_] => Err(err(
            line_start,
            ErrorKind::Host,
            "Host is not a valid name[:port]",
        )),
        _ => Err(err(line_start, ErrorKind::Host, "several Host headers")),
    }
}

/// `name[:port]` (letters, digits, `-`, `_`, `.`) or `[v6-literal][:port]`.
fn valid_host(h: &[u8]) -> bool {
    if let Some(rest) = h.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let (lit, after) = (&rest[..close], &rest[close + 1..]);
        let lit_ok = lit.contains(&b':')
            && lit
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        let port_ok = after.is_empty() || after.strip_prefix(b":").is_some_and(valid_port);
        return lit_ok && port_ok;
    }
    let (name, port) = match h.iter().rposition(|&b| b == b':') {
        Some(c) => (&h[..c], &h[c + 1..]),
        None => (h, &b""[..]),
    };
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && valid_port(port)
}

fn body_framing(headers: &[(Vec<u8>, Vec<u8>)], at: usize) -> Result<Framing, ParseError> {
    let mut codings: Vec<Vec<u8>> = Vec::new();
    let mut saw_te = false;
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"transfer-encoding"))
    {
        saw_te = true;
        codings.extend(
            v.split(|&b| b == b',')
                .map(trim_blanks)
                .filter(|c| !c.is_empty())
                .map(<[u8]>::to_ascii_lowercase),
        );
    }
    if saw_te {
        return match codings.last() {
            Some(last) if last == b"chunked" && codings.len() == 1 => Ok(Framing::Chunked),
            Some(last) if last == b"chunked" => Err(err(
                at,
                ErrorKind::UnsupportedTransferCoding,
                "only `chunked` is supported as a transfer coding",
            )),
            _ => Err(err(
                at,
                ErrorKind::TransferEncoding,
                "the last transfer coding must be `chunked`",
            )),
        };
    }
    let mut length: Option<usize> = None;
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"content-length"))
    {
        for item in v.split(|&b| b == b',').map(trim_blanks) {
            if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
                return Err(err(
                    at,
                    ErrorKind::ContentLength,
                    "Content-Length is not a decimal number",
                ));
            }
            let n = item
                .iter()
                .try_fold(0usize, |a, &d| {
                    a.checked_mul(10)?.checked_add(usize::from(d - b'0'))
                })
                .ok_or_else(|| err(at, ErrorKind::ContentLength, "Content-Length too large"))?;
            match length {
                Some(prev) if prev != n => {
                    return Err(err(
                        at,
                        ErrorKind::ContentLength,
                        "conflicting Content-Length values",
                    ))
                }
                _ => length = Some(n),
            }
        }
    }
    Ok(length.map_or(Framing::NoBody, Framing::ContentLength))
}

/// Decodes a chunked body starting at `pos`; returns the body and the offset
/// after the final CRLF.
fn decode_chunked(raw: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), ParseError> {
    let mut body = Vec::new();
    loop {
        let size_start = pos;
        let (line, next) = read_line(raw, pos, MAX_HEADER_LINE, ErrorKind::Chunked)?;
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 {
            return Err(err(
                size_start,
                ErrorKind::Chunked,
                "chunk size is not hexadecimal",
            ));
        }
        let ext = trim_blanks(&line[digits..]);
        if !(ext.is_empty() || ext.first() == Some(&b';'))
            || ext.iter().any(|&b| b < 0x20 && b != b'\t')
        {
            return Err(err(
                size_start + digits,
                ErrorKind::Chunked,
                "junk after chunk size",
            ));
        }
        let size = line[..digits]
            .iter()
            .try_fold(0usize, |a, &d| {
                let v = (d as char).to_digit(16)? as usize;
                a.checked_mul(16)?.checked_add(v)
            })
            .ok_or_else(|| err(size_start, ErrorKind::Chunked, "chunk size too large"))?;
        pos = next;
        if size == 0 {
            // Trailer section: header lines up to an empty line, dropped.
            loop {
                let (tline, tnext) = read_line(raw, pos, MAX_HEADER_LINE, ErrorKind::Chunked)?;
                if tline.is_empty() {
                    return Ok((body, tnext));
                }
                parse_header_line(tline, pos)?;
                pos = tnext;
            }
        }
        let end = pos
            .checked_add(size)
            .filter(|&e| e <= raw.len())
            .ok_or_else(|| {
                err(
                    raw.len(),
                    ErrorKind::Incomplete,
                    format!("chunk announces {size} bytes, {} present", raw.len() - pos),
                )
            })?;
        body.extend_from_slice(&raw[pos..end]);
        pos = end;
        match raw.get(pos..) {
            Some([b'\r', b'\n', ..]) => pos += 2,
            Some([b'\n', ..]) => pos += 1,
            Some([]) | Some([b'\r']) | None => {
                return Err(err(
                    raw.len(),
                    ErrorKind::Incomplete,
                    "input ends after chunk data",
                ))
            }
            Some(_) => {
                return Err(err(
                    pos,
                    ErrorKind::Chunked,
                    "chunk data not followed by CRLF",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &[u8]) -> HttpRequest {
        match parse_request(raw) {
            Ok(r) => r,
            Err(e) => panic!(
                "unexpected error for {:?}: {e}",
                String::from_utf8_lossy(raw)
            ),
        }
    }

    fn fails(raw: &[u8]) -> ParseError {
        match parse_request(raw) {
            Ok(r) => panic!("accepted {:?} as {r:?}", String::from_utf8_lossy(raw)),
            Err(e) => e,
        }
    }

    #[test]
    fn simple_get() {
        let r = ok(b"GET /a?b=c HTTP/1.1\r\nHost: localhost\r\nUser-Agent:  x y \r\n\r\n");
        assert_eq!(r.method, b"GET");
        assert_eq!(r.uri, b"/a?b=c");
        assert_eq!(r.version, b"HTTP/1.1");
        assert_eq!(
            r.headers,
            vec![
                (b"Host".to_vec(), b"localhost".to_vec()),
                (b"User-Agent".to_vec(), b"x y".to_vec())
            ]
        );
        assert!(r.body.is_empty());
        assert_eq!(r.framing, Framing::NoBody);
        assert_eq!(r.header(b"user-agent"), Some(&b"x y"[..]));
    }

    #[test]
    fn content_length_body_and_trailing_bytes() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n";
        let r = ok(raw);
        assert_eq!(r.body, b"abc");
        assert_eq!(r.framing, Framing::ContentLength(3));
        assert_eq!(&raw[r.consumed..], b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn bare_lf_and_leading_empty_lines() {
        let r = ok(b"\r\n\nGET / HTTP/1.0\nHost: h\n\n");
        assert_eq!(r.uri, b"/");
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn chunked_body_is_decoded_and_content_length_not_forwarded() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nfoo\r\n4\r\n=bar\r\n0\r\nTrailer: x\r\n\r\nrest";
        let r = ok(raw);
        assert_eq!(r.body, b"foo=bar");
        assert_eq!(r.framing, Framing::Chunked);
        assert_eq!(&raw[r.consumed..], b"rest");
        let fwd = r.forwarded_headers();
        assert!(fwd.iter().all(|(n, _)| n != b"Content-Length"));
        assert!(fwd
            .iter()
            .any(|(n, v)| n == b"Transfer-Encoding" && v == b"chunked"));
    }

    #[test]
    fn repeated_headers_are_merged_when_forwarded() {
        let r =
            ok(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Type: a\r\nX: 1\r\ncontent-type: b\r\n\r\n");
        assert_eq!(r.headers.len(), 4);
        assert_eq!(
            r.forwarded_headers(),
            vec![
                (b"Host".to_vec(), b"h".to_vec()),
                (b"Content-Type".to_vec(), b"a, b".to_vec()),
                (b"X".to_vec(), b"1".to_vec()),
            ]
        );
    }

    #[test]
    fn http09_simple_request() {
        let r = ok(b"GET / \r\nHost: ignored\r\n\r\n");
        assert!(r.is_http09());
        assert!(r.headers.is_empty());
        assert_eq!(ok(b"GET /x\r\n").uri, b"/x");
        assert_eq!(fails(b"POST /\r\n").kind, ErrorKind::Method);
    }

    #[test]
    fn request_line_errors() {
        assert_eq!(
            fails(b"     GET / HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::RequestLine
        );
        assert_eq!(
            fails(b"\tGET / HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::Method
        );
        assert_eq!(
            fails(b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::RequestLine
        );
        assert_eq!(
            fails(b"GET \\ HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::Target
        );
        assert_eq!(
            fails(b"GET \\index.html HTTP\\1.0\r\n\r\n").kind,
            ErrorKind::Target
        );
        assert_eq!(
            fails(b"GET /#frag HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::Target
        );
        assert_eq!(
            fails(b"GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::Target
        );
        assert_eq!(
            fails(b"GET * HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::Target
        );
        assert_eq!(
            fails(b"CONNECT www.example.org HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::Target
        );
        assert_eq!(
            fails(b"GET 1.2.3.4:80 HTTP/1.1\r\nHost: h\r\n\r\n").kind,
            ErrorKind::Target
        );
        assert_eq!(fails(b"GET / \r\r\n").kind, ErrorKind::RequestLine);
        // Accepted forms.
        ok(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
        ok(b"CONNECT 1.2.3.4:80 HTTP/1.1\r\nHost: h\r\n\r\n");
        ok(b"GET http://localhost HTTP/1.1\r\nHost: h\r\n\r\n");
        ok(b"|GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    }

    #[test]
    fn version_errors() {
        for v in [
            "HTTP/0.9",
            "HTTP/0.8",
            "JUNK/1.0",
            "1.1",
            "TEST",
            "HTTP/2",
            "http/1.1",
            "HTTP/1.10",
        ] {
            let raw = format!("GET / {v}\r\nHost: h\r\n\r\n");
            let e = fails(raw.as_bytes());
            assert_eq!(e.kind, ErrorKind::Version, "{v}");
            assert_eq!(e.offset, 6, "{v}");
            assert_eq!(e.kind.status(), 400);
        }
        ok(b"GET / HTTP/4.0\r\nHost: h\r\n\r\n");
        ok(b"POST / HTTP/2.0\r\nHost: h\r\n\r\n");
    }

    #[test]
    fn header_errors_with_offsets() {
        let e = fails(b"GET / HTTP/1.1\r\nHost: h\r\nA: b\rInjected: c\r\n\r\n");
        assert_eq!(e.kind, ErrorKind::Header);
        assert_eq!(e.offset, 16 + 9 + 4);
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n").kind,
            ErrorKind::Header
        );
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: h\r\nA : b\r\n\r\n").kind,
            ErrorKind::Header
        );
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n c\r\n\r\n").kind,
            ErrorKind::Header
        );
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: h\r\nA: b\x00\r\n\r\n").kind,
            ErrorKind::Header
        );
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n").kind,
            ErrorKind::Header
        );
        // Underscores and dots are token characters: accepted.
        let r =
            ok(b"GET / HTTP/1.1\r\nHost: h\r\nX_Filename: a\r\nX.Filename: b\r\nA:\tb\t\r\n\r\n");
        assert_eq!(r.header(b"a"), Some(&b"b"[..]));
    }

    #[test]
    fn host_rules() {
        assert_eq!(fails(b"GET / HTTP/1.1\r\n\r\n").kind, ErrorKind::Host);
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").kind,
            ErrorKind::Host
        );
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: localhost%00\r\n\r\n").kind,
            ErrorKind::Host
        );
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").kind,
            ErrorKind::Host
        );
        assert_eq!(
            fails(b"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n").kind,
            ErrorKind::Host
        );
        ok(b"GET / HTTP/1.0\r\n\r\n");
        ok(b"GET / HTTP/1.0\r\nHost:\r\n\r\n");
        for h in [
            "localhost:8080",
            "127.0.0.1",
            "[::1]",
            "[fe80::f1:01:fe01:1]:80",
            "my_host.example",
        ] {
            ok(format!("GET / HTTP/1.1\r\nHost: {h}\r\n\r\n").as_bytes());
        }
    }

    #[test]
    fn content_length_rules() {
        for cl in [
            "NotDigits",
            "123x",
            "3;",
            "-1",
            "",
            "99999999999999999999999",
        ] {
            let e = fails(
                format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {cl}\r\n\r\nabc").as_bytes(),
            );
            assert_eq!(e.kind, ErrorKind::ContentLength, "{cl}");
        }
        let e = fails(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        );
        assert_eq!(e.kind, ErrorKind::ContentLength);
        assert_eq!(
            ok(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc").body,
            b"abc"
        );
        let e = fails(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
        assert_eq!((e.kind, e.kind.status()), (ErrorKind::Incomplete, 408));
    }

    #[test]
    fn transfer_encoding_rules() {
        let base = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ";
        assert_eq!(
            fails(format!("{base}gzip\r\n\r\n").as_bytes()).kind,
            ErrorKind::TransferEncoding
        );
        let e = fails(format!("{base}gzip, chunked\r\n\r\n0\r\n\r\n").as_bytes());
        assert_eq!(
            (e.kind, e.kind.status()),
            (ErrorKind::UnsupportedTransferCoding, 501)
        );
        assert_eq!(
            ok(format!("{base}Chunked\r\n\r\n0\r\n\r\n").as_bytes()).body,
            b""
        );
    }

    #[test]
    fn chunked_errors() {
        let base = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (body, kind) in [
            ("zz\r\n", ErrorKind::Chunked),
            ("3x\r\nabc\r\n0\r\n\r\n", ErrorKind::Chunked),
            ("3\r\nabcd\r\n0\r\n\r\n", ErrorKind::Chunked),
            ("3\r\nab", ErrorKind::Incomplete),
            ("3\r\nabc", ErrorKind::Incomplete),
            ("3\r\nabc\r\n", ErrorKind::Incomplete),
            ("ffffffffffffffffffff\r\n", ErrorKind::Chunked),
            ("0\r\nbad trailer\r\n\r\n", ErrorKind::Header),
        ] {
            let e = fails(format!("{base}{body}").as_bytes());
            assert_eq!(e.kind, kind, "{body:?}");
            assert!(e.offset <= base.len() + body.len());
        }
    }

    #[test]
    fn limits() {
        let long = format!(
            "GET /{} HTTP/1.1\r\nHost: h\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE)
        );
        assert_eq!(fails(long.as_bytes()).kind, ErrorKind::RequestLineTooLong);
        let unterminated = format!("GET /{}", "a".repeat(MAX_REQUEST_LINE + 10));
        assert_eq!(
            fails(unterminated.as_bytes()).kind,
            ErrorKind::RequestLineTooLong
        );
        let big_header = format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEADER_LINE)
        );
        assert_eq!(fails(big_header.as_bytes()).kind, ErrorKind::HeaderTooLarge);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X{i}: v\r\n")).collect();
        let e = fails(format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n").as_bytes());
        assert_eq!((e.kind, e.kind.status()), (ErrorKind::TooManyHeaders, 431));
    }

    #[test]
    fn incomplete_heads() {
        for raw in [
            &b""[..],
            b"GET",
            b"GET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\n",
            b"GET / HTTP/1.1\r\nHost: h",
        ] {
            let e = fails(raw);
            assert_eq!(e.kind, ErrorKind::Incomplete, "{raw:?}");
            assert_eq!(e.offset, raw.len());
        }
    }

    #[test]
    fn error_display_names_offset_and_status() {
        let e = fails(b"GET / HTTP/1.1\r\n\r\n");
        let s = e.to_string();
        assert!(s.contains("at byte 0") && s.contains("status 400"), "{s}");
    }

    /// xorshift64*: deterministic pseudo-random bytes without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn check_no_panic(raw: &[u8]) {
        match parse_request(raw) {
            Ok(r) => {
                assert!(r.consumed <= raw.len());
                let _ = r.forwarded_headers();
            }
            Err(e) => {
                assert!(
                    e.offset <= raw.len(),
                    "offset {} beyond input of {}",
                    e.offset,
                    raw.len()
                );
                let _ = e.to_string();
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Pure noise, biased towards bytes that matter to the grammar.
        let alphabet = b"GET POST/ HTTP/1.1\r\n:;,0123456789abcdefABCDEF \t\x00#*[]chunkedHost";
        for _ in 0..20_000 {
            let len = rng.below(200);
            let raw: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(4) == 0 {
                        rng.next() as u8
                    } else {
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            check_no_panic(&raw);
        }
        // Mutations of valid requests.
        let seeds: [&[u8]; 3] = [
            b"POST /a?b=c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 5\r\nA: b\r\n\r\nhello",
            b"GET / \r\n",
        ];
        for _ in 0..20_000 {
            let mut raw = seeds[rng.below(seeds.len())].to_vec();
            for _ in 0..=rng.below(4) {
                let i = rng.below(raw.len());
                match rng.below(3) {
                    0 => raw[i] = rng.next() as u8,
                    1 => {
                        raw.remove(i);
                    }
                    _ => raw.insert(i, alphabet[rng.below(alphabet.len())]),
                }
                if raw.is_empty() {
                    break;
                }
            }
            check_no_panic(&raw);
        }
    }
}
