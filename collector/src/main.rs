//! The `palisade` command: a thin dispatcher, one module per subcommand.

use clap::{Parser, Subcommand};

mod rules_cmd;
mod up;

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
    /// Start the collector, Envoy with the filter and a demo app; Ctrl-C stops them.
    Up(up::UpArgs),
    /// Serve the small demo application `up` puts behind Envoy.
    DemoUpstream(up::DemoArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Collector(args) => palisade_collector::collector::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Up(args) => up::run(args),
        Command::DemoUpstream(args) => up::run_demo(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("palisade: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
