//! `palisade-tests`: the end-to-end harness. Tests in `tests/tests/*.rs`
//! start a real Envoy with the built Palisade module in front of an echo
//! backend ([`backend`]), optionally with a fake collector ([`collector`]),
//! and talk to it over plain sockets ([`http`]).
//!
//! | module        | owns                                                  |
//! |---------------|-------------------------------------------------------|
//! | [`envoy`]     | finding Envoy, building the module, running Envoy     |
//! | [`backend`]   | the albedo-like upstream                              |
//! | [`collector`] | the stand-in for palisade-collector (WIRE.md)         |
//! | [`real_collector`] | the real `palisade collector` binary             |
//! | [`ftw`]       | the CRS go-ftw suite sent through Envoy               |
//! | [`http`]      | a byte-exact HTTP/1.1 client and message reader       |
//! | [`h2c`]       | an HTTP/2 client for bodies that end with trailers    |

pub mod backend;
pub mod collector;
pub mod envoy;
pub mod ftw;
pub mod h2c;
pub mod http;
pub mod nginx;
pub mod real_collector;
pub mod up;

use serde_json::{json, Value};

/// The filter configuration most tests use: CRS at PL1 in `mode`.
///
/// `failure_mode` is `open` so that the filter's own mechanics (body limits,
/// metrics, telemetry, policy) can be exercised whether or not the rule set
/// compiles; `tests/crs.rs` checks separately that CRS does compile.
pub fn filter_config(mode: &str) -> Value {
    json!({
        "mode": mode,
        "paranoia_level": 1,
        "rules": ["Include @recommended.conf", "Include @crs-setup.conf", "Include @crs/*.conf"],
        "failure_mode": "open"
    })
}

/// A backend, an optional fake collector and Envoy in front, torn down together.
pub struct Stack {
    pub envoy: envoy::Envoy,
    pub backend: backend::Backend,
    pub collector: Option<collector::FakeCollector>,
    pub real: Option<real_collector::RealCollector>,
}

impl Stack {
    /// Envoy + backend, no collector.
    pub fn start(filter: Value) -> Stack {
        let backend = backend::Backend::start();
        let opts = envoy::Options::new(filter, backend.port);
        let envoy = envoy::Envoy::start(&opts).unwrap_or_else(|e| panic!("{e}"));
        Stack {
            envoy,
            backend,
            collector: None,
            real: None,
        }
    }

    /// Envoy + backend + fake collector serving `policy`, flushing every
    /// `flush_ms`.
    pub fn with_collector(filter: Value, policy: Value, flush_ms: u64) -> Stack {
        let backend = backend::Backend::start();
        let collector = collector::FakeCollector::start(policy);
        let opts =
            envoy::Options::new(filter, backend.port).with_collector(collector.port, flush_ms);
        let envoy = envoy::Envoy::start(&opts).unwrap_or_else(|e| panic!("{e}"));
        Stack {
            envoy,
            backend,
            collector: Some(collector),
            real: None,
        }
    }

    /// Envoy + backend + the real collector (its initial policy: version 1,
    /// detect), flushing every `flush_ms`.
    pub fn with_real_collector(filter: Value, flush_ms: u64) -> Stack {
        let backend = backend::Backend::start();
        let real = real_collector::RealCollector::start();
        let opts = envoy::Options::new(filter, backend.port).with_collector(real.port, flush_ms);
        let envoy = envoy::Envoy::start(&opts).unwrap_or_else(|e| panic!("{e}"));
        Stack {
            envoy,
            backend,
            collector: None,
            real: Some(real),
        }
    }

    pub fn addr(&self) -> &str {
        &self.envoy.listen
    }

    pub fn collector(&self) -> &collector::FakeCollector {
        self.collector
            .as_ref()
            .expect("this stack has a fake collector")
    }

    pub fn real(&self) -> &real_collector::RealCollector {
        self.real
            .as_ref()
            .expect("this stack has the real collector")
    }
}
