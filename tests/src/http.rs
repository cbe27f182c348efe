//! A minimal HTTP/1.1 reader and writer over blocking sockets, shared by the
//! test client, the echo backend and the fake collector. Requests are sent
//! byte for byte as given, so tests control exactly what goes on the wire.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A parsed request or response head plus body.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// Request: method, target, version. Response: version, status, reason.
    pub start: [String; 3],
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn status(&self) -> u16 {
        self.start[1].parse().unwrap_or(0)
    }
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads one message. `response_to_head` skips the body (HEAD requests).
/// Returns `Ok(None)` on a clean end of stream before any byte.
pub fn read_message<R: BufRead>(r: &mut R, is_response: bool) -> io::Result<Option<Message>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let parts: Vec<&str> = line.trim_end_matches(['\r', '\n']).splitn(3, ' ').collect();
    if parts.len() < 2 {
        return Err(bad(format!("bad start line {line:?}")));
    }
    let mut m = Message {
        start: [
            parts[0].to_string(),
            parts[1].to_string(),
            parts.get(2).unwrap_or(&"").to_string(),
        ],
        ..Default::default()
    };
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(bad("end of stream inside headers"));
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header {h:?}")))?;
        m.headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let status = m.status();
    let no_body = is_response && (status / 100 == 1 || status == 204 || status == 304);
    if no_body {
        return Ok(Some(m));
    }
    if m.header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let mut size_line = String::new();
            r.read_line(&mut size_line)?;
            let size_hex = size_line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| bad(format!("bad chunk size {size_line:?}")))?;
            if size == 0 {
                // Trailers until an empty line.
                loop {
                    let mut t = String::new();
                    if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk)?;
            m.body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = m.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad(format!("bad content-length {len:?}")))?;
        m.body = vec![0; len];
        r.read_exact(&mut m.body)?;
    } else if is_response {
        r.read_to_end(&mut m.body)?;
    }
    Ok(Some(m))
}

/// Sends raw bytes to `addr` and reads one response (connection closed after).
pub fn send_raw(addr: &str, raw: &[u8]) -> io::Result<Message> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(
        std::env::var("PALISADE_HTTP_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15),
    )))?;
    s.write_all(raw)?;
    let mut r = BufReader::new(s);
    read_message(&mut r, true)?.ok_or_else(|| bad("connection closed without a response"))
}

/// A request built from parts, with `Host`, `Content-Length` (when there is a
/// body) and `Connection: close` added.
pub fn request(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Message> {
    let mut raw = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        raw.push_str("Host: localhost\r\n");
    }
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if !body.is_empty() && !chunked {
        raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    raw.push_str("Connection: close\r\n\r\n");
    let mut bytes = raw.into_bytes();
    if chunked {
        for chunk in body.chunks(8192) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(body);
    }
    send_raw(addr, &bytes)
}

pub fn get(addr: &str, target: &str) -> io::Result<Message> {
    request(addr, "GET", target, &[], b"")
}

/// Writes a response with `Content-Length` and `Connection: close`.
pub fn write_response<W: Write>(
    w: &mut W,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        _ => "Status",
    }
}
