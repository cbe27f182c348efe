//! Node packet counters: pluggable sources sampled on an interval, their
//! cumulative readings turned into bucketed deltas by `store::net`.

pub mod hubble;
pub mod nft;
pub mod procnetdev;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::{Config, NftMode};
use crate::metrics::Metrics;
use crate::store::net::Reading;
use crate::store::Store;

/// A source of cumulative packet counters.
#[async_trait]
pub trait PacketSource: Send {
    /// `procnetdev`, `nftables` or `hubble`.
    fn name(&self) -> &'static str;
    /// An id that changes when the counters' origin restarted from zero
    /// (the kernel's boot id); empty when unknown.
    fn boot_id(&self) -> String {
        String::new()
    }
    async fn sample(&mut self) -> Result<Vec<Reading>, String>;
}

/// Builds the configured sources (nft only when present, for `auto`).
pub async fn sources(cfg: &Config) -> Result<Vec<Box<dyn PacketSource>>, String> {
    let mut out: Vec<Box<dyn PacketSource>> = Vec::new();
    let n = &cfg.network;
    if let Some(path) = &n.proc_net_dev {
        out.push(Box::new(procnetdev::ProcNetDev {
            path: path.clone(),
            boot_id_path: n.boot_id_path.clone(),
            exclude: n.exclude_interfaces.clone(),
            namespace: cfg.environment.clone(),
        }));
    }
    let use_nft = match n.nft {
        NftMode::Off => false,
        NftMode::On => true,
        NftMode::Auto => nft::available(&n.nft_command).await,
    };
    if use_nft {
        out.push(Box::new(nft::Nft {
            command: n.nft_command.clone(),
            namespace: cfg.environment.clone(),
        }));
    }
    if let Some(url) = &n.hubble_metrics_url {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("hubble metrics url {url:?}: {e}"))?;
        out.push(Box::new(hubble::Hubble {
            url: uri,
            namespace: cfg.environment.clone(),
        }));
    }
    Ok(out)
}

/// Samples every source each `interval` until the process ends.
pub async fn run_sampler(
    store: Store,
    metrics: Arc<Metrics>,
    mut srcs: Vec<Box<dyn PacketSource>>,
    interval: f64,
) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(interval));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error: Vec<Option<String>> = vec![None; srcs.len()];
    loop {
        tick.tick().await;
        for (i, src) in srcs.iter_mut().enumerate() {
            let name = src.name();
            match src.sample().await {
                Ok(readings) => {
                    if last_error[i].take().is_some() {
                        eprintln!("palisade collector: packet source {name} recovered");
                    }
                    let boot = src.boot_id();
                    let now = crate::store::now();
                    let r = store
                        .write(move |c| crate::store::net::record(c, name, &boot, now, &readings))
                        .await;
                    match r {
                        Ok(deltas) => metrics.add_packets(name, &deltas),
                        Err(e) => {
                            eprintln!("palisade collector: storing {name} counters failed: {e}")
                        }
                    }
                }
                Err(e) => {
                    metrics.source_error(name);
                    if last_error[i].as_deref() != Some(e.as_str()) {
                        eprintln!("palisade collector: packet source {name}: {e}");
                        last_error[i] = Some(e);
                    }
                }
            }
        }
    }
}
