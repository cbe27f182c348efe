//! The upstream the tests put behind Envoy, modelled on CRS's `albedo`:
//!
//! - `POST /reflect` with a JSON body `{"status", "headers", "body",
//!   "encodedBody" (base64)}` answers with exactly that, so a test can make
//!   the upstream send any response (e.g. a leaking error page).
//! - any other request is echoed: the response body is the request body
//!   byte for byte, and `x-echo-method` / `x-echo-target` give the request
//!   line; `x-echo-headers` is the request header count.
//!
//! Every request received is recorded, so a test can check that a blocked
//! request never reached the upstream.
//!
//! [`Backend::albedo`] starts the CRS test backend instead, answering with
//! `palisade_rules::ftw::albedo` (the go-ftw suite's `/reflect` and empty
//! 200), for the regression suite through Envoy.

use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::http::{read_message, Message};

pub struct Backend {
    pub port: u16,
    received: Arc<Mutex<Vec<Message>>>,
    stop: Arc<AtomicBool>,
}

/// What the backend answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Echo,
    Albedo,
}

impl Backend {
    /// The echo backend.
    pub fn start() -> Backend {
        Backend::spawn(Flavor::Echo)
    }

    /// The CRS test backend (albedo). It keeps no record of requests.
    pub fn albedo() -> Backend {
        Backend::spawn(Flavor::Albedo)
    }

    fn spawn(flavor: Flavor) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend on 127.0.0.1");
        let port = listener.local_addr().expect("backend address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (rec, st) = (received.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let rec = (flavor == Flavor::Echo).then(|| rec.clone());
                thread::spawn(move || serve(conn, rec, flavor));
            }
        });
        Backend {
            port,
            received,
            stop,
        }
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Message> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(conn: TcpStream, received: Option<Arc<Mutex<Vec<Message>>>>, flavor: Flavor) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    // Keep-alive: Envoy reuses upstream connections.
    while let Ok(Some(req)) = read_message(&mut reader, false) {
        if flavor == Flavor::Albedo {
            if write_albedo(&mut writer, &req).is_err() {
                return;
            }
            continue;
        }
        if let Some(Ok(mut v)) = received.as_ref().map(|r| r.lock()) {
            v.push(req.clone());
        }
        let (status, headers, body) = respond(&req);
        let mut headers = headers;
        headers.retain(|(k, _)| {
            !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("content-length")
        });
        if write_keepalive(&mut writer, status, &headers, &body).is_err() {
            return;
        }
    }
}

fn write_keepalive(
    w: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut head = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// Answers as CRS's albedo does (`palisade_rules::ftw::albedo`).
fn write_albedo(w: &mut TcpStream, req: &Message) -> std::io::Result<()> {
    use std::io::Write;
    let request = palisade_rules::http::HttpRequest {
        method: req.start[0].as_bytes().to_vec(),
        uri: req.start[1].as_bytes().to_vec(),
        version: req.start[2].as_bytes().to_vec(),
        headers: req
            .headers
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
        body: req.body.clone(),
        framing: palisade_rules::http::Framing::ContentLength(req.body.len()),
        consumed: 0,
    };
    let mut resp = palisade_rules::ftw::albedo::respond(&request);
    // The connection stays open for Envoy's next request: the framing must
    // be exact whatever headers a /reflect spec asked for.
    resp.headers.retain(|(k, _)| {
        !k.eq_ignore_ascii_case("content-length")
            && !k.eq_ignore_ascii_case("transfer-encoding")
            && !k.eq_ignore_ascii_case("connection")
    });
    resp.headers.push((
        "Content-Length".into(),
        resp.body.len().to_string().into_bytes(),
    ));
    let no_body = req.start[0] == "HEAD"
        || resp.status / 100 == 1
        || resp.status == 204
        || resp.status == 304;
    let mut bytes = resp.to_bytes();
    if no_body {
        bytes.truncate(bytes.len() - resp.body.len());
    }
    w.write_all(&bytes)?;
    w.flush()
}

fn respond(req: &Message) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let target = &req.start[1];
    if req.start[0] == "POST" && target.split('?').next() == Some("/reflect") {
        return reflect(&req.body);
    }
    let mut headers = vec![
        ("x-echo-method".to_string(), req.start[0].clone()),
        ("x-echo-target".to_string(), target.clone()),
        ("x-echo-headers".to_string(), req.headers.len().to_string()),
    ];
    let ct = req
        .header("content-type")
        .unwrap_or("application/octet-stream")
        .to_string();
    headers.push(("content-type".to_string(), ct));
    (200, headers, req.body.clone())
}

fn reflect(spec: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let v: serde_json::Value = match serde_json::from_slice(spec) {
        Ok(v) => v,
        Err(e) => return (400, vec![], format!("bad reflect spec: {e}").into_bytes()),
    };
    let status = v.get("status").and_then(|s| s.as_u64()).unwrap_or(200) as u16;
    let headers = v
        .get("headers")
        .and_then(|h| h.as_object())
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let body = match (
        v.get("encodedBody").and_then(|b| b.as_str()),
        v.get("body").and_then(|b| b.as_str()),
    ) {
        (Some(enc), _) => base64_decode(enc).unwrap_or_default(),
        (None, Some(b)) => b.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    (status, headers, body)
}

/// Standard base64 (padding optional); `None` on a bad character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVsbG8h").as_deref(), Some(&b"hello!"[..]));
        assert_eq!(base64_decode("aA").as_deref(), Some(&b"h"[..]));
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("a*==").is_none());
    }

    #[test]
    fn echo_and_reflect() {
        let b = Backend::start();
        let addr = format!("127.0.0.1:{}", b.port);
        let r = crate::http::request(
            &addr,
            "POST",
            "/x?a=1",
            &[("Content-Type", "text/plain")],
            b"hi",
        )
        .expect("backend answers");
        assert_eq!(r.status(), 200);
        assert_eq!(r.body, b"hi");
        assert_eq!(r.header("x-echo-target"), Some("/x?a=1"));
        let spec = br#"{"status":503,"headers":{"x-a":"b"},"body":"oops"}"#;
        let r = crate::http::request(&addr, "POST", "/reflect", &[], spec).expect("reflect");
        assert_eq!(
            (r.status(), r.header("x-a"), r.body_str().as_str()),
            (503, Some("b"), "oops")
        );
        assert_eq!(b.received().len(), 2);
    }
}
