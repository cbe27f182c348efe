//! The CRS regression suite (go-ftw protocol) through NGINX with the
//! Palisade module: see `palisade_tests::nginx::ftw`. Prints every failing
//! test and `N passed, N failed`; passes at 99.76% of the suite or more
//! (what ModSecurity 3.0.9 reaches in nginx on this suite here), with the
//! overrides in `tests/ftw-nginx-overrides.yaml`.

use palisade_tests::{ftw, nginx};

#[test]
fn crs_regression_suite_through_nginx() {
    let run = nginx::ftw::run_config().unwrap_or_else(|e| panic!("{e}"));
    let results = nginx::ftw::run(&run).unwrap_or_else(|e| panic!("{e}"));
    let text = ftw::report(&results, &run.overrides);
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    if let Some(path) = std::env::var_os("PALISADE_FTW_JSON") {
        ftw::write_json(&results, std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    }
    let s = &results.summary;
    assert_eq!(s.load_errors, 0, "test files failed to load");
    assert!(s.stale_overrides.is_empty(), "stale overrides: {:?}", s.stale_overrides);
    assert!(s.unneeded_overrides.is_empty(), "overrides no longer needed: {:?}", s.unneeded_overrides);
    let total = s.passed + s.failed;
    // 99.76%, in integers: passed * 10000 >= total * 9976.
    assert!(
        s.passed * 10000 >= total * 9976,
        "{} of {total} passed ({:.2}%), below 99.76%",
        s.passed,
        100.0 * s.passed as f64 / total.max(1) as f64
    );
}
