//! `dispatch_http_call` on the wire: the HTTP/1.1 request for an
//! [`HttpCall`] and an incremental reader of the answer. The embedder owns
//! the socket; this module only turns bytes into bytes.

use crate::state::{CallResponse, HttpCall};

/// Largest answer kept (the collector's acknowledgements are small).
pub const MAX_RESPONSE: usize = 4 << 20;

/// The request bytes: pseudo-headers become the request line and `Host`;
/// the connection is closed after one exchange.
pub fn request_bytes(call: &HttpCall) -> Vec<u8> {
    let get = |n: &str| call.headers.iter().find(|(k, _)| k == n).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    let method = get(":method").unwrap_or_else(|| "GET".into());
    let path = get(":path").unwrap_or_else(|| "/".into());
    let authority = get(":authority").unwrap_or_else(|| call.cluster.clone());
    let clean = |s: &str| s.replace(['\r', '\n'], "");
    let mut out =
        format!("{} {} HTTP/1.1\r\nHost: {}\r\n", clean(&method), clean(&path), clean(&authority)).into_bytes();
    for (k, v) in &call.headers {
        if k.starts_with(':') || k == "host" || k == "content-length" || k == "connection" || k == "transfer-encoding" {
            continue;
        }
        out.extend_from_slice(clean(k).as_bytes());
        out.extend_from_slice(b": ");
        out.extend(v.iter().copied().filter(|&b| b != b'\r' && b != b'\n'));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\nConnection: close\r\n\r\n", call.body.len()).as_bytes());
    out.extend_from_slice(&call.body);
    out
}

/// Parses what has arrived. `Ok(None)`: incomplete, read more (`eof`
/// says the peer closed). The headers get `:status`.
pub fn parse_response(buf: &[u8], eof: bool) -> Result<Option<CallResponse>, String> {
    if buf.len() > MAX_RESPONSE {
        return Err(format!("response larger than {MAX_RESPONSE} bytes"));
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if eof { Err("connection closed before the response headers ended".into()) } else { Ok(None) };
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "response headers are not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (proto, code) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if !proto.starts_with("HTTP/1.") || code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad status line {status_line:?}"));
    }
    let mut headers = vec![(":status".to_string(), code.as_bytes().to_vec())];
    let (mut length, mut chunked) = (None, false);
    for l in lines {
        let Some((k, v)) = l.split_once(':') else { return Err(format!("bad header line {l:?}")) };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "content-length" {
            length = Some(v.parse::<usize>().map_err(|_| format!("bad content-length {v:?}"))?);
        }
        if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
        headers.push((k, v.as_bytes().to_vec()));
    }
    let body = &buf[end + 4..];
    let no_body = code.starts_with('1') || code == "204" || code == "304";
    let body = if no_body {
        Vec::new()
    } else if chunked {
        match dechunk(body)? {
            Some(b) => b,
            None if eof => return Err("connection closed inside a chunked body".into()),
            None => return Ok(None),
        }
    } else if let Some(n) = length {
        if body.len() < n {
            return if eof { Err("connection closed before the body ended".into()) } else { Ok(None) };
        }
        body[..n].to_vec()
    } else if eof {
        body.to_vec()
    } else {
        return Ok(None);
    };
    Ok(Some(CallResponse { headers, body }))
}

fn dechunk(mut b: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
        let size_txt = std::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size".to_string())?;
        let size_txt = size_txt.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_txt, 16).map_err(|_| format!("bad chunk size {size_txt:?}"))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> HttpCall {
        HttpCall {
            token: 1,
            root_context: 1,
            cluster: "c".into(),
            headers: vec![
                (":method".into(), b"POST".to_vec()),
                (":path".into(), b"/api/v1/telemetry".to_vec()),
                (":authority".into(), b"collector".to_vec()),
                ("authorization".into(), b"Bearer x\r\nInjected: 1".to_vec()),
            ],
            body: b"{}".to_vec(),
            timeout_ms: 1000,
        }
    }

    #[test]
    fn request_line_and_headers() {
        let r = String::from_utf8(request_bytes(&call())).unwrap();
        assert!(r.starts_with("POST /api/v1/telemetry HTTP/1.1\r\nHost: collector\r\n"), "{r}");
        assert!(r.contains("authorization: Bearer xInjected: 1\r\n"), "{r}");
        assert!(r.ends_with("Content-Length: 2\r\nConnection: close\r\n\r\n{}"), "{r}");
    }

    #[test]
    fn responses() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        for cut in 0..full.len() {
            assert_eq!(parse_response(&full[..cut], false), Ok(None), "cut {cut}");
        }
        let r = parse_response(full, false).unwrap().unwrap();
        assert_eq!(r.body, b"hello");
        assert_eq!(r.headers[0], (":status".into(), b"200".to_vec()));
        let ch = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(ch, false).unwrap().unwrap().body, b"abcde");
        assert_eq!(parse_response(&ch[..ch.len() - 8], false), Ok(None));
        let close = b"HTTP/1.0 503 Busy\r\n\r\nxyz";
        assert_eq!(parse_response(close, false), Ok(None));
        assert_eq!(parse_response(close, true).unwrap().unwrap().body, b"xyz");
        assert!(parse_response(b"garbage\r\n\r\n", false).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", true).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false).is_err());
    }
}
