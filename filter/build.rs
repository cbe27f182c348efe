//! Embeds the OWASP Core Rule Set into the filter at build time.
//!
//! The CRS folder comes from `PALISADE_CRS_DIR` (default: `shared/crs/v4.28.0`
//! beside the workspace). Rules and data files are read from its `rules/`
//! subfolder if there is one, else from the folder itself. `crs-setup.conf`
//! comes from `PALISADE_CRS_SETUP`, else `crs-setup.conf` or
//! `crs-setup.conf.example` in the CRS folder, else Debian's
//! `/etc/modsecurity/crs/crs-setup.conf` (Debian ships the rules in
//! `/usr/share/modsecurity-crs/rules` and the setup file under /etc).
//!
//! The generated table maps `@crs/<file>` (every `*.conf` and `*.data`) and
//! `@crs-setup.conf` to the file bytes.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PALISADE_CRS_DIR");
    println!("cargo:rerun-if-env-changed=PALISADE_CRS_SETUP");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let crs_dir = match env::var_os("PALISADE_CRS_DIR") {
        Some(d) => PathBuf::from(d),
        None => manifest.join("../../shared/crs/v4.28.0"),
    };
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
                "no crs-setup.conf(.example) in {} nor /etc/modsecurity/crs; set PALISADE_CRS_SETUP",
                crs_dir.display()
            ))
        }),
    };

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let entries = fs::read_dir(&rules_dir)
        .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", rules_dir.display())));
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if path.is_file() && (name.ends_with(".conf") || name.ends_with(".data")) {
            files.push((format!("@crs/{name}"), path));
        }
    }
    if !files.iter().any(|(k, _)| k.ends_with(".conf")) {
        fail(&format!("no *.conf rule files in {}", rules_dir.display()));
    }
    files.sort();
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
    out.push_str(&format!(
        "/// Where the embedded CRS came from.\npub static CRS_SOURCE: &str = {:?};\n",
        abs(&crs_dir)
    ));
    println!("cargo:rerun-if-changed={}", rules_dir.display());

    let dest =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("crs_bundle.rs");
    fs::write(&dest, out)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", dest.display())));
}

fn abs(p: &Path) -> String {
    p.canonicalize()
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn fail(msg: &str) -> ! {
    eprintln!("palisade-filter build: {msg}");
    std::process::exit(1);
}
