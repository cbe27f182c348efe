//! What a VM's host calls read and write: the [`Host`] kept in the wasm
//! store, and the [`Stream`] of the HTTP exchange being served, which the
//! embedder swaps in for the duration of one callback.

use std::collections::HashMap;

use crate::shared::Region;

/// A header map: lowercase names (pseudo-headers included), raw values.
pub type Headers = Vec<(String, Vec<u8>)>;

/// Log levels of the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

impl LogLevel {
    pub fn from_abi(v: i32) -> LogLevel {
        match v {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            _ => LogLevel::Critical,
        }
    }
}

/// Where log lines go (nginx's error log in the module).
pub type Logger = Box<dyn FnMut(LogLevel, &str)>;

/// A request body the embedder reads lazily (nginx keeps large bodies in a
/// temporary file).
pub trait BodySource {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Up to `len` bytes from `start`; fewer at the end.
    fn read(&self, start: usize, len: usize) -> Vec<u8>;
}

#[derive(Default)]
pub enum Body {
    #[default]
    None,
    Source(Box<dyn BodySource>),
    Owned(Vec<u8>),
}

impl Body {
    pub fn len(&self) -> usize {
        match self {
            Body::None => 0,
            Body::Source(s) => s.len(),
            Body::Owned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn read(&self, start: usize, len: usize) -> Vec<u8> {
        match self {
            Body::None => Vec::new(),
            Body::Source(s) => s.read(start, len),
            Body::Owned(v) => {
                let s = start.min(v.len());
                v[s..s.saturating_add(len).min(v.len())].to_vec()
            }
        }
    }

    /// Replaces `[start, start + len)` with `data` (clamped to the body).
    pub fn splice(&mut self, start: usize, len: usize, data: &[u8]) {
        let mut v = match std::mem::take(self) {
            Body::None => Vec::new(),
            Body::Source(s) => s.read(0, s.len()),
            Body::Owned(v) => v,
        };
        let s = start.min(v.len());
        let e = s.saturating_add(len).min(v.len());
        v.splice(s..e, data.iter().copied());
        *self = Body::Owned(v);
    }
}

/// A reply the filter asked the host to send instead of proxying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    pub details: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// One HTTP exchange as the host calls see it.
#[derive(Default)]
pub struct Stream {
    pub request_headers: Headers,
    pub request_headers_changed: bool,
    pub response_headers: Headers,
    pub response_headers_changed: bool,
    pub request_body: Body,
    pub request_body_changed: bool,
    pub response_body: Body,
    pub response_body_changed: bool,
    pub local_response: Option<LocalResponse>,
    /// Properties by dotted path (`source.address`).
    pub properties: Vec<(String, Vec<u8>)>,
}

/// An outgoing call the filter dispatched; the embedder performs it and
/// answers with [`crate::Vm::on_http_call_response`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCall {
    pub token: u32,
    pub root_context: u32,
    pub cluster: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub timeout_ms: u32,
}

/// The answer to an [`HttpCall`]; no `:status` means it failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallResponse {
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// Per root context.
#[derive(Default)]
pub struct Root {
    pub configuration: Vec<u8>,
    /// 0: no tick.
    pub tick_ms: u32,
    /// Queues this root registered (it gets `on_queue_ready` for them).
    pub queues: Vec<u32>,
}

/// Everything the host calls of one VM share.
pub struct Host {
    pub vm_id: String,
    pub node_id: String,
    pub vm_configuration: Vec<u8>,
    pub shared: Region,
    /// Cluster names `dispatch_http_call` accepts.
    pub clusters: Vec<String>,
    pub log: Logger,
    pub log_level: LogLevel,
    pub roots: HashMap<u32, Root>,
    /// Context id → its root's id (roots map to themselves).
    pub context_root: HashMap<u32, u32>,
    pub current: u32,
    pub stream: Stream,
    pub call_response: Option<CallResponse>,
    /// Calls dispatched during the last callback.
    pub calls: Vec<HttpCall>,
    /// Set when a root changed its tick period during the last callback.
    pub tick_changed: bool,
    pub next_token: u32,
    /// Bytes written to stdout/stderr by the guest, until a newline.
    pub stdio: Vec<u8>,
}

impl Host {
    pub fn new(vm_id: &str, shared: Region, log: Logger) -> Host {
        Host {
            vm_id: vm_id.to_string(),
            node_id: String::new(),
            vm_configuration: Vec::new(),
            shared,
            clusters: Vec::new(),
            log,
            log_level: LogLevel::Info,
            roots: HashMap::new(),
            context_root: HashMap::new(),
            current: 0,
            stream: Stream::default(),
            call_response: None,
            calls: Vec::new(),
            tick_changed: false,
            next_token: 0,
            stdio: Vec::new(),
        }
    }

    pub fn current_root(&self) -> u32 {
        self.context_root.get(&self.current).copied().unwrap_or(self.current)
    }

    pub fn logf(&mut self, level: LogLevel, msg: &str) {
        if level >= self.log_level {
            (self.log)(level, msg);
        }
    }

    /// A property by its path segments.
    pub fn property(&self, path: &str) -> Option<Vec<u8>> {
        if let Some((_, v)) = self.stream.properties.iter().find(|(k, _)| k == path) {
            return Some(v.clone());
        }
        match path {
            "plugin_vm_id" | "vm_id" => Some(self.vm_id.clone().into_bytes()),
            "node.id" => Some(self.node_id.clone().into_bytes()),
            "plugin_root_id" | "root_id" => Some(b"palisade".to_vec()),
            _ => None,
        }
    }
}
