//! SecLang semantics, end to end through the public API: phases, chains,
//! setvar, macros, skipAfter, ctl, exclusions, counts, engine modes.

use palisade_rules::engine::{BundleSource, EngineMode, Overrides};
use palisade_rules::{RuleSet, Transaction};

fn load(text: &str) -> RuleSet {
    match RuleSet::load("test.conf", text, &BundleSource::default()) {
        Ok((rs, _)) => rs,
        Err(e) => panic!("load failed: {e}"),
    }
}

/// Runs a GET (and optional urlencoded body) through all phases; returns the matched ids.
fn run<'r>(rs: &'r RuleSet, uri: &str, headers: &[(&str, &str)], body: &str) -> (Vec<u32>, Transaction<'r>) {
    let mut tx = Transaction::new(rs, "test-1", &Overrides::default());
    tx.process_connection("10.0.0.1", 5555, "127.0.0.1", 80);
    let method: &[u8] = if body.is_empty() { b"GET" } else { b"POST" };
    tx.process_uri(method, uri.as_bytes(), b"HTTP/1.1");
    for (k, v) in headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    if !body.is_empty() {
        tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
    }
    tx.process_request_headers();
    tx.append_request_body(body.as_bytes());
    tx.process_request_body();
    tx.add_response_header(b"Content-Type", b"text/html");
    tx.process_response_headers(200, b"HTTP/1.1");
    tx.process_response_body();
    tx.process_logging();
    let ids = tx.matched_rules().iter().map(|m| m.id).collect();
    (ids, tx)
}

#[test]
fn matches_args_and_reports_evidence() {
    let rs = load(
        r#"SecRequestBodyAccess On
SecRule ARGS "@rx ^attack$" "id:10,phase:2,pass,log,msg:'found %{MATCHED_VAR_NAME}',logdata:'%{MATCHED_VAR}'""#,
    );
    let (ids, tx) = run(&rs, "/a?x=1&y=attack", &[("Host", "localhost")], "");
    assert_eq!(ids, vec![10]);
    let m = &tx.matched_rules()[0];
    assert_eq!(m.msg, "found ARGS:y");
    assert_eq!(m.data, "attack");
    assert_eq!(m.variable, "ARGS:y");
    let (ids, _) = run(&rs, "/a", &[], "z=attack");
    assert_eq!(ids, vec![10], "POST args are in ARGS");
}

#[test]
fn setvar_arithmetic_and_counts() {
    let rs = load(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.score=0,setvar:tx.crit=5"
SecRule ARGS "@rx a" "id:2,phase:1,pass,nolog,setvar:'tx.score=+%{tx.crit}'"
SecRule TX:score "@eq 10" "id:3,phase:1,pass,log"
SecRule &ARGS "@eq 3" "id:4,phase:1,pass,log"
SecRule &TX:missing "@eq 0" "id:5,phase:1,pass,log"
SecAction "id:6,phase:1,pass,nolog,setvar:tx.score=-3,setvar:!tx.crit"
SecRule TX:score "@eq 7" "id:7,phase:1,pass,log"
SecRule &TX:crit "@eq 0" "id:8,phase:1,pass,log"
"#,
    );
    // Two args match `a`: the score grows once per matched value, as in ModSecurity.
    // `nolog` rules leave no record, as in ModSecurity.
    let (ids, tx) = run(&rs, "/?p=a&q=ba&r=z", &[], "");
    assert_eq!(ids, vec![3, 4, 5, 7, 8]);
    assert_eq!(tx.tx_var("score").as_deref(), Some("7"));
}

#[test]
fn chains_need_every_link() {
    let rs = load(
        r#"
SecRule REQUEST_METHOD "@streq GET" "id:20,phase:1,pass,log,msg:'chain',chain"
    SecRule ARGS:a "@rx ^1$" "chain"
        SecRule REQUEST_HEADERS:X-Test "@rx yes" "setvar:tx.chained=1"
"#,
    );
    let (ids, tx) = run(&rs, "/?a=1", &[("X-Test", "yes")], "");
    assert_eq!(ids, vec![20]);
    assert_eq!(tx.tx_var("chained").as_deref(), Some("1"));
    let (ids, tx) = run(&rs, "/?a=1", &[("X-Test", "no")], "");
    assert!(ids.is_empty());
    assert_eq!(tx.tx_var("chained"), None);
}

#[test]
fn skip_after_marker_and_exclusions() {
    let rs = load(
        r#"
SecRule ARGS:skip "@rx 1" "id:30,phase:1,pass,nolog,skipAfter:END"
SecAction "id:31,phase:1,pass,log"
SecMarker END
SecRule ARGS|!ARGS:safe "@rx evil" "id:32,phase:1,pass,log"
SecRule REQUEST_HEADERS:/^x-/ "@rx h" "id:33,phase:1,pass,log"
"#,
    );
    let (ids, _) = run(&rs, "/?skip=1&safe=evil", &[("X-One", "h")], "");
    assert_eq!(ids, vec![33]);
    let (ids, _) = run(&rs, "/?skip=0&other=evil", &[], "");
    assert_eq!(ids, vec![31, 32]);
}

#[test]
fn ctl_removes_rules_and_targets_at_run_time() {
    let rs = load(
        r#"
SecRule REQUEST_URI "@beginsWith /admin" "id:40,phase:1,pass,nolog,ctl:ruleRemoveById=42,ctl:ruleRemoveTargetById=41;ARGS:pwd"
SecRule ARGS "@rx secret" "id:41,phase:1,pass,log"
SecRule ARGS "@rx secret" "id:42,phase:1,pass,log"
"#,
    );
    let (ids, _) = run(&rs, "/admin?pwd=secret", &[], "");
    assert!(ids.is_empty(), "41 lost its target, 42 was removed: {ids:?}");
    let (ids, _) = run(&rs, "/admin?user=secret", &[], "");
    assert_eq!(ids, vec![41]);
    let (ids, _) = run(&rs, "/other?pwd=secret", &[], "");
    assert_eq!(ids, vec![41, 42]);
}

#[test]
fn deny_blocks_only_when_engine_is_on() {
    let text = r#"
SecRuleEngine On
SecRule ARGS "@rx attack" "id:50,phase:1,deny,status:403,log"
SecAction "id:51,phase:1,pass,log"
"#;
    let rs = load(text);
    let mut tx = Transaction::new(&rs, "t", &Overrides::default());
    tx.process_uri(b"GET", b"/?a=attack", b"HTTP/1.1");
    let i = tx.process_request_headers().expect("blocked");
    assert_eq!((i.status, i.rule_id), (403, 50));
    assert_eq!(tx.matched_rules().len(), 1, "rules after the deny do not run");

    let detect = Overrides { engine_mode: Some(EngineMode::DetectionOnly), ..Default::default() };
    let mut tx = Transaction::new(&rs, "t", &detect);
    tx.process_uri(b"GET", b"/?a=attack", b"HTTP/1.1");
    assert!(tx.process_request_headers().is_none());
    assert_eq!(tx.intervention().map(|i| i.rule_id), Some(50), "recorded, not enforced");
    assert_eq!(tx.matched_rules().len(), 2);
}

#[test]
fn overrides_disable_rules_and_set_paranoia() {
    let rs = load(
        r#"
SecRule TX:blocking_paranoia_level "@ge 2" "id:60,phase:1,pass,log"
SecAction "id:61,phase:1,pass,log,tag:'noisy'"
"#,
    );
    let o = Overrides { paranoia_level: Some(3), disabled_tags: vec!["noisy".into()], ..Default::default() };
    let mut tx = Transaction::new(&rs, "t", &o);
    tx.process_uri(b"GET", b"/", b"HTTP/1.1");
    tx.process_request_headers();
    let ids: Vec<u32> = tx.matched_rules().iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![60]);
}

#[test]
fn request_variables_follow_modsecurity() {
    let rs = load(r#"SecAction "id:1,phase:1,pass,nolog""#);
    let (_, tx) = run(&rs, "/path/to/file.php%3Fx?a=%41&b", &[("Host", "example.com:8080"), ("Cookie", " s=1; t=2=3;; ")], "");
    let v = |n: &str| String::from_utf8(tx.variable(n).unwrap_or_default()).unwrap();
    assert_eq!(v("REQUEST_URI_RAW"), "/path/to/file.php%3Fx?a=%41&b");
    assert_eq!(v("REQUEST_FILENAME"), "/path/to/file.php");
    assert_eq!(v("REQUEST_BASENAME"), "file.php");
    assert_eq!(v("QUERY_STRING"), "a=%41&b");
    assert_eq!(v("REQUEST_LINE"), "GET /path/to/file.php%3Fx?a=%41&b HTTP/1.1");
    assert_eq!(v("SERVER_NAME"), "example.com");
    let args: Vec<(String, String)> =
        tx.args().map(|kv| (String::from_utf8_lossy(&kv.key).into(), String::from_utf8_lossy(&kv.value).into())).collect();
    assert_eq!(args, vec![("a".into(), "A".into()), ("b".into(), "".into())]);
}

#[test]
fn bad_configuration_is_located() {
    for (text, needle) in [
        ("SecRule ARGS \"@rx a\" \"id:1,phase:2,bogus\"", "bogus"),
        ("SecRule NOPE \"@rx a\" \"id:1\"", "NOPE"),
        ("SecRule ARGS \"@nope a\" \"id:1\"", "nope"),
        ("SecRule ARGS \"@rx a\" \"id:1,t:nope\"", "nope"),
        ("SecBogus On", "SecBogus"),
        ("SecRule ARGS \"@rx (\" \"id:1\"", "@rx"),
        ("SecRule ARGS \"@rx a\" \"id:1,chain\"", "chain"),
        ("SecAction \"id:1,exec:/bin/true\"", "exec"),
        ("SecAction \"phase:1,pass\"", "id"),
        ("SecAction \"id:7,pass\"\nSecAction \"id:7,pass\"", "duplicate"),
    ] {
        match RuleSet::load("bad.conf", text, &BundleSource::default()) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => {
                assert_eq!(e.file, "bad.conf");
                assert!(e.line >= 1, "{e}");
                assert!(e.message.contains(needle), "`{needle}` not in `{e}`");
            }
        }
    }
}

#[test]
fn includes_resolve_through_the_source_with_globs() {
    let mut src = BundleSource::default();
    src.files.insert("@crs/a.conf".into(), b"SecAction \"id:1,phase:1,pass,log\"".to_vec());
    src.files.insert("@crs/b.conf".into(), b"SecAction \"id:2,phase:1,pass,log\"".to_vec());
    src.files.insert("@crs/b.conf.example".into(), b"SecAction \"id:3,phase:1,pass,log\"".to_vec());
    let (rs, _) = RuleSet::load("main", "Include @crs/*.conf", &src).unwrap();
    let (ids, _) = run(&rs, "/", &[], "");
    assert_eq!(ids, vec![1, 2]);
    let err = RuleSet::load("main", "Include @crs/none.conf", &src).err().unwrap();
    assert!(err.message.contains("none.conf"), "{err}");
}
