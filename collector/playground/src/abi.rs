//! The functions the page calls on the WebAssembly module (wasm32 only).
//!
//! A tiny C ABI, JSON in and out, with no generated glue:
//! - `pg_alloc(len) -> ptr` gives the page a buffer to write into;
//!   `pg_free(ptr, len)` returns one it did not pass on.
//! - `pg_init() -> len` compiles the rules (once) and describes them.
//! - `pg_evaluate(req, req_len, opts, opts_len) -> len` takes both buffers
//!   (it frees them) and evaluates the request.
//! - The answer of the last call is at `pg_output_ptr()`, `len` bytes of
//!   UTF-8 JSON: `{"ok": true, ...}` or `{"ok": false, "error": "..."}`.
//!
//! The module is single-threaded; state lives in thread-locals.

use std::cell::{OnceCell, RefCell};

use serde::Serialize;

use crate::{Options, Playground};

thread_local! {
    static ENGINE: OnceCell<Result<Playground, String>> = const { OnceCell::new() };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

#[derive(Serialize)]
struct Ok<'a, T: Serialize> {
    ok: bool,
    #[serde(flatten)]
    value: &'a T,
}

fn answer_ok<T: Serialize>(value: &T) -> usize {
    match serde_json::to_vec(&Ok { ok: true, value }) {
        Result::Ok(bytes) => set_output(bytes),
        Err(e) => answer_err(&format!("cannot encode the answer: {e}")),
    }
}

fn answer_err(msg: &str) -> usize {
    let v = serde_json::json!({"ok": false, "error": msg});
    set_output(v.to_string().into_bytes())
}

fn set_output(bytes: Vec<u8>) -> usize {
    let n = bytes.len();
    OUTPUT.with(|o| *o.borrow_mut() = bytes);
    n
}

/// Takes back a buffer made by `pg_alloc`.
///
/// # Safety
/// `ptr`/`len` must come from one `pg_alloc(len)` call, not freed yet.
unsafe fn take(ptr: *mut u8, len: usize) -> Box<[u8]> {
    if len == 0 || ptr.is_null() {
        return Box::new([]);
    }
    // SAFETY: the caller hands back exactly what pg_alloc leaked.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) }
}

#[no_mangle]
pub extern "C" fn pg_alloc(len: usize) -> *mut u8 {
    if len == 0 {
        return std::ptr::null_mut();
    }
    Box::into_raw(vec![0u8; len].into_boxed_slice()) as *mut u8
}

/// # Safety
/// As for [`take`].
#[no_mangle]
pub unsafe extern "C" fn pg_free(ptr: *mut u8, len: usize) {
    drop(unsafe { take(ptr, len) });
}

#[no_mangle]
pub extern "C" fn pg_output_ptr() -> *const u8 {
    OUTPUT.with(|o| o.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn pg_init() -> usize {
    ENGINE.with(|e| match e.get_or_init(Playground::load) {
        Result::Ok(pg) => answer_ok(pg.info()),
        Err(msg) => answer_err(&format!("the rules did not load: {msg}")),
    })
}

/// # Safety
/// Both buffers must come from `pg_alloc` with these lengths; they are freed.
#[no_mangle]
pub unsafe extern "C" fn pg_evaluate(
    req: *mut u8,
    req_len: usize,
    opts: *mut u8,
    opts_len: usize,
) -> usize {
    let raw = unsafe { take(req, req_len) };
    let opts = unsafe { take(opts, opts_len) };
    let options = match Options::from_json(&opts) {
        Result::Ok(o) => o,
        Err(e) => return answer_err(&e),
    };
    ENGINE.with(|e| match e.get_or_init(Playground::load) {
        Result::Ok(pg) => match pg.evaluate(&raw, &options) {
            Result::Ok(ev) => answer_ok(&ev),
            Err(msg) => answer_err(&msg),
        },
        Err(msg) => answer_err(&format!("the rules did not load: {msg}")),
    })
}
