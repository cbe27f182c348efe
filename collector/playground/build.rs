//! Embeds the OWASP Core Rule Set into the playground at build time.
//!
//! The same inputs and file naming as the filter's build script
//! (`filter/build.rs`): the CRS folder from `PALISADE_CRS_DIR` (default:
//! `shared/crs/v4.28.0` beside the workspace), its `rules/` subfolder's
//! `*.conf` and `*.data` as `@crs/<file>`, and `crs-setup.conf` from
//! `PALISADE_CRS_SETUP`, the CRS folder (`crs-setup.conf(.example)`) or
//! Debian's `/etc/modsecurity/crs` as `@crs-setup.conf`. The CRS version is
//! read from the rules' `ver:'OWASP_CRS/x.y.z'` so the page can show it.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PALISADE_CRS_DIR");
    println!("cargo:rerun-if-env-changed=PALISADE_CRS_SETUP");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest = PathBuf::from(
        env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| fail("CARGO_MANIFEST_DIR is not set")),
    );
    let crs_dir = env::var_os("PALISADE_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../../shared/crs/v4.28.0"));
    let crs_dir = crs_dir.canonicalize().unwrap_or_else(|e| {
        fail(&format!(
            "CRS folder {} not found ({e}); set PALISADE_CRS_DIR to a CRS checkout \
             (e.g. /usr/share/modsecurity-crs on Debian)",
            crs_dir.display()
        ))
    });
    let rules_dir = if crs_dir.join("rules").is_dir() {
        crs_dir.join("rules")
    } else {
        crs_dir.clone()
    };
    let setup = match env::var_os("PALISADE_CRS_SETUP") {
        Some(p) => PathBuf::from(p),
        None => [
            crs_dir.join("crs-setup.conf"),
            crs_dir.join("crs-setup.conf.example"),
            PathBuf::from("/etc/modsecurity/crs/crs-setup.conf"),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            fail(&format!(
                "no crs-setup.conf(.example) in {} nor /etc/modsecurity/crs",
                crs_dir.display()
            ))
        }),
    };

    let mut files: Vec<(String, PathBuf)> = fs::read_dir(&rules_dir)
        .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", rules_dir.display())))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            (name.ends_with(".conf") || name.ends_with(".data"))
                .then(|| (format!("@crs/{name}"), p))
        })
        .collect();
    if !files.iter().any(|(k, _)| k.ends_with(".conf")) {
        fail(&format!("no *.conf rule files in {}", rules_dir.display()));
    }
    files.sort();
    let version = files
        .iter()
        .filter(|(k, _)| k.ends_with(".conf"))
        .find_map(|(_, p)| crs_version(&fs::read_to_string(p).unwrap_or_default()))
        .unwrap_or_else(|| "unknown".to_string());
    files.push(("@crs-setup.conf".to_string(), setup));

    let mut out = String::from("/// CRS files embedded at build time: (bundle path, contents).\n");
    out.push_str("pub static CRS_FILES: &[(&str, &[u8])] = &[\n");
    for (key, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        out.push_str(&format!(
            "    ({key:?}, include_bytes!({:?})),\n",
            abs(path)
        ));
    }
    out.push_str("];\n");
    out.push_str(&format!("/// The CRS release the rules carry (`OWASP_CRS/<this>`).\npub static CRS_VERSION: &str = {version:?};\n"));
    println!("cargo:rerun-if-changed={}", rules_dir.display());

    let dest = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")))
        .join("crs_bundle.rs");
    fs::write(&dest, out)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", dest.display())));
}

/// `4.28.0` from the first `ver:'OWASP_CRS/4.28.0'` action in a rule file.
fn crs_version(text: &str) -> Option<String> {
    const KEY: &str = "ver:'OWASP_CRS/";
    let at = text.find(KEY)? + KEY.len();
    let v: String = text[at..].chars().take_while(|c| *c != '\'').collect();
    let ok = !v.is_empty()
        && v.len() < 40
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    ok.then_some(v)
}

fn abs(p: &Path) -> String {
    p.canonicalize()
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn fail(msg: &str) -> ! {
    eprintln!("palisade-playground build: {msg}");
    std::process::exit(1);
}
