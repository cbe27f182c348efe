//! `palisade-wasm-host`: a proxy-wasm ABI 0.2.1 host for embedders other
//! than Envoy (the NGINX module). It knows nothing of nginx: the embedder
//! feeds it headers and bodies, runs the calls it dispatches, and drives its
//! timers.
//!
//! | module        | owns                                                        |
//! |---------------|-------------------------------------------------------------|
//! | [`vm`]        | compiled modules, instances, the proxy-wasm lifecycle       |
//! | [`state`]     | host state and the per-exchange [`Stream`]                  |
//! | [`abi`]       | the host functions, once for every runtime                  |
//! | [`shared`]    | shared data, queues and metrics across worker processes     |
//! | [`httpcall`]  | HTTP/1.1 bytes for `dispatch_http_call`                     |
//! | [`prom`]      | Prometheus text of the metrics                              |
//! | `rt_*`        | the wasmtime and wasmi runtimes (cargo features)            |

pub mod abi;
pub mod httpcall;
pub mod prom;
pub mod shared;
pub mod state;
pub mod vm;

#[cfg(feature = "wasmi")]
mod rt_wasmi;
#[cfg(feature = "wasmtime")]
mod rt_wasmtime;

pub use shared::Region;
pub use state::{Body, BodySource, CallResponse, Headers, Host, HttpCall, LocalResponse, LogLevel, Logger, Stream};
pub use vm::{Action, Module, Runtime, Trap, Vm};
