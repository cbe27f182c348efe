//! `crs-conformance`: runs the OWASP CRS go-ftw regression suite against the
//! engine in-process, without a network.
//!
//! Each stage is rendered into the bytes go-ftw would send, read by the
//! front-end model in `palisade_rules::http` (refused requests get the
//! front-end's status and never reach the WAF), run through a transaction on
//! CRS configured as the suite's README says, answered by an emulation of the
//! CRS test backend (albedo), and judged as go-ftw judges it. Every remaining
//! failure must be listed, with its reason, in the overrides file
//! (`rules/conformance-overrides.yaml`, the shape of CRS's own
//! `tests/regression/*-overrides.yaml`).
//!
//! ```text
//! crs-conformance [--crs DIR] [--overrides FILE] [--rule NNN] [-v] [--json FILE] [-j N]
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use palisade_rules::engine::{
    FsSource, Intervention, MatchedRule, Overrides, RuleSet, Transaction,
};
use palisade_rules::ftw::albedo;
use palisade_rules::ftw::runner::{self, FileReport, StageRef, Summary};
use palisade_rules::ftw::StageOutcome;
use palisade_rules::http::{self, HttpRequest};

const USAGE: &str = "usage: crs-conformance [--crs DIR] [--overrides FILE] [--rule NNN] [-v] [--json FILE] [-j THREADS]

  --crs DIR         CRS release directory (default: ../shared/crs/v4.28.0 from the
                    repository root, else from the crate or the current directory)
  --overrides FILE  platform overrides (default: rules/conformance-overrides.yaml)
  --rule NNN        run only the test file of rule NNN
  -v                print each failing test with its request and log lines
  --json FILE       write machine-readable results
  -j THREADS        worker threads (default: available parallelism)
  --front-end-only  diagnostic: run no rules, only the front-end model and the
                    backend emulation (shows which expectations the front-end
                    alone decides; its pass count means nothing else)";

/// The engine settings of the CRS test environment: Palisade's base settings
/// and recommended rules (200000-200005), which mirror ModSecurity's
/// recommended configuration that the CRS test image loads.
const BASE_CONFIG: &str = palisade_rules::crs::BASE_CONF;

/// go-ftw's log marker rule, as the CRS test images install it. The runner
/// sends no marker requests (each stage is its own transaction), so it only
/// fires for a test that sends an `X-CRS-Test` header itself.
const MARKER_RULE: &str = r#"SecRule REQUEST_HEADERS:X-CRS-Test "@rx ^.*$" \
    "id:999999,phase:1,pass,t:none,log,msg:'X-CRS-Test %{MATCHED_VAR}',ctl:ruleRemoveById=1-999999"
"#;

struct Args {
    crs: Option<PathBuf>,
    overrides: Option<PathBuf>,
    rule: Option<u32>,
    verbose: bool,
    json: Option<PathBuf>,
    threads: Option<usize>,
    front_end_only: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        crs: None,
        overrides: None,
        rule: None,
        verbose: false,
        json: None,
        threads: None,
        front_end_only: false,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--crs" => a.crs = Some(value("--crs")?.into()),
            "--overrides" => a.overrides = Some(value("--overrides")?.into()),
            "--rule" => {
                let v = value("--rule")?;
                a.rule = Some(
                    v.parse()
                        .map_err(|_| format!("--rule takes a rule id, not {v:?}"))?,
                );
            }
            "--json" => a.json = Some(value("--json")?.into()),
            "-j" | "--threads" => {
                let v = value("-j")?;
                a.threads = Some(
                    v.parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("-j takes a positive number, not {v:?}"))?,
                );
            }
            "-v" | "--verbose" => a.verbose = true,
            "--front-end-only" => a.front_end_only = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

/// The CRS directory: the one given, else `../shared/crs/v4.28.0` from the
/// repository root, the crate, or the current directory.
fn find_crs(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.join("rules").is_dir() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("{} has no rules/ directory", p.display()))
        };
    }
    let krate = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = vec![
        krate.join("../../shared/crs/v4.28.0"),
        krate.join("../shared/crs/v4.28.0"),
    ];
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("../shared/crs/v4.28.0"));
    }
    candidates
        .iter()
        .find(|c| c.join("rules").is_dir())
        .map(|c| c.canonicalize().unwrap_or_else(|_| c.clone()))
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            format!("CRS not found (tried {}); pass --crs DIR", tried.join(", "))
        })
}

/// The `SecAction` of rule 900005 from the suite's README.
fn readme_setup_rule(crs: &Path) -> Result<String, String> {
    let path = crs.join("tests/regression/README.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.split("```")
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .find(|block| block.starts_with("SecAction") && block.contains("id:900005"))
        .map(|b| format!("{b}\n"))
        .ok_or_else(|| format!("{}: no SecAction for rule 900005 found", path.display()))
}

/// The whole configuration: base settings, crs-setup, rule 900005, the
/// marker rule, then every `rules/*.conf` in name order.
fn crs_config(crs: &Path) -> Result<String, String> {
    let quote = |p: &Path| format!("\"{}\"", p.display());
    let mut conf = String::from(BASE_CONFIG);
    conf.push_str(&format!(
        "Include {}\n",
        quote(&crs.join("crs-setup.conf.example"))
    ));
    conf.push_str(&readme_setup_rule(crs)?);
    conf.push_str(MARKER_RULE);
    let rules_dir = crs.join("rules");
    let mut rule_files: Vec<PathBuf> = std::fs::read_dir(&rules_dir)
        .map_err(|e| format!("cannot list {}: {e}", rules_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    rule_files.sort();
    if rule_files.is_empty() {
        return Err(format!("no *.conf files in {}", rules_dir.display()));
    }
    for f in rule_files {
        conf.push_str(&format!("Include {}\n", quote(&f)));
    }
    Ok(conf)
}

static NEXT_TRANSACTION: AtomicU64 = AtomicU64::new(1);

/// Runs one request through the rules and the emulated backend, and returns
/// what go-ftw would observe: the status, the error-log lines, or a client
/// error.
fn run_stage(rules: &RuleSet, req: &HttpRequest) -> StageOutcome {
    let n = NEXT_TRANSACTION.fetch_add(1, Ordering::Relaxed);
    let unique_id = format!("ftw-{n:08}");
    let mut tx = Transaction::new(rules, &unique_id, &Overrides::default());
    tx.process_connection("127.0.0.1", 40000 + (n % 20000) as u16, "127.0.0.1", 80);
    let protocol: &[u8] = if req.is_http09() {
        b"HTTP/0.9"
    } else {
        &req.version
    };
    tx.process_uri(&req.method, &req.uri, protocol);
    for (name, value) in req.forwarded_headers() {
        tx.add_request_header(&name, &value);
    }
    let mut stop = tx.process_request_headers();
    if stop.is_none() {
        if !req.body.is_empty() {
            tx.append_request_body(&req.body);
        }
        stop = tx.process_request_body();
    }
    let answer = match stop {
        Some(i) => Answer::from_intervention(&i),
        None => {
            let resp = albedo::respond(req);
            for (name, value) in &resp.headers {
                tx.add_response_header(name.as_bytes(), value);
            }
            let mut stop = tx.process_response_headers(resp.status, b"HTTP/1.1");
            if stop.is_none() {
                if tx.wants_response_body() && !resp.body.is_empty() {
                    tx.append_response_body(&resp.body);
                }
                // Phase 4 runs whether or not the body was inspected.
                stop = tx.process_response_body();
            }
            match stop {
                Some(i) => Answer::from_intervention(&i),
                None => Answer {
                    status: Some(resp.status),
                    error: None,
                    response: Some(resp.to_bytes()),
                },
            }
        }
    };
    tx.process_logging();
    let uri = String::from_utf8_lossy(&req.uri);
    let log_lines = tx
        .matched_rules()
        .iter()
        .filter(|m| m.logged)
        .map(|m| error_log_line(m, &uri, &unique_id))
        .collect();
    if req.is_http09() {
        // The server answers a simple request with a bare body, which an
        // HTTP/1.x client reads as a broken response.
        return StageOutcome {
            status: None,
            log_lines,
            error: Some("HTTP/0.9 response without a status line".into()),
            response: None,
        };
    }
    StageOutcome {
        status: answer.status,
        log_lines,
        error: answer.error,
        response: answer.response,
    }
}

/// What the client gets.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
    response: Option<Vec<u8>>,
}

impl Answer {
    fn from_intervention(i: &Intervention) -> Answer {
        if i.action == "drop" {
            return Answer {
                status: None,
                error: Some(format!("connection dropped by rule {}", i.rule_id)),
                response: None,
            };
        }
        let mut head = format!("HTTP/1.1 {} \r\n", i.status);
        if let Some(url) = &i.redirect {
            head.push_str(&format!("Location: {url}\r\n"));
        }
        head.push_str("Content-Length: 0\r\n\r\n");
        Answer {
            status: Some(i.status),
            error: None,
            response: Some(head.into_bytes()),
        }
    }
}


/// The ModSecurity-style error-log line go-ftw reads (the engine's own
/// formatter, as the filter writes it).
fn error_log_line(m: &MatchedRule, uri: &str, unique_id: &str) -> String {
    let ctx = palisade_rules::audit::errorlog::LineContext {
        client: "127.0.0.1",
        authority: "localhost",
        uri,
        transaction_id: unique_id,
    };
    palisade_rules::audit::errorlog::format(m, &ctx, None)
}

fn print_file(out: &mut impl std::io::Write, r: &FileReport, verbose: bool) -> std::io::Result<()> {
    let total = r.tests.len();
    let tag = if r.failed() == 0 { "PASS" } else { "FAIL" };
    writeln!(out, "{tag} {} {}/{total}", r.path, r.passed())?;
    if let Some(e) = &r.error {
        writeln!(out, "     file not loaded: {e}")?;
    }
    for w in &r.warnings {
        writeln!(out, "     warning: {w}")?;
    }
    for t in r.tests.iter().filter(|t| !t.passed) {
        let first = t
            .reasons
            .iter()
            .chain(t.stages.iter().flat_map(|s| s.verdict.reasons.iter()))
            .next();
        writeln!(
            out,
            "     {}: {}",
            t.name(),
            first.map_or("failed", String::as_str)
        )?;
        if !verbose {
            continue;
        }
        if let Some(d) = &t.desc {
            writeln!(out, "       desc: {d}")?;
        }
        if let Some(o) = &t.overridden {
            writeln!(out, "       (judged against an override: {})", o.reason)?;
        }
        for s in &t.stages {
            writeln!(
                out,
                "       stage {}: {}",
                s.index,
                if s.verdict.passed { "passed" } else { "FAILED" }
            )?;
            for reason in &s.verdict.reasons {
                writeln!(out, "         - {reason}")?;
            }
            writeln!(out, "         request:")?;
            for l in runner::show_bytes(&s.request).lines() {
                writeln!(out, "           {l}")?;
            }
            let status = s
                .outcome
                .status
                .map_or_else(|| "none".to_string(), |s| s.to_string());
            writeln!(out, "         status: {status}")?;
            if let Some(e) = &s.outcome.error {
                writeln!(out, "         client error: {e}")?;
            }
            writeln!(out, "         log lines: {}", s.outcome.log_lines.len())?;
            for l in &s.outcome.log_lines {
                writeln!(out, "           {l}")?;
            }
        }
    }
    Ok(())
}

fn print_summary(
    out: &mut impl std::io::Write,
    s: &Summary,
    overrides_path: &Path,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{} files ({} not loaded), {} tests, {} stages",
        s.files, s.load_errors, s.tests, s.stages
    )?;
    if s.overridden > 0 {
        writeln!(
            out,
            "{} tests judged against overrides from {}",
            s.overridden,
            overrides_path.display()
        )?;
    }
    for u in &s.unneeded_overrides {
        writeln!(out, "override not needed: {u} passes as written")?;
    }
    for u in &s.stale_overrides {
        writeln!(out, "stale override: {u}")?;
    }
    writeln!(out, "{}", s.line())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("crs-conformance: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("crs-conformance: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<Summary, String> {
    let crs = find_crs(args.crs.as_deref())?;
    let suite_dir = crs.join("tests/regression/tests");
    let mut files = runner::load_suite(&suite_dir)?;
    if files.is_empty() {
        return Err(format!("no test files in {}", suite_dir.display()));
    }
    if let Some(rule) = args.rule {
        files.retain(|f| f.file.as_ref().is_some_and(|t| t.rule_id == rule));
        if files.is_empty() {
            return Err(format!("no test file for rule {rule}"));
        }
    }
    let overrides_path = args.overrides.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance-overrides.yaml")
    });
    let overrides = runner::load_overrides(&overrides_path)?;
    let (tests, stages) = runner::count(&files);
    println!("CRS: {}", crs.display());
    println!(
        "loaded {} test files: {tests} tests, {stages} stages",
        files.len()
    );

    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = std::time::Instant::now();
    let config = crs_config(&crs)?;
    let loaded = if args.front_end_only {
        Err(None)
    } else {
        RuleSet::load("<crs-conformance>", &config, &FsSource).map_err(Some)
    };
    let reports = match &loaded {
        Ok((rules, warnings)) => {
            for w in warnings {
                println!("config warning: {w}");
            }
            let exec = |_: StageRef, raw: &[u8]| match http::parse_request(raw) {
                Ok(req) => run_stage(rules, &req),
                Err(e) => runner::rejected(&e),
            };
            runner::run_suite(&files, &overrides, &exec, threads)
        }
        Err(None) => {
            println!("FRONT-END ONLY: no rules run; passes below say nothing about the engine");
            let exec = |_: StageRef, raw: &[u8]| match http::parse_request(raw) {
                Ok(req) => {
                    let resp = albedo::respond(&req);
                    if req.is_http09() {
                        StageOutcome {
                            error: Some("HTTP/0.9 response without a status line".into()),
                            ..Default::default()
                        }
                    } else {
                        StageOutcome {
                            status: Some(resp.status),
                            response: Some(resp.to_bytes()),
                            ..Default::default()
                        }
                    }
                }
                Err(e) => runner::rejected(&e),
            };
            runner::run_suite(&files, &overrides, &exec, threads)
        }
        Err(Some(e)) => {
            // Every test still gets a report, failing with the load error.
            println!("rule set failed to load: {e}");
            runner::unrunnable(&files, &format!("rule set failed to load: {e}"))
        }
    };
    let elapsed = started.elapsed();

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let write_err = |e: std::io::Error| format!("cannot write output: {e}");
    for r in &reports {
        print_file(&mut out, r, args.verbose).map_err(write_err)?;
    }
    let summary = runner::summarize(&reports, &overrides, args.rule.is_none());
    writeln!(
        out,
        "\nran in {:.1} s on {threads} threads",
        elapsed.as_secs_f64()
    )
    .map_err(write_err)?;
    print_summary(&mut out, &summary, &overrides_path).map_err(write_err)?;
    out.flush().map_err(write_err)?;

    if let Some(path) = &args.json {
        let doc = serde_json::json!({ "summary": summary, "files": reports });
        let text =
            serde_json::to_string_pretty(&doc).map_err(|e| format!("cannot encode JSON: {e}"))?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_line_has_modsecurity_fields_and_stays_one_line() {
        let m = MatchedRule {
            id: 942100,
            msg: "SQL Injection Attack Detected via libinjection".into(),
            data: "Matched Data: s&sos found within ARGS:id: 1\" or\n1=1 \\ é".into(),
            severity: Some(2),
            tags: vec!["attack-sqli".into(), "paranoia-level/1".into()],
            variable: "ARGS:id".into(),
            value: "1\" or\n1=1 é".into(),
            logged: true,
            file: "/crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf".into(),
            line: 46,
            ver: "OWASP_CRS/4.28.0".into(),
            ..Default::default()
        };
        let l = error_log_line(&m, "/?id=1", "ftw-1");
        assert!(!l.contains('\n'));
        assert!(
            l.starts_with(
                "[client 127.0.0.1] ModSecurity: Warning. Matched variable `ARGS:id' (Value: `1\" or\\x0a1=1 \\xc3\\xa9' )"
            ),
            "{l}"
        );
        for part in [
            r#"[id "942100"]"#,
            r#"[msg "SQL Injection Attack Detected via libinjection"]"#,
            r#"[data "Matched Data: s&sos found within ARGS:id: 1\x22 or\x0a1=1 \x5c \xc3\xa9"]"#,
            r#"[severity "2"]"#,
            r#"[ver "OWASP_CRS/4.28.0"]"#,
            r#"[tag "attack-sqli"] [tag "paranoia-level/1"]"#,
            r#"[line "46"]"#,
            r#"[uri "/?id=1"] [unique_id "ftw-1"]"#,
        ] {
            assert!(l.contains(part), "{part} missing in {l}");
        }
        let ids = palisade_rules::ftw::judge::triggered_ids(&[l]);
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![942100]);
    }

    #[test]
    fn args() {
        let a = parse_args(
            [
                "--crs", "/x", "--rule", "920100", "-v", "--json", "o.json", "-j", "2",
            ]
            .map(String::from)
            .into_iter(),
        )
        .unwrap();
        assert_eq!(
            (a.rule, a.verbose, a.threads),
            (Some(920100), true, Some(2))
        );
        assert!(parse_args(["--rule", "abc"].map(String::from).into_iter()).is_err());
        assert!(parse_args(["--bogus"].map(String::from).into_iter()).is_err());
        assert!(parse_args(["--crs"].map(String::from).into_iter()).is_err());
    }

    #[test]
    fn interventions_become_statuses_or_errors() {
        let deny = Intervention {
            status: 403,
            redirect: None,
            rule_id: 949110,
            action: "deny".into(),
        };
        assert_eq!(Answer::from_intervention(&deny).status, Some(403));
        let drop = Intervention {
            status: 403,
            redirect: None,
            rule_id: 1,
            action: "drop".into(),
        };
        let a = Answer::from_intervention(&drop);
        assert!(a.status.is_none() && a.error.is_some());
    }

    #[test]
    fn config_is_built_from_the_crs_directory() {
        let Ok(crs) = find_crs(None) else {
            eprintln!("CRS not present; skipping the configuration check");
            return;
        };
        let conf = crs_config(&crs).unwrap();
        assert!(conf.contains("id:900005"));
        assert!(conf.contains("ctl:ruleEngine=DetectionOnly"));
        assert!(conf.contains("id:999999"));
        let setup = conf.find("crs-setup.conf.example").unwrap();
        let first_rule = conf.find("REQUEST-901-INITIALIZATION.conf").unwrap();
        assert!(
            setup < conf.find("id:900005").unwrap() && conf.find("id:900005").unwrap() < first_rule
        );
        // Only crs-setup comes from an .example file; rules/*.conf.example are not included.
        assert_eq!(conf.matches(".conf.example").count(), 1);
    }
}
