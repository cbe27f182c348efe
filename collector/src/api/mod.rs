//! The HTTP API: routing, authentication, body and parameter parsing, and
//! JSON responses. Handlers live in the sub-modules by area.

mod network;
mod params;
mod policy;
mod waf;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{header, Method, Request, Response, StatusCode};

use crate::auth::{Auth, Caller, Denied};
use crate::config::{Config, Role};
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::netpol::NetpolBackend;
use crate::store::Store;

pub use params::Query;

/// Everything a handler needs.
pub struct App {
    pub cfg: Config,
    pub store: Store,
    pub auth: Auth,
    pub metrics: Arc<Metrics>,
    pub netpol: Arc<dyn NetpolBackend>,
}

pub type Resp = Response<Full<Bytes>>;

/// A body must arrive within this time (slow senders hold a connection).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub fn json_bytes(status: u16, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

pub fn json<T: serde::Serialize>(status: u16, v: &T) -> Resp {
    match serde_json::to_vec(v) {
        Ok(b) => json_bytes(status, Bytes::from(b)),
        Err(e) => error_response(&AppError::Internal(format!("json: {e}"))),
    }
}

pub fn error_response(e: &AppError) -> Resp {
    let mut r = json(e.status(), &e.to_json());
    if e.status() == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    r
}

fn text(status: u16, content_type: &'static str, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

/// The request, reduced to what handlers use.
pub struct Req {
    pub method: Method,
    pub segments: Vec<String>,
    pub query: Query,
    authorization: Option<String>,
    content_type: Option<String>,
    content_length: Option<u64>,
    body: Option<Incoming>,
}

impl Req {
    /// Checks the token for `need`; returns who is calling.
    pub fn require(&self, auth: &Auth, need: Role) -> AppResult<Caller> {
        auth.check(self.authorization.as_deref(), need)
            .map_err(|d| match d {
                Denied::Missing => AppError::Unauthorized("a bearer token is required".into()),
                Denied::Wrong => AppError::Unauthorized("the bearer token is not known".into()),
                Denied::Forbidden => AppError::Forbidden("this token may not write".into()),
            })
    }

    /// Reads the body (up to `limit` bytes); `Ok(empty)` when there is none.
    pub async fn body(&mut self, limit: usize) -> AppResult<Bytes> {
        // Lenient on purpose (filters' HTTP clients differ): only a form
        // upload is refused; anything else must parse as JSON.
        if let Some(ct) = &self.content_type {
            let ct = ct.to_ascii_lowercase();
            if ct.starts_with("multipart/") {
                return Err(AppError::UnsupportedMediaType(format!(
                    "expected application/json, got {ct}"
                )));
            }
        }
        if self.content_length.is_some_and(|n| n > limit as u64) {
            return Err(AppError::TooLarge(limit));
        }
        let Some(body) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let read = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, limit).collect());
        match read
            .await
            .map_err(|_| AppError::bad("body", "not received within 30 s"))?
        {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    Err(AppError::TooLarge(limit))
                } else {
                    Err(AppError::bad("body", format!("cannot read the body: {e}")))
                }
            }
        }
    }
}

/// The caller's name for the audit trail.
pub fn who(c: &Caller) -> String {
    match c {
        Caller::Anonymous => "anonymous".into(),
        Caller::Token { name, .. } => name.clone(),
    }
}

fn decode_segment(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// A route label for metrics (ids replaced by placeholders).
fn route_label(segments: &[String]) -> String {
    let mut out = String::new();
    for (i, s) in segments.iter().enumerate() {
        out.push('/');
        let is_id = match segments
            .get(..i)
            .map(|p| p.iter().map(String::as_str).collect::<Vec<_>>())
        {
            Some(p) => {
                matches!(
                    p.as_slice(),
                    ["api", "v1", "events"]
                        | ["api", "v1", "rules"]
                        | ["api", "v1", "policy", "versions"]
                ) || (p.len() >= 3
                    && p[..3] == ["api", "v1", "network-policies"]
                    && s != "enforcement"
                    && s != "history")
            }
            None => false,
        };
        out.push_str(if is_id { "{id}" } else { s });
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let segments: Option<Vec<String>> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let hdr = |n: header::HeaderName| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let (segments, query) = match (segments, query) {
        (Some(s), Ok(q)) => (s, q),
        (None, _) => {
            let e = AppError::bad("path", "not valid percent-encoded UTF-8");
            app.metrics.http("invalid", 400);
            return error_response(&e);
        }
        (_, Err(e)) => {
            app.metrics.http("invalid", 400);
            return error_response(&e);
        }
    };
    if let Some(resp) = crate::web::respond(
        &parts.method,
        path,
        parts
            .headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok()),
    ) {
        app.metrics.http("/ui", resp.status().as_u16());
        return resp;
    }
    let route = route_label(&segments);
    let mut r = Req {
        method: parts.method.clone(),
        segments,
        query,
        authorization: hdr(header::AUTHORIZATION),
        content_type: hdr(header::CONTENT_TYPE),
        content_length: hdr(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        body: Some(body),
    };
    let resp = match dispatch(&app, &mut r).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.status() >= 500 {
                eprintln!("palisade collector: {} {}: {e}", r.method, route);
            }
            error_response(&e)
        }
    };
    app.metrics.http(&route, resp.status().as_u16());
    resp
}

async fn dispatch(app: &Arc<App>, r: &mut Req) -> AppResult<Resp> {
    let segs: Vec<String> = r.segments.clone();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = r.method.clone();
    let get = m == Method::GET || m == Method::HEAD;
    let not_allowed = || {
        Err(AppError::MethodNotAllowed(format!(
            "{m} is not allowed here"
        )))
    };
    match s.as_slice() {
        ["healthz"] => Ok(json(200, &serde_json::json!({"ok": true}))),
        ["metrics"] => {
            if !get {
                return not_allowed();
            }
            r.require(&app.auth, Role::Read)?;
            let body = waf::metrics_text(app).await?;
            Ok(text(200, "text/plain; version=0.0.4; charset=utf-8", body))
        }
        ["api", "v1", rest @ ..] => match (rest, get, m == Method::POST, m == Method::PUT) {
            (["telemetry"], _, true, _) => waf::telemetry(app, r).await,
            (["waf", "summary"], true, _, _) => waf::summary(app, r).await,
            (["network", "summary"], true, _, _) => network::summary(app, r).await,
            (["events"], true, _, _) => waf::events(app, r).await,
            (["events", id], true, _, _) => waf::event(app, r, id).await,
            (["events", id, "mask"], _, true, _) => policy::mask(app, r, id, false).await,
            (["events", id, "unmask"], _, true, _) => policy::mask(app, r, id, true).await,
            (["rules", id, "disable"], _, true, _) => policy::rule(app, r, id, true).await,
            (["rules", id, "enable"], _, true, _) => policy::rule(app, r, id, false).await,
            (["top", what], true, _, _) => waf::top(app, r, what).await,
            (["instances"], true, _, _) => waf::instances(app, r).await,
            (["policy"], true, _, _) => policy::get(app, r).await,
            (["policy"], _, _, true) => policy::put(app, r).await,
            (["policy", "history"], true, _, _) => policy::history(app, r).await,
            (["policy", "versions", v], true, _, _) => policy::version(app, r, v).await,
            (["network-policies"], true, _, _) => network::list(app, r).await,
            (["network-policies", "history"], true, _, _) => network::history(app, r).await,
            (["network-policies", id @ .., "enforcement"], _, _, true) if !id.is_empty() => {
                network::set_enforcement(app, r, &id.join("/")).await
            }
            (["network-policies", id @ ..], true, _, _) if !id.is_empty() => {
                network::show(app, r, &id.join("/")).await
            }
            (
                ["telemetry"]
                | ["waf", "summary"]
                | ["network", "summary"]
                | ["events"]
                | ["events", _]
                | ["events", _, "mask" | "unmask"]
                | ["rules", _, "disable" | "enable"]
                | ["top", _]
                | ["instances"]
                | ["policy"]
                | ["policy", "history"]
                | ["policy", "versions", _]
                | ["network-policies", ..],
                _,
                _,
                _,
            ) => not_allowed(),
            _ => Err(AppError::NotFound(format!(
                "no such path: {}",
                route_label(&segs)
            ))),
        },
        _ => Err(AppError::NotFound("no such path".into())),
    }
}
