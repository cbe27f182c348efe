//! The proxy-wasm host layer (wasm only): the module entry point and the root
//! context, which becomes a [`filter::FilterRoot`] or a
//! [`service::ServiceRoot`] depending on the configuration's `role`.

mod filter;
mod http;
mod metrics;
mod props;
mod service;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

use crate::config::{self, PluginConfig};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::Unconfigured) });
}}

/// One plugin instance in one VM.
enum Root {
    Unconfigured,
    Filter(Box<filter::FilterRoot>),
    Service(Box<service::ServiceRoot>),
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    ) {
        if let Root::Service(s) = self {
            s.on_http_call_response(token, num_headers, body_size, num_trailers);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = props::plugin_configuration();
        let parsed = match config::parse(&bytes) {
            Ok(c) => c,
            Err(problem) => {
                log::error!("palisade: {problem}; the plugin refuses to start");
                return false;
            }
        };
        match parsed {
            PluginConfig::Filter(cfg) => match filter::FilterRoot::start(*cfg) {
                Ok(root) => {
                    *self = Root::Filter(Box::new(root));
                    true
                }
                Err(msg) => {
                    log::error!("palisade: {msg}; the plugin refuses to start");
                    false
                }
            },
            PluginConfig::Service(cfg) => match service::ServiceRoot::start(cfg) {
                Ok(root) => {
                    *self = Root::Service(Box::new(root));
                    true
                }
                Err(msg) => {
                    log::error!("palisade service: {msg}; the plugin refuses to start");
                    false
                }
            },
        }
    }

    fn on_tick(&mut self) {
        match self {
            Root::Filter(f) => f.on_tick(),
            Root::Service(s) => s.on_tick(),
            Root::Unconfigured => {}
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        if let Root::Service(s) = self {
            s.on_queue_ready(queue_id);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        match self {
            Root::Filter(f) => Some(Box::new(f.new_http())),
            _ => None,
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
