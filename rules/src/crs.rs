//! Locating an OWASP CRS installation and composing the configuration that
//! runs it: Palisade's base settings, `crs-setup.conf`, the rule files, and
//! optional extra directives before and after.
//!
//! Two layouts are understood: a CRS release folder (`crs-setup.conf(.example)`
//! beside `rules/`), and Debian's split package (`/usr/share/modsecurity-crs/rules`
//! with the setup in `/etc/modsecurity/crs`).

use std::path::{Path, PathBuf};

/// Palisade's base settings (engine mode, body and response handling).
pub const BASE_SETTINGS: &str = include_str!("../conf/base.conf");

/// Palisade's recommended rules in front of CRS (body processor selection,
/// refusing unparsable bodies): ids 200000-200005.
pub const RECOMMENDED_RULES: &str = include_str!("../conf/recommended.conf");

/// Settings and recommended rules together: what goes before CRS.
pub const BASE_CONF: &str = concat!(include_str!("../conf/base.conf"), "\n", include_str!("../conf/recommended.conf"));

/// Where the pieces of one CRS installation are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrsLayout {
    pub setup: PathBuf,
    pub rules_dir: PathBuf,
    /// Debian's REQUEST-900 / RESPONSE-999 exclusion files, when present.
    pub before: Option<PathBuf>,
    pub after: Option<PathBuf>,
}

impl CrsLayout {
    /// Finds the layout under `dir`.
    pub fn locate(dir: &Path) -> Result<CrsLayout, String> {
        let rules_dir = dir.join("rules");
        if !rules_dir.is_dir() {
            return Err(format!("{}: no rules/ folder (is this a CRS folder?)", dir.display()));
        }
        for name in ["crs-setup.conf", "crs-setup.conf.example"] {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(CrsLayout { setup: p, rules_dir, before: None, after: None });
            }
        }
        let etc = Path::new("/etc/modsecurity/crs");
        if etc.join("crs-setup.conf").is_file() {
            let opt = |n: &str| Some(etc.join(n)).filter(|p| p.is_file());
            return Ok(CrsLayout {
                setup: etc.join("crs-setup.conf"),
                rules_dir,
                before: opt("REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf"),
                after: opt("RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf"),
            });
        }
        Err(format!("{}: no crs-setup.conf(.example) found", dir.display()))
    }

    /// The configuration text: base settings, `before`, the CRS setup, the
    /// rules, `after`.
    pub fn config(&self, before: &str, after: &str) -> String {
        let mut s = String::new();
        s.push_str(BASE_CONF);
        s.push('\n');
        s.push_str(before);
        s.push('\n');
        s.push_str(&format!("Include \"{}\"\n", self.setup.display()));
        if let Some(b) = &self.before {
            s.push_str(&format!("Include \"{}\"\n", b.display()));
        }
        s.push_str(&format!("Include \"{}/*.conf\"\n", self.rules_dir.display()));
        if let Some(a) = &self.after {
            s.push_str(&format!("Include \"{}\"\n", a.display()));
        }
        s.push_str(after);
        s.push('\n');
        s
    }
}

/// The default CRS folder for tools run from the repository: `$PALISADE_CRS_DIR`,
/// else `../shared/crs/v4.28.0` relative to the workspace root.
pub fn default_dir() -> PathBuf {
    if let Ok(d) = std::env::var("PALISADE_CRS_DIR") {
        return PathBuf::from(d);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let candidates = [workspace.join("../shared/crs/v4.28.0"), PathBuf::from("../shared/crs/v4.28.0")];
    for c in &candidates {
        if c.join("rules").is_dir() {
            return c.clone();
        }
    }
    candidates[0].clone()
}
