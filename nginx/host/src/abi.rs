//! The host side of proxy-wasm ABI 0.2.1 (and the few WASI calls a Rust
//! `wasm32-wasip1` module imports), written once over [`Cx`], the guest
//! memory and host state of whichever runtime runs the module.
//!
//! Every function returns a status; only the statuses the Rust SDK accepts
//! for that call are used, since it panics (and so traps) on any other.
//! Guest pointers are checked; a bad one is `BAD_ARGUMENT`, never a host
//! panic.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::shared::{MetricKind, SharedError};
use crate::state::{Body, Headers, Host, HttpCall, LocalResponse, LogLevel};

pub const OK: i32 = 0;
pub const NOT_FOUND: i32 = 1;
pub const BAD_ARGUMENT: i32 = 2;
pub const PARSE_FAILURE: i32 = 4;
pub const EMPTY: i32 = 7;
pub const CAS_MISMATCH: i32 = 8;
pub const INTERNAL_FAILURE: i32 = 10;

/// Guest memory plus host state, as one runtime exposes them.
pub trait Cx {
    fn host(&mut self) -> &mut Host;
    fn memory(&mut self) -> Option<&mut [u8]>;
    /// Allocates `size` bytes in the guest (`proxy_on_memory_allocate`).
    fn alloc(&mut self, size: u32) -> Option<u32>;
}

fn read<C: Cx>(cx: &mut C, ptr: i32, len: i32) -> Result<Vec<u8>, i32> {
    let (p, l) = (ptr as u32 as usize, len as u32 as usize);
    let mem = cx.memory().ok_or(INTERNAL_FAILURE)?;
    mem.get(p..p.checked_add(l).ok_or(BAD_ARGUMENT)?).map(<[u8]>::to_vec).ok_or(BAD_ARGUMENT)
}

fn read_str<C: Cx>(cx: &mut C, ptr: i32, len: i32) -> Result<String, i32> {
    String::from_utf8(read(cx, ptr, len)?).map_err(|_| BAD_ARGUMENT)
}

fn write<C: Cx>(cx: &mut C, ptr: i32, bytes: &[u8]) -> Result<(), i32> {
    let p = ptr as u32 as usize;
    let mem = cx.memory().ok_or(INTERNAL_FAILURE)?;
    mem.get_mut(p..p.checked_add(bytes.len()).ok_or(BAD_ARGUMENT)?).ok_or(BAD_ARGUMENT)?.copy_from_slice(bytes);
    Ok(())
}

fn write_u32<C: Cx>(cx: &mut C, ptr: i32, v: u32) -> Result<(), i32> {
    write(cx, ptr, &v.to_le_bytes())
}

/// Copies `bytes` into fresh guest memory and stores its address and size.
fn give<C: Cx>(cx: &mut C, bytes: &[u8], ret_ptr: i32, ret_size: i32) -> i32 {
    let Some(p) = cx.alloc(bytes.len() as u32) else { return INTERNAL_FAILURE };
    match write(cx, p as i32, bytes)
        .and_then(|_| write_u32(cx, ret_ptr, p))
        .and_then(|_| write_u32(cx, ret_size, bytes.len() as u32))
    {
        Ok(()) => OK,
        Err(e) => e,
    }
}

fn status(r: Result<(), i32>) -> i32 {
    match r {
        Ok(()) => OK,
        Err(e) => e,
    }
}

// ---- header maps ----

/// The proxy-wasm map encoding: count, (key len, value len) pairs, then each
/// key and value followed by a NUL.
pub fn serialize_map(map: &Headers) -> Vec<u8> {
    let size = 4 + map.iter().map(|(k, v)| 10 + k.len() + v.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(map.len() as u32).to_le_bytes());
    for (k, v) in map {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in map {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

pub fn deserialize_map(b: &[u8]) -> Option<Headers> {
    let u32_at = |o: usize| -> Option<usize> { Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?) as usize) };
    if b.is_empty() {
        return Some(Vec::new());
    }
    let n = u32_at(0)?;
    if n > b.len() / 8 {
        return None;
    }
    let mut sizes = Vec::with_capacity(n);
    for i in 0..n {
        sizes.push((u32_at(4 + i * 8)?, u32_at(8 + i * 8)?));
    }
    let mut off = 4 + n * 8;
    let mut map = Vec::with_capacity(n);
    for (kl, vl) in sizes {
        let k = b.get(off..off.checked_add(kl)?)?;
        off += kl + 1;
        let v = b.get(off..off.checked_add(vl)?)?;
        off += vl + 1;
        map.push((String::from_utf8_lossy(k).to_ascii_lowercase(), v.to_vec()));
    }
    Some(map)
}

/// The map of `map_type` and its changed flag; `None` for maps this host
/// never has (trailers, gRPC metadata).
fn map_of(h: &mut Host, map_type: i32) -> Option<(&mut Headers, Option<&mut bool>)> {
    match map_type {
        0 => Some((&mut h.stream.request_headers, Some(&mut h.stream.request_headers_changed))),
        2 => Some((&mut h.stream.response_headers, Some(&mut h.stream.response_headers_changed))),
        6 => h.call_response.as_mut().map(|c| (&mut c.headers, None)),
        _ => None,
    }
}

fn mark(changed: Option<&mut bool>) {
    if let Some(c) = changed {
        *c = true;
    }
}

pub fn proxy_get_header_map_pairs<C: Cx>(cx: &mut C, map_type: i32, ret_ptr: i32, ret_size: i32) -> i32 {
    let bytes = match map_of(cx.host(), map_type) {
        Some((m, _)) => serialize_map(m),
        None => serialize_map(&Vec::new()),
    };
    give(cx, &bytes, ret_ptr, ret_size)
}

pub fn proxy_set_header_map_pairs<C: Cx>(cx: &mut C, map_type: i32, ptr: i32, size: i32) -> i32 {
    let Ok(b) = read(cx, ptr, size) else { return OK };
    let Some(new) = deserialize_map(&b) else {
        cx.host().logf(LogLevel::Warn, "proxy_set_header_map_pairs: malformed map ignored");
        return OK;
    };
    if let Some((m, changed)) = map_of(cx.host(), map_type) {
        *m = new;
        mark(changed);
    }
    OK
}

pub fn proxy_get_header_map_value<C: Cx>(
    cx: &mut C,
    map_type: i32,
    kp: i32,
    kl: i32,
    ret_ptr: i32,
    ret_size: i32,
) -> i32 {
    let Ok(key) = read(cx, kp, kl) else { return NOT_FOUND };
    let value = map_of(cx.host(), map_type)
        .and_then(|(m, _)| m.iter().find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(&key)).map(|(_, v)| v.clone()));
    match value {
        Some(v) => give(cx, &v, ret_ptr, ret_size),
        None => NOT_FOUND,
    }
}

pub fn proxy_replace_header_map_value<C: Cx>(cx: &mut C, map_type: i32, kp: i32, kl: i32, vp: i32, vl: i32) -> i32 {
    let (Ok(key), Ok(value)) = (read_str(cx, kp, kl), read(cx, vp, vl)) else { return OK };
    let key = key.to_ascii_lowercase();
    if let Some((m, changed)) = map_of(cx.host(), map_type) {
        match m.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                m[i].1 = value;
                let mut j = i + 1;
                while j < m.len() {
                    if m[j].0 == key {
                        m.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            None => m.push((key, value)),
        }
        mark(changed);
    }
    OK
}

pub fn proxy_add_header_map_value<C: Cx>(cx: &mut C, map_type: i32, kp: i32, kl: i32, vp: i32, vl: i32) -> i32 {
    let (Ok(key), Ok(value)) = (read_str(cx, kp, kl), read(cx, vp, vl)) else { return OK };
    if let Some((m, changed)) = map_of(cx.host(), map_type) {
        m.push((key.to_ascii_lowercase(), value));
        mark(changed);
    }
    OK
}

pub fn proxy_remove_header_map_value<C: Cx>(cx: &mut C, map_type: i32, kp: i32, kl: i32) -> i32 {
    let Ok(key) = read_str(cx, kp, kl) else { return OK };
    let key = key.to_ascii_lowercase();
    if let Some((m, changed)) = map_of(cx.host(), map_type) {
        let before = m.len();
        m.retain(|(k, _)| *k != key);
        if m.len() != before {
            mark(changed);
        }
    }
    OK
}

// ---- buffers ----

pub fn proxy_get_buffer_bytes<C: Cx>(
    cx: &mut C,
    buffer_type: i32,
    start: i32,
    max: i32,
    ret_ptr: i32,
    ret_size: i32,
) -> i32 {
    let (start, max) = (start as u32 as usize, max as u32 as usize);
    let h = cx.host();
    let bytes = match buffer_type {
        0 => h.stream.request_body.read(start, max),
        1 => h.stream.response_body.read(start, max),
        4 => match &h.call_response {
            Some(r) => Body::slice(&r.body, start, max),
            None => return NOT_FOUND,
        },
        6 => Body::slice(&h.vm_configuration, start, max),
        7 => {
            let root = h.current_root();
            match h.roots.get(&root) {
                Some(r) => Body::slice(&r.configuration, start, max),
                None => return NOT_FOUND,
            }
        }
        _ => return NOT_FOUND,
    };
    give(cx, &bytes, ret_ptr, ret_size)
}

impl Body {
    fn slice(v: &[u8], start: usize, len: usize) -> Vec<u8> {
        let s = start.min(v.len());
        v[s..s.saturating_add(len).min(v.len())].to_vec()
    }
}

pub fn proxy_set_buffer_bytes<C: Cx>(cx: &mut C, buffer_type: i32, start: i32, size: i32, dp: i32, dl: i32) -> i32 {
    let Ok(data) = read(cx, dp, dl) else { return OK };
    let (start, size) = (start as u32 as usize, size as u32 as usize);
    let h = cx.host();
    match buffer_type {
        0 => {
            h.stream.request_body.splice(start, size, &data);
            h.stream.request_body_changed = true;
        }
        1 => {
            h.stream.response_body.splice(start, size, &data);
            h.stream.response_body_changed = true;
        }
        _ => {
            h.logf(LogLevel::Warn, &format!("proxy_set_buffer_bytes: buffer type {buffer_type} cannot be written here"))
        }
    }
    OK
}

// ---- properties, time, logging ----

pub fn proxy_get_property<C: Cx>(cx: &mut C, pp: i32, pl: i32, ret_ptr: i32, ret_size: i32) -> i32 {
    let Ok(raw) = read(cx, pp, pl) else { return NOT_FOUND };
    let path: Vec<String> = raw.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    match cx.host().property(&path.join(".")) {
        Some(v) => give(cx, &v, ret_ptr, ret_size),
        None => NOT_FOUND,
    }
}

pub fn proxy_set_property<C: Cx>(cx: &mut C, pp: i32, pl: i32, vp: i32, vl: i32) -> i32 {
    let (Ok(raw), Ok(v)) = (read(cx, pp, pl), read(cx, vp, vl)) else { return OK };
    let path: Vec<String> = raw.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    let key = path.join(".");
    let props = &mut cx.host().stream.properties;
    props.retain(|(k, _)| *k != key);
    props.push((key, v));
    OK
}

pub fn proxy_log<C: Cx>(cx: &mut C, level: i32, mp: i32, ml: i32) -> i32 {
    if let Ok(m) = read(cx, mp, ml) {
        cx.host().logf(LogLevel::from_abi(level), &String::from_utf8_lossy(&m));
    }
    OK
}

pub fn proxy_get_log_level<C: Cx>(cx: &mut C, ret: i32) -> i32 {
    let l = cx.host().log_level as u32;
    status(write_u32(cx, ret, l))
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

pub fn proxy_get_current_time_nanoseconds<C: Cx>(cx: &mut C, ret: i32) -> i32 {
    status(write(cx, ret, &now_nanos().to_le_bytes()))
}

pub fn proxy_set_tick_period_milliseconds<C: Cx>(cx: &mut C, ms: i32) -> i32 {
    let h = cx.host();
    let root = h.current_root();
    if let Some(r) = h.roots.get_mut(&root) {
        r.tick_ms = ms as u32;
        h.tick_changed = true;
    }
    OK
}

pub fn proxy_set_effective_context<C: Cx>(cx: &mut C, id: i32) -> i32 {
    let h = cx.host();
    if h.context_root.contains_key(&(id as u32)) {
        h.current = id as u32;
        OK
    } else {
        BAD_ARGUMENT
    }
}

/// Streams are driven synchronously by the embedder: nothing to resume.
pub fn proxy_continue_stream<C: Cx>(_cx: &mut C, _t: i32) -> i32 {
    OK
}

pub fn proxy_close_stream<C: Cx>(_cx: &mut C, _t: i32) -> i32 {
    OK
}

pub fn proxy_done<C: Cx>(_cx: &mut C) -> i32 {
    OK
}

pub fn proxy_get_status<C: Cx>(cx: &mut C, code_ptr: i32, ret_ptr: i32, ret_size: i32) -> i32 {
    if let Err(e) = write_u32(cx, code_ptr, 0) {
        return e;
    }
    give(cx, b"", ret_ptr, ret_size)
}

// ---- local reply, outgoing calls ----

#[allow(clippy::too_many_arguments)]
pub fn proxy_send_local_response<C: Cx>(
    cx: &mut C,
    code: i32,
    dp: i32,
    dl: i32,
    bp: i32,
    bl: i32,
    hp: i32,
    hl: i32,
    _grpc: i32,
) -> i32 {
    let details = read(cx, dp, dl).map(|d| String::from_utf8_lossy(&d).into_owned()).unwrap_or_default();
    let body = read(cx, bp, bl).unwrap_or_default();
    let headers = read(cx, hp, hl).ok().and_then(|b| deserialize_map(&b)).unwrap_or_default();
    cx.host().stream.local_response = Some(LocalResponse { status: code as u32, details, headers, body });
    OK
}

#[allow(clippy::too_many_arguments)]
pub fn proxy_http_call<C: Cx>(
    cx: &mut C,
    up: i32,
    ul: i32,
    hp: i32,
    hl: i32,
    bp: i32,
    bl: i32,
    _tp: i32,
    _tl: i32,
    timeout: i32,
    ret_token: i32,
) -> i32 {
    let Ok(cluster) = read_str(cx, up, ul) else { return BAD_ARGUMENT };
    let Some(headers) = read(cx, hp, hl).ok().and_then(|b| deserialize_map(&b)) else { return BAD_ARGUMENT };
    let Ok(body) = read(cx, bp, bl) else { return BAD_ARGUMENT };
    let h = cx.host();
    if !h.clusters.contains(&cluster) {
        h.logf(
            LogLevel::Warn,
            &format!("dispatch_http_call: unknown cluster {cluster:?} (define it with palisade_wasm_cluster)"),
        );
        return BAD_ARGUMENT;
    }
    if !headers.iter().any(|(k, _)| k == ":path") || !headers.iter().any(|(k, _)| k == ":method") {
        return BAD_ARGUMENT;
    }
    h.next_token = h.next_token.wrapping_add(1).max(1);
    let token = h.next_token;
    let root_context = h.current_root();
    h.calls.push(HttpCall { token, root_context, cluster, headers, body, timeout_ms: timeout as u32 });
    status(write_u32(cx, ret_token, token))
}

// ---- shared data, queues ----

pub fn proxy_get_shared_data<C: Cx>(cx: &mut C, kp: i32, kl: i32, ret_ptr: i32, ret_size: i32, ret_cas: i32) -> i32 {
    let Ok(key) = read(cx, kp, kl) else { return NOT_FOUND };
    match cx.host().shared.get_data(&key) {
        Some((v, cas)) => {
            let s = give(cx, &v, ret_ptr, ret_size);
            if s != OK {
                return s;
            }
            status(write_u32(cx, ret_cas, cas))
        }
        None => NOT_FOUND,
    }
}

pub fn proxy_set_shared_data<C: Cx>(cx: &mut C, kp: i32, kl: i32, vp: i32, vl: i32, cas: i32) -> i32 {
    let (Ok(key), Ok(value)) = (read(cx, kp, kl), read(cx, vp, vl)) else { return CAS_MISMATCH };
    let h = cx.host();
    match h.shared.set_data(&key, &value, cas as u32) {
        Ok(()) => OK,
        Err(SharedError::CasMismatch) => CAS_MISMATCH,
        Err(e) => {
            h.logf(LogLevel::Error, &format!("set_shared_data: shared memory area refused the value ({e:?})"));
            // The SDK accepts only Ok and CasMismatch here.
            CAS_MISMATCH
        }
    }
}

fn queue_name(vm_id: &str, name: &str) -> String {
    format!("{vm_id}/{name}")
}

pub fn proxy_register_shared_queue<C: Cx>(cx: &mut C, np: i32, nl: i32, ret_id: i32) -> i32 {
    let Ok(name) = read_str(cx, np, nl) else { return OK };
    let h = cx.host();
    let full = queue_name(&h.vm_id, &name);
    match h.shared.register_queue(&full) {
        Ok(id) => {
            let root = h.current_root();
            if let Some(r) = h.roots.get_mut(&root) {
                if !r.queues.contains(&id) {
                    r.queues.push(id);
                }
            }
            status(write_u32(cx, ret_id, id))
        }
        Err(e) => {
            h.logf(LogLevel::Error, &format!("register_shared_queue {name:?}: {e:?}"));
            // 0 is never a valid queue: later calls on it answer NotFound.
            status(write_u32(cx, ret_id, 0))
        }
    }
}

pub fn proxy_resolve_shared_queue<C: Cx>(cx: &mut C, vp: i32, vl: i32, np: i32, nl: i32, ret_id: i32) -> i32 {
    let (Ok(vm), Ok(name)) = (read_str(cx, vp, vl), read_str(cx, np, nl)) else { return NOT_FOUND };
    let h = cx.host();
    let vm = if vm.is_empty() { h.vm_id.clone() } else { vm };
    match h.shared.resolve_queue(&queue_name(&vm, &name)) {
        Some(id) => status(write_u32(cx, ret_id, id)),
        None => NOT_FOUND,
    }
}

pub fn proxy_enqueue_shared_queue<C: Cx>(cx: &mut C, id: i32, vp: i32, vl: i32) -> i32 {
    let Ok(v) = read(cx, vp, vl) else { return NOT_FOUND };
    let h = cx.host();
    match h.shared.enqueue(id as u32, &v) {
        Ok(()) => OK,
        Err(SharedError::NotFound) => NOT_FOUND,
        Err(e) => {
            h.logf(LogLevel::Warn, &format!("enqueue_shared_queue: message of {} bytes refused ({e:?})", v.len()));
            NOT_FOUND
        }
    }
}

pub fn proxy_dequeue_shared_queue<C: Cx>(cx: &mut C, id: i32, ret_ptr: i32, ret_size: i32) -> i32 {
    match cx.host().shared.dequeue(id as u32) {
        Ok(v) => give(cx, &v, ret_ptr, ret_size),
        Err(SharedError::Empty) => EMPTY,
        Err(_) => NOT_FOUND,
    }
}

// ---- metrics ----

pub fn proxy_define_metric<C: Cx>(cx: &mut C, kind: i32, np: i32, nl: i32, ret_id: i32) -> i32 {
    let name = read_str(cx, np, nl).unwrap_or_default();
    let h = cx.host();
    let id = match MetricKind::from_abi(kind as u32).and_then(|k| h.shared.define_metric(k, &name)) {
        Some(id) => id,
        None => {
            h.logf(
                LogLevel::Warn,
                &format!("define_metric {name:?}: refused (bad type, name too long, or table full)"),
            );
            u32::MAX
        }
    };
    // The SDK accepts only Ok; an unusable id answers NotFound later.
    status(write_u32(cx, ret_id, id))
}

pub fn proxy_increment_metric<C: Cx>(cx: &mut C, id: i32, by: i64) -> i32 {
    if cx.host().shared.increment_metric(id as u32, by) {
        OK
    } else {
        NOT_FOUND
    }
}

pub fn proxy_record_metric<C: Cx>(cx: &mut C, id: i32, v: i64) -> i32 {
    if cx.host().shared.record_metric(id as u32, v as u64) {
        OK
    } else {
        NOT_FOUND
    }
}

pub fn proxy_get_metric<C: Cx>(cx: &mut C, id: i32, ret: i32) -> i32 {
    match cx.host().shared.get_metric(id as u32) {
        Some(v) => status(write(cx, ret, &(v as u64).to_le_bytes())),
        None => NOT_FOUND,
    }
}

// ---- not offered by this host ----

#[allow(clippy::too_many_arguments)]
pub fn proxy_grpc_call<C: Cx>(
    _: &mut C,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
) -> i32 {
    INTERNAL_FAILURE
}
#[allow(clippy::too_many_arguments)]
pub fn proxy_grpc_stream<C: Cx>(
    _: &mut C,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
    _: i32,
) -> i32 {
    INTERNAL_FAILURE
}
pub fn proxy_grpc_send<C: Cx>(_: &mut C, _: i32, _: i32, _: i32, _: i32) -> i32 {
    NOT_FOUND
}
pub fn proxy_grpc_cancel<C: Cx>(_: &mut C, _: i32) -> i32 {
    NOT_FOUND
}
pub fn proxy_grpc_close<C: Cx>(_: &mut C, _: i32) -> i32 {
    NOT_FOUND
}
pub fn proxy_call_foreign_function<C: Cx>(_: &mut C, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32) -> i32 {
    NOT_FOUND
}

// ---- WASI (errno results: 0 success) ----

pub fn fd_write<C: Cx>(cx: &mut C, fd: i32, iovs: i32, n: i32, ret_written: i32) -> i32 {
    let Ok(vec) = read(cx, iovs, n.saturating_mul(8)) else {
        return 21; /* EFAULT */
    };
    let mut total = 0u32;
    let mut data = Vec::new();
    for iov in vec.chunks_exact(8) {
        let p = u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let l = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        let Ok(b) = read(cx, p as i32, l as i32) else { return 21 };
        total += l;
        data.extend_from_slice(&b);
    }
    let h = cx.host();
    h.stdio.extend_from_slice(&data);
    while let Some(nl) = h.stdio.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = h.stdio.drain(..=nl).collect();
        let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
        let level = if fd == 2 { LogLevel::Error } else { LogLevel::Info };
        h.logf(level, &format!("wasm {}: {text}", if fd == 2 { "stderr" } else { "stdout" }));
    }
    if h.stdio.len() > 4096 {
        let text = String::from_utf8_lossy(&h.stdio).into_owned();
        h.stdio.clear();
        h.logf(LogLevel::Info, &format!("wasm output: {text}"));
    }
    if write_u32(cx, ret_written, total).is_err() {
        return 21;
    }
    0
}

pub fn random_get<C: Cx>(cx: &mut C, buf: i32, len: i32) -> i32 {
    let mut bytes = vec![0u8; len as u32 as usize];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: writes at most the remaining length into the vector.
        let n = unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0) };
        if n <= 0 {
            return 29; // EIO
        }
        filled += n as usize;
    }
    if write(cx, buf, &bytes).is_err() {
        return 21;
    }
    0
}

pub fn clock_time_get<C: Cx>(cx: &mut C, id: i32, _precision: i64, ret: i32) -> i32 {
    let nanos = if id == 0 {
        now_nanos()
    } else {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: writes one timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    };
    if write(cx, ret, &nanos.to_le_bytes()).is_err() {
        return 21;
    }
    0
}

pub fn environ_sizes_get<C: Cx>(cx: &mut C, count: i32, size: i32) -> i32 {
    if write_u32(cx, count, 0).and_then(|_| write_u32(cx, size, 0)).is_err() {
        return 21;
    }
    0
}

pub fn environ_get<C: Cx>(_cx: &mut C, _a: i32, _b: i32) -> i32 {
    0
}

pub fn args_sizes_get<C: Cx>(cx: &mut C, count: i32, size: i32) -> i32 {
    environ_sizes_get(cx, count, size)
}

pub fn args_get<C: Cx>(_cx: &mut C, _a: i32, _b: i32) -> i32 {
    0
}

pub fn sched_yield<C: Cx>(_cx: &mut C) -> i32 {
    0
}

/// Lists every host function as `module name(args)`, for the runtimes'
/// linkers (`proc_exit` is linked separately: it must trap).
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_hostcall {
    ($m:ident ! ($($pre:tt)*)) => {
        $m!($($pre)*;
            "env" proxy_log(a: i32, b: i32, c: i32);
            "env" proxy_get_log_level(a: i32);
            "env" proxy_set_tick_period_milliseconds(a: i32);
            "env" proxy_get_current_time_nanoseconds(a: i32);
            "env" proxy_get_buffer_bytes(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_set_buffer_bytes(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_get_header_map_pairs(a: i32, b: i32, c: i32);
            "env" proxy_set_header_map_pairs(a: i32, b: i32, c: i32);
            "env" proxy_get_header_map_value(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_replace_header_map_value(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_add_header_map_value(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_remove_header_map_value(a: i32, b: i32, c: i32);
            "env" proxy_get_property(a: i32, b: i32, c: i32, d: i32);
            "env" proxy_set_property(a: i32, b: i32, c: i32, d: i32);
            "env" proxy_get_shared_data(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_set_shared_data(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_register_shared_queue(a: i32, b: i32, c: i32);
            "env" proxy_resolve_shared_queue(a: i32, b: i32, c: i32, d: i32, e: i32);
            "env" proxy_enqueue_shared_queue(a: i32, b: i32, c: i32);
            "env" proxy_dequeue_shared_queue(a: i32, b: i32, c: i32);
            "env" proxy_continue_stream(a: i32);
            "env" proxy_close_stream(a: i32);
            "env" proxy_done();
            "env" proxy_get_status(a: i32, b: i32, c: i32);
            "env" proxy_send_local_response(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32);
            "env" proxy_http_call(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32, i: i32, j: i32);
            "env" proxy_define_metric(a: i32, b: i32, c: i32, d: i32);
            "env" proxy_increment_metric(a: i32, b: i64);
            "env" proxy_record_metric(a: i32, b: i64);
            "env" proxy_get_metric(a: i32, b: i32);
            "env" proxy_set_effective_context(a: i32);
            "env" proxy_grpc_call(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32, i: i32, j: i32, k: i32, l: i32);
            "env" proxy_grpc_stream(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32, i: i32);
            "env" proxy_grpc_send(a: i32, b: i32, c: i32, d: i32);
            "env" proxy_grpc_cancel(a: i32);
            "env" proxy_grpc_close(a: i32);
            "env" proxy_call_foreign_function(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32);
            "wasi_snapshot_preview1" fd_write(a: i32, b: i32, c: i32, d: i32);
            "wasi_snapshot_preview1" random_get(a: i32, b: i32);
            "wasi_snapshot_preview1" clock_time_get(a: i32, b: i64, c: i32);
            "wasi_snapshot_preview1" environ_sizes_get(a: i32, b: i32);
            "wasi_snapshot_preview1" environ_get(a: i32, b: i32);
            "wasi_snapshot_preview1" args_sizes_get(a: i32, b: i32);
            "wasi_snapshot_preview1" args_get(a: i32, b: i32);
            "wasi_snapshot_preview1" sched_yield();
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_round_trip_and_malformed() {
        let m: Headers = vec![(":path".into(), b"/x".to_vec()), ("a".into(), b"".to_vec())];
        assert_eq!(deserialize_map(&serialize_map(&m)).unwrap(), m);
        assert_eq!(deserialize_map(&[]), Some(Vec::new()));
        assert_eq!(deserialize_map(&[5, 0, 0, 0, 1]), None);
        let mut bad = serialize_map(&m);
        bad.truncate(bad.len() - 3);
        assert_eq!(deserialize_map(&bad), None);
        // A huge count with little data is refused, not allocated.
        assert_eq!(deserialize_map(&[0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]), None);
    }
}
