//! A compiled module ([`Module`]) and one instance of it ([`Vm`]) with the
//! proxy-wasm lifecycle on top: root contexts, HTTP streams, ticks, queue
//! notifications and call responses.
//!
//! A trap (a guest panic aborts as `unreachable`) poisons the instance:
//! every later call fails at once with the first trap's message, and the
//! embedder decides what traffic gets meanwhile and when to rebuild it.

use std::fmt;

use crate::state::{CallResponse, Host, HttpCall, Root, Stream};

/// Which engine runs the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// Cranelift-compiled native code.
    Wasmtime,
    /// The wasmi interpreter.
    Wasmi,
}

impl Runtime {
    pub fn parse(s: &str) -> Option<Runtime> {
        match s {
            "wasmtime" => Some(Runtime::Wasmtime),
            "wasmi" => Some(Runtime::Wasmi),
            _ => None,
        }
    }

    /// The runtimes this build contains, the preferred first.
    pub fn available() -> &'static [Runtime] {
        &[
            #[cfg(feature = "wasmtime")]
            Runtime::Wasmtime,
            #[cfg(feature = "wasmi")]
            Runtime::Wasmi,
        ]
    }
}

/// The guest trapped (or was already poisoned by an earlier trap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap(pub String);

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.0)
    }
}

/// What a stream callback asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    Pause,
}

/// The guest functions the host calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Export {
    ContextCreate,
    VmStart,
    Configure,
    RequestHeaders,
    RequestBody,
    ResponseHeaders,
    ResponseBody,
    Done,
    Log,
    Delete,
    Tick,
    QueueReady,
    HttpCallResponse,
}

pub(crate) const EXPORTS: [(Export, &str); 13] = [
    (Export::ContextCreate, "proxy_on_context_create"),
    (Export::VmStart, "proxy_on_vm_start"),
    (Export::Configure, "proxy_on_configure"),
    (Export::RequestHeaders, "proxy_on_request_headers"),
    (Export::RequestBody, "proxy_on_request_body"),
    (Export::ResponseHeaders, "proxy_on_response_headers"),
    (Export::ResponseBody, "proxy_on_response_body"),
    (Export::Done, "proxy_on_done"),
    (Export::Log, "proxy_on_log"),
    (Export::Delete, "proxy_on_delete"),
    (Export::Tick, "proxy_on_tick"),
    (Export::QueueReady, "proxy_on_queue_ready"),
    (Export::HttpCallResponse, "proxy_on_http_call_response"),
];

/// One runtime's instance.
pub(crate) trait Instance {
    fn host(&mut self) -> &mut Host;
    /// Calls an export; `Ok(None)` when the module does not export it.
    fn call(&mut self, e: Export, args: &[i32]) -> Result<Option<i32>, String>;
}

/// Checks the exports every proxy-wasm module has; `names` lists them.
pub(crate) fn check_exports<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let names: Vec<&str> = names.collect();
    if !names.iter().any(|n| n.starts_with("proxy_abi_version_0_2_")) {
        return Err("not a proxy-wasm 0.2 module (no proxy_abi_version_0_2_* export)".into());
    }
    for need in ["memory", "proxy_on_memory_allocate", "proxy_on_context_create"] {
        if !names.contains(&need) {
            return Err(format!("not a usable proxy-wasm module: it does not export {need}"));
        }
    }
    Ok(())
}

/// A compiled module, shareable by every instance (and, in nginx, compiled
/// once in the master before the workers fork).
pub struct Module {
    inner: ModuleInner,
}

enum ModuleInner {
    #[cfg(feature = "wasmtime")]
    Wasmtime(crate::rt_wasmtime::Compiled),
    #[cfg(feature = "wasmi")]
    Wasmi(crate::rt_wasmi::Compiled),
}

impl Module {
    pub fn compile(bytes: &[u8], runtime: Runtime) -> Result<Module, String> {
        let inner = match runtime {
            #[cfg(feature = "wasmtime")]
            Runtime::Wasmtime => ModuleInner::Wasmtime(crate::rt_wasmtime::Compiled::new(bytes)?),
            #[cfg(feature = "wasmi")]
            Runtime::Wasmi => ModuleInner::Wasmi(crate::rt_wasmi::Compiled::new(bytes)?),
            #[allow(unreachable_patterns)]
            other => return Err(format!("runtime {other:?} is not built into this module")),
        };
        Ok(Module { inner })
    }

    /// Instantiates and initializes (`_initialize`) the module.
    pub fn instantiate(&self, host: Host) -> Result<Vm, String> {
        let inst: Box<dyn Instance> = match &self.inner {
            #[cfg(feature = "wasmtime")]
            ModuleInner::Wasmtime(c) => Box::new(c.instantiate(host)?),
            #[cfg(feature = "wasmi")]
            ModuleInner::Wasmi(c) => Box::new(c.instantiate(host)?),
        };
        Ok(Vm { inst, poisoned: None, next_context: 1 })
    }
}

/// One instance of a module with its host state.
pub struct Vm {
    inst: Box<dyn Instance>,
    poisoned: Option<String>,
    next_context: u32,
}

impl Vm {
    pub fn host(&mut self) -> &mut Host {
        self.inst.host()
    }

    /// The trap that poisoned this instance, if any.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    fn call(&mut self, context: u32, e: Export, args: &[i32]) -> Result<Option<i32>, Trap> {
        if let Some(p) = &self.poisoned {
            return Err(Trap(p.clone()));
        }
        self.inst.host().current = context;
        match self.inst.call(e, args) {
            Ok(v) => Ok(v),
            Err(msg) => {
                // What the guest printed before dying (its panic message).
                let h = self.inst.host();
                if !h.stdio.is_empty() {
                    let text = String::from_utf8_lossy(&std::mem::take(&mut h.stdio)).into_owned();
                    h.logf(crate::LogLevel::Error, &format!("wasm stderr: {text}"));
                }
                self.poisoned = Some(msg.clone());
                Err(Trap(msg))
            }
        }
    }

    fn new_id(&mut self) -> u32 {
        let id = self.next_context;
        self.next_context = self.next_context.wrapping_add(1).max(1);
        id
    }

    /// Creates and configures a root context with its plugin configuration;
    /// the error says why the plugin refused (its log lines went to the
    /// logger).
    pub fn create_root(&mut self, configuration: Vec<u8>) -> Result<u32, String> {
        let id = self.new_id();
        let len = configuration.len() as i32;
        let h = self.host();
        h.roots.insert(id, Root { configuration, ..Root::default() });
        h.context_root.insert(id, id);
        let vm_len = h.vm_configuration.len() as i32;
        let fail = |t: Trap| format!("{t} while starting the plugin");
        self.call(id, Export::ContextCreate, &[id as i32, 0]).map_err(fail)?;
        if self.call(id, Export::VmStart, &[id as i32, vm_len]).map_err(fail)? == Some(0) {
            return Err("proxy_on_vm_start returned false".into());
        }
        if self.call(id, Export::Configure, &[id as i32, len]).map_err(fail)? == Some(0) {
            return Err("the plugin rejected its configuration (proxy_on_configure returned false)".into());
        }
        Ok(id)
    }

    /// Roots and their tick periods in ms (0: none).
    pub fn ticks(&mut self) -> Vec<(u32, u32)> {
        let h = self.host();
        h.tick_changed = false;
        let mut v: Vec<(u32, u32)> = h.roots.iter().map(|(id, r)| (*id, r.tick_ms)).collect();
        v.sort_unstable();
        v
    }

    pub fn create_stream(&mut self, root: u32) -> Result<u32, Trap> {
        let id = self.new_id();
        self.host().context_root.insert(id, root);
        self.call(id, Export::ContextCreate, &[id as i32, root as i32])?;
        Ok(id)
    }

    fn with_stream<R>(&mut self, stream: &mut Stream, f: impl FnOnce(&mut Vm) -> R) -> R {
        std::mem::swap(&mut self.host().stream, stream);
        let r = f(self);
        std::mem::swap(&mut self.host().stream, stream);
        r
    }

    fn action(v: Option<i32>) -> Action {
        if v == Some(1) {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    pub fn on_request_headers(&mut self, ctx: u32, stream: &mut Stream, end_of_stream: bool) -> Result<Action, Trap> {
        let n = stream.request_headers.len() as i32;
        self.with_stream(stream, |vm| vm.call(ctx, Export::RequestHeaders, &[ctx as i32, n, end_of_stream as i32]))
            .map(Self::action)
    }

    pub fn on_request_body(&mut self, ctx: u32, stream: &mut Stream, end_of_stream: bool) -> Result<Action, Trap> {
        let n = stream.request_body.len() as i32;
        self.with_stream(stream, |vm| vm.call(ctx, Export::RequestBody, &[ctx as i32, n, end_of_stream as i32]))
            .map(Self::action)
    }

    pub fn on_response_headers(&mut self, ctx: u32, stream: &mut Stream, end_of_stream: bool) -> Result<Action, Trap> {
        let n = stream.response_headers.len() as i32;
        self.with_stream(stream, |vm| vm.call(ctx, Export::ResponseHeaders, &[ctx as i32, n, end_of_stream as i32]))
            .map(Self::action)
    }

    pub fn on_response_body(&mut self, ctx: u32, stream: &mut Stream, end_of_stream: bool) -> Result<Action, Trap> {
        let n = stream.response_body.len() as i32;
        self.with_stream(stream, |vm| vm.call(ctx, Export::ResponseBody, &[ctx as i32, n, end_of_stream as i32]))
            .map(Self::action)
    }

    /// Ends a stream: `on_done`, `on_log`, `on_delete`.
    pub fn finish_stream(&mut self, ctx: u32, stream: &mut Stream) -> Result<(), Trap> {
        let r = self.with_stream(stream, |vm| {
            vm.call(ctx, Export::Done, &[ctx as i32])?;
            vm.call(ctx, Export::Log, &[ctx as i32])?;
            vm.call(ctx, Export::Delete, &[ctx as i32])
        });
        self.host().context_root.remove(&ctx);
        r.map(|_| ())
    }

    /// Forgets a stream without its log callbacks (after a trap).
    pub fn drop_stream(&mut self, ctx: u32) {
        self.host().context_root.remove(&ctx);
    }

    /// Calls `on_queue_ready` for queues with messages, then `on_tick`.
    pub fn on_tick(&mut self, root: u32) -> Result<(), Trap> {
        let queues = self.host().roots.get(&root).map(|r| r.queues.clone()).unwrap_or_default();
        for q in queues {
            if self.host().shared.queue_pending(q) {
                self.call(root, Export::QueueReady, &[root as i32, q as i32])?;
            }
        }
        self.call(root, Export::Tick, &[root as i32]).map(|_| ())
    }

    /// Calls dispatched since the last time this was asked.
    pub fn take_calls(&mut self) -> Vec<HttpCall> {
        std::mem::take(&mut self.host().calls)
    }

    pub fn on_http_call_response(&mut self, root: u32, token: u32, response: CallResponse) -> Result<(), Trap> {
        let (nh, nb) = (response.headers.len() as i32, response.body.len() as i32);
        self.host().call_response = Some(response);
        let r = self.call(root, Export::HttpCallResponse, &[root as i32, token as i32, nh, nb, 0]);
        self.host().call_response = None;
        r.map(|_| ())
    }
}
