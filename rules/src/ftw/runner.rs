//! Running a go-ftw suite through any executor: loading the test files,
//! applying platform overrides, judging every stage, counting.
//!
//! The executor gets the rendered request bytes of one stage and returns its
//! [`StageOutcome`]; it may run the rules in-process or send the bytes to a
//! real server. Nothing is skipped silently: a file that does not load, a
//! stage that cannot be rendered and a test without stages all count as
//! failures, unknown YAML keys are reported as warnings, and overrides that
//! match no test or are not needed (the test passes as written) are listed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::http::ParseError;

use super::judge::{judge, StageOutcome, Verdict};
use super::model::{Extra, OverridesFile, TestFile, TestOverride};
use super::render::render;

/// One YAML file of the suite, loaded or not.
#[derive(Clone, Debug, Default)]
pub struct SuiteFile {
    /// Path relative to the suite directory, `/`-separated.
    pub path: String,
    pub file: Option<TestFile>,
    /// Why the file could not be read or parsed.
    pub error: Option<String>,
    /// Ignored or unknown content.
    pub warnings: Vec<String>,
}

/// Which stage an executor is asked to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageRef {
    pub rule_id: u32,
    pub test_id: u32,
    pub stage: usize,
}

/// Runs one rendered stage.
pub type Executor<'a> = dyn Fn(StageRef, &[u8]) -> StageOutcome + Sync + 'a;

#[derive(Clone, Debug, Serialize)]
pub struct StageReport {
    pub index: usize,
    /// The bytes sent (empty when rendering failed).
    #[serde(serialize_with = "lossy")]
    pub request: Vec<u8>,
    pub outcome: StageOutcome,
    pub verdict: Verdict,
    /// The verdict against the test's own expectations, when an override
    /// replaced them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_verdict: Option<Verdict>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OverrideInfo {
    pub reason: String,
    /// The test passes as written, so the override is not needed.
    pub unneeded: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TestReport {
    pub rule_id: u32,
    pub test_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    pub passed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden: Option<OverrideInfo>,
    pub stages: Vec<StageReport>,
}

impl TestReport {
    /// `rule-test`, go-ftw's test name.
    pub fn name(&self) -> String {
        format!("{}-{}", self.rule_id, self.test_id)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    pub rule_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub tests: Vec<TestReport>,
}

impl FileReport {
    pub fn passed(&self) -> usize {
        self.tests.iter().filter(|t| t.passed).count()
    }
    /// Failed tests, a file that did not load counting as one.
    pub fn failed(&self) -> usize {
        self.tests.iter().filter(|t| !t.passed).count() + usize::from(self.error.is_some())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub files: usize,
    pub load_errors: usize,
    pub tests: usize,
    pub stages: usize,
    pub passed: usize,
    /// Failed tests plus files that did not load.
    pub failed: usize,
    /// Tests judged against an override.
    pub overridden: usize,
    /// Overridden tests that pass as written (`rule-test`).
    pub unneeded_overrides: Vec<String>,
    /// Overrides naming rules or tests not in the suite.
    pub stale_overrides: Vec<String>,
}

impl Summary {
    /// The final line: `N passed, N failed`.
    pub fn line(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }
}

/// How many tests and stages the loaded files hold.
pub fn count(files: &[SuiteFile]) -> (usize, usize) {
    files
        .iter()
        .filter_map(|f| f.file.as_ref())
        .fold((0, 0), |(t, s), f| {
            (
                t + f.tests.len(),
                s + f.tests.iter().map(|t| t.stages.len()).sum::<usize>(),
            )
        })
}

/// Loads every `*.yaml`/`*.yml` file under `dir`, sorted by relative path.
pub fn load_suite(dir: &Path) -> Result<Vec<SuiteFile>, String> {
    let mut paths = Vec::new();
    collect_yaml(dir, &mut paths)?;
    let mut files: Vec<SuiteFile> = paths
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            match std::fs::read_to_string(p) {
                Ok(text) => parse_suite_file(&rel, &text),
                Err(e) => SuiteFile {
                    path: rel,
                    error: Some(format!("cannot read: {e}")),
                    ..Default::default()
                },
            }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if ty.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one test file's text; `path` names it in messages and supplies the
/// rule id when `rule_id` is absent.
pub fn parse_suite_file(path: &str, text: &str) -> SuiteFile {
    let mut sf = SuiteFile {
        path: path.to_string(),
        ..Default::default()
    };
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(serde_yaml::Value::Null) => {
            sf.warnings
                .push("empty document (only comments): no tests".into());
            sf.file = Some(TestFile::default());
            fill_rule_id(&mut sf);
            return sf;
        }
        Ok(_) => {}
        Err(e) => {
            sf.error = Some(format!("invalid YAML: {e}"));
            return sf;
        }
    }
    match serde_yaml::from_str::<TestFile>(text) {
        Ok(mut f) => {
            for (i, t) in f.tests.iter_mut().enumerate() {
                if t.test_id == 0 {
                    t.test_id = u32::try_from(i + 1).unwrap_or(u32::MAX);
                }
            }
            sf.warnings = unknown_keys(&f);
            if f.meta.enabled == Some(false) {
                sf.warnings
                    .push("meta.enabled: false is ignored (as go-ftw does)".into());
            }
            sf.file = Some(f);
            fill_rule_id(&mut sf);
        }
        Err(e) => sf.error = Some(format!("not a go-ftw test file: {e}")),
    }
    sf
}

fn fill_rule_id(sf: &mut SuiteFile) {
    let Some(f) = sf.file.as_mut() else { return };
    if f.rule_id != 0 {
        return;
    }
    let name = sf.path.rsplit('/').next().unwrap_or(&sf.path);
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    match digits.parse::<u32>() {
        Ok(id) => f.rule_id = id,
        Err(_) => sf.error = Some("no rule_id and no rule id in the file name".into()),
    }
}

fn unknown_keys(f: &TestFile) -> Vec<String> {
    let mut w = Vec::new();
    let note = |w: &mut Vec<String>, place: String, extra: &Extra| {
        for k in extra.keys() {
            w.push(format!("{place}: unknown key `{k}` ignored"));
        }
    };
    note(&mut w, "top level".into(), &f.extra);
    note(&mut w, "meta".into(), &f.meta.extra);
    for (ti, t) in f.tests.iter().enumerate() {
        note(&mut w, format!("tests[{ti}]"), &t.extra);
        for (si, s) in t.stages.iter().enumerate() {
            let at = format!("tests[{ti}].stages[{si}]");
            note(&mut w, at.clone(), &s.extra);
            note(&mut w, format!("{at}.input"), &s.input.extra);
            note(&mut w, format!("{at}.output"), &s.output.extra);
            note(&mut w, format!("{at}.output.log"), &s.output.log.extra);
            if s.input.save_cookie == Some(true) {
                w.push(format!(
                    "{at}.input: save_cookie is not implemented (neither is it in go-ftw)"
                ));
            }
        }
    }
    w
}

/// Reads an overrides file; an empty file means no overrides.
pub fn load_overrides(path: &Path) -> Result<OverridesFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_overrides(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse_overrides(text: &str) -> Result<OverridesFile, String> {
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(serde_yaml::Value::Null) => return Ok(OverridesFile::default()),
        Ok(_) => {}
        Err(e) => return Err(format!("invalid YAML: {e}")),
    }
    let f: OverridesFile =
        serde_yaml::from_str(text).map_err(|e| format!("not an overrides file: {e}"))?;
    if let Some(o) = f.test_overrides.iter().find(|o| o.reason.trim().is_empty()) {
        return Err(format!("override for rule {} has no reason", o.rule_id));
    }
    Ok(f)
}

/// The outcome of a request the front-end refused: its error status, and
/// no WAF log lines (the WAF never saw the request).
pub fn rejected(e: &ParseError) -> StageOutcome {
    let status = e.kind.status();
    StageOutcome {
        status: Some(status),
        log_lines: Vec::new(),
        error: None,
        response: Some(
            format!("HTTP/1.1 {status} \r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        ),
    }
}

/// Runs every test of one file.
pub fn run_file(sf: &SuiteFile, overrides: &OverridesFile, exec: &Executor<'_>) -> FileReport {
    let mut report = FileReport {
        path: sf.path.clone(),
        rule_id: sf.file.as_ref().map_or(0, |f| f.rule_id),
        error: sf.error.clone(),
        warnings: sf.warnings.clone(),
        tests: Vec::new(),
    };
    let Some(file) = sf.file.as_ref().filter(|_| sf.error.is_none()) else {
        return report;
    };
    for test in &file.tests {
        let applicable: Vec<&TestOverride> = overrides
            .test_overrides
            .iter()
            .filter(|o| o.applies_to(file.rule_id, test.test_id))
            .collect();
        let mut stages = Vec::with_capacity(test.stages.len());
        for (index, stage) in test.stages.iter().enumerate() {
            let replacement = applicable.iter().rev().find(|o| o.applies_to_stage(index));
            let expected = replacement.map_or(&stage.output, |o| &o.output);
            let at = StageRef {
                rule_id: file.rule_id,
                test_id: test.test_id,
                stage: index,
            };
            let (request, outcome, verdict) = match render(&stage.input) {
                Ok(raw) => {
                    let outcome = exec(at, &raw);
                    let verdict = judge(expected, &outcome);
                    (raw, outcome, verdict)
                }
                Err(e) => (
                    Vec::new(),
                    StageOutcome::default(),
                    Verdict {
                        passed: false,
                        reasons: vec![format!("cannot render the request: {e}")],
                    },
                ),
            };
            let original_verdict = replacement.map(|_| {
                if request.is_empty() {
                    verdict.clone()
                } else {
                    judge(&stage.output, &outcome)
                }
            });
            stages.push(StageReport {
                index,
                request,
                outcome,
                verdict,
                original_verdict,
            });
        }
        let mut reasons = Vec::new();
        if stages.is_empty() {
            reasons.push("test has no stages".to_string());
        }
        let passed = reasons.is_empty() && stages.iter().all(|s| s.verdict.passed);
        let overridden = applicable
            .iter()
            .rev()
            .find(|o| stages.iter().any(|s| o.applies_to_stage(s.index)))
            .map(|o| OverrideInfo {
                reason: o.reason.trim().to_string(),
                unneeded: stages
                    .iter()
                    .all(|s| s.original_verdict.as_ref().unwrap_or(&s.verdict).passed),
            });
        report.tests.push(TestReport {
            rule_id: file.rule_id,
            test_id: test.test_id,
            desc: test
                .desc
                .as_ref()
                .map(|d| d.lines().next().unwrap_or("").trim().to_string()),
            passed,
            reasons,
            overridden,
            stages,
        });
    }
    report
}

/// Runs `files` on up to `threads` threads (at least one); reports come back
/// in the order of `files`.
pub fn run_suite(
    files: &[SuiteFile],
    overrides: &OverridesFile,
    exec: &Executor<'_>,
    threads: usize,
) -> Vec<FileReport> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, FileReport)>> = Mutex::new(Vec::with_capacity(files.len()));
    let threads = threads.clamp(1, files.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(sf) = files.get(i) else { break };
                let report = run_file(sf, overrides, exec);
                match done.lock() {
                    Ok(mut d) => d.push((i, report)),
                    Err(poisoned) => poisoned.into_inner().push((i, report)),
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Reports for a suite that cannot run at all (e.g. the rules did not
/// load): every test fails with `reason`, none is executed.
pub fn unrunnable(files: &[SuiteFile], reason: &str) -> Vec<FileReport> {
    files
        .iter()
        .map(|sf| FileReport {
            path: sf.path.clone(),
            rule_id: sf.file.as_ref().map_or(0, |f| f.rule_id),
            error: sf.error.clone(),
            warnings: sf.warnings.clone(),
            tests: sf
                .file
                .iter()
                .filter(|_| sf.error.is_none())
                .flat_map(|f| f.tests.iter().map(move |t| (f.rule_id, t)))
                .map(|(rule_id, t)| TestReport {
                    rule_id,
                    test_id: t.test_id,
                    desc: t
                        .desc
                        .as_ref()
                        .map(|d| d.lines().next().unwrap_or("").trim().to_string()),
                    passed: false,
                    reasons: vec![reason.to_string()],
                    overridden: None,
                    stages: t
                        .stages
                        .iter()
                        .enumerate()
                        .map(|(index, stage)| StageReport {
                            index,
                            request: render(&stage.input).unwrap_or_default(),
                            outcome: StageOutcome::default(),
                            verdict: Verdict {
                                passed: false,
                                reasons: vec![format!("not run: {reason}")],
                            },
                            original_verdict: None,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// Totals over the reports. With `full_run`, overrides naming rules that no
/// file covers are stale too (a partial run only checks the rules it ran).
pub fn summarize(reports: &[FileReport], overrides: &OverridesFile, full_run: bool) -> Summary {
    let mut s = Summary {
        files: reports.len(),
        ..Default::default()
    };
    let mut tests_by_rule: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for r in reports {
        s.load_errors += usize::from(r.error.is_some());
        s.passed += r.passed();
        s.failed += r.failed();
        for t in &r.tests {
            s.tests += 1;
            s.stages += t.stages.len();
            tests_by_rule
                .entry(t.rule_id)
                .or_default()
                .insert(t.test_id);
            if let Some(o) = &t.overridden {
                s.overridden += 1;
                if o.unneeded {
                    s.unneeded_overrides.push(t.name());
                }
            }
        }
    }
    for o in &overrides.test_overrides {
        match tests_by_rule.get(&o.rule_id) {
            None if full_run => s
                .stale_overrides
                .push(format!("rule {}: no tests for this rule", o.rule_id)),
            None => {}
            Some(ids) => {
                for t in o.test_ids.iter().filter(|t| !ids.contains(t)) {
                    s.stale_overrides
                        .push(format!("{}-{t}: no such test", o.rule_id));
                }
            }
        }
    }
    s
}

fn lossy<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

/// Bytes shown readably: printable ASCII as is, CR and LF as `\r`/`\n`
/// (with a real line break after each LF), others as `\xHH`.
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_request;

    const SUITE: &str = r#"
meta: {author: x}
rule_id: 900001
tests:
  - test_id: 1
    desc: "attack is logged"
    stages:
      - input: {uri: "/?a=attack", headers: {Host: localhost}}
        output: {log: {expect_ids: [900001]}}
  - test_id: 2
    desc: "clean request"
    stages:
      - input: {uri: "/?a=clean", headers: {Host: localhost}}
        output: {log: {no_expect_ids: [900001]}}
  - test_id: 3
    desc: "expects a log line the fake never writes"
    stages:
      - input: {uri: "/?a=attack", headers: {Host: localhost}}
        output: {log: {expect_ids: [900002]}}
  - test_id: 4
    desc: "refused by the front-end"
    stages:
      - input: {uri: "/#frag", headers: {Host: localhost}}
        output: {status: 400}
  - stages:
      - input: {uri: "/?a=clean", headers: {Host: localhost}}
        output: {log: {no_expect_ids: [900001]}}
      - input: {uri: "/?a=attack", headers: {Host: localhost}}
        output: {log: {no_expect_ids: [900001]}}
"#;

    /// A fake WAF: logs rule 900001 when the request target contains
    /// "attack"; front-end refusals as the real runner does them.
    fn fake(_: StageRef, raw: &[u8]) -> StageOutcome {
        match parse_request(raw) {
            Err(e) => rejected(&e),
            Ok(req) => {
                let hit = memchr::memmem::find(&req.uri, b"attack").is_some();
                StageOutcome {
                    status: Some(200),
                    log_lines: if hit {
                        vec![r#"ModSecurity: Warning. [id "900001"] [msg "attack"]"#.to_string()]
                    } else {
                        Vec::new()
                    },
                    ..Default::default()
                }
            }
        }
    }

    fn suite() -> Vec<SuiteFile> {
        vec![parse_suite_file("RULES/900001.yaml", SUITE)]
    }

    #[test]
    fn judging_and_counting_with_a_fake_waf() {
        let files = suite();
        assert_eq!(count(&files), (5, 6));
        let reports = run_suite(&files, &OverridesFile::default(), &fake, 2);
        let r = &reports[0];
        let passed: Vec<u32> = r
            .tests
            .iter()
            .filter(|t| t.passed)
            .map(|t| t.test_id)
            .collect();
        assert_eq!(passed, vec![1, 2, 4]);
        // Test 5 got its id from its position, and fails in stage 2.
        let t5 = &r.tests[4];
        assert_eq!(t5.test_id, 5);
        assert!(t5.stages[0].verdict.passed && !t5.stages[1].verdict.passed);
        let s = summarize(&reports, &OverridesFile::default(), true);
        assert_eq!((s.tests, s.stages, s.passed, s.failed), (5, 6, 3, 2));
        assert_eq!(s.line(), "3 passed, 2 failed");
        assert_eq!(r.tests[3].stages[0].outcome.status, Some(400));
    }

    #[test]
    fn overrides_replace_expectations_and_are_audited() {
        let overrides = parse_overrides(
            r#"
version: v1
meta: {engine: palisade, platform: in-process}
test_overrides:
  - rule_id: 900001
    test_ids: [3]
    reason: "the fake never logs 900002"
    output: {log: {expect_ids: [900001]}}
  - rule_id: 900001
    test_ids: [1]
    reason: "not needed"
    output: {log: {expect_ids: [900001]}}
  - rule_id: 900001
    test_ids: [5]
    stage_ids: [1]
    reason: "second stage only"
    output: {log: {expect_ids: [900001]}}
  - rule_id: 900001
    test_ids: [77]
    reason: "stale"
    output: {}
  - rule_id: 123
    reason: "stale rule"
    output: {}
"#,
        )
        .unwrap();
        let reports = run_suite(&suite(), &overrides, &fake, 1);
        let s = summarize(&reports, &overrides, true);
        assert_eq!(s.line(), "5 passed, 0 failed");
        assert_eq!(s.overridden, 3);
        assert_eq!(s.unneeded_overrides, vec!["900001-1"]);
        assert_eq!(
            s.stale_overrides,
            vec![
                "900001-77: no such test",
                "rule 123: no tests for this rule"
            ]
        );
        let t3 = &reports[0].tests[2];
        assert_eq!(
            t3.overridden.as_ref().unwrap().reason,
            "the fake never logs 900002"
        );
        assert!(!t3.stages[0].original_verdict.as_ref().unwrap().passed);
        // A partial run does not call other rules' overrides stale.
        assert_eq!(
            summarize(&reports, &overrides, false).stale_overrides,
            vec!["900001-77: no such test"]
        );
    }

    #[test]
    fn nothing_is_skipped_silently() {
        let bad = parse_suite_file("x/920000.yaml", "rule_id: [not a number]");
        assert!(bad.error.is_some());
        let empty = parse_suite_file("x/920539.yaml", "# only a comment\n");
        assert!(empty.error.is_none() && !empty.warnings.is_empty());
        assert_eq!(empty.file.as_ref().unwrap().rule_id, 920539);
        let unrenderable = parse_suite_file(
            "x/1.yaml",
            "rule_id: 1\ntests:\n  - test_id: 1\n    stages:\n      - input: {data: '{{ nope }}'}\n        output: {}\n  - test_id: 2\n    stages: []\n",
        );
        let odd = parse_suite_file("x/2.yaml", "rule_id: 2\nextra_key: 1\ntests: []\n");
        assert_eq!(
            odd.warnings,
            vec!["top level: unknown key `extra_key` ignored"]
        );
        let reports = run_suite(
            &[bad, empty, unrenderable, odd],
            &OverridesFile::default(),
            &fake,
            3,
        );
        let s = summarize(&reports, &OverridesFile::default(), true);
        assert_eq!((s.load_errors, s.passed, s.failed), (1, 0, 3));
        assert!(reports[2].tests[0].stages[0].verdict.reasons[0].contains("cannot render"));
        assert_eq!(reports[2].tests[1].reasons, vec!["test has no stages"]);
    }

    #[test]
    fn unrunnable_suite_fails_every_test() {
        let reports = unrunnable(&suite(), "rules did not load");
        let s = summarize(&reports, &OverridesFile::default(), true);
        assert_eq!((s.tests, s.stages, s.passed, s.failed), (5, 6, 0, 5));
        assert_eq!(reports[0].tests[0].reasons, vec!["rules did not load"]);
    }

    #[test]
    fn overrides_need_reasons() {
        assert!(parse_overrides("test_overrides:\n  - rule_id: 1\n    output: {}\n").is_err());
        assert!(parse_overrides("").unwrap().test_overrides.is_empty());
        assert!(parse_overrides("test_overrides: []\n")
            .unwrap()
            .test_overrides
            .is_empty());
    }

    #[test]
    fn json_report_serializes() {
        let reports = run_suite(&suite(), &OverridesFile::default(), &fake, 1);
        let json = serde_json::to_string(&reports).unwrap();
        assert!(json.contains("\"request\":\"GET /?a=attack HTTP/1.1\\r\\nHost: localhost"));
    }

    #[test]
    fn show_bytes_is_readable() {
        assert_eq!(show_bytes(b"a\r\n\x00\\"), "a\\r\\n\n\\x00\\\\");
    }
}
