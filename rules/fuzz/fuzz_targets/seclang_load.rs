//! SecLang parser and loader: arbitrary configuration text through
//! `RuleSet::load` with an in-memory `BundleSource`. The input itself is also
//! bundled as `main.conf`, so `Include main.conf` exercises the nesting limit,
//! and a few small data files are bundled under the names CRS uses, so
//! `@pmFromFile`/`@ipMatchFromFile` get past "file not found". When the text
//! loads, one fixed request is evaluated with it, so fuzzed operators, actions,
//! macros and transformations run too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::engine::{BundleSource, Overrides};
use palisade_rules::{offline, RuleSet};
use std::sync::OnceLock;

const REQUEST: &[u8] = b"POST /app/index.php?id=1%27+OR+1%3D1--&q=%3Cscript%3E HTTP/1.1\r\n\
Host: localhost\r\nUser-Agent: fuzz/1.0\r\nCookie: s=abc; t=%2e%2e\r\n\
Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 23\r\n\r\na=1&b=..%2fetc%2fpasswd";

fn base_bundle() -> &'static BundleSource {
    static BUNDLE: OnceLock<BundleSource> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let mut b = BundleSource::default();
        let words: &[u8] = b"# phrases\n\nselect\nunion all\n<script\n/etc/passwd\n  # indented\nnikto\n";
        for name in [
            "words.data",
            "lfi-os-files.data",
            "restricted-files.data",
            "restricted-upload.data",
            "scanners-user-agents.data",
            "php-function-names-933150.data",
            "php-variables.data",
            "php-errors.data",
            "sql-errors.data",
            "java-classes.data",
            "ruby-errors.data",
            "iis-errors.data",
            "asp-dotnet-errors.data",
            "unix-shell.data",
            "windows-powershell-commands.data",
        ] {
            b.files.insert(name.to_string(), words.to_vec());
        }
        b.files.insert("ips.data".into(), b"127.0.0.1\n10.0.0.0/8\n::1\n2001:db8::/32\nnot-an-ip\n".to_vec());
        b.files.insert(
            "inc/extra.conf".into(),
            b"SecRule ARGS \"@rx union\" \"id:990001,phase:2,t:none,t:lowercase,pass,log,setvar:tx.extra=+1\"\n".to_vec(),
        );
        b.files.insert("inc/bad.conf".into(), b"SecRule ARGS \"@nosuchop x\" \"id:990002\"\n".to_vec());
        b
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut bundle = base_bundle().clone();
    bundle.files.insert("main.conf".into(), text.as_bytes().to_vec());
    match RuleSet::load("main.conf", &text, &bundle) {
        Ok((rules, _warnings)) => {
            let _ = rules.rule_counts();
            let _ = rules.engine_mode();
            let _ = rules.request_body_limit();
            let _ = offline::evaluate(&rules, REQUEST, &Overrides::default());
        }
        Err(e) => {
            // An error must say what went wrong.
            assert!(!e.message.is_empty(), "empty error message at {}:{}", e.file, e.line);
        }
    }
});
