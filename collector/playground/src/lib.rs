//! The rule playground's engine: Palisade's rule engine with the OWASP CRS
//! embedded at build time (see `build.rs`), evaluating one raw HTTP request
//! at a time. Compiled to WebAssembly it runs inside the Threat Monitoring
//! page, so a request typed there never leaves the browser.
//!
//! The configuration is the standard one: [`BASE_CONF`], then
//! `crs-setup.conf`, then the CRS rules, as `palisade rules eval` composes
//! it. The policy knobs the collector controls (mode, paranoia level,
//! thresholds, disabled rules) are applied per request as [`Overrides`],
//! exactly as the filter applies the live policy.
//!
//! The browser-facing interface lives in `bindings` (wasm32 only, made with
//! wasm-bindgen): JSON options in, JSON outcome out.

#[cfg(target_arch = "wasm32")]
pub mod bindings;

use palisade_rules::crs::BASE_CONF;
use palisade_rules::engine::{BundleSource, EngineMode, Overrides};
use palisade_rules::offline::{self, Outcome};
use palisade_rules::RuleSet;
use serde::{Deserialize, Serialize};

include!(concat!(env!("OUT_DIR"), "/crs_bundle.rs"));

/// The directives after the base configuration.
const CRS_INCLUDES: &str = "Include @crs-setup.conf\nInclude @crs/*.conf\n";

/// Largest request the playground evaluates (the page caps its input too).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// What was loaded, for the page to show.
#[derive(Clone, Debug, Serialize)]
pub struct Info {
    pub crs_version: &'static str,
    /// Rules per phase 1..=5 (a chain counts once).
    pub rules_per_phase: [usize; 5],
    pub warnings: Vec<String>,
}

/// A compiled rule set, ready to evaluate requests.
pub struct Playground {
    rules: RuleSet,
    info: Info,
}

/// The policy a request is evaluated under (JSON from the page).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// 1 to 4.
    #[serde(default = "default_pl")]
    pub paranoia_level: u8,
    #[serde(default)]
    pub inbound_threshold: Option<i64>,
    #[serde(default)]
    pub outbound_threshold: Option<i64>,
    /// `block` (SecRuleEngine On) or `detect` (DetectionOnly).
    #[serde(default = "default_mode")]
    pub mode: String,
    #[serde(default)]
    pub disabled_rules: Vec<u32>,
}

fn default_pl() -> u8 {
    1
}

fn default_mode() -> String {
    "block".into()
}

impl Default for Options {
    fn default() -> Self {
        Options {
            paranoia_level: 1,
            inbound_threshold: None,
            outbound_threshold: None,
            mode: default_mode(),
            disabled_rules: Vec::new(),
        }
    }
}

impl Options {
    /// Parses the page's JSON, naming the field that is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Options, String> {
        let o: Options = serde_json::from_slice(bytes).map_err(|e| format!("options: {e}"))?;
        o.overrides()?;
        Ok(o)
    }

    fn overrides(&self) -> Result<Overrides, String> {
        if !(1..=4).contains(&self.paranoia_level) {
            return Err(format!(
                "paranoia_level must be 1 to 4, not {}",
                self.paranoia_level
            ));
        }
        for (name, t) in [
            ("inbound_threshold", self.inbound_threshold),
            ("outbound_threshold", self.outbound_threshold),
        ] {
            if t.is_some_and(|t| !(1..=10_000).contains(&t)) {
                return Err(format!("{name} must be 1 to 10000"));
            }
        }
        let engine_mode = match self.mode.as_str() {
            "block" => EngineMode::On,
            "detect" => EngineMode::DetectionOnly,
            other => {
                return Err(format!(
                    "mode must be \"block\" or \"detect\", not {other:?}"
                ))
            }
        };
        Ok(Overrides {
            engine_mode: Some(engine_mode),
            paranoia_level: Some(self.paranoia_level),
            inbound_threshold: self.inbound_threshold,
            outbound_threshold: self.outbound_threshold,
            disabled_rule_ids: self.disabled_rules.clone(),
            disabled_tags: Vec::new(),
        })
    }
}

/// One evaluation as the page shows it.
#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub paranoia_level: u8,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The embedded CRS as an in-memory configuration source.
pub fn bundle() -> BundleSource {
    let mut src = BundleSource::default();
    for (path, bytes) in CRS_FILES {
        src.files.insert((*path).to_string(), bytes.to_vec());
    }
    src
}

impl Playground {
    /// Compiles the base configuration and the embedded CRS.
    pub fn load() -> Result<Playground, String> {
        let text = format!("{BASE_CONF}\n{CRS_INCLUDES}");
        let (rules, warnings) =
            RuleSet::load("playground.conf", &text, &bundle()).map_err(|e| e.to_string())?;
        let info = Info {
            crs_version: CRS_VERSION,
            rules_per_phase: rules.rule_counts(),
            warnings,
        };
        Ok(Playground { rules, info })
    }

    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Runs `raw` (an HTTP/1.1 request as sent) through every phase.
    pub fn evaluate(&self, raw: &[u8], opts: &Options) -> Result<Evaluation, String> {
        if raw.len() > MAX_REQUEST_BYTES {
            return Err(format!(
                "the request is {} bytes; the playground takes at most {MAX_REQUEST_BYTES}",
                raw.len()
            ));
        }
        let overrides = opts.overrides()?;
        let outcome = offline::evaluate(&self.rules, raw, &overrides)
            .map_err(|e| format!("the request cannot be parsed: {e}"))?;
        Ok(Evaluation {
            paranoia_level: opts.paranoia_level,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_rules::scoring::Verdict;
    use std::sync::OnceLock;

    fn pg() -> &'static Playground {
        static PG: OnceLock<Playground> = OnceLock::new();
        PG.get_or_init(|| Playground::load().expect("the embedded CRS loads"))
    }

    fn ids(e: &Evaluation) -> Vec<u32> {
        e.outcome
            .report
            .matched
            .iter()
            .filter(|m| m.logged)
            .map(|m| m.id)
            .collect()
    }

    #[test]
    fn crs_is_embedded() {
        let info = pg().info();
        let v = info.crs_version;
        assert!(
            v.split('.').count() == 3 && v.split('.').all(|p| p.parse::<u32>().is_ok()),
            "{v}"
        );
        assert!(
            info.rules_per_phase.iter().sum::<usize>() > 100,
            "{:?}",
            info.rules_per_phase
        );
    }

    #[test]
    fn sqli_is_flagged_and_blocked() {
        let raw = b"GET /?id=1'%20OR%201=1-- HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n";
        let e = pg().evaluate(raw, &Options::default()).unwrap();
        assert!(ids(&e).contains(&942100), "{:?}", ids(&e));
        assert_eq!(e.outcome.report.verdict, Verdict::Blocked);
        assert!(e.outcome.report.inbound_score >= 5);
        let detect = Options {
            mode: "detect".into(),
            ..Options::default()
        };
        let e = pg().evaluate(raw, &detect).unwrap();
        assert_eq!(e.outcome.report.verdict, Verdict::Detected);
    }

    #[test]
    fn benign_request_passes() {
        let raw = b"GET /products?page=2&sort=price HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n\r\n";
        let e = pg().evaluate(raw, &Options::default()).unwrap();
        assert_eq!(e.outcome.report.verdict, Verdict::Pass, "{:?}", ids(&e));
        assert_eq!(e.outcome.report.inbound_score, 0);
    }

    #[test]
    fn disabled_rule_and_threshold_apply() {
        let raw = b"GET /?id=1'%20OR%201=1-- HTTP/1.1\r\nHost: a.example\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n";
        let opts = Options {
            disabled_rules: vec![942100],
            ..Options::default()
        };
        let e = pg().evaluate(raw, &opts).unwrap();
        assert!(!ids(&e).contains(&942100));
        let high = Options {
            inbound_threshold: Some(1000),
            ..Options::default()
        };
        let e = pg().evaluate(raw, &high).unwrap();
        assert_eq!(e.outcome.report.verdict, Verdict::Detected);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let e = pg()
            .evaluate(b"GET / HTTP/1.1\r\n\r\n", &Options::default())
            .unwrap_err();
        assert!(e.contains("Host"), "{e}");
        assert!(pg()
            .evaluate(b"\x00\xff garbage", &Options::default())
            .is_err());
        assert!(pg()
            .evaluate(&vec![b'a'; MAX_REQUEST_BYTES + 1], &Options::default())
            .is_err());
        assert!(Options::from_json(br#"{"paranoia_level":5}"#)
            .unwrap_err()
            .contains("paranoia_level"));
        assert!(Options::from_json(br#"{"mode":"loud"}"#)
            .unwrap_err()
            .contains("mode"));
        assert!(Options::from_json(br#"{"colour":1}"#)
            .unwrap_err()
            .contains("colour"));
        assert!(Options::from_json(b"[").is_err());
        let o = Options::from_json(
            br#"{"paranoia_level":2,"inbound_threshold":10,"disabled_rules":[920350]}"#,
        )
        .unwrap();
        assert_eq!(
            (o.paranoia_level, o.inbound_threshold, o.mode.as_str()),
            (2, Some(10), "block")
        );
    }
}
