//! The CRS regression suite (go-ftw protocol) through Envoy with the
//! Palisade filter: see `palisade_tests::ftw`. Prints every failing test and
//! `N passed, N failed`; passes at 99.8% of the suite or more.
//!
//! `PALISADE_FTW_RULE=920100` runs one rule's file, `PALISADE_FTW_LANES=N`
//! sets how many Envoys run side by side (default 3), and
//! `PALISADE_FTW_JSON=path` writes every stage's request, status and log
//! lines.

use palisade_tests::ftw;

#[test]
fn crs_regression_suite_through_envoy() {
    let run = ftw::Run::from_env().unwrap_or_else(|e| panic!("{e}"));
    let results = ftw::run(&run).unwrap_or_else(|e| panic!("{e}"));
    let text = ftw::report(&results, &run.overrides);
    // Straight to the terminal: libtest captures print! of passing tests,
    // and the totals are this test's result.
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    if let Some(path) = std::env::var_os("PALISADE_FTW_JSON") {
        ftw::write_json(&results, std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    }
    let s = &results.summary;
    assert_eq!(s.load_errors, 0, "test files failed to load");
    assert!(
        s.stale_overrides.is_empty(),
        "stale overrides: {:?}",
        s.stale_overrides
    );
    assert!(
        s.unneeded_overrides.is_empty(),
        "overrides no longer needed: {:?}",
        s.unneeded_overrides
    );
    let total = s.passed + s.failed;
    // 99.8%, in integers: passed * 1000 >= total * 998.
    assert!(
        s.passed * 1000 >= total * 998,
        "{} of {total} passed ({:.2}%), below 99.8%",
        s.passed,
        100.0 * s.passed as f64 / total.max(1) as f64
    );
}
