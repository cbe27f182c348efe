//! CPU per request of the Palisade filter (CRS at PL1) in each runtime
//! built in, on a fixed mix of benign and attack requests, without a
//! proxy: `cargo run --release --example crs_bench [-- ROUNDS]`
//! (`--features wasmi` adds the interpreter).

use std::time::Instant;

use palisade_wasm_host::{Body, Headers, Host, Module, Region, Runtime, Stream};

fn stream(method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Stream {
    let mut h: Headers = vec![
        (":method".into(), method.into()),
        (":path".into(), path.into()),
        (":authority".into(), b"localhost".to_vec()),
        (":scheme".into(), b"http".to_vec()),
        ("user-agent".into(), b"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0".to_vec()),
        ("accept".into(), b"text/html,application/xhtml+xml".to_vec()),
        ("accept-language".into(), b"en-US,en;q=0.5".to_vec()),
        ("x-request-id".into(), b"bench".to_vec()),
    ];
    if let Some(ct) = ct {
        h.push(("content-type".into(), ct.into()));
        h.push(("content-length".into(), body.len().to_string().into_bytes()));
    }
    Stream {
        request_headers: h,
        request_body: if body.is_empty() { Body::None } else { Body::Owned(body.to_vec()) },
        properties: vec![
            ("source.address".into(), b"127.0.0.1:40000".to_vec()),
            ("destination.address".into(), b"127.0.0.1:8088".to_vec()),
            ("request.protocol".into(), b"HTTP/1.1".to_vec()),
        ],
        ..Stream::default()
    }
}

fn mix() -> Vec<Stream> {
    vec![
        stream("GET", "/search?q=blue+shoes&page=2&sort=price", None, b""),
        stream("GET", "/static/app.js?v=3", None, b""),
        stream(
            "POST",
            "/contact",
            Some("application/x-www-form-urlencoded"),
            b"name=Ada+Lovelace&email=ada%40example.com&message=Hello+there",
        ),
        stream(
            "POST",
            "/api/orders",
            Some("application/json"),
            br#"{"user":{"id":42,"name":"Ada"},"items":[{"sku":"A-1","qty":2}]}"#,
        ),
        stream("GET", "/?id=1%27%20OR%201=1--", None, b""),
        stream("GET", "/?q=%3Cscript%3Ealert(1)%3C/script%3E", None, b""),
    ]
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let path = std::env::var("PALISADE_WASM").unwrap_or_else(|_| "../dist/palisade_filter.wasm".into());
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let config = br#"{"mode":"detect","paranoia_level":1,"rules":["Include @crs-setup.conf","Include @crs/*.conf"],"error_log":false}"#;
    for &rt in Runtime::available() {
        let t = Instant::now();
        let module = Module::compile(&bytes, rt).expect("compile");
        let compile = t.elapsed();
        let region = Region::map().expect("region");
        let t = Instant::now();
        let mut vm = module.instantiate(Host::new("palisade", region, Box::new(|_, _| {}))).expect("instantiate");
        let root = vm.create_root(config.to_vec()).expect("configure");
        let start = t.elapsed();
        let requests = mix();
        let run = |vm: &mut palisade_wasm_host::Vm, n: usize| {
            for _ in 0..n {
                for r in &requests {
                    let mut s = Stream {
                        request_headers: r.request_headers.clone(),
                        request_body: match &r.request_body {
                            Body::Owned(v) => Body::Owned(v.clone()),
                            _ => Body::None,
                        },
                        properties: r.properties.clone(),
                        ..Stream::default()
                    };
                    let has_body = !s.request_body.is_empty();
                    let id = vm.create_stream(root).expect("stream");
                    vm.on_request_headers(id, &mut s, !has_body).expect("headers");
                    if has_body {
                        vm.on_request_body(id, &mut s, true).expect("body");
                    }
                    s.response_headers =
                        vec![(":status".into(), b"200".to_vec()), ("content-type".into(), b"text/html".to_vec())];
                    vm.on_response_headers(id, &mut s, false).expect("response headers");
                    s.response_body = Body::Owned(b"<html><body>ok</body></html>".to_vec());
                    vm.on_response_body(id, &mut s, true).expect("response body");
                    vm.finish_stream(id, &mut s).expect("finish");
                }
            }
        };
        run(&mut vm, 5);
        let t = Instant::now();
        run(&mut vm, rounds);
        let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * requests.len()) as f64;
        println!(
            "{rt:?}: compile {:.2} s, VM start with CRS {:.2} s, {per:.1} us per request (mix of {} requests, {rounds} rounds)",
            compile.as_secs_f64(),
            start.as_secs_f64(),
            requests.len()
        );
        unsafe { region.unmap() };
    }
}
