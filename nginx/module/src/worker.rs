//! Each worker's VMs: one instance per wasm module, started at worker
//! start with every plugin configuration (root context) that uses it; the
//! service root only in worker 0, so it runs once like Envoy's singleton.
//!
//! A 50 ms ticker drives the roots' `on_tick` (and queue notifications) and
//! rebuilds a VM that trapped, with backoff. Between a trap and the rebuild,
//! requests get their location's `palisade_wasm_failure` policy.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::time::{Duration, Instant};

use ngx::ffi::{
    ngx_add_timer, ngx_cycle_t, ngx_event_t, ngx_int_t, ngx_log_t, ngx_worker, NGX_LOG_ALERT, NGX_LOG_ERR,
    NGX_LOG_NOTICE, NGX_OK,
};
use ngx::http::HttpModuleConfExt;
use palisade_wasm_host::{CallResponse, Host, HttpCall, Module, Region, Vm};

use crate::conf::{core_conf_of, HttpPalisade, MainConf, Plugin};
use crate::{call, guard, log};

const TICK: Duration = Duration::from_millis(50);

struct RootTick {
    root: u32,
    next: Instant,
}

pub struct Slot {
    name: String,
    module: std::rc::Rc<Module>,
    pub vm: Option<Vm>,
    /// Bumped whenever the VM is replaced: a request's context id is only
    /// valid for the generation it was made in.
    pub generation: u32,
    /// (plugin index, root id) of the current VM.
    roots: Vec<(usize, u32)>,
    ticks: Vec<RootTick>,
    rebuild_at: Option<Instant>,
    backoff: Duration,
}

pub struct Worker {
    pub slots: Vec<Slot>,
    plugins: Vec<Plugin>,
    clusters: Vec<(String, std::net::SocketAddr)>,
    region: Region,
    cycle: *mut ngx_cycle_t,
}

thread_local! {
    pub static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
    /// The log of the request being served (richer lines than the cycle's).
    pub static CURRENT_LOG: Cell<*mut ngx_log_t> = const { Cell::new(ptr::null_mut()) };
}

static mut TICKER: *mut ngx_event_t = ptr::null_mut();

fn vm_logger() -> palisade_wasm_host::Logger {
    Box::new(|lvl, msg| {
        let l = CURRENT_LOG.with(|c| c.get());
        if l.is_null() {
            log::cycle(log::level(lvl), msg);
        } else {
            log::to(l, log::level(lvl), msg);
        }
    })
}

impl Worker {
    fn start_slot(&mut self, i: usize) {
        let first = self.slots[i].generation == 0;
        let slot = &mut self.slots[i];
        slot.generation += 1;
        slot.vm = None;
        slot.roots.clear();
        slot.ticks.clear();
        let mut host = Host::new(&slot.name, self.region, vm_logger());
        host.clusters = self.clusters.iter().map(|(n, _)| n.clone()).collect();
        // SAFETY: ngx_worker is set before init_process.
        let worker = unsafe { ngx_worker };
        host.node_id = format!("nginx-{}-w{worker}", hostname());
        let started = Instant::now();
        let mut vm = match slot.module.instantiate(host) {
            Ok(vm) => vm,
            Err(e) => return self.broken(i, &format!("cannot instantiate: {e}")),
        };
        for (pi, p) in self.plugins.iter().enumerate() {
            if p.module != i || (p.service && worker != 0) {
                continue;
            }
            match vm.create_root(p.config.clone()) {
                Ok(root) => slot.roots.push((pi, root)),
                Err(e) => {
                    let what = if p.service { "service" } else { "filter" };
                    return self.broken(i, &format!("{what} plugin failed to start: {e}"));
                }
            }
        }
        let now = Instant::now();
        slot.ticks = vm
            .ticks()
            .into_iter()
            .filter(|(_, ms)| *ms > 0)
            .map(|(root, ms)| RootTick { root, next: now + Duration::from_millis(ms as u64) })
            .collect();
        slot.vm = Some(vm);
        slot.rebuild_at = None;
        log::cycle(
            NGX_LOG_NOTICE as usize,
            &format!(
                "palisade: worker {worker}: VM \"{}\" {} with {} plugin(s) in {} ms",
                slot.name,
                if first { "started" } else { "rebuilt" },
                slot.roots.len(),
                started.elapsed().as_millis()
            ),
        );
        slot.backoff = Duration::from_secs(1);
    }

    fn broken(&mut self, i: usize, why: &str) {
        let slot = &mut self.slots[i];
        slot.vm = None;
        slot.roots.clear();
        slot.ticks.clear();
        slot.rebuild_at = Some(Instant::now() + slot.backoff);
        log::cycle(
            NGX_LOG_ALERT as usize,
            &format!(
                "palisade: VM \"{}\" is down: {why}; requests get their palisade_wasm_failure policy until it is rebuilt (next try in {} s)",
                slot.name,
                slot.backoff.as_secs()
            ),
        );
        slot.backoff = (slot.backoff * 2).min(Duration::from_secs(60));
    }

    /// The VM slot and root of a plugin, if its VM is up.
    pub fn plugin(&self, plugin: usize) -> Option<(usize, u32, u32)> {
        let p = self.plugins.get(plugin)?;
        let slot = self.slots.get(p.module)?;
        slot.vm.as_ref()?;
        let root = slot.roots.iter().find(|(pi, _)| *pi == plugin)?.1;
        Some((p.module, root, slot.generation))
    }

    pub fn cluster(&self, name: &str) -> Option<std::net::SocketAddr> {
        self.clusters.iter().find(|(n, _)| n == name).map(|(_, a)| *a)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "host".into())
}

/// Runs `f` on the VM of slot `slot` if it is up and of `generation` (any
/// generation when `None`). A trap takes the VM down. Calls the guest
/// dispatched are started after the worker is released.
pub fn with_vm<R>(slot: usize, generation: Option<u32>, f: impl FnOnce(&mut Vm) -> R) -> Option<R> {
    let (r, calls) = WORKER.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.as_mut()?;
        let s = w.slots.get_mut(slot)?;
        if generation.is_some_and(|g| g != s.generation) {
            return None;
        }
        let vm = s.vm.as_mut()?;
        let r = f(vm);
        let calls = vm.take_calls();
        if let Some(trap) = vm.poisoned().map(str::to_string) {
            w.broken(slot, &format!("wasm trap: {trap}"));
        }
        Some((r, calls))
    })?;
    for c in calls {
        start_call(slot, c);
    }
    Some(r)
}

fn start_call(slot: usize, c: HttpCall) {
    let addr = WORKER.with(|w| w.borrow().as_ref().and_then(|w| w.cluster(&c.cluster)));
    let generation = WORKER.with(|w| w.borrow().as_ref().and_then(|w| w.slots.get(slot).map(|s| s.generation)));
    let (Some(addr), Some(generation)) = (addr, generation) else {
        return deliver(slot, None, c.root_context, c.token, CallResponse::default());
    };
    call::start(slot, generation, addr, c);
}

/// Hands a call's outcome to the root that dispatched it.
pub fn deliver(slot: usize, generation: Option<u32>, root: u32, token: u32, resp: CallResponse) {
    let _ = with_vm(slot, generation, |vm| vm.on_http_call_response(root, token, resp));
}

pub fn plugin(plugin: usize) -> Option<(usize, u32, u32)> {
    WORKER.with(|w| w.borrow().as_ref().and_then(|w| w.plugin(plugin)))
}

pub unsafe extern "C" fn init_process(cycle: *mut ngx_cycle_t) -> ngx_int_t {
    guard("init_process", NGX_OK as ngx_int_t, || unsafe {
        let Some(core) = core_conf_of(cycle) else { return NGX_OK as ngx_int_t };
        let Some(region) = core.region else { return NGX_OK as ngx_int_t };
        let Some(main) =
            (*cycle).http_main_conf_unchecked::<MainConf>(<HttpPalisade as ngx::http::HttpModule>::module())
        else {
            return NGX_OK as ngx_int_t;
        };
        let main = main.as_ref();
        if main.plugins.is_empty() {
            return NGX_OK as ngx_int_t;
        }
        let slots = core
            .modules
            .iter()
            .map(|m| Slot {
                name: m.name.clone(),
                module: m.compiled.clone(),
                vm: None,
                generation: 0,
                roots: Vec::new(),
                ticks: Vec::new(),
                rebuild_at: None,
                backoff: Duration::from_secs(1),
            })
            .collect();
        let mut w = Worker { slots, plugins: main.plugins.clone(), clusters: main.clusters.clone(), region, cycle };
        for i in 0..w.slots.len() {
            if w.plugins.iter().any(|p| p.module == i) {
                w.start_slot(i);
            }
        }
        WORKER.with(|c| *c.borrow_mut() = Some(w));
        let ev: *mut ngx_event_t = Box::into_raw(Box::new(std::mem::zeroed()));
        (*ev).handler = Some(on_ticker);
        (*ev).log = (*cycle).log;
        (*ev).data = ptr::null_mut();
        (*ev).set_cancelable(1);
        TICKER = ev;
        ngx_add_timer(ev, TICK.as_millis() as _);
        NGX_OK as ngx_int_t
    })
}

pub unsafe extern "C" fn exit_process(_cycle: *mut ngx_cycle_t) {
    guard("exit_process", (), || {
        WORKER.with(|w| drop(w.borrow_mut().take()));
    })
}

unsafe extern "C" fn on_ticker(ev: *mut ngx_event_t) {
    guard("tick", (), || {
        let now = Instant::now();
        let mut due: Vec<(usize, u32)> = Vec::new();
        WORKER.with(|w| {
            let mut w = w.borrow_mut();
            let Some(w) = w.as_mut() else { return };
            for i in 0..w.slots.len() {
                if w.slots[i].rebuild_at.is_some_and(|t| t <= now) {
                    w.start_slot(i);
                }
                for t in &mut w.slots[i].ticks {
                    if t.next <= now {
                        due.push((i, t.root));
                    }
                }
            }
        });
        for (slot, root) in due {
            let ms = with_vm(slot, None, |vm| {
                if let Err(t) = vm.on_tick(root) {
                    log::cycle(NGX_LOG_ERR as usize, &format!("palisade: on_tick: {t}"));
                }
                vm.ticks().into_iter().find(|(r, _)| *r == root).map(|(_, ms)| ms).unwrap_or(0)
            });
            WORKER.with(|w| {
                if let Some(w) = w.borrow_mut().as_mut() {
                    if let Some(t) = w.slots[slot].ticks.iter_mut().find(|t| t.root == root) {
                        t.next = Instant::now() + Duration::from_millis(ms.unwrap_or(1000).max(1) as u64);
                    }
                }
            });
        }
        let alive = WORKER.with(|w| w.borrow().as_ref().map(|w| !w.cycle.is_null()).unwrap_or(false));
        if alive {
            // SAFETY: the ticker event lives for the whole worker.
            unsafe { ngx_add_timer(ev, TICK.as_millis() as _) };
        }
    })
}
