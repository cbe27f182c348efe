//! Embeds the Threat Monitoring page into the collector binary.
//!
//! - Every file under `web/` (plain HTML, CSS and JavaScript modules, no
//!   build step) except `web/README.md`, served under `/ui/`.
//! - The rule playground, when it has been built: wasm-bindgen's output
//!   folder (`palisade_playground_bg.wasm` and its ES-module glue
//!   `palisade_playground.js`), named by `PALISADE_PLAYGROUND_DIR`
//!   (`make collector` sets it), else `dist/playground/` if `make
//!   playground` put it there. They are served as `playground.wasm` and
//!   `playground-bindings.js`. Without them the binary still builds and the
//!   page's playground tab says how to get them.
//!
//! The generated `web_assets.rs` holds `ASSETS: &[Asset]` with each file's
//! path, content type, bytes and an ETag (a hash of the bytes).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PALISADE_PLAYGROUND_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(
        env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| fail("CARGO_MANIFEST_DIR is not set")),
    );
    let web = manifest.join("web");
    println!("cargo:rerun-if-changed={}", web.display());

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    collect(&web, &web, &mut files);
    files.retain(|(name, _)| name != "README.md");
    if !files.iter().any(|(n, _)| n == "index.html") {
        fail(&format!("{} has no index.html", web.display()));
    }

    let playground = match env::var_os("PALISADE_PLAYGROUND_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            match playground_files(&dir) {
                Some(found) => Some(found),
                None => fail(&format!(
                    "PALISADE_PLAYGROUND_DIR={} does not hold {} and {} (run `make playground`)",
                    dir.display(),
                    PLAYGROUND_FILES[0].0,
                    PLAYGROUND_FILES[1].0
                )),
            }
        }
        None => {
            // Watch dist/ and dist/playground/ when they exist, so building
            // the playground into them re-runs this script. A path that does
            // not exist would make cargo re-run the script (and rebuild the
            // crate) every time, so missing folders are not watched: `make
            // collector` names the folder through PALISADE_PLAYGROUND_DIR.
            let dist = manifest.join("../dist");
            for d in [dist.clone(), dist.join("playground")] {
                if d.is_dir() {
                    println!("cargo:rerun-if-changed={}", d.display());
                }
            }
            playground_files(&dist.join("playground"))
        }
    };
    if let Some(found) = &playground {
        for (served, path) in found {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push((served.clone(), path.clone()));
        }
    }
    files.sort();

    let mut out = String::from(
        "/// Files of the page: (path under /ui/, content type, bytes, ETag).\n\
         pub static ASSETS: &[Asset] = &[\n",
    );
    for (name, path) in &files {
        let bytes = fs::read(path)
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
        out.push_str(&format!(
            "    Asset {{ path: {name:?}, content_type: {:?}, bytes: include_bytes!({:?}), etag: \"\\\"{:016x}-{:x}\\\"\" }},\n",
            content_type(name),
            abs(path),
            fnv1a(&bytes),
            bytes.len()
        ));
    }
    out.push_str("];\n");
    out.push_str(&format!(
        "/// Whether the playground module is embedded.\npub const HAS_PLAYGROUND: bool = {};\n",
        playground.is_some()
    ));
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")))
        .join("web_assets.rs");
    fs::write(&dest, out)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", dest.display())));
}

/// wasm-bindgen's output files of the playground and the names they are
/// served under (below `/ui/`).
const PLAYGROUND_FILES: [(&str, &str); 2] = [
    ("palisade_playground_bg.wasm", "playground.wasm"),
    ("palisade_playground.js", "playground-bindings.js"),
];

/// The playground's files in `dir` as (served name, path), if all are there.
fn playground_files(dir: &Path) -> Option<Vec<(String, PathBuf)>> {
    PLAYGROUND_FILES
        .iter()
        .map(|(built, served)| {
            let p = dir.join(built);
            p.is_file().then(|| (served.to_string(), p))
        })
        .collect()
}

/// Files under `dir`, named by their path relative to `root` with `/`.
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", dir.display())));
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, out);
        } else if path.is_file() {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let rel: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
            println!("cargo:rerun-if-changed={}", path.display());
            out.push((rel.join("/"), path));
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn abs(p: &Path) -> String {
    p.canonicalize()
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn fail(msg: &str) -> ! {
    eprintln!("palisade-collector build: {msg}");
    std::process::exit(1);
}
