//! Operator-level tests: dispatch by name, and every operator of both Core Rule
//! Set versions installed on the build machine.

use std::path::{Path, PathBuf};

use super::*;

struct NoFiles;
impl DataFiles for NoFiles {
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        Err(format!("no file {name}"))
    }
}

/// Reads data files next to the rule files, as the parser resolves them.
struct Dir(PathBuf);
impl DataFiles for Dir {
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(name)).map_err(|e| e.to_string())
    }
}

fn compile(name: &str, arg: &str) -> Result<Operator, String> {
    Operator::compile(name, arg, &NoFiles, &mut Vec::new())
}

fn eval(op: &Operator, input: &[u8]) -> bool {
    let expand = |_: &str| b"GET POST".to_vec();
    op.evaluate(input, &mut EvalContext { expand: &expand, captures: None })
}

fn eval_capture(op: &Operator, input: &[u8]) -> Option<[Option<Vec<u8>>; 10]> {
    let expand = |s: &str| -> Vec<u8> {
        match s {
            "^%{tx.x}$" => b"^(a|b)$".to_vec(),
            _ => Vec::new(),
        }
    };
    let mut slots: [Option<Vec<u8>>; 10] = Default::default();
    let matched = op.evaluate(input, &mut EvalContext { expand: &expand, captures: Some(&mut slots) });
    matched.then_some(slots)
}

#[test]
fn operator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Operator>();
}

#[test]
fn names_are_case_insensitive() {
    let op = compile("RX", "a").unwrap();
    assert_eq!(op.name(), "RX");
    assert!(eval(&op, b"xa"));
    assert!(eval(&compile("BeginsWith", "x").unwrap(), b"xy"));
    assert!(eval(&compile("pM", "foo").unwrap(), b"FOO"));
    let e = compile("nosuch", "x").err().unwrap();
    assert!(e.contains("unknown operator @nosuch"), "{e}");
}

#[test]
fn arguments_required_or_not() {
    for name in ["rx", "pm", "streq", "within", "eq", "ipMatch", "validateByteRange", "pmFromFile", "verifyCC"] {
        let e = compile(name, "").err().unwrap_or_default();
        assert!(e.contains("requires an argument"), "{name}: {e}");
    }
    for name in ["detectSQLi", "detectXSS", "unconditionalMatch", "noMatch", "validateUrlEncoding", "validateUtf8Encoding"] {
        assert!(compile(name, "").is_ok(), "{name}");
    }
    assert!(eval(&compile("unconditionalMatch", "").unwrap(), b""));
    assert!(!eval(&compile("noMatch", "").unwrap(), b"x"));
}

#[test]
fn proxy_limits() {
    let mut warnings = Vec::new();
    for name in ["geoLookup", "rbl", "validateDTD", "validateSchema"] {
        let op = Operator::compile(name, "x", &NoFiles, &mut warnings).unwrap();
        assert!(!eval(&op, b"1.2.3.4"));
    }
    assert_eq!(warnings.len(), 4);
    for name in ["inspectFile", "fuzzyHash", "rsub", "gsbLookup", "validateHash"] {
        let e = compile(name, "x").err().unwrap_or_default();
        assert!(e.contains("not supported in a proxy"), "{name}: {e}");
    }
}

#[test]
fn rx_captures_and_macros() {
    let op = compile("rx", r"(\d+)-(\d+)").unwrap();
    assert!(!op.has_macros());
    assert_eq!(op.regex_engine(), Some(RegexEngine::Automaton));
    let slots = eval_capture(&op, b"id 12-345 x").unwrap();
    assert_eq!(slots[0].as_deref(), Some(&b"12-345"[..]));
    assert_eq!(slots[1].as_deref(), Some(&b"12"[..]));
    assert_eq!(slots[2].as_deref(), Some(&b"345"[..]));
    assert!(slots[3].is_none());
    assert!(eval_capture(&op, b"none").is_none());

    let op = compile("rx", "^%{tx.x}$").unwrap();
    assert!(op.has_macros());
    assert_eq!(op.regex_engine(), None);
    let slots = eval_capture(&op, b"b").unwrap();
    assert_eq!(slots[1].as_deref(), Some(&b"b"[..]));
    assert!(eval_capture(&op, b"c").is_none());
    // An empty expansion is ".*", as in ModSecurity.
    let op = compile("rx", "%{tx.none}").unwrap();
    assert_eq!(eval_capture(&op, b"GET").unwrap()[0].as_deref(), Some(&b"GET"[..]));
    // A bad pattern in the rule is an error that names the operator.
    let e = compile("rx", "a(").err().unwrap();
    assert!(e.starts_with("@rx:"), "{e}");
}

#[test]
fn twelve_groups_fill_ten_slots() {
    let op = compile("rx", "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)").unwrap();
    let slots = eval_capture(&op, b"abcdefghijk").unwrap();
    assert_eq!(slots[9].as_deref(), Some(&b"i"[..]));
}

#[test]
fn detect_sqli_capture_slot() {
    // The libinjection port decides what matches; the operator only relays it.
    let op = compile("detectSQLi", "").unwrap();
    let input = b"1' or '1'='1";
    match crate::libinjection::detect_sqli(input) {
        Some(fp) => assert_eq!(eval_capture(&op, input).unwrap()[0].as_deref(), Some(fp.as_bytes())),
        None => assert!(eval_capture(&op, input).is_none()),
    }
    let op = compile("detectXSS", "").unwrap();
    assert_eq!(eval(&op, b"<script>"), crate::libinjection::detect_xss(b"<script>"));
}

/// One `SecRule`'s operator, as written in a .conf file.
struct RuleOp {
    file: String,
    name: String,
    argument: String,
}

/// A small extractor for the test: joins continuation lines, then reads the
/// second field of each `SecRule` (the quoted operator), with `\"` unescaped.
fn extract(dir: &Path) -> Vec<RuleOp> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.trim_start();
            let Some(rest) = line.strip_prefix("SecRule ") else { continue };
            let rest = rest.trim_start();
            // Skip the variables (quoted or not).
            let rest = match rest.strip_prefix('"') {
                Some(r) => &r[quoted_len(r) + 1..],
                None => rest.split_once(char::is_whitespace).map_or("", |(_, r)| r),
            };
            let rest = rest.trim_start();
            let Some(body) = rest.strip_prefix('"') else { continue };
            let op = body[..quoted_len(body)].replace("\\\"", "\"");
            let op = op.strip_prefix('!').unwrap_or(&op).to_string();
            let (name, argument) = match op.strip_prefix('@') {
                Some(o) => match o.split_once(' ') {
                    Some((n, a)) => (n.to_string(), a.to_string()),
                    None => (o.to_string(), String::new()),
                },
                None => ("rx".to_string(), op),
            };
            out.push(RuleOp { file: path.display().to_string(), name, argument });
        }
    }
    out
}

/// Length of a double-quoted string body up to its closing quote.
fn quoted_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] != b'"' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    i.min(b.len())
}

fn crs_dirs() -> [(&'static str, PathBuf); 2] {
    let v4 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs/v4.28.0/rules");
    let v4 = if v4.is_dir() { v4 } else { PathBuf::from("/work/shared/crs/v4.28.0/rules") };
    [("CRS 4.28.0", v4), ("CRS 3.3.4", PathBuf::from("/usr/share/modsecurity-crs/rules"))]
}

/// Every `@rx` of both CRS versions compiles; macro patterns are compiled with
/// each macro replaced by a sample value. Prints which engine took each.
#[test]
fn crs_rx_patterns_all_compile() {
    for (label, dir) in crs_dirs() {
        let ops = extract(&dir);
        let rx: Vec<&RuleOp> = ops.iter().filter(|o| o.name.eq_ignore_ascii_case("rx")).collect();
        assert!(rx.len() > 200, "{label}: only {} @rx found in {}", rx.len(), dir.display());
        let (mut automaton, mut backtracking, mut macros) = (0, 0, 0);
        let mut failures = Vec::new();
        for op in &rx {
            let compiled = match Operator::compile("rx", &op.argument, &NoFiles, &mut Vec::new()) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!("{}: {}: {e}", op.file, op.argument));
                    continue;
                }
            };
            let engine = if compiled.has_macros() {
                macros += 1;
                let sample = replace_macros(&op.argument, "utf-8|iso-8859-1");
                match regex::Pattern::new(sample.as_bytes()) {
                    Ok(p) => p.engine(),
                    Err(e) => {
                        failures.push(format!("{}: {sample}: {e}", op.file));
                        continue;
                    }
                }
            } else {
                compiled.regex_engine().unwrap_or(RegexEngine::Automaton)
            };
            match engine {
                RegexEngine::Automaton => automaton += 1,
                RegexEngine::Backtracking => {
                    backtracking += 1;
                    println!("{label}: fancy-regex: {}", op.argument);
                }
            }
        }
        println!(
            "{label}: {} @rx: {automaton} regex::bytes, {backtracking} fancy-regex ({macros} with macros)",
            rx.len()
        );
        assert!(failures.is_empty(), "{label}: {} failed:\n{}", failures.len(), failures.join("\n"));
        if label.starts_with("CRS 4") {
            assert_eq!(backtracking, 0, "CRS 4 needs no backtracking engine");
        }
    }
}

/// Every operator of both CRS versions compiles, data files included.
#[test]
fn crs_operators_all_compile() {
    for (label, dir) in crs_dirs() {
        let files = Dir(dir.clone());
        let mut warnings = Vec::new();
        let mut count = 0;
        for op in extract(&dir) {
            if let Err(e) = Operator::compile(&op.name, &op.argument, &files, &mut warnings) {
                panic!("{label}: {}: @{} {}: {e}", op.file, op.name, op.argument);
            }
            count += 1;
        }
        assert!(count > 600, "{label}: only {count} operators");
        println!("{label}: {count} operators, warnings: {warnings:?}");
    }
}

fn replace_macros(text: &str, sample: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("%{") {
        let Some(len) = rest[start..].find('}') else { break };
        out.push_str(&rest[..start]);
        out.push_str(sample);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Spot checks of CRS patterns on inputs whose outcome ModSecurity 3.0.9 gives.
#[test]
fn crs_patterns_behave() {
    let cases: [(&str, &[u8], bool); 6] = [
        (r"<\?(?!xml)", b"<?php echo", true),
        (r"<\?(?!xml)", b"<?xml version", false),
        (r"^\(\s*\)\s+{", b"() {", true),
        ("{{.*?}}", b"{{7*7}}", true),
        (r#"(?:[~!@#\$%\^&\*\(\)\-\+=\{\}\[\]\|:;"'´’‘`<>][^~!@#\$%\^&\*\(\)\-\+=\{\}\[\]\|:;"'´’‘`<>]*?){2}"#, "a´b´".as_bytes(), true),
        (r"\x{bc}[^>\x{be}]*[>\x{be}]", &[0xbc, b'a', 0xbe], true),
    ];
    for (pattern, input, expected) in cases {
        let op = compile("rx", pattern).unwrap();
        assert_eq!(eval(&op, input), expected, "{pattern} on {:?}", String::from_utf8_lossy(input));
    }
}
