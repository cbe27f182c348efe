//! `ngx_http_palisade_module`: runs a proxy-wasm module (the Palisade
//! filter) inside NGINX through [`palisade_wasm_host`].
//!
//! | module      | owns                                                          |
//! |-------------|---------------------------------------------------------------|
//! | [`conf`]    | directives, their configuration, the module definitions       |
//! | [`worker`]  | each worker's VMs, roots, ticks, trap recovery                |
//! | [`request`] | the request phases, response filters and the log phase       |
//! | [`body`]    | request/response bodies as the host reads them                |
//! | [`call`]    | `dispatch_http_call` on nginx's event loop                    |
//! | [`metrics`] | the Prometheus location                                       |
//! | [`log`]     | writing to nginx's error log                                  |
//!
//! Every function nginx calls catches panics: a bug here logs and fails
//! the request (or the directive), it never unwinds into nginx.

mod body;
mod call;
mod conf;
mod log;
mod metrics;
mod request;
mod worker;

pub use conf::{ngx_http_palisade_module, ngx_palisade_core_module};

// The tables nginx's loader reads from a dynamic module (ngx's own
// `ngx_modules!` miscounts more than one module).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_modules: [*const ngx::ffi::ngx_module_t; 3] =
    [std::ptr::addr_of!(ngx_palisade_core_module), std::ptr::addr_of!(ngx_http_palisade_module), std::ptr::null()];

#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_module_names: [*const std::ffi::c_char; 3] =
    [c"ngx_palisade_core_module".as_ptr(), c"ngx_http_palisade_module".as_ptr(), std::ptr::null()];

#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_module_order: [*const std::ffi::c_char; 1] = [std::ptr::null()];

/// Runs `f`, turning a panic into `on_panic` and an error-log line.
pub(crate) fn guard<R>(what: &str, on_panic: R, f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::cycle(ngx::ffi::NGX_LOG_ALERT as usize, &format!("palisade: internal error in {what}: {msg}"));
            on_panic
        }
    }
}
