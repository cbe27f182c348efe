//! The bootstrap singleton (`envoy.bootstrap.wasm`, `singleton: true`): drains
//! worker reports from the shared queue into a bounded [`Aggregator`], sends
//! one batch per flush interval to the collector with `dispatch_http_call`,
//! and publishes the policy riding on the acknowledgement through shared
//! data. A failed flush backs off exponentially; traffic never waits on it.

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

use super::metrics::ServiceMetrics;
use super::props;
use crate::config::ServiceConfig;
use crate::telemetry::{Ack, Aggregator, Backoff, Report};
use crate::{POLICY_KEY, QUEUE_NAME};

pub struct ServiceRoot {
    config: ServiceConfig,
    queue: u32,
    agg: Aggregator,
    backoff: Backoff,
    metrics: ServiceMetrics,
    next_flush_ms: u64,
    /// Token and send time of the call in flight.
    in_flight: Option<(u32, u64)>,
    published_version: Option<u64>,
    bad_reports: u64,
}

impl ServiceRoot {
    pub fn start(config: ServiceConfig) -> Result<ServiceRoot, String> {
        let queue = hostcalls::register_shared_queue(QUEUE_NAME)
            .map_err(|e| format!("cannot register shared queue {QUEUE_NAME}: {e:?}"))?;
        let instance = if config.instance.is_empty() {
            props::string(&["node", "id"])
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "envoy".into())
        } else {
            config.instance.clone()
        };
        let started = props::now_ms();
        let agg = Aggregator::new(
            &instance,
            &config.environment,
            // Unique per service start, even for two VMs started in the same ms.
            &format!("{instance}-{started:x}{:04x}", props::random_u64() & 0xffff),
            config.max_buffered_events,
            config.max_batch_events,
        );
        let tick = (config.flush_interval_ms / 4).clamp(50, 250);
        let _ = hostcalls::set_tick_period(Duration::from_millis(tick));
        log::info!(
            "palisade service: instance {instance:?}, collector cluster {:?}, flush every {} ms",
            config.cluster,
            config.flush_interval_ms
        );
        Ok(ServiceRoot {
            backoff: Backoff::new(config.flush_interval_ms, config.max_backoff_ms),
            config,
            queue,
            agg,
            metrics: ServiceMetrics::new(),
            next_flush_ms: started,
            in_flight: None,
            published_version: None,
            bad_reports: 0,
        })
    }

    fn drain(&mut self) {
        while let Ok(Some(bytes)) = hostcalls::dequeue_shared_queue(self.queue) {
            match serde_json::from_slice::<Report>(&bytes) {
                Ok(r) => self.agg.merge(r),
                Err(e) => {
                    self.bad_reports += 1;
                    if self.bad_reports == 1 || self.bad_reports.is_multiple_of(1000) {
                        log::warn!(
                            "palisade service: unreadable worker report ({}): {e}",
                            self.bad_reports
                        );
                    }
                }
            }
        }
    }

    pub fn on_queue_ready(&mut self, _queue_id: u32) {
        self.drain();
    }

    pub fn on_tick(&mut self) {
        self.drain();
        let now = props::now_ms();
        if let Some((_, sent)) = self.in_flight {
            // Envoy answers every call (timeouts included); this only guards
            // against a lost callback.
            if now.saturating_sub(sent) > self.config.timeout_ms * 2 + 1000 {
                self.in_flight = None;
                self.failed(now, "no answer");
            }
            return;
        }
        if now >= self.next_flush_ms {
            self.flush(now);
        }
    }

    fn flush(&mut self, now: u64) {
        let batch = self.agg.next_batch(now as f64 / 1000.0);
        let body = match serde_json::to_vec(batch) {
            Ok(b) => b,
            Err(e) => {
                log::error!("palisade service: cannot serialize batch: {e}");
                self.agg.acknowledged();
                return;
            }
        };
        let auth = format!("Bearer {}", self.config.token);
        let mut headers = vec![
            (":method", "POST"),
            (":path", "/api/v1/telemetry"),
            (":authority", self.config.authority.as_str()),
            ("content-type", "application/json"),
        ];
        if !self.config.token.is_empty() {
            headers.push(("authorization", auth.as_str()));
        }
        let timeout = Duration::from_millis(self.config.timeout_ms);
        match hostcalls::dispatch_http_call(
            &self.config.cluster,
            headers,
            Some(&body),
            vec![],
            timeout,
        ) {
            Ok(token) => self.in_flight = Some((token, now)),
            Err(e) => self.failed(
                now,
                &format!(
                    "dispatch to cluster {:?} failed: {e:?}",
                    self.config.cluster
                ),
            ),
        }
    }

    fn failed(&mut self, now: u64, why: &str) {
        ServiceMetrics::add(self.metrics.batches_failed, 1);
        let delay = self.backoff.failed();
        self.next_flush_ms = now + delay;
        let n = self.backoff.failures();
        if n == 1 || n.is_power_of_two() {
            log::warn!(
                "palisade service: collector flush failed ({why}); {n} failure(s) in a row, retrying in {delay} ms, \
                 {} event(s) held, {} dropped",
                self.agg.buffered_events(),
                self.agg.dropped_events()
            );
        }
    }

    pub fn on_http_call_response(
        &mut self,
        token: u32,
        _num_headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let now = props::now_ms();
        match self.in_flight {
            Some((t, _)) if t == token => self.in_flight = None,
            _ => return,
        }
        let status = hostcalls::get_map_value(MapType::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten();
        if status.as_deref() != Some("200") {
            let why = match status {
                Some(s) => format!("collector answered {s}"),
                None => "no response (connection failed or timed out)".to_string(),
            };
            self.failed(now, &why);
            return;
        }
        let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
            .ok()
            .flatten()
            .unwrap_or_default();
        let ack: Ack = match serde_json::from_slice(&body) {
            Ok(a) => a,
            Err(e) => {
                self.failed(now, &format!("unreadable acknowledgement: {e}"));
                return;
            }
        };
        if !ack.accepted {
            self.failed(now, "batch not accepted");
            return;
        }
        if let Some(b) = self.agg.pending() {
            ServiceMetrics::add(self.metrics.events_sent, b.events.len() as u64);
            ServiceMetrics::add(self.metrics.events_dropped, b.dropped_events);
        }
        ServiceMetrics::add(self.metrics.batches_sent, 1);
        self.agg.acknowledged();
        if self.backoff.failures() > 0 {
            log::info!("palisade service: collector reachable again");
        }
        self.next_flush_ms = now + self.backoff.succeeded();
        match ack.policy() {
            None => {}
            Some(Err(e)) => {
                log::warn!("palisade service: collector sent a policy the filter cannot use, keeping the current one: {e}")
            }
            Some(Ok(policy)) => self.publish(policy),
        }
    }

    /// Puts a new policy version where the workers look for it.
    fn publish(&mut self, policy: crate::policy::Policy) {
        if self.published_version == Some(policy.version) {
            return;
        }
        let bytes = match serde_json::to_vec(&policy) {
            Ok(b) => b,
            Err(e) => return log::warn!("palisade service: cannot serialize policy: {e}"),
        };
        match hostcalls::set_shared_data(POLICY_KEY, Some(&bytes), None) {
            Ok(()) => {
                log::info!(
                    "palisade service: published policy version {}",
                    policy.version
                );
                self.published_version = Some(policy.version);
            }
            Err(e) => log::warn!("palisade service: cannot publish policy: {e:?}"),
        }
    }
}
