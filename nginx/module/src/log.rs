//! Writing to nginx's error log, and the host's log levels mapped onto it.

use ngx::ffi::{ngx_cycle, ngx_log_t, NGX_LOG_CRIT, NGX_LOG_DEBUG, NGX_LOG_ERR, NGX_LOG_INFO, NGX_LOG_WARN};
use palisade_wasm_host::LogLevel;

pub fn level(l: LogLevel) -> usize {
    (match l {
        LogLevel::Trace | LogLevel::Debug => NGX_LOG_DEBUG,
        LogLevel::Info => NGX_LOG_INFO,
        LogLevel::Warn => NGX_LOG_WARN,
        LogLevel::Error => NGX_LOG_ERR,
        LogLevel::Critical => NGX_LOG_CRIT,
    }) as usize
}

/// Logs to `log` if its level lets `lvl` through.
pub fn to(log: *mut ngx_log_t, lvl: usize, msg: &str) {
    if log.is_null() {
        return;
    }
    // SAFETY: nginx logs live as long as their cycle or connection.
    unsafe {
        if lvl <= (*log).log_level {
            ngx::log::log_error(lvl, log, 0, msg.as_bytes());
        }
    }
}

/// Logs to the current cycle's log.
pub fn cycle(lvl: usize, msg: &str) {
    // SAFETY: ngx_cycle is set for the whole life of the process.
    let log = unsafe {
        if ngx_cycle.is_null() {
            std::ptr::null_mut()
        } else {
            (*ngx_cycle).log
        }
    };
    to(log, lvl, msg);
}
