//! The CRS files embedded at build time (see `build.rs`) and the
//! [`ConfigSource`] that resolves the filter's include aliases:
//! `Include @crs-setup.conf`, `Include @crs/*.conf`, and
//! `Include @recommended.conf` (the engine base rules in front of CRS:
//! `rules/conf/recommended.conf`). There is no filesystem inside the VM, so any
//! other path is an error naming it.

use palisade_rules::engine::ConfigSource;

include!(concat!(env!("OUT_DIR"), "/crs_bundle.rs"));

/// The embedded CRS as a configuration source.
#[derive(Clone, Copy, Default)]
pub struct EmbeddedCrs;

/// The base rules: body processors by Content-Type, body parse errors
/// (the engine's own `rules/conf/recommended.conf`).
pub const RECOMMENDED: (&str, &[u8]) = ("@recommended.conf", palisade_rules::crs::RECOMMENDED_RULES.as_bytes());

fn lookup(path: &str) -> Option<&'static [u8]> {
    if path == RECOMMENDED.0 {
        return Some(RECOMMENDED.1);
    }
    CRS_FILES.iter().find(|(k, _)| *k == path).map(|(_, v)| *v)
}

/// Paths are given as written in `Include` or resolved by the engine relative
/// to the including file; `./` segments and a leading `/` before the alias
/// are tolerated.
fn clean(path: &str) -> &str {
    let mut p = path.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    if let Some(i) = p.find("/@") {
        p = &p[i + 1..];
    }
    p
}

impl ConfigSource for EmbeddedCrs {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let p = clean(path);
        if let Some(bytes) = lookup(p) {
            return Ok(bytes.to_vec());
        }
        // A data file named by a CRS rule (`@pmFromFile x.data`) lives beside
        // the rules, whatever folder the engine thought it was in.
        if p.ends_with(".data") {
            let base = p.rsplit('/').next().unwrap_or(p);
            if let Some(bytes) = lookup(&format!("@crs/{base}")) {
                return Ok(bytes.to_vec());
            }
        }
        Err(format!(
            "{path}: not an embedded file (the filter has no filesystem; use @crs-setup.conf or @crs/<file>)"
        ))
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let p = clean(pattern);
        let mut out: Vec<String> = CRS_FILES
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| wildcard(p.as_bytes(), k.as_bytes()))
            .map(String::from)
            .collect();
        out.sort();
        if out.is_empty() {
            return Err(format!("{pattern}: matches no embedded file"));
        }
        Ok(out)
    }
}

/// `*` and `?` matching where neither crosses a `/`; iterative, so any
/// pattern is linear-ish and never recurses.
fn wildcard(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, i));
                p += 1;
            }
            Some(&c) if (c == b'?' && s[i] != b'/') || c == s[i] => {
                p += 1;
                i += 1;
            }
            _ => match star {
                Some((sp, si)) if s[si] != b'/' => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                _ => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching() {
        assert!(wildcard(
            b"@crs/*.conf",
            b"@crs/REQUEST-901-INITIALIZATION.conf"
        ));
        assert!(!wildcard(b"@crs/*.conf", b"@crs/x.data"));
        assert!(!wildcard(b"@*.conf", b"@crs/x.conf"));
        assert!(wildcard(
            b"@crs/REQUEST-9??-*.conf",
            b"@crs/REQUEST-942-SQLI.conf"
        ));
        assert!(wildcard(b"*", b"abc"));
        assert!(!wildcard(b"", b"abc"));
        assert!(wildcard(b"", b""));
    }

    #[test]
    fn bundle_has_crs() {
        let src = EmbeddedCrs;
        let confs = src.glob("@crs/*.conf").expect("CRS rules are embedded");
        assert!(confs.iter().any(|c| c.contains("REQUEST-942")), "{confs:?}");
        assert!(confs.windows(2).all(|w| w[0] < w[1]));
        assert!(!confs.iter().any(|c| c.ends_with(".example")));
        let setup = src.read("@crs-setup.conf").expect("setup embedded");
        assert!(String::from_utf8_lossy(&setup).contains("SecDefaultAction"));
        // Data files resolve beside the rules, from wherever they are named.
        let data = CRS_FILES
            .iter()
            .find(|(k, _)| k.ends_with(".data"))
            .map(|(k, _)| *k)
            .expect("data files");
        let base = data.trim_start_matches("@crs/");
        assert!(src.read(data).is_ok());
        assert!(src.read(&format!("./{data}")).is_ok());
        assert!(src.read(&format!("/some/dir/{base}")).is_ok());
        let base =
            String::from_utf8_lossy(&src.read("@recommended.conf").expect("base rules embedded"))
                .into_owned();
        assert!(base.contains("id:200001") && base.contains("requestBodyProcessor=JSON"));
        assert!(src.read("./rule_sets.default/@recommended.conf").is_ok());
        let e = src.read("/etc/passwd").unwrap_err();
        assert!(e.contains("/etc/passwd"), "{e}");
        assert!(src.glob("@crs/*.nothing").is_err());
    }
}
