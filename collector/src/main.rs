//! The `palisade` command: a thin dispatcher, one module per subcommand.

use clap::{Parser, Subcommand};

mod rules_cmd;

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
    /// Offline rule tools: validate a configuration, evaluate a raw request.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Collector(args) => palisade_collector::collector::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("palisade: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
