//! The directives, their configuration, and the two nginx modules this
//! library defines:
//!
//! - `ngx_palisade_core_module` (top level):
//!   `palisade_wasm_module NAME PATH [wasmtime|wasmi];` compiles a .wasm
//!   once, in the master, before the workers fork.
//! - `ngx_http_palisade_module` (http):
//!   `palisade_wasm NAME 'JSON' | off;` (http, server, location) runs the
//!   module's filter with that plugin configuration;
//!   `palisade_wasm_service NAME 'JSON';` (http) runs the service role in
//!   one worker; `palisade_wasm_cluster NAME HOST:PORT;` (http) names a
//!   target for `dispatch_http_call`; `palisade_wasm_failure open|closed;`
//!   says what traffic gets while a VM is broken; `palisade_wasm_metrics;`
//!   (location) serves the Prometheus text.
//!
//! Every plugin configuration is tried in a scratch VM at configuration
//! time, so a bad module or configuration fails `nginx -t` with the
//! plugin's own reason.

use std::cell::RefCell;
use std::ffi::{c_char, c_void};
use std::net::{SocketAddr, ToSocketAddrs};
use std::ptr;
use std::rc::Rc;

use ngx::core::{Pool, NGX_CONF_ERROR};
use ngx::ffi::{
    ngx_array_push, ngx_command_t, ngx_conf_t, ngx_core_module_t, ngx_cycle_t, ngx_http_core_loc_conf_t,
    ngx_http_core_main_conf_t, ngx_http_core_module, ngx_http_handler_pt, ngx_http_module_t, ngx_http_top_body_filter,
    ngx_http_top_header_filter, ngx_int_t, ngx_module_t, ngx_str_t, ngx_uint_t, NGX_CONF_NOARGS, NGX_CONF_TAKE1,
    NGX_CONF_TAKE12, NGX_CONF_TAKE2, NGX_CONF_TAKE23, NGX_CORE_MODULE, NGX_DIRECT_CONF, NGX_HTTP_LOC_CONF,
    NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF, NGX_HTTP_MAIN_CONF_OFFSET, NGX_HTTP_MODULE, NGX_HTTP_SRV_CONF,
    NGX_LOG_EMERG, NGX_LOG_NOTICE, NGX_MAIN_CONF,
};
use ngx::http::{HttpModule, HttpModuleConfExt, Merge, MergeConfigError};
use ngx::ngx_string;
use palisade_wasm_host::{Host, LogLevel, Module, Region, Runtime};

use crate::{guard, log, request, worker};

/// A compiled .wasm from `palisade_wasm_module`.
pub struct WasmModule {
    pub name: String,
    pub path: String,
    pub compiled: Rc<Module>,
}

/// Top-level configuration: the modules and the shared memory region.
#[derive(Default)]
pub struct CoreConf {
    pub modules: Vec<WasmModule>,
    pub region: Option<Region>,
}

/// One root context to run: a module with one plugin configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Plugin {
    pub module: usize,
    pub config: Vec<u8>,
    pub service: bool,
}

#[derive(Default)]
pub struct MainConf {
    pub plugins: Vec<Plugin>,
    pub clusters: Vec<(String, SocketAddr)>,
}

impl MainConf {
    fn plugin_index(&mut self, p: Plugin) -> usize {
        match self.plugins.iter().position(|x| *x == p) {
            Some(i) => i,
            None => {
                self.plugins.push(p);
                self.plugins.len() - 1
            }
        }
    }
}

/// What traffic gets while its VM is broken (trapped, or failed to start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Pass uninspected.
    Open,
    /// Answer 503.
    Closed,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Use {
    #[default]
    Unset,
    Off,
    Plugin(usize),
}

#[derive(Default)]
pub struct LocConf {
    pub plugin: Use,
    pub failure: Option<Failure>,
    pub metrics: bool,
}

impl Merge for LocConf {
    fn merge(&mut self, prev: &LocConf) -> Result<(), MergeConfigError> {
        if self.plugin == Use::Unset {
            self.plugin = prev.plugin;
        }
        if self.failure.is_none() {
            self.failure = prev.failure;
        }
        Ok(())
    }
}

impl LocConf {
    pub fn failure(&self) -> Failure {
        self.failure.unwrap_or(Failure::Closed)
    }
}

pub struct HttpPalisade;

impl HttpModule for HttpPalisade {
    fn module() -> &'static ngx_module_t {
        // SAFETY: a static that nginx only writes during module loading.
        unsafe { &*ptr::addr_of!(ngx_http_palisade_module) }
    }

    unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        guard("postconfiguration", ngx::ffi::NGX_ERROR as ngx_int_t, || unsafe { install(cf) })
    }
}

unsafe impl ngx::http::HttpModuleMainConf for HttpPalisade {
    type MainConf = MainConf;
}

unsafe impl ngx::http::HttpModuleLocationConf for HttpPalisade {
    type LocationConf = LocConf;
}

/// Adds the phase handlers and the response filters.
unsafe fn install(cf: *mut ngx_conf_t) -> ngx_int_t {
    let Some(cmcf) = (*cf).http_main_conf_unchecked::<ngx_http_core_main_conf_t>(&*ptr::addr_of!(ngx_http_core_module))
    else {
        return ngx::ffi::NGX_ERROR as ngx_int_t;
    };
    let cmcf = cmcf.as_ptr();
    for (phase, handler) in [
        (ngx::ffi::ngx_http_phases_NGX_HTTP_PREACCESS_PHASE, request::access_handler as unsafe extern "C" fn(_) -> _),
        (ngx::ffi::ngx_http_phases_NGX_HTTP_LOG_PHASE, request::log_handler),
    ] {
        let h = ngx_array_push(&mut (*cmcf).phases[phase as usize].handlers) as *mut ngx_http_handler_pt;
        if h.is_null() {
            return ngx::ffi::NGX_ERROR as ngx_int_t;
        }
        *h = Some(handler);
    }
    request::NEXT_HEADER_FILTER = ngx_http_top_header_filter;
    ngx_http_top_header_filter = Some(request::header_filter);
    request::NEXT_BODY_FILTER = ngx_http_top_body_filter;
    ngx_http_top_body_filter = Some(request::body_filter);
    ngx::ffi::NGX_OK as ngx_int_t
}

fn args(cf: *mut ngx_conf_t) -> Vec<String> {
    // SAFETY: nginx passes the directive's words in cf->args.
    unsafe {
        (*(*cf).args)
            .as_slice::<ngx_str_t>()
            .iter()
            .map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned())
            .collect()
    }
}

fn conf_error(cf: *mut ngx_conf_t, msg: &str) -> *mut c_char {
    ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
    NGX_CONF_ERROR
}

/// The top-level configuration of the cycle being configured.
unsafe fn core_conf(cycle: *mut ngx_cycle_t) -> Option<&'static mut CoreConf> {
    let ctx = (*cycle).conf_ctx;
    if ctx.is_null() {
        return None;
    }
    let p = *ctx.add(ngx_palisade_core_module.index) as *mut CoreConf;
    p.as_mut()
}

pub fn core_conf_of(cycle: *mut ngx_cycle_t) -> Option<&'static mut CoreConf> {
    // SAFETY: called with nginx's cycle.
    unsafe { core_conf(cycle) }
}

extern "C" fn create_core_conf(cycle: *mut ngx_cycle_t) -> *mut c_void {
    guard("create_core_conf", ptr::null_mut(), || {
        // SAFETY: the cycle pool outlives the configuration; the value is
        // dropped by the pool's cleanup.
        let pool = unsafe { Pool::from_ngx_pool((*cycle).pool) };
        let conf = pool.allocate(CoreConf::default());
        conf as *mut c_void
    })
}

/// Unmaps the region when its cycle goes away (workers keep their own
/// mapping until they exit).
extern "C" fn unmap_region(data: *mut c_void) {
    if !data.is_null() {
        // SAFETY: data is the Box made in `region_for`.
        let r = unsafe { Box::from_raw(data as *mut Region) };
        // SAFETY: the cycle that used the region is being destroyed.
        unsafe { r.unmap() };
    }
}

unsafe fn region_for(cf: *mut ngx_conf_t, core: &mut CoreConf) -> Result<Region, String> {
    if let Some(r) = core.region {
        return Ok(r);
    }
    let r = Region::map()?;
    let cln = ngx::ffi::ngx_pool_cleanup_add((*(*cf).cycle).pool, 0);
    if cln.is_null() {
        r.unmap();
        return Err("cannot register the shared region's cleanup".into());
    }
    (*cln).handler = Some(unmap_region);
    (*cln).data = Box::into_raw(Box::new(r)) as *mut c_void;
    core.region = Some(r);
    Ok(r)
}

extern "C" fn set_wasm_module(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard("palisade_wasm_module", NGX_CONF_ERROR, || unsafe {
        let core = &mut *(conf as *mut CoreConf);
        let a = args(cf);
        let (name, path) = (a[1].clone(), a[2].clone());
        if core.modules.iter().any(|m| m.name == name) {
            return conf_error(cf, &format!("palisade_wasm_module \"{name}\" is defined twice"));
        }
        let runtime = match a.get(3) {
            None => Runtime::available()[0],
            Some(r) => match Runtime::parse(r) {
                Some(rt) if Runtime::available().contains(&rt) => rt,
                _ => {
                    let have: Vec<String> =
                        Runtime::available().iter().map(|r| format!("{r:?}").to_lowercase()).collect();
                    return conf_error(
                        cf,
                        &format!(
                            "palisade_wasm_module \"{name}\": runtime \"{r}\" is not built in (available: {})",
                            have.join(", ")
                        ),
                    );
                }
            },
        };
        let full = if path.starts_with('/') {
            path.clone()
        } else {
            let prefix = String::from_utf8_lossy((*(*cf).cycle).prefix.as_bytes()).into_owned();
            format!("{}{}{}", prefix, if prefix.ends_with('/') || prefix.is_empty() { "" } else { "/" }, path)
        };
        let bytes = match std::fs::read(&full) {
            Ok(b) => b,
            Err(e) => return conf_error(cf, &format!("palisade_wasm_module \"{name}\": cannot read \"{full}\": {e}")),
        };
        let started = std::time::Instant::now();
        let compiled = match Module::compile(&bytes, runtime) {
            Ok(m) => m,
            Err(e) => return conf_error(cf, &format!("palisade_wasm_module \"{name}\": \"{full}\": {e}")),
        };
        if let Err(e) = region_for(cf, core) {
            return conf_error(cf, &format!("palisade_wasm_module \"{name}\": {e}"));
        }
        log::to(
            (*cf).log,
            NGX_LOG_NOTICE as usize,
            &format!(
                "palisade: module \"{name}\" ({full}, {runtime:?}) compiled in {} ms",
                started.elapsed().as_millis()
            ),
        );
        core.modules.push(WasmModule { name, path: full, compiled: Rc::new(compiled) });
        ptr::null_mut()
    })
}

thread_local! {
    /// (module, configuration) pairs already tried at configuration time.
    static VALIDATED: RefCell<Vec<(String, Vec<u8>, bool)>> = const { RefCell::new(Vec::new()) };
}

/// Starts the plugin in a scratch VM; the error carries the plugin's
/// error-log lines.
unsafe fn validate(
    cf: *mut ngx_conf_t,
    core: &CoreConf,
    module: usize,
    config: &[u8],
    clusters: &[(String, SocketAddr)],
) -> Result<(), String> {
    let m = &core.modules[module];
    let Some(region) = core.region else { return Err("no shared region".into()) };
    let cached =
        VALIDATED.with(|v| v.borrow().iter().find(|(p, c, _)| *p == m.path && c == config).map(|(_, _, ok)| *ok));
    if cached == Some(true) {
        return Ok(());
    }
    let errors: Rc<RefCell<Vec<String>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = errors.clone();
    let log = (*cf).log;
    let mut host = Host::new(
        &m.name,
        region,
        Box::new(move |lvl, msg| {
            if lvl >= LogLevel::Error {
                sink.borrow_mut().push(msg.to_string());
            }
            log::to(log, log::level(lvl), msg);
        }),
    );
    host.clusters = clusters.iter().map(|(n, _)| n.clone()).collect();
    let started = std::time::Instant::now();
    let result = m.compiled.instantiate(host).and_then(|mut vm| vm.create_root(config.to_vec()).map(|_| ()));
    let result = result.map_err(|e| {
        let errs = errors.borrow();
        if errs.is_empty() {
            e
        } else {
            format!("{e}: {}", errs.join("; "))
        }
    });
    log::to(
        log,
        NGX_LOG_NOTICE as usize,
        &format!("palisade: plugin configuration for \"{}\" checked in {} ms", m.name, started.elapsed().as_millis()),
    );
    VALIDATED.with(|v| v.borrow_mut().push((m.path.clone(), config.to_vec(), result.is_ok())));
    result
}

unsafe fn find_module(cf: *mut ngx_conf_t, name: &str) -> Result<(&'static CoreConf, usize), String> {
    let core = core_conf((*cf).cycle).ok_or("no palisade configuration")?;
    match core.modules.iter().position(|m| m.name == name) {
        Some(i) => Ok((core, i)),
        None => Err(format!(
            "unknown wasm module \"{name}\": define it with `palisade_wasm_module {name} /path/to/module.wasm;` at the top level, before the http block"
        )),
    }
}

fn main_conf(cf: *mut ngx_conf_t) -> Option<&'static mut MainConf> {
    // SAFETY: called while parsing the http block.
    unsafe { (*cf).http_main_conf_unchecked::<MainConf>(HttpPalisade::module()).map(|p| &mut *p.as_ptr()) }
}

extern "C" fn set_wasm(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard("palisade_wasm", NGX_CONF_ERROR, || unsafe {
        let lcf = &mut *(conf as *mut LocConf);
        if lcf.plugin != Use::Unset {
            return conf_error(cf, "palisade_wasm is duplicate");
        }
        let a = args(cf);
        if a.len() == 2 {
            if a[1] == "off" {
                lcf.plugin = Use::Off;
                return ptr::null_mut();
            }
            return conf_error(cf, "palisade_wasm takes a module name and a plugin configuration, or \"off\"");
        }
        let (core, module) = match find_module(cf, &a[1]) {
            Ok(x) => x,
            Err(e) => return conf_error(cf, &format!("palisade_wasm: {e}")),
        };
        let Some(main) = main_conf(cf) else { return conf_error(cf, "palisade_wasm: no http configuration") };
        let config = a[2].clone().into_bytes();
        if let Err(e) = validate(cf, core, module, &config, &main.clusters) {
            return conf_error(cf, &format!("palisade_wasm \"{}\": {e}", a[1]));
        }
        lcf.plugin = Use::Plugin(main.plugin_index(Plugin { module, config, service: false }));
        ptr::null_mut()
    })
}

extern "C" fn set_service(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, _conf: *mut c_void) -> *mut c_char {
    guard("palisade_wasm_service", NGX_CONF_ERROR, || unsafe {
        let a = args(cf);
        let (core, module) = match find_module(cf, &a[1]) {
            Ok(x) => x,
            Err(e) => return conf_error(cf, &format!("palisade_wasm_service: {e}")),
        };
        let Some(main) = main_conf(cf) else { return conf_error(cf, "palisade_wasm_service: no http configuration") };
        if main.plugins.iter().any(|p| p.service) {
            return conf_error(cf, "palisade_wasm_service is duplicate");
        }
        let config = a[2].clone().into_bytes();
        if let Err(e) = validate(cf, core, module, &config, &main.clusters) {
            return conf_error(cf, &format!("palisade_wasm_service \"{}\": {e}", a[1]));
        }
        main.plugin_index(Plugin { module, config, service: true });
        ptr::null_mut()
    })
}

extern "C" fn set_cluster(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, _conf: *mut c_void) -> *mut c_char {
    guard("palisade_wasm_cluster", NGX_CONF_ERROR, || {
        let a = args(cf);
        let Some(main) = main_conf(cf) else { return conf_error(cf, "palisade_wasm_cluster: no http configuration") };
        if main.clusters.iter().any(|(n, _)| *n == a[1]) {
            return conf_error(cf, &format!("palisade_wasm_cluster \"{}\" is defined twice", a[1]));
        }
        let addr = match a[2].to_socket_addrs().map(|mut it| it.next()) {
            Ok(Some(addr)) => addr,
            Ok(None) => {
                return conf_error(cf, &format!("palisade_wasm_cluster \"{}\": \"{}\" resolves to nothing", a[1], a[2]))
            }
            Err(e) => {
                return conf_error(
                    cf,
                    &format!("palisade_wasm_cluster \"{}\": \"{}\" is not host:port ({e})", a[1], a[2]),
                )
            }
        };
        main.clusters.push((a[1].clone(), addr));
        ptr::null_mut()
    })
}

extern "C" fn set_failure(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard("palisade_wasm_failure", NGX_CONF_ERROR, || unsafe {
        let lcf = &mut *(conf as *mut LocConf);
        lcf.failure = match args(cf)[1].as_str() {
            "open" => Some(Failure::Open),
            "closed" => Some(Failure::Closed),
            other => return conf_error(cf, &format!("palisade_wasm_failure: \"{other}\" is neither open nor closed")),
        };
        ptr::null_mut()
    })
}

extern "C" fn set_metrics(cf: *mut ngx_conf_t, _cmd: *mut ngx_command_t, conf: *mut c_void) -> *mut c_char {
    guard("palisade_wasm_metrics", NGX_CONF_ERROR, || unsafe {
        let lcf = &mut *(conf as *mut LocConf);
        lcf.metrics = true;
        let Some(clcf) =
            (*cf).http_location_conf_unchecked::<ngx_http_core_loc_conf_t>(&*ptr::addr_of!(ngx_http_core_module))
        else {
            return conf_error(cf, "palisade_wasm_metrics: no location");
        };
        (*clcf.as_ptr()).handler = Some(crate::metrics::handler);
        ptr::null_mut()
    })
}

const fn command(
    name: ngx_str_t,
    type_: u32,
    set: unsafe extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char,
    conf: usize,
) -> ngx_command_t {
    ngx_command_t { name, type_: type_ as ngx_uint_t, set: Some(set), conf, offset: 0, post: ptr::null_mut() }
}

const ANY_HTTP: u32 = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

static mut CORE_COMMANDS: [ngx_command_t; 2] = [
    command(ngx_string!("palisade_wasm_module"), NGX_MAIN_CONF | NGX_DIRECT_CONF | NGX_CONF_TAKE23, set_wasm_module, 0),
    ngx_command_t::empty(),
];

static mut HTTP_COMMANDS: [ngx_command_t; 6] = [
    command(ngx_string!("palisade_wasm"), ANY_HTTP | NGX_CONF_TAKE12, set_wasm, NGX_HTTP_LOC_CONF_OFFSET),
    command(
        ngx_string!("palisade_wasm_service"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2,
        set_service,
        NGX_HTTP_MAIN_CONF_OFFSET,
    ),
    command(
        ngx_string!("palisade_wasm_cluster"),
        NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2,
        set_cluster,
        NGX_HTTP_MAIN_CONF_OFFSET,
    ),
    command(ngx_string!("palisade_wasm_failure"), ANY_HTTP | NGX_CONF_TAKE1, set_failure, NGX_HTTP_LOC_CONF_OFFSET),
    command(
        ngx_string!("palisade_wasm_metrics"),
        NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
        set_metrics,
        NGX_HTTP_LOC_CONF_OFFSET,
    ),
    ngx_command_t::empty(),
];

/// `ngx_core_module_t` holds raw pointers; nginx only reads it.
#[repr(transparent)]
struct SyncCtx(ngx_core_module_t);
unsafe impl Sync for SyncCtx {}

static CORE_CTX: SyncCtx =
    SyncCtx(ngx_core_module_t { name: ngx_string!("palisade"), create_conf: Some(create_core_conf), init_conf: None });

static HTTP_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: None,
    postconfiguration: Some(HttpPalisade::postconfiguration),
    create_main_conf: Some(HttpPalisade::create_main_conf),
    init_main_conf: None,
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: Some(HttpPalisade::create_loc_conf),
    merge_loc_conf: Some(HttpPalisade::merge_loc_conf),
};

#[used]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_palisade_core_module: ngx_module_t = ngx_module_t {
    ctx: ptr::addr_of!(CORE_CTX) as *mut c_void,
    commands: ptr::addr_of_mut!(CORE_COMMANDS) as *mut ngx_command_t,
    type_: NGX_CORE_MODULE as ngx_uint_t,
    ..ngx_module_t::default()
};

#[used]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_http_palisade_module: ngx_module_t = ngx_module_t {
    ctx: ptr::addr_of!(HTTP_CTX) as *mut c_void,
    commands: ptr::addr_of_mut!(HTTP_COMMANDS) as *mut ngx_command_t,
    type_: NGX_HTTP_MODULE as ngx_uint_t,
    init_process: Some(worker::init_process),
    exit_process: Some(worker::exit_process),
    ..ngx_module_t::default()
};
