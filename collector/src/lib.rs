//! Palisade collector: the host-side daemon beside the filters. It ingests
//! their telemetry, samples node packet counters, serves the Threat
//! Monitoring API and the live WAF policy, and toggles container network
//! policies. Run as `palisade collector`.

pub mod api;
pub mod auth;
pub mod collector;
pub mod config;
pub mod error;
pub mod metrics;
pub mod net;
pub mod netpol;
pub mod server;
pub mod store;
pub mod web;
pub mod wire;
