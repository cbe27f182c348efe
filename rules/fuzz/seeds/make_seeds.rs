//! Writes the seed corpora of the fuzz targets into `corpus/<target>/`
//! (git-ignored): they are derived at run time from a CRS v4.28 folder, whose
//! files are never committed.
//!
//! - `seclang_load`: every CRS rule file and the setup example, cut into
//!   paragraphs (a rule with its chained rules and comments), plus Palisade's
//!   base configuration;
//! - `transaction`: every stage of the CRS regression tests, rendered to the
//!   bytes go-ftw sends;
//! - `body_json`, `body_xml`, `body_urlencoded`, `body_multipart`: the bodies of
//!   those requests, sorted by `Content-Type` (multipart seeds start with the
//!   `Content-Type` line, as that target expects), plus query strings for the
//!   URLENCODED processor;
//! - `transformations`: request targets and bodies of those requests.
//!
//! Usage: `make-seeds [CRS_DIR [OUT_DIR]]`; the defaults are
//! `PALISADE_CRS_DIR` or ../shared/crs/v4.28.0, and `corpus/` beside this crate.

use palisade_rules::crs::{default_dir, BASE_CONF};
use palisade_rules::ftw::render;
use palisade_rules::ftw::runner::load_suite;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Seeds larger than this are left out: libFuzzer's mutations are cheap on
/// small inputs, and nothing in the targets needs more.
const MAX_SEED: usize = 16 * 1024;

#[derive(Default)]
struct Corpus {
    seeds: BTreeMap<&'static str, Vec<Vec<u8>>>,
    seen: HashSet<(&'static str, Vec<u8>)>,
}

impl Corpus {
    fn add(&mut self, target: &'static str, seed: &[u8]) {
        if seed.is_empty() || seed.len() > MAX_SEED || !self.seen.insert((target, seed.to_vec())) {
            return;
        }
        self.seeds.entry(target).or_default().push(seed.to_vec());
    }

    fn write(&self, out: &Path) -> Result<(), String> {
        for (target, seeds) in &self.seeds {
            let dir = out.join(target);
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for (i, seed) in seeds.iter().enumerate() {
                let p = dir.join(format!("seed-{i:05}"));
                std::fs::write(&p, seed).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            }
            println!("{target}: {} seeds in {}", seeds.len(), dir.display());
        }
        Ok(())
    }
}

/// Cuts configuration text into paragraphs separated by blank lines, keeping
/// only those with a directive in them.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut flush = |cur: &mut String| {
        if cur.lines().any(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
            out.push(std::mem::take(cur));
        }
        cur.clear();
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut cur);
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    flush(&mut cur);
    out
}

fn config_seeds(crs: &Path, corpus: &mut Corpus) -> Result<(), String> {
    let rules = crs.join("rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&rules)
        .map_err(|e| format!("cannot list {}: {e}", rules.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".conf") || p.to_string_lossy().ends_with(".conf.example"))
        .collect();
    files.push(crs.join("crs-setup.conf.example"));
    files.sort();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        for p in paragraphs(&text) {
            corpus.add("seclang_load", p.as_bytes());
        }
    }
    for p in paragraphs(BASE_CONF) {
        corpus.add("seclang_load", p.as_bytes());
    }
    corpus.add("seclang_load", BASE_CONF.as_bytes());
    Ok(())
}

fn header<'a>(headers: &'a Option<BTreeMap<String, String>>, name: &str) -> Option<&'a str> {
    headers.as_ref()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn request_seeds(crs: &Path, corpus: &mut Corpus) -> Result<(), String> {
    let suite = load_suite(&crs.join("tests/regression/tests"))?;
    for file in suite.iter().filter_map(|f| f.file.as_ref()) {
        for stage in file.tests.iter().flat_map(|t| &t.stages) {
            let input = &stage.input;
            let Ok(raw) = render(input) else { continue };
            corpus.add("transaction", &raw);
            let (head, body) = match raw.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(i) => (&raw[..i], &raw[i + 4..]),
                None => (&raw[..], &b""[..]),
            };
            // The request target's query string and the whole target.
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let target = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
            corpus.add("transformations", target);
            if let Some(q) = target.iter().position(|&b| b == b'?') {
                corpus.add("body_urlencoded", &target[q + 1..]);
            }
            if body.is_empty() {
                continue;
            }
            corpus.add("transformations", body);
            let ct = header(&input.headers, "Content-Type").unwrap_or("").to_ascii_lowercase();
            if ct.contains("json") {
                corpus.add("body_json", body);
            } else if ct.contains("xml") {
                corpus.add("body_xml", body);
            } else if ct.starts_with("multipart/") {
                let ct_orig = header(&input.headers, "Content-Type").unwrap_or("");
                let mut seed = format!("{ct_orig}\n").into_bytes();
                seed.extend_from_slice(body);
                corpus.add("body_multipart", &seed);
            } else {
                corpus.add("body_urlencoded", body);
            }
        }
    }
    Ok(())
}

/// A few hand-written seeds, so every target has some even where CRS's tests
/// have no example (and when the test suite is missing).
fn builtin_seeds(corpus: &mut Corpus) {
    corpus.add("body_json", br#"{"a":{"b":1,"c":[1,"x",null,true,{"d":2}]},"e":-1.5e3,"s":"\u0041\n"}"#);
    corpus.add(
        "body_xml",
        b"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e \"E\">]><r a=\"&e;\">t&e;<![CDATA[x]]><!--c--><s xmlns:p=\"u\" p:b='2'/></r>",
    );
    corpus.add(
        "body_multipart",
        b"multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b\r\n\
          Content-Disposition: form-data; name=\"f\"; filename=\"x.php\"\r\nContent-Type: text/plain\r\n\r\nFILE\r\n--b--\r\n",
    );
    corpus.add("body_urlencoded", b"a=1&b=%41%zz+c&&=x&d");
    corpus.add("transformations", b"\x03\x1f\x0c\x23%3Cscript%3E/../etc/./passwd&#x41;\\x41/*c*/");
    corpus.add(
        "transaction",
        b"POST /a.php?id=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\":\"b\"}",
    );
    corpus.add("seclang_load", b"SecRule ARGS \"@pmFromFile words.data\" \"id:1,phase:2,t:lowercase,log,pass\"\nInclude inc/*.conf\n");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let crs = args.next().map(PathBuf::from).unwrap_or_else(default_dir);
    let out = args.next().map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let mut corpus = Corpus::default();
    builtin_seeds(&mut corpus);
    // A missing CRS folder leaves only the built-in seeds: worth a warning,
    // not a failure (the targets still run).
    for step in [config_seeds, request_seeds] {
        if let Err(e) = step(&crs, &mut corpus) {
            eprintln!("make-seeds: warning: {e}");
        }
    }
    if let Err(e) = corpus.write(&out) {
        eprintln!("make-seeds: {e}");
        std::process::exit(1);
    }
}
