//! Ctrl-C (SIGINT) and SIGTERM, for `palisade up` and `palisade demo-upstream`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Both signals, registered (from then on they no longer end the process).
pub struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    /// Registers the handlers; call inside a Tokio runtime.
    pub fn register() -> Result<Signals, String> {
        let int =
            signal(SignalKind::interrupt()).map_err(|e| format!("cannot catch SIGINT: {e}"))?;
        let term =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot catch SIGTERM: {e}"))?;
        Ok(Signals { int, term })
    }

    /// The next SIGINT or SIGTERM; its name.
    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    /// Sets `flag` on every signal and says so once.
    pub async fn raise(mut self, flag: Arc<AtomicBool>) {
        loop {
            let name = self.next().await;
            if !flag.swap(true, Ordering::SeqCst) {
                println!("palisade up: {name}: stopping");
            }
        }
    }
}

/// Waits for SIGINT or SIGTERM (falls back to Ctrl-C alone if the handlers
/// cannot be registered).
pub async fn wait() {
    match Signals::register() {
        Ok(mut s) => {
            s.next().await;
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
