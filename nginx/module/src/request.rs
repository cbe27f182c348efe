//! One request through the filter, on nginx's terms:
//!
//! - preaccess phase: `on_request_headers`; then the whole client body is
//!   read (nginx buffers it, in memory or a temp file) and handed to
//!   `on_request_body` in one call with end of stream. A local reply asked
//!   for there is sent here and the request goes no further.
//! - header filter: `on_response_headers`; header changes are applied; a
//!   local reply asked for here replaces the upstream's response.
//! - body filter: `on_response_body` per chunk; while the filter pauses,
//!   chunks are held and handed again with what follows; a body it replaced
//!   goes out instead of the upstream's.
//! - log phase (or the request pool's cleanup): `on_done`, `on_log`,
//!   `on_delete`.
//!
//! A VM that is down or traps gives the location's failure policy: `open`
//! passes the request uninspected, `closed` answers 503 (or, once the
//! response has started, ends its body).

use std::ffi::c_void;
use std::ptr;

use ngx::ffi::{
    ngx_alloc_chain_link, ngx_buf_t, ngx_chain_t, ngx_connection_local_sockaddr, ngx_create_temp_buf,
    ngx_http_core_run_phases, ngx_http_discard_request_body, ngx_http_finalize_request, ngx_http_output_body_filter_pt,
    ngx_http_output_filter, ngx_http_output_header_filter_pt, ngx_http_read_client_request_body, ngx_http_request_t,
    ngx_http_send_header, ngx_int_t, ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_pcalloc, ngx_pnalloc,
    ngx_pool_cleanup_add, ngx_pool_cleanup_t, ngx_str_t, ngx_table_elt_t, NGX_DECLINED, NGX_DONE, NGX_ERROR,
    NGX_HTTP_SERVICE_UNAVAILABLE, NGX_HTTP_SPECIAL_RESPONSE, NGX_OK,
};
use ngx::http::{HttpModule, HttpModuleLocationConf};
use palisade_wasm_host::{Action, Body, Headers, LocalResponse, Stream, Trap};

use crate::body::{consume, has_last, ChainView};
use crate::conf::{Failure, HttpPalisade, Use};
use crate::worker::{self, with_vm, CURRENT_LOG};
use crate::{guard, log};

/// Most response body bytes held back while the filter pauses.
const MAX_HELD: usize = 64 << 20;

pub static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
pub static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

#[derive(Debug, PartialEq)]
enum Stage {
    /// Headers inspected; the body is being read.
    ReadingBody,
    /// Request passed (inspected, or failed open).
    Continue,
    /// A local reply is to be sent at the phase handler's next run.
    Blocked,
    /// Failed closed before the response: 503.
    FailClosed,
}

#[derive(Debug, PartialEq)]
enum Resp {
    /// The filter does not see the response (yet, or any more).
    Off,
    /// Chunks go through the filter.
    Passing,
    /// The filter paused: chunks are held in `held`.
    Buffering,
    /// The response body is replaced by `replacement`.
    Replacing { sent: bool },
}

pub struct Ctx {
    slot: usize,
    generation: u32,
    id: u32,
    stream: Stream,
    failure: Failure,
    stage: Stage,
    pending: Option<LocalResponse>,
    local_sent: bool,
    resp: Resp,
    held: Vec<u8>,
    replacement: Vec<u8>,
    finished: bool,
}

/// Runs `f` with the request's log as the log of guest messages.
fn logged<R>(r: *mut ngx_http_request_t, f: impl FnOnce() -> R) -> R {
    // SAFETY: r is a live request.
    let l = unsafe {
        if (*r).connection.is_null() {
            ptr::null_mut()
        } else {
            (*(*r).connection).log
        }
    };
    let prev = CURRENT_LOG.with(|c| c.replace(l));
    let out = f();
    CURRENT_LOG.with(|c| c.set(prev));
    out
}

impl Ctx {
    /// Calls the stream's VM; `None` when the VM is gone or trapped.
    fn vm<R>(&mut self, f: impl FnOnce(&mut palisade_wasm_host::Vm, u32, &mut Stream) -> Result<R, Trap>) -> Option<R> {
        let (id, stream) = (self.id, &mut self.stream);
        match with_vm(self.slot, Some(self.generation), |vm| f(vm, id, stream)) {
            Some(Ok(r)) => Some(r),
            _ => None,
        }
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let _ = self.vm(|vm, id, s| vm.finish_stream(id, s));
    }
}

unsafe extern "C" fn cleanup_ctx(data: *mut c_void) {
    guard("request cleanup", (), || {
        if data.is_null() {
            return;
        }
        // SAFETY: data is the Box made in `attach`.
        let mut ctx = unsafe { Box::from_raw(data as *mut Ctx) };
        CURRENT_LOG.with(|c| c.set(ptr::null_mut()));
        ctx.finish();
    })
}

/// The request's context, found again after an internal redirect (which
/// clears module contexts) through the pool cleanup that owns it.
unsafe fn get_ctx(r: *mut ngx_http_request_t) -> Option<&'static mut Ctx> {
    let idx = HttpPalisade::module().ctx_index;
    let p = *(*r).ctx.add(idx) as *mut Ctx;
    if !p.is_null() {
        return Some(&mut *p);
    }
    let mut c: *mut ngx_pool_cleanup_t = (*(*r).pool).cleanup;
    while !c.is_null() {
        if (*c).handler.is_some_and(|h| std::ptr::fn_addr_eq(h, cleanup_ctx as unsafe extern "C" fn(*mut c_void)))
            && !(*c).data.is_null()
        {
            *(*r).ctx.add(idx) = (*c).data;
            return Some(&mut *((*c).data as *mut Ctx));
        }
        c = (*c).next;
    }
    None
}

unsafe fn attach(r: *mut ngx_http_request_t, ctx: Ctx) -> Option<&'static mut Ctx> {
    let cln = ngx_pool_cleanup_add((*r).pool, 0);
    if cln.is_null() {
        return None;
    }
    let p = Box::into_raw(Box::new(ctx));
    (*cln).handler = Some(cleanup_ctx);
    (*cln).data = p as *mut c_void;
    *(*r).ctx.add(HttpPalisade::module().ctx_index) = p as *mut c_void;
    Some(&mut *p)
}

fn bytes(s: &ngx_str_t) -> &[u8] {
    if s.data.is_null() || s.len == 0 {
        &[]
    } else {
        // SAFETY: an nginx string of len bytes.
        unsafe { std::slice::from_raw_parts(s.data, s.len) }
    }
}

/// The live (hash != 0) entries of a header list.
unsafe fn list_entries(list: *mut ngx_list_t) -> Vec<*mut ngx_table_elt_t> {
    let mut out = Vec::new();
    let mut part: *mut ngx_list_part_t = &mut (*list).part;
    while !part.is_null() {
        let elts = (*part).elts as *mut ngx_table_elt_t;
        for i in 0..(*part).nelts {
            let e = elts.add(i);
            if (*e).hash != 0 {
                out.push(e);
            }
        }
        part = (*part).next;
    }
    out
}

unsafe fn pool_str(r: *mut ngx_http_request_t, b: &[u8]) -> ngx_str_t {
    if b.is_empty() {
        return ngx_str_t { len: 0, data: ptr::null_mut() };
    }
    let p = ngx_pnalloc((*r).pool, b.len()) as *mut u8;
    if p.is_null() {
        return ngx_str_t { len: 0, data: ptr::null_mut() };
    }
    ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
    ngx_str_t { len: b.len(), data: p }
}

unsafe fn push_header(
    r: *mut ngx_http_request_t,
    list: *mut ngx_list_t,
    k: &str,
    v: &[u8],
) -> Option<*mut ngx_table_elt_t> {
    let h = ngx_list_push(list) as *mut ngx_table_elt_t;
    if h.is_null() {
        return None;
    }
    ptr::write_bytes(h, 0, 1);
    (*h).hash = 1;
    (*h).key = pool_str(r, k.as_bytes());
    (*h).value = pool_str(r, v);
    let lower = pool_str(r, k.to_ascii_lowercase().as_bytes());
    (*h).lowcase_key = lower.data;
    Some(h)
}

fn sockaddr_text(sa: *const libc::sockaddr, len: u32) -> Option<String> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: nginx gives a sockaddr of `len` bytes.
    unsafe {
        match (*sa).sa_family as i32 {
            libc::AF_INET if len as usize >= std::mem::size_of::<libc::sockaddr_in>() => {
                let a = &*(sa as *const libc::sockaddr_in);
                let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                Some(format!("{ip}:{}", u16::from_be(a.sin_port)))
            }
            libc::AF_INET6 if len as usize >= std::mem::size_of::<libc::sockaddr_in6>() => {
                let a = &*(sa as *const libc::sockaddr_in6);
                let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
                Some(format!("[{ip}]:{}", u16::from_be(a.sin6_port)))
            }
            libc::AF_UNIX => Some("unix:".into()),
            _ => None,
        }
    }
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    // SAFETY: fills the array.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The request as the filter sees it (Envoy-like: `:authority` instead of
/// `Host`, lowercase names).
unsafe fn build_stream(r: *mut ngx_http_request_t) -> Stream {
    let mut h: Headers = Vec::with_capacity(16);
    let hin = &mut (*r).headers_in;
    h.push((":method".into(), bytes(&(*r).method_name).to_vec()));
    h.push((":path".into(), bytes(&(*r).unparsed_uri).to_vec()));
    // No Host header (HTTP/1.0): no :authority, so the rules see none.
    if !hin.host.is_null() {
        h.push((":authority".into(), bytes(&(*hin.host).value).to_vec()));
    }
    let c = (*r).connection;
    let scheme: &[u8] = if !c.is_null() && !(*c).ssl.is_null() { b"https" } else { b"http" };
    h.push((":scheme".into(), scheme.to_vec()));
    let mut has_id = false;
    for e in list_entries(&mut hin.headers) {
        let k = String::from_utf8_lossy(bytes(&(*e).key)).to_ascii_lowercase();
        if k == "host" {
            continue;
        }
        has_id |= k == "x-request-id";
        h.push((k, bytes(&(*e).value).to_vec()));
    }
    let id = request_id();
    if !has_id {
        h.push(("x-request-id".into(), id.clone().into_bytes()));
    }
    let mut props = vec![
        ("request.protocol".to_string(), bytes(&(*r).http_protocol).to_vec()),
        ("request.id".to_string(), id.into_bytes()),
    ];
    if !c.is_null() {
        if let Some(s) = sockaddr_text((*c).sockaddr as *const libc::sockaddr, (*c).socklen) {
            props.push(("source.address".into(), s.into_bytes()));
        }
        if ngx_connection_local_sockaddr(c, ptr::null_mut(), 0) == NGX_OK as ngx_int_t {
            if let Some(s) = sockaddr_text((*c).local_sockaddr as *const libc::sockaddr, (*c).local_socklen) {
                props.push(("destination.address".into(), s.into_bytes()));
            }
        }
    }
    Stream { request_headers: h, properties: props, ..Stream::default() }
}

unsafe fn fail(r: *mut ngx_http_request_t, failure: Failure, why: &str) -> ngx_int_t {
    log::to(
        (*(*r).connection).log,
        ngx::ffi::NGX_LOG_ERR as usize,
        &format!(
            "palisade: {why}; failing {}",
            match failure {
                Failure::Open => "open (request passes uninspected)",
                Failure::Closed => "closed (503)",
            }
        ),
    );
    match failure {
        Failure::Open => NGX_DECLINED as ngx_int_t,
        Failure::Closed => NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t,
    }
}

/// A chain of one buffer holding `data` (possibly none), last if asked.
unsafe fn out_chain(r: *mut ngx_http_request_t, data: &[u8], last: bool) -> *mut ngx_chain_t {
    let b: *mut ngx_buf_t = if data.is_empty() {
        ngx_pcalloc((*r).pool, std::mem::size_of::<ngx_buf_t>()) as *mut ngx_buf_t
    } else {
        let b = ngx_create_temp_buf((*r).pool, data.len());
        if !b.is_null() {
            ptr::copy_nonoverlapping(data.as_ptr(), (*b).last, data.len());
            (*b).last = (*b).last.add(data.len());
        }
        b
    };
    if b.is_null() {
        return ptr::null_mut();
    }
    if last {
        (*b).set_last_buf(if r == (*r).main { 1 } else { 0 });
        (*b).set_last_in_chain(1);
    }
    let cl = ngx_alloc_chain_link((*r).pool);
    if cl.is_null() {
        return ptr::null_mut();
    }
    (*cl).buf = b;
    (*cl).next = ptr::null_mut();
    cl
}

/// Puts a local reply's status and headers on the response.
unsafe fn set_reply_headers(r: *mut ngx_http_request_t, lr: &LocalResponse) {
    let ho = &mut (*r).headers_out;
    for e in list_entries(&mut ho.headers) {
        (*e).hash = 0;
    }
    ho.status = lr.status as usize;
    ho.status_line.len = 0;
    ho.content_length = ptr::null_mut();
    ho.content_length_n = lr.body.len() as i64;
    ho.content_encoding = ptr::null_mut();
    ho.last_modified = ptr::null_mut();
    ho.last_modified_time = -1;
    ho.location = ptr::null_mut();
    ho.etag = ptr::null_mut();
    ho.content_type.len = 0;
    ho.content_type_len = 0;
    ho.content_type_lowcase = ptr::null_mut();
    for (k, v) in &lr.headers {
        match k.as_str() {
            "content-type" => {
                ho.content_type = pool_str(r, v);
                ho.content_type_len = v.len();
            }
            "content-length" => {}
            _ => {
                let _ = push_header(r, &mut ho.headers, k, v);
            }
        }
    }
}

/// Sends a local reply from the preaccess phase and finalizes.
unsafe fn send_local(r: *mut ngx_http_request_t, ctx: &mut Ctx, lr: LocalResponse, discard: bool) -> ngx_int_t {
    ctx.local_sent = true;
    if discard {
        let _ = ngx_http_discard_request_body(r);
    }
    set_reply_headers(r, &lr);
    let rc = ngx_http_send_header(r);
    let rc = if rc == NGX_ERROR as ngx_int_t || rc > NGX_OK as ngx_int_t || (*r).header_only() != 0 {
        rc
    } else {
        let cl = out_chain(r, &lr.body, true);
        if cl.is_null() {
            NGX_ERROR as ngx_int_t
        } else {
            ngx_http_output_filter(r, cl)
        }
    };
    ngx_http_finalize_request(r, rc);
    NGX_DONE as ngx_int_t
}

pub unsafe extern "C" fn access_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard("preaccess handler", NGX_ERROR as ngx_int_t, || unsafe { logged(r, || access(r)) })
}

unsafe fn access(r: *mut ngx_http_request_t) -> ngx_int_t {
    if r != (*r).main {
        return NGX_DECLINED as ngx_int_t;
    }
    if let Some(ctx) = get_ctx(r) {
        return match ctx.stage {
            Stage::ReadingBody => NGX_DONE as ngx_int_t,
            Stage::Continue => NGX_DECLINED as ngx_int_t,
            Stage::FailClosed => NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t,
            Stage::Blocked => match ctx.pending.take() {
                Some(lr) => send_local(r, ctx, lr, false),
                None => NGX_DECLINED as ngx_int_t,
            },
        };
    }
    let Some(lcf) = HttpPalisade::location_conf(&*r) else { return NGX_DECLINED as ngx_int_t };
    let Use::Plugin(plugin) = lcf.plugin else { return NGX_DECLINED as ngx_int_t };
    let failure = lcf.failure();
    let Some((slot, root, generation)) = worker::plugin(plugin) else {
        return fail(r, failure, "the wasm VM is down");
    };
    let id = match with_vm(slot, Some(generation), |vm| vm.create_stream(root)) {
        Some(Ok(id)) => id,
        Some(Err(t)) => return fail(r, failure, &t.to_string()),
        None => return fail(r, failure, "the wasm VM is down"),
    };
    let ctx = Ctx {
        slot,
        generation,
        id,
        stream: build_stream(r),
        failure,
        stage: Stage::Continue,
        pending: None,
        local_sent: false,
        resp: Resp::Off,
        held: Vec::new(),
        replacement: Vec::new(),
        finished: false,
    };
    let Some(ctx) = attach(r, ctx) else { return NGX_ERROR as ngx_int_t };
    let hin = &(*r).headers_in;
    let has_body = hin.content_length_n > 0 || hin.chunked() != 0;
    let res = ctx.vm(|vm, id, s| vm.on_request_headers(id, s, !has_body));
    if res.is_none() {
        ctx.finished = true;
        return fail(r, failure, "the wasm VM trapped on request headers");
    }
    if let Some(lr) = ctx.stream.local_response.take() {
        return send_local(r, ctx, lr, has_body);
    }
    if !has_body {
        return NGX_DECLINED as ngx_int_t;
    }
    ctx.stage = Stage::ReadingBody;
    let rc = ngx_http_read_client_request_body(r, Some(body_read));
    if rc >= NGX_HTTP_SPECIAL_RESPONSE as ngx_int_t {
        return rc;
    }
    ngx_http_finalize_request(r, NGX_DONE as ngx_int_t);
    NGX_DONE as ngx_int_t
}

unsafe extern "C" fn body_read(r: *mut ngx_http_request_t) {
    guard("request body handler", (), || unsafe {
        logged(r, || {
            let Some(ctx) = get_ctx(r) else { return };
            let rb = (*r).request_body;
            let view = ChainView::new(if rb.is_null() { ptr::null() } else { (*rb).bufs });
            ctx.stream.request_body = Body::Source(Box::new(view));
            let res = ctx.vm(|vm, id, s| vm.on_request_body(id, s, true));
            ctx.stream.request_body = Body::None;
            ctx.stage = match res {
                None => {
                    ctx.finished = true;
                    let rc = fail(r, ctx.failure, "the wasm VM trapped on the request body");
                    if rc == NGX_DECLINED as ngx_int_t {
                        Stage::Continue
                    } else {
                        Stage::FailClosed
                    }
                }
                Some(_) => match ctx.stream.local_response.take() {
                    Some(lr) => {
                        ctx.pending = Some(lr);
                        Stage::Blocked
                    }
                    None => Stage::Continue,
                },
            };
            if ctx.stream.request_body_changed {
                log::to(
                    (*(*r).connection).log,
                    ngx::ffi::NGX_LOG_WARN as usize,
                    "palisade: the filter changed the request body; this host does not forward such changes",
                );
            }
            (*r).write_event_handler = Some(ngx_http_core_run_phases);
            ngx_http_core_run_phases(r);
        })
    })
}

/// The response headers as the filter sees them.
unsafe fn response_headers(r: *mut ngx_http_request_t) -> Headers {
    let ho = &mut (*r).headers_out;
    let mut h: Headers = vec![(":status".into(), ho.status.to_string().into_bytes())];
    for e in list_entries(&mut ho.headers) {
        h.push((String::from_utf8_lossy(bytes(&(*e).key)).to_ascii_lowercase(), bytes(&(*e).value).to_vec()));
    }
    if ho.content_type.len > 0 && !h.iter().any(|(k, _)| k == "content-type") {
        h.push(("content-type".into(), bytes(&ho.content_type).to_vec()));
    }
    if ho.content_length_n >= 0 && !h.iter().any(|(k, _)| k == "content-length") {
        h.push(("content-length".into(), ho.content_length_n.to_string().into_bytes()));
    }
    h
}

/// Applies the filter's header changes: names it dropped or whose values
/// changed are removed, then its new values added.
unsafe fn apply_response_headers(r: *mut ngx_http_request_t, before: &Headers, after: &Headers) {
    let ho = &mut (*r).headers_out;
    let changed = |k: &str| {
        let a: Vec<&Vec<u8>> = before.iter().filter(|(n, _)| n == k).map(|(_, v)| v).collect();
        let b: Vec<&Vec<u8>> = after.iter().filter(|(n, _)| n == k).map(|(_, v)| v).collect();
        a != b
    };
    let mut names: Vec<&str> =
        before.iter().chain(after.iter()).map(|(k, _)| k.as_str()).filter(|k| !k.starts_with(':')).collect();
    names.sort_unstable();
    names.dedup();
    for k in names.into_iter().filter(|k| changed(k)) {
        for e in list_entries(&mut ho.headers) {
            if bytes(&(*e).key).eq_ignore_ascii_case(k.as_bytes()) {
                (*e).hash = 0;
            }
        }
        match k {
            "content-length" => {
                ho.content_length = ptr::null_mut();
                ho.content_length_n = -1;
            }
            "content-type" => {
                ho.content_type.len = 0;
                ho.content_type_len = 0;
            }
            "last-modified" => {
                ho.last_modified = ptr::null_mut();
                ho.last_modified_time = -1;
            }
            "location" => ho.location = ptr::null_mut(),
            "etag" => ho.etag = ptr::null_mut(),
            "content-encoding" => ho.content_encoding = ptr::null_mut(),
            _ => {}
        }
        for (_, v) in after.iter().filter(|(n, _)| n == k) {
            match k {
                "content-length" => {
                    if let Some(n) = std::str::from_utf8(v).ok().and_then(|s| s.trim().parse::<i64>().ok()) {
                        ho.content_length_n = n;
                    }
                }
                "content-type" => {
                    ho.content_type = pool_str(r, v);
                    ho.content_type_len = v.len();
                }
                _ => {
                    let _ = push_header(r, &mut ho.headers, k, v);
                }
            }
        }
    }
    if let Some((_, s)) = after.iter().find(|(k, _)| k == ":status") {
        if let Some(n) = std::str::from_utf8(s).ok().and_then(|s| s.parse::<usize>().ok()) {
            if n != ho.status && (100..1000).contains(&n) {
                ho.status = n;
                ho.status_line.len = 0;
            }
        }
    }
}

unsafe fn next_header(r: *mut ngx_http_request_t) -> ngx_int_t {
    match NEXT_HEADER_FILTER {
        Some(f) => f(r),
        None => NGX_ERROR as ngx_int_t,
    }
}

unsafe fn next_body(r: *mut ngx_http_request_t, cl: *mut ngx_chain_t) -> ngx_int_t {
    match NEXT_BODY_FILTER {
        Some(f) => f(r, cl),
        None => NGX_ERROR as ngx_int_t,
    }
}

pub unsafe extern "C" fn header_filter(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard("header filter", NGX_ERROR as ngx_int_t, || unsafe { logged(r, || headers_out(r)) })
}

unsafe fn headers_out(r: *mut ngx_http_request_t) -> ngx_int_t {
    if r != (*r).main {
        return next_header(r);
    }
    let Some(ctx) = get_ctx(r) else { return next_header(r) };
    if ctx.local_sent || ctx.finished || ctx.stage != Stage::Continue {
        return next_header(r);
    }
    let before = response_headers(r);
    ctx.stream.response_headers = before.clone();
    ctx.stream.response_headers_changed = false;
    let eos = (*r).header_only() != 0 || (*r).headers_out.content_length_n == 0;
    let res = ctx.vm(|vm, id, s| vm.on_response_headers(id, s, eos));
    if res.is_none() {
        ctx.finished = true;
        if fail(r, ctx.failure, "the wasm VM trapped on response headers") != NGX_DECLINED as ngx_int_t {
            let lr = LocalResponse { status: 503, details: String::new(), headers: Vec::new(), body: Vec::new() };
            set_reply_headers(r, &lr);
            ctx.replacement = Vec::new();
            ctx.resp = Resp::Replacing { sent: false };
        }
        return next_header(r);
    }
    if let Some(lr) = ctx.stream.local_response.take() {
        set_reply_headers(r, &lr);
        ctx.replacement = lr.body;
        ctx.resp = Resp::Replacing { sent: false };
        return next_header(r);
    }
    if ctx.stream.response_headers_changed {
        let after = ctx.stream.response_headers.clone();
        apply_response_headers(r, &before, &after);
    }
    ctx.resp = if eos { Resp::Off } else { Resp::Passing };
    next_header(r)
}

pub unsafe extern "C" fn body_filter(r: *mut ngx_http_request_t, cl: *mut ngx_chain_t) -> ngx_int_t {
    guard("body filter", NGX_ERROR as ngx_int_t, || unsafe { logged(r, || body_out(r, cl)) })
}

unsafe fn body_out(r: *mut ngx_http_request_t, cl: *mut ngx_chain_t) -> ngx_int_t {
    if r != (*r).main {
        return next_body(r, cl);
    }
    let Some(ctx) = get_ctx(r) else { return next_body(r, cl) };
    match ctx.resp {
        Resp::Off => return next_body(r, cl),
        Resp::Replacing { sent } => {
            consume(cl);
            if sent {
                return NGX_OK as ngx_int_t;
            }
            ctx.resp = Resp::Replacing { sent: true };
            let out = out_chain(r, &std::mem::take(&mut ctx.replacement), true);
            return if out.is_null() { NGX_ERROR as ngx_int_t } else { next_body(r, out) };
        }
        Resp::Passing | Resp::Buffering => {}
    }
    if cl.is_null() {
        return next_body(r, cl);
    }
    let last = has_last(cl);
    let view = ChainView::new(cl);
    let direct = ctx.held.is_empty();
    if direct {
        ctx.stream.response_body = Body::Source(Box::new(view));
    } else {
        let more = palisade_wasm_host::BodySource::read(&view, 0, usize::MAX);
        consume(cl);
        let mut held = std::mem::take(&mut ctx.held);
        held.extend_from_slice(&more);
        ctx.stream.response_body = Body::Owned(held);
    }
    ctx.stream.response_body_changed = false;
    let res = ctx.vm(|vm, id, s| vm.on_response_body(id, s, last));
    let body = std::mem::take(&mut ctx.stream.response_body);
    let changed = ctx.stream.response_body_changed;
    let action = match res {
        Some(a) => a,
        None => {
            ctx.finished = true;
            if fail(r, ctx.failure, "the wasm VM trapped on the response body") == NGX_DECLINED as ngx_int_t {
                ctx.resp = Resp::Off;
                return match body {
                    Body::Source(_) => next_body(r, cl),
                    other => send_body(r, &other.read(0, usize::MAX), last),
                };
            }
            consume(cl);
            ctx.replacement = Vec::new();
            ctx.resp = Resp::Replacing { sent: true };
            return send_body(r, &[], true);
        }
    };
    if action == Action::Pause && !last {
        if direct {
            ctx.held = body.read(0, usize::MAX);
            consume(cl);
        } else if let Body::Owned(v) = body {
            ctx.held = v;
        }
        if ctx.held.len() <= MAX_HELD {
            ctx.resp = Resp::Buffering;
            return NGX_OK as ngx_int_t;
        }
        // The filter keeps pausing past any sane body limit: stop holding
        // the response back and let the rest through uninspected.
        log::to(
            (*(*r).connection).log,
            ngx::ffi::NGX_LOG_WARN as usize,
            &format!(
                "palisade: the filter held {} bytes of response body; passing the rest uninspected",
                ctx.held.len()
            ),
        );
        ctx.resp = Resp::Off;
        let held = std::mem::take(&mut ctx.held);
        return send_body(r, &held, false);
    }
    ctx.resp = if last { Resp::Off } else { Resp::Passing };
    if direct && !changed {
        return next_body(r, cl);
    }
    let data = body.read(0, usize::MAX);
    if direct {
        consume(cl);
    }
    send_body(r, &data, last)
}

unsafe fn send_body(r: *mut ngx_http_request_t, data: &[u8], last: bool) -> ngx_int_t {
    if data.is_empty() && !last {
        return NGX_OK as ngx_int_t;
    }
    let out = out_chain(r, data, last);
    if out.is_null() {
        NGX_ERROR as ngx_int_t
    } else {
        next_body(r, out)
    }
}

pub unsafe extern "C" fn log_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    guard("log handler", NGX_OK as ngx_int_t, || unsafe {
        logged(r, || {
            if let Some(ctx) = get_ctx(r) {
                ctx.finish();
            }
            NGX_OK as ngx_int_t
        })
    })
}

#[allow(dead_code)]
fn _assert_types(_: *mut ngx_str_t) {}
