//! `dispatch_http_call` on nginx's event loop: a non-blocking connection
//! (`ngx_event_connect_peer`), the request written as the socket allows,
//! the answer read until complete or closed, bounded by the call's timeout.
//! The outcome (an empty response when anything failed) goes back to the
//! root that dispatched it.

use std::ffi::c_void;
use std::net::SocketAddr;
use std::ptr;

use ngx::ffi::{
    ngx_add_timer, ngx_close_connection, ngx_connection_t, ngx_cycle, ngx_del_timer, ngx_event_connect_peer,
    ngx_event_get_peer, ngx_event_t, ngx_handle_read_event, ngx_handle_write_event, ngx_peer_connection_t, ngx_str_t,
    NGX_AGAIN, NGX_ERROR, NGX_LOG_DEBUG, NGX_OK,
};
use palisade_wasm_host::{httpcall, CallResponse, HttpCall};

use crate::{guard, log, worker};

struct Call {
    slot: usize,
    generation: u32,
    root: u32,
    token: u32,
    out: Vec<u8>,
    sent: usize,
    input: Vec<u8>,
    sockaddr: Box<libc::sockaddr_storage>,
    name: Box<ngx_str_t>,
    name_bytes: Vec<u8>,
    pc: ngx_peer_connection_t,
}

fn to_storage(addr: &SocketAddr) -> (libc::sockaddr_storage, u32) {
    // SAFETY: zeroed sockaddr_storage is valid; the right variant is written.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as u16,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from(*a.ip()).to_be() },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as u16,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as u32)
}

/// Starts a call; its outcome is delivered later (or at once if the
/// connection cannot even be attempted).
pub fn start(slot: usize, generation: u32, addr: SocketAddr, c: HttpCall) {
    let (ss, socklen) = to_storage(&addr);
    let name_bytes = c.cluster.clone().into_bytes();
    let mut call = Box::new(Call {
        slot,
        generation,
        root: c.root_context,
        token: c.token,
        out: httpcall::request_bytes(&c),
        sent: 0,
        input: Vec::new(),
        sockaddr: Box::new(ss),
        name: Box::new(ngx_str_t { len: 0, data: ptr::null_mut() }),
        name_bytes,
        // SAFETY: a zeroed peer connection is the documented starting point.
        pc: unsafe { std::mem::zeroed() },
    });
    call.name.len = call.name_bytes.len();
    call.name.data = call.name_bytes.as_mut_ptr();
    call.pc.sockaddr = &mut *call.sockaddr as *mut _ as *mut ngx::ffi::sockaddr;
    call.pc.socklen = socklen;
    call.pc.name = &mut *call.name;
    call.pc.get = Some(ngx_event_get_peer);
    // SAFETY: ngx_cycle is live in a worker.
    call.pc.log = unsafe { (*ngx_cycle).log };
    call.pc.set_log_error(ngx::ffi::ngx_connection_log_error_e_NGX_ERROR_INFO);
    // SAFETY: pc is fully set up for a single-address connect.
    let rc = unsafe { ngx_event_connect_peer(&mut call.pc) };
    if rc == NGX_ERROR as isize || call.pc.connection.is_null() || (rc != NGX_OK as isize && rc != NGX_AGAIN as isize) {
        log::cycle(NGX_LOG_DEBUG as usize, &format!("palisade: cannot connect to cluster {:?} ({addr})", c.cluster));
        if !call.pc.connection.is_null() {
            // SAFETY: the connection was created for this call.
            unsafe { ngx_close_connection(call.pc.connection) };
        }
        return worker::deliver(slot, Some(generation), c.root_context, c.token, CallResponse::default());
    }
    let timeout = c.timeout_ms.clamp(1, 600_000) as usize;
    let conn = call.pc.connection;
    let raw = Box::into_raw(call);
    // SAFETY: conn is the new connection; raw lives until `finish`.
    unsafe {
        (*conn).data = raw as *mut c_void;
        (*(*conn).read).handler = Some(on_read);
        (*(*conn).write).handler = Some(on_write);
        ngx_add_timer((*conn).read, timeout as _);
        if rc == NGX_OK as isize {
            on_write((*conn).write);
        }
    }
}

unsafe fn finish(c: *mut ngx_connection_t, resp: CallResponse) {
    let call = Box::from_raw((*c).data as *mut Call);
    if (*(*c).read).timer_set() != 0 {
        ngx_del_timer((*c).read);
    }
    ngx_close_connection(c);
    worker::deliver(call.slot, Some(call.generation), call.root, call.token, resp);
}

unsafe extern "C" fn on_write(wev: *mut ngx_event_t) {
    guard("http call write", (), || unsafe {
        let c = (*wev).data as *mut ngx_connection_t;
        let call = &mut *((*c).data as *mut Call);
        if (*wev).timedout() != 0 {
            return finish(c, CallResponse::default());
        }
        while call.sent < call.out.len() {
            let Some(send) = (*c).send else { return finish(c, CallResponse::default()) };
            let n = send(c, call.out.as_mut_ptr().add(call.sent), call.out.len() - call.sent);
            if n == NGX_AGAIN as isize {
                if ngx_handle_write_event(wev, 0) != NGX_OK as isize {
                    return finish(c, CallResponse::default());
                }
                return;
            }
            if n <= 0 {
                return finish(c, CallResponse::default());
            }
            call.sent += n as usize;
        }
        // All sent: from now on only reads matter.
        (*wev).handler = Some(ignore);
        if ngx_handle_read_event((*c).read, 0) != NGX_OK as isize {
            return finish(c, CallResponse::default());
        }
        if (*(*c).read).ready() != 0 {
            on_read((*c).read);
        }
    })
}

unsafe extern "C" fn ignore(_ev: *mut ngx_event_t) {}

unsafe extern "C" fn on_read(rev: *mut ngx_event_t) {
    guard("http call read", (), || unsafe {
        let c = (*rev).data as *mut ngx_connection_t;
        let call = &mut *((*c).data as *mut Call);
        if (*rev).timedout() != 0 {
            log::cycle(NGX_LOG_DEBUG as usize, "palisade: http call timed out");
            return finish(c, CallResponse::default());
        }
        if call.sent < call.out.len() {
            // Connected but not written yet (write event not seen).
            return;
        }
        let mut buf = [0u8; 8192];
        let mut eof = false;
        loop {
            let Some(recv) = (*c).recv else { return finish(c, CallResponse::default()) };
            let n = recv(c, buf.as_mut_ptr(), buf.len());
            if n == NGX_AGAIN as isize {
                break;
            }
            if n == 0 {
                eof = true;
                break;
            }
            if n < 0 {
                return finish(c, CallResponse::default());
            }
            call.input.extend_from_slice(&buf[..n as usize]);
            if call.input.len() > httpcall::MAX_RESPONSE {
                return finish(c, CallResponse::default());
            }
        }
        match httpcall::parse_response(&call.input, eof) {
            Ok(Some(resp)) => finish(c, resp),
            Ok(None) => {
                if ngx_handle_read_event(rev, 0) != NGX_OK as isize {
                    finish(c, CallResponse::default());
                }
            }
            Err(e) => {
                log::cycle(ngx::ffi::NGX_LOG_WARN as usize, &format!("palisade: http call: {e}"));
                finish(c, CallResponse::default())
            }
        }
    })
}
