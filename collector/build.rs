//! Embeds the Threat Monitoring page into the collector binary.
//!
//! - Every file under `web/` (plain HTML, CSS and JavaScript modules, no
//!   build step) except `web/README.md`, served under `/ui/`.
//! - The rule playground's WebAssembly module, when it has been built:
//!   `PALISADE_PLAYGROUND_WASM` names the file (`make collector` sets it),
//!   else `dist/palisade_playground.wasm` is used if `make playground` put
//!   it there. Without it the binary still builds and the page's
//!   playground tab says how to get it.
//!
//! The generated `web_assets.rs` holds `ASSETS: &[Asset]` with each file's
//! path, content type, bytes and an ETag (a hash of the bytes).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PALISADE_PLAYGROUND_WASM");
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

    let wasm = match env::var_os("PALISADE_PLAYGROUND_WASM") {
        Some(p) => {
            let p = PathBuf::from(p);
            if !p.is_file() {
                fail(&format!(
                    "PALISADE_PLAYGROUND_WASM={} is not a file",
                    p.display()
                ));
            }
            Some(p)
        }
        None => {
            // Watch dist/ when it exists, so building the module into it
            // re-runs this script. A path that does not exist would make
            // cargo re-run the script (and rebuild the crate) every time,
            // so without dist/ nothing is watched: `make collector` names
            // the module through PALISADE_PLAYGROUND_WASM instead.
            let dist = manifest.join("../dist");
            if dist.is_dir() {
                println!("cargo:rerun-if-changed={}", dist.display());
            }
            let p = dist.join("palisade_playground.wasm");
            p.is_file().then_some(p)
        }
    };
    if let Some(p) = &wasm {
        println!("cargo:rerun-if-changed={}", p.display());
        files.push(("playground.wasm".to_string(), p.clone()));
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
        wasm.is_some()
    ));
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")))
        .join("web_assets.rs");
    fs::write(&dest, out)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", dest.display())));
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
