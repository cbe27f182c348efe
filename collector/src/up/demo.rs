//! The demo upstream: a tiny "shop" for Envoy to protect in `palisade up`
//! (also runnable alone as `palisade demo-upstream`). It has a few pages
//! with parameters an attacker would aim at, answers plain HTML or JSON,
//! escapes what it echoes, and keeps no state.
//!
//! | route                | answer                                          |
//! |----------------------|-------------------------------------------------|
//! | `GET /`              | a page linking to the others                    |
//! | `GET /search?q=`     | "no results for …" (q HTML-escaped)             |
//! | `GET /products?id=N` | one product as JSON; 400 unless N is a number   |
//! | `POST /login`        | form `user`, `password`: 200 for demo/demo, else 401 |
//! | `GET /healthz`       | `ok`                                            |
//! | anything else        | 404                                             |

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// Largest request body read (the login form).
const MAX_BODY: usize = 64 * 1024;
/// Connections served at once.
const MAX_CONNECTIONS: usize = 256;

/// Flags of `palisade demo-upstream`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081", value_name = "ADDR")]
    pub listen: SocketAddr,
}

/// `palisade demo-upstream`: serves until Ctrl-C or SIGTERM.
pub fn run(args: DemoArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let listener = bind(args.listen).await?;
        println!("palisade demo upstream listening on http://{}", args.listen);
        tokio::select! {
            _ = serve(listener) => {},
            _ = super::signals::wait() => {},
        }
        Ok(())
    })
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("demo upstream: cannot listen on {addr}: {e}"))
}

/// Accepts connections forever.
pub async fn serve(listener: TcpListener) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(|req| async move { Ok::<_, Infallible>(handle(req).await) });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(15))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

type Resp = Response<Full<Bytes>>;

fn answer(status: u16, content_type: &'static str, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

fn html(status: u16, title: &str, inner: &str) -> Resp {
    answer(
        status,
        "text/html; charset=utf-8",
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
             <body><h1>{title}</h1>\n{inner}\n</body></html>\n"
        ),
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The value of `name` in a query string or form body (`+` is a space).
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            let v = v.replace('+', " ");
            percent_encoding::percent_decode_str(&v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

const PRODUCTS: [&str; 5] = [
    "Garden chair",
    "Folding table",
    "Parasol",
    "Lantern",
    "Hammock",
];

async fn handle(req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let query = parts.uri.query().unwrap_or("").to_string();
    match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/") => html(
            200,
            "Demo shop",
            "<p>A small application behind Palisade. Try:</p>\n<ul>\n\
             <li><a href=\"/search?q=garden+chair\">/search?q=garden+chair</a></li>\n\
             <li><a href=\"/products?id=2\">/products?id=2</a></li>\n\
             <li><a href=\"/products?id=1'%20OR%201=1--\">/products?id=1' OR 1=1--</a> (an SQL injection)</li>\n\
             </ul>\n<form method=\"post\" action=\"/login\">\
             <input name=\"user\" placeholder=\"user\"> <input name=\"password\" type=\"password\" placeholder=\"password\"> \
             <button>Log in</button></form>",
        ),
        (&Method::GET, "/search") => {
            let q = param(&query, "q").unwrap_or_default();
            html(
                200,
                "Search",
                &format!("<p>No results for <q>{}</q>.</p>", escape(&q)),
            )
        }
        (&Method::GET, "/products") => {
            let id = param(&query, "id").unwrap_or_default();
            match id.trim().parse::<usize>() {
                Ok(n) if (1..=PRODUCTS.len()).contains(&n) => answer(
                    200,
                    "application/json",
                    serde_json::json!({"id": n, "name": PRODUCTS[n - 1]}).to_string(),
                ),
                Ok(_) => answer(404, "application/json", r#"{"error":"no such product"}"#.into()),
                Err(_) => answer(400, "application/json", r#"{"error":"id must be a number"}"#.into()),
            }
        }
        (&Method::POST, "/login") => {
            let read = tokio::time::timeout(
                Duration::from_secs(15),
                Limited::new(body, MAX_BODY).collect(),
            )
            .await;
            let Ok(Ok(collected)) = read else {
                return answer(400, "text/plain; charset=utf-8", "bad or oversized body\n".into());
            };
            let form = String::from_utf8_lossy(&collected.to_bytes()).into_owned();
            let user = param(&form, "user").unwrap_or_default();
            let password = param(&form, "password").unwrap_or_default();
            if user == "demo" && password == "demo" {
                html(200, "Welcome", "<p>Logged in as demo.</p>")
            } else {
                html(401, "Login failed", "<p>Unknown user or wrong password.</p>")
            }
        }
        (&Method::GET, "/healthz") => answer(200, "text/plain; charset=utf-8", "ok\n".into()),
        _ => answer(404, "text/plain; charset=utf-8", "not found\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_decode_and_escape() {
        assert_eq!(
            param("a=1&q=garden+chair", "q").as_deref(),
            Some("garden chair")
        );
        assert_eq!(
            param("id=1'%20OR%201=1--", "id").as_deref(),
            Some("1' OR 1=1--")
        );
        assert_eq!(param("q", "q").as_deref(), Some(""));
        assert_eq!(param("x=%zz%", "x").as_deref(), Some("%zz%"));
        assert_eq!(param("x=%ff", "x").as_deref(), Some("\u{fffd}"));
        assert_eq!(param("a=1", "q"), None);
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
