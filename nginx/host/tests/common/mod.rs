//! Loading the built filter and driving requests through it.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use palisade_wasm_host::{Action, Headers, Host, LogLevel, Module, Region, Runtime, Stream, Vm};

/// `$PALISADE_WASM`, else `dist/palisade_filter.wasm` of the repository.
pub fn wasm_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PALISADE_WASM") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join("dist/palisade_filter.wasm")
}

pub fn wasm() -> Vec<u8> {
    let p = wasm_path();
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("read {} ({e}); run `make wasm` first or set PALISADE_WASM", p.display()))
}

pub type Logs = Rc<RefCell<Vec<(LogLevel, String)>>>;

pub fn vm(module: &Module, region: Region) -> (Vm, Logs) {
    let logs: Logs = Rc::new(RefCell::new(Vec::new()));
    let l = logs.clone();
    let host = Host::new("palisade", region, Box::new(move |lvl, m| l.borrow_mut().push((lvl, m.to_string()))));
    (module.instantiate(host).expect("instantiate"), logs)
}

pub fn stream(method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Stream {
    let mut h: Headers = vec![
        (":method".into(), method.as_bytes().to_vec()),
        (":path".into(), path.as_bytes().to_vec()),
        (":authority".into(), b"localhost".to_vec()),
        (":scheme".into(), b"http".to_vec()),
        ("user-agent".into(), b"palisade-host-test/1.0".to_vec()),
        ("accept".into(), b"*/*".to_vec()),
    ];
    for (k, v) in extra {
        h.push((k.to_string(), v.as_bytes().to_vec()));
    }
    Stream {
        request_headers: h,
        request_body: if body.is_empty() { Default::default() } else { palisade_wasm_host::Body::Owned(body.to_vec()) },
        properties: vec![
            ("source.address".into(), b"127.0.0.1:40000".to_vec()),
            ("destination.address".into(), b"127.0.0.1:8088".to_vec()),
            ("request.protocol".into(), b"HTTP/1.1".to_vec()),
        ],
        ..Default::default()
    }
}

/// Runs one exchange: request phases, and if not blocked a 200 text
/// response. Returns the local reply status, if any.
pub fn exchange(vm: &mut Vm, root: u32, mut s: Stream) -> Option<u32> {
    let ctx = vm.create_stream(root).expect("stream");
    let has_body = !s.request_body.is_empty();
    let mut local = None;
    let a = vm.on_request_headers(ctx, &mut s, !has_body).expect("headers");
    if let Some(l) = s.local_response.take() {
        local = Some(l.status);
    }
    if local.is_none() && has_body {
        let _ = a;
        vm.on_request_body(ctx, &mut s, true).expect("body");
        local = s.local_response.take().map(|l| l.status);
    }
    if local.is_none() {
        s.response_headers = vec![(":status".into(), b"200".to_vec()), ("content-type".into(), b"text/plain".to_vec())];
        vm.on_response_headers(ctx, &mut s, false).expect("resp headers");
        s.response_body = palisade_wasm_host::Body::Owned(b"hello world".to_vec());
        let act = vm.on_response_body(ctx, &mut s, true).expect("resp body");
        assert_eq!(act, Action::Continue);
    }
    vm.finish_stream(ctx, &mut s).expect("finish");
    local
}

pub fn filter_config(mode: &str) -> Vec<u8> {
    format!(r#"{{"mode":"{mode}","paranoia_level":1,"rules":["Include @crs-setup.conf","Include @crs/*.conf"]}}"#)
        .into_bytes()
}

pub fn runtimes() -> Vec<Runtime> {
    Runtime::available().to_vec()
}
