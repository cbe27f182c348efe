//! The `palisade` command: a thin dispatcher, one module per subcommand.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Palisade web application firewall"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the collector: telemetry ingest, packet counters, Threat Monitoring API, live policy.
    Collector(palisade_collector::config::CollectorArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Collector(args) => palisade_collector::collector::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("palisade: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
