//! The `palisade collector` subcommand.

use crate::config::{self, CollectorArgs};

/// Runs the collector until it is told to stop; the error is for the user.
pub fn run(args: CollectorArgs) -> Result<(), String> {
    let cfg = config::resolve(&args, &|k| std::env::var(k).ok())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("palisade")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let (app, listener) = crate::server::prepare(cfg).await?;
        crate::server::serve(app, listener).await
    })
}
