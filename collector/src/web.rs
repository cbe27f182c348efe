//! The Threat Monitoring page: static files embedded at build time (see
//! `build.rs`), served at `/` (the page) and `/ui/<file>` (its scripts,
//! styles and the playground's WebAssembly module).
//!
//! The files hold no data: everything on the page comes from the JSON API,
//! with the API's own authentication. Responses carry an ETag so browsers
//! revalidate instead of downloading again, and a Content-Security-Policy
//! that allows only this origin (plus compiling WebAssembly).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};

use crate::api::Resp;

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

/// The embedded file at `path` (relative to `/ui/`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// Answers `GET`/`HEAD` for the page's paths; `None` for any other path
/// (the API's routing takes it from there).
pub fn respond(method: &Method, path: &str, if_none_match: Option<&str>) -> Option<Resp> {
    let name = match path {
        "/" | "/index.html" => "index.html",
        p => p.strip_prefix("/ui/")?,
    };
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed here\n"),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(r);
    }
    let Some(a) = asset(name) else {
        let msg = if name == "playground.wasm" {
            "This collector was built without the rule playground (run `make collector`).\n"
                .to_string()
        } else {
            format!("no such file: /ui/{name}\n")
        };
        return Some(plain(StatusCode::NOT_FOUND, msg));
    };
    let fresh =
        if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let mut r = if fresh {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(a.bytes)));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        );
        r
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(a.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if a.content_type.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    Some(r)
}

fn plain(status: StatusCode, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, inm: Option<&str>) -> Option<Resp> {
        respond(&Method::GET, path, inm)
    }

    #[test]
    fn page_and_assets() {
        let r = get("/", None).expect("the page");
        assert_eq!(r.status(), 200);
        assert!(r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(r.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(get("/", Some(&etag)).unwrap().status(), 304);
        assert_eq!(
            get("/", Some(&format!("\"x\", {etag}"))).unwrap().status(),
            304
        );
        assert_eq!(get("/", Some("\"other\"")).unwrap().status(), 200);
        let js = get("/ui/js/app.js", None).expect("app.js");
        assert_eq!(js.status(), 200);
        assert!(js.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert!(asset("README.md").is_none());
    }

    #[test]
    fn other_paths() {
        assert!(get("/api/v1/policy", None).is_none());
        assert!(get("/healthz", None).is_none());
        assert_eq!(get("/ui/nope.js", None).unwrap().status(), 404);
        assert_eq!(get("/ui/../Cargo.toml", None).unwrap().status(), 404);
        let wasm = get("/ui/playground.wasm", None).unwrap();
        assert_eq!(wasm.status(), if HAS_PLAYGROUND { 200 } else { 404 });
        assert_eq!(respond(&Method::POST, "/", None).unwrap().status(), 405);
    }
}
