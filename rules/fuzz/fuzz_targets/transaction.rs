//! One transaction end to end: the input is a raw HTTP/1.1 request, run with
//! `palisade_rules::offline::evaluate` through CRS v4.28 (loaded once, from
//! `PALISADE_CRS_DIR` or ../shared/crs/v4.28.0) at paranoia level 4 in
//! DetectionOnly mode, so every phase and every CRS rule runs whatever the
//! request looks like.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::crs::{default_dir, CrsLayout};
use palisade_rules::engine::{EngineMode, FsSource, Overrides};
use palisade_rules::{offline, RuleSet};
use std::sync::OnceLock;

fn crs() -> &'static (RuleSet, Overrides) {
    static CRS: OnceLock<(RuleSet, Overrides)> = OnceLock::new();
    CRS.get_or_init(|| {
        let dir = default_dir();
        let layout = CrsLayout::locate(&dir).unwrap_or_else(|e| panic!("CRS not found (set PALISADE_CRS_DIR): {e}"));
        let text = layout.config("", "");
        let (rules, _) = RuleSet::load("crs", &text, &FsSource).unwrap_or_else(|e| panic!("CRS failed to load: {e}"));
        let overrides = Overrides { engine_mode: Some(EngineMode::DetectionOnly), paranoia_level: Some(4), ..Overrides::default() };
        (rules, overrides)
    })
}

// CRS is loaded in libFuzzer's initialisation, before any input is timed
// (loading it takes seconds under ASan, longer than `-timeout` on a busy machine).
fuzz_target!(init: { crs(); }, |data: &[u8]| {
    let (rules, overrides) = crs();
    if let Ok(outcome) = offline::evaluate(rules, data, overrides) {
        // The report as `palisade rules eval` prints it must serialise.
        if let Err(e) = serde_json::to_string(&outcome) {
            panic!("outcome does not serialise: {e}");
        }
    }
});
