//! `palisade rules`: offline tools on the rule engine.
//!
//! - `check FILE...` loads the files in order as one configuration and
//!   reports the first error as `file:line: message` (exit 1), or the rule
//!   counts and warnings.
//! - `eval` runs one raw HTTP/1.1 request through a configuration (CRS by
//!   default) and prints a JSON report: verdict, scores, matched rules.

use clap::{Args, Subcommand, ValueEnum};
use palisade_rules::crs::{default_dir, CrsLayout};
use palisade_rules::engine::{EngineMode, FsSource, Overrides};
use palisade_rules::RuleSet;
use std::io::Read;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Validate a configuration (files are loaded in order, as one).
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Evaluate one raw HTTP/1.1 request and print a JSON report.
    Eval(EvalArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    Detect,
    Block,
}

#[derive(Args)]
pub struct EvalArgs {
    /// CRS folder (v4 release layout, or Debian's /usr/share/modsecurity-crs).
    /// Default: $PALISADE_CRS_DIR or ../shared/crs/v4.28.0. Use --no-crs to
    /// evaluate only --config files.
    #[arg(long)]
    crs: Option<PathBuf>,
    /// Do not load CRS.
    #[arg(long)]
    no_crs: bool,
    /// Extra configuration files, loaded after CRS (exclusions, your rules).
    #[arg(long = "config")]
    configs: Vec<PathBuf>,
    /// Paranoia level (1-4).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    paranoia: Option<u8>,
    /// detect records only; block enforces disruptive actions.
    #[arg(long, value_enum, default_value = "detect")]
    mode: Mode,
    /// File holding the raw request as sent on the wire; `-` for stdin.
    #[arg(long, default_value = "-")]
    request: String,
}

pub fn run(cmd: RulesCommand) -> Result<(), String> {
    match cmd {
        RulesCommand::Check { files } => check(&files),
        RulesCommand::Eval(args) => eval(args),
    }
}

fn include_line(p: &std::path::Path) -> String {
    format!("Include \"{}\"\n", p.display())
}

fn check(files: &[PathBuf]) -> Result<(), String> {
    let text: String = files.iter().map(|p| include_line(p)).collect();
    let (rs, warnings) = RuleSet::load("<command line>", &text, &FsSource).map_err(|e| e.to_string())?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let c = rs.rule_counts();
    println!(
        "ok: {} rules (phase 1: {}, 2: {}, 3: {}, 4: {}, 5: {}), {} warning(s)",
        c.iter().sum::<usize>(),
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        warnings.len()
    );
    Ok(())
}

fn eval(args: EvalArgs) -> Result<(), String> {
    let extra: String = args.configs.iter().map(|p| include_line(p)).collect();
    let text = if args.no_crs {
        format!("{}\n{extra}", palisade_rules::crs::BASE_CONF)
    } else {
        let dir = args.crs.clone().unwrap_or_else(default_dir);
        CrsLayout::locate(&dir)?.config("", &extra)
    };
    let (rs, _warnings) = RuleSet::load("<eval>", &text, &FsSource).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    if args.request == "-" {
        std::io::stdin().read_to_end(&mut raw).map_err(|e| format!("reading stdin: {e}"))?;
    } else {
        raw = std::fs::read(&args.request).map_err(|e| format!("{}: {e}", args.request))?;
    }
    let overrides = Overrides {
        engine_mode: Some(match args.mode {
            Mode::Detect => EngineMode::DetectionOnly,
            Mode::Block => EngineMode::On,
        }),
        paranoia_level: args.paranoia,
        ..Default::default()
    };
    let outcome = palisade_rules::offline::evaluate(&rs, &raw, &overrides)
        .map_err(|e| format!("{}: malformed request at byte {}: {}", args.request, e.offset, e.detail))?;
    let json = serde_json::to_string_pretty(&outcome).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
