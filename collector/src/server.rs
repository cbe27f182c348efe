//! Starting the collector: data directory, tokens, store, background tasks
//! (retention, packet sampling) and the HTTP accept loop.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::api::{self, App};
use crate::auth::{ensure_generated_token, generated_token_path, Auth};
use crate::config::{Config, NetpolBackendConfig, Role};
use crate::metrics::Metrics;
use crate::netpol::{self, NetpolBackend};
use crate::store::{self, retention, Store};

/// Connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 1024;

fn netpol_backend(cfg: &Config) -> Result<Arc<dyn NetpolBackend>, String> {
    let n = &cfg.netpol;
    for part in [&n.label_key, &n.label_value] {
        if !netpol::yaml_edit::valid_label_part(part) {
            return Err(format!(
                "network-policy label part {part:?} is not a plain label string"
            ));
        }
    }
    let label = netpol::yaml_edit::Label {
        key: n.label_key.clone(),
        value: n.label_value.clone(),
    };
    match &n.backend {
        NetpolBackendConfig::Folder { dir } => {
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("palisade collector: cannot create {}: {e}", dir.display());
            }
            Ok(Arc::new(netpol::folder::Folder::new(dir.clone(), label)))
        }
        #[cfg(feature = "kubernetes")]
        NetpolBackendConfig::Kubernetes {
            kubeconfig,
            context,
            namespaces,
        } => Ok(Arc::new(netpol::kube::Kube::connect(
            kubeconfig.as_deref(),
            context.as_deref(),
            namespaces.clone(),
            label,
        )?)),
        #[cfg(not(feature = "kubernetes"))]
        NetpolBackendConfig::Kubernetes { .. } => {
            Err("this build has no Kubernetes backend (feature `kubernetes`)".into())
        }
    }
}

/// Everything but the accept loop: returns the app and the bound listener.
pub async fn prepare(cfg: Config) -> Result<(Arc<App>, TcpListener), String> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", cfg.data_dir.display()))?;
    let mut tokens = cfg.tokens.clone();
    if !tokens.iter().any(|t| t.role == Role::Write) {
        let (t, created) = ensure_generated_token(&cfg.data_dir)?;
        let path = generated_token_path(&cfg.data_dir);
        if created {
            println!(
                "palisade collector: generated a write token in {} (mode 0600)",
                path.display()
            );
        } else {
            println!(
                "palisade collector: using the write token in {}",
                path.display()
            );
        }
        tokens.push(t);
    }
    let auth = Auth::new(tokens);
    if auth.reads_are_open() {
        println!("palisade collector: reads are open (no read token configured)");
    }
    let db = cfg.data_dir.join("palisade.sqlite");
    let store = Store::open(&db, cfg.sync)?;
    let netpol = netpol_backend(&cfg)?;
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let app = Arc::new(App {
        cfg,
        store,
        auth,
        metrics: Arc::new(Metrics::default()),
        netpol,
    });
    Ok((app, listener))
}

async fn retention_loop(app: Arc<App>) {
    let ret = app.cfg.retention;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(ret.interval));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut total = retention::Swept::default();
        loop {
            let t = store::now();
            match app
                .store
                .write(move |c| retention::sweep_chunk(c, &ret, t))
                .await
            {
                Ok(s) if s.total() == 0 => break,
                Ok(s) => {
                    total.events += s.events;
                    total.minute_buckets += s.minute_buckets;
                    total.hour_buckets += s.hour_buckets;
                    total.day_buckets += s.day_buckets;
                    total.batch_ids += s.batch_ids;
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    eprintln!("palisade collector: retention failed: {e}");
                    break;
                }
            }
        }
        if total.total() > 0 {
            eprintln!("palisade collector: retention removed {total:?}");
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Serves until SIGTERM or Ctrl-C.
pub async fn serve(app: Arc<App>, listener: TcpListener) -> Result<(), String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(retention_loop(app.clone()));
    let sources = crate::net::sources(&app.cfg).await?;
    let names: Vec<&str> = sources.iter().map(|s| s.name()).collect();
    println!(
        "palisade collector: packet sources: {}",
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    );
    if !sources.is_empty() {
        tokio::spawn(crate::net::run_sampler(
            app.store.clone(),
            app.metrics.clone(),
            sources,
            app.cfg.network.interval,
        ));
    }
    println!("palisade collector: data in {}", app.store.path().display());
    println!("palisade collector listening on http://{addr}");
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("palisade collector: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let app = app.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(api::handle(app, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(15))
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), svc);
            let _ = conn.await;
        });
    }
    println!("palisade collector: shutting down");
    Ok(())
}
