//! The HTTP filter's root context, one per VM: compiles the rule sets once
//! and shares them (and the policy, metrics and report buffer) with the HTTP
//! contexts of that VM. On its tick it picks up a newly published policy and
//! hands its report to the service over the shared queue.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use palisade_rules::engine::RuleSet;
use proxy_wasm::hostcalls;

use super::http::Http;
use super::metrics::Metrics;
use super::props;
use crate::config::{FailureMode, FilterConfig};
use crate::crs::{EmbeddedCrs, CRS_SOURCE};
use crate::policy::{ActivePolicy, Policy};
use crate::telemetry::WorkerBuffer;
use crate::{POLICY_KEY, QUEUE_NAME};

/// How often a worker looks for a new policy while serving traffic.
const POLICY_CHECK_MS: u64 = 200;

/// State shared by the root and the HTTP contexts of one VM.
pub struct Shared {
    pub config: FilterConfig,
    /// Rule set name → compiled rules (`None`: failed to load, failing open).
    rule_sets: HashMap<String, Option<Rc<RuleSet>>>,
    pub metrics: Metrics,
    policy: RefCell<Rc<ActivePolicy>>,
    policy_cas: Cell<Option<u32>>,
    policy_checked_ms: Cell<u64>,
    pub buffer: RefCell<WorkerBuffer>,
    tx_seq: Cell<u64>,
    vm_tag: u64,
    warned_hold_headers: Cell<bool>,
}

impl Shared {
    /// The rules for an authority; `Err(())` when that set failed to load.
    pub fn rules_for(&self, authority: &str) -> Result<Rc<RuleSet>, ()> {
        let name = self.config.rule_set_for(authority);
        match self.rule_sets.get(name) {
            Some(Some(rs)) => Ok(rs.clone()),
            _ => Err(()),
        }
    }

    pub fn policy(&self) -> Rc<ActivePolicy> {
        self.policy.borrow().clone()
    }

    /// Picks up the policy the service published, at most every
    /// [`POLICY_CHECK_MS`] unless `force`.
    pub fn refresh_policy(&self, force: bool) {
        let now = props::now_ms();
        if !force && now.saturating_sub(self.policy_checked_ms.get()) < POLICY_CHECK_MS {
            return;
        }
        self.policy_checked_ms.set(now);
        let (bytes, cas) = match hostcalls::get_shared_data(POLICY_KEY) {
            Ok(v) => v,
            Err(_) => return,
        };
        if cas == self.policy_cas.get() {
            return;
        }
        self.policy_cas.set(cas);
        let Some(bytes) = bytes else { return };
        match Policy::from_json(&bytes) {
            Ok(p) => {
                if p.version != self.policy.borrow().version {
                    log::info!(
                        "palisade: applying policy version {} (mode {:?})",
                        p.version,
                        p.mode
                    );
                    self.metrics.policy_version(p.version);
                    *self.policy.borrow_mut() = Rc::new(ActivePolicy::new(&p));
                }
            }
            Err(e) => log::warn!("palisade: ignoring published policy: {e}"),
        }
    }

    /// Said once per VM: a request ended while its body was awaited and no
    /// body callback ever came, the sign of `hold_headers` without Envoy's
    /// `allow_on_headers_stop_iteration`.
    pub fn warn_hold_headers(&self) {
        if !self.warned_hold_headers.replace(true) {
            log::error!(
                "palisade: a request body never reached the filter; request_body.hold_headers needs \
                 allow_on_headers_stop_iteration: true in Envoy's wasm plugin config"
            );
        }
    }

    /// A transaction id unique within the process lifetime.
    pub fn next_tx_id(&self) -> String {
        let n = self.tx_seq.get().wrapping_add(1);
        self.tx_seq.set(n);
        format!("{:x}-{:x}", self.vm_tag, n)
    }
}

pub struct FilterRoot {
    shared: Rc<Shared>,
    vm_id: String,
    queue: Option<u32>,
}

impl FilterRoot {
    /// Compiles every rule set. A set that fails makes the plugin refuse to
    /// start, unless `failure_mode` is `open`.
    pub fn start(config: FilterConfig) -> Result<FilterRoot, String> {
        let prelude = config.prelude();
        let mut rule_sets = HashMap::new();
        for (name, directives) in &config.rule_sets {
            let text = format!("{prelude}{directives}");
            let started = props::now_ms();
            match RuleSet::load(&format!("rule_sets.{name}"), &text, &EmbeddedCrs) {
                Ok((rs, warnings)) => {
                    for w in warnings {
                        log::info!("palisade: rule set {name:?}: {w}");
                    }
                    // Linear memory only grows: this is what the VM holds
                    // with the rule sets compiled so far.
                    let memory_kib = core::arch::wasm32::memory_size(0) * 64;
                    log::info!(
                        "palisade: rule set {name:?} compiled in {} ms, VM memory {memory_kib} KiB (CRS from {CRS_SOURCE})",
                        props::now_ms().saturating_sub(started)
                    );
                    rule_sets.insert(name.clone(), Some(Rc::new(rs)));
                }
                Err(e) if config.failure_mode == FailureMode::Open => {
                    log::error!(
                        "palisade: rule set {name:?} failed to load: {e}; failure_mode is open, so \
                         requests using it pass WITHOUT inspection (counted in palisade.engine_unavailable)"
                    );
                    rule_sets.insert(name.clone(), None);
                }
                Err(e) => return Err(format!("rule set {name:?} failed to load: {e}")),
            }
        }
        let metrics = Metrics::new(config.max_rule_metrics);
        let policy = ActivePolicy::new(&config.policy);
        metrics.policy_version(policy.version);
        let buffer = WorkerBuffer::new(config.max_buffered_events);
        let shared = Rc::new(Shared {
            config,
            rule_sets,
            metrics,
            policy: RefCell::new(Rc::new(policy)),
            policy_cas: Cell::new(None),
            policy_checked_ms: Cell::new(0),
            buffer: RefCell::new(buffer),
            tx_seq: Cell::new(0),
            vm_tag: props::random_u64(),
            warned_hold_headers: Cell::new(false),
        });
        shared.refresh_policy(true);
        let _ = hostcalls::set_tick_period(Duration::from_secs(1));
        let vm_id = props::string(&["plugin_vm_id"]).unwrap_or_default();
        Ok(FilterRoot {
            shared,
            vm_id,
            queue: None,
        })
    }

    pub fn new_http(&self) -> Http {
        Http::new(self.shared.clone())
    }

    pub fn on_tick(&mut self) {
        self.shared.refresh_policy(true);
        if self.shared.buffer.borrow().is_empty() {
            return;
        }
        if self.queue.is_none() {
            self.queue = hostcalls::resolve_shared_queue(&self.vm_id, QUEUE_NAME)
                .ok()
                .flatten();
        }
        // Without a service (no queue yet) the buffer keeps accumulating,
        // bounded, until one appears.
        let Some(queue) = self.queue else { return };
        let report = self
            .shared
            .buffer
            .borrow_mut()
            .take(self.shared.policy().version);
        let Ok(bytes) = serde_json::to_vec(&report) else {
            return;
        };
        if hostcalls::enqueue_shared_queue(queue, Some(&bytes)).is_err() {
            // The service went away; look the queue up again next time. The
            // report is lost: count its events as dropped.
            self.queue = None;
            self.shared
                .buffer
                .borrow_mut()
                .count_dropped(report.events.len() as u64 + report.dropped_events);
        }
    }
}
