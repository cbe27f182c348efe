//! Palisade proxy-wasm filter: the OWASP Core Rule Set, run by
//! `palisade-rules`, inside Envoy or Istio.
//!
//! | module        | owns                                                              |
//! |---------------|-------------------------------------------------------------------|
//! | [`config`]    | the plugin configuration JSON, parsed and validated               |
//! | [`crs`]       | the CRS embedded at build time and the `@crs` include alias       |
//! | [`policy`]    | the live policy and its resolution into engine overrides          |
//! | [`verdict`]   | scores, outcome and the event of a finished transaction           |
//! | [`errorlog`]  | the ModSecurity-style error-log line per matched rule             |
//! | [`telemetry`] | worker reports, the service's bounded aggregation, batches        |
//! | `host::*`     | (wasm only) root contexts, the HTTP context, metrics, the service |
//!
//! Everything but `host` is plain Rust and tested natively; `host` is the thin
//! layer over the proxy-wasm ABI.

pub mod config;
pub mod crs;
pub use palisade_rules::audit::errorlog;
pub mod policy;
pub mod telemetry;
pub mod verdict;

#[cfg(target_arch = "wasm32")]
mod host;

/// Shared-queue name workers use to hand reports to the service.
pub const QUEUE_NAME: &str = "palisade.telemetry";
/// Shared-data key under which the service publishes the policy.
pub const POLICY_KEY: &str = "palisade.policy";
