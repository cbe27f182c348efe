//! Small, non-panicking wrappers over host calls (the SDK's trait methods
//! unwrap host errors, which would abort the VM).

use std::time::UNIX_EPOCH;

use proxy_wasm::hostcalls;
use proxy_wasm::types::BufferType;

pub fn plugin_configuration() -> Vec<u8> {
    hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A property as a string (`["source", "address"]`), if present.
pub fn string(path: &[&str]) -> Option<String> {
    let bytes = hostcalls::get_property(path.to_vec()).ok().flatten()?;
    String::from_utf8(bytes).ok()
}

/// Milliseconds since the Unix epoch, per the host clock.
pub fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch, with milliseconds.
pub fn now_secs() -> f64 {
    now_ms() as f64 / 1000.0
}

/// 64 random bits (WASI `random_get`, through std's hasher seeding), mixed
/// with the clock in case the host gives none.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ms());
    h.finish()
}

/// Splits `ip:port` / `[v6]:port` into address and port.
pub fn split_address(addr: &str) -> (String, u16) {
    if let Some(rest) = addr.strip_prefix('[') {
        if let Some((ip, port)) = rest.split_once("]:") {
            return (ip.to_string(), port.parse().unwrap_or(0));
        }
        return (rest.trim_end_matches(']').to_string(), 0);
    }
    match addr.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') => (ip.to_string(), port.parse().unwrap_or(0)),
        _ => (addr.to_string(), 0),
    }
}
