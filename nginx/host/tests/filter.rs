//! The real Palisade filter through this host, in every built runtime:
//! configuration, blocking, detect mode, metrics, shared data and traps.

mod common;

use common::*;
use palisade_wasm_host::{LogLevel, Module, Region};

#[test]
fn blocks_sqli_and_passes_benign() {
    let bytes = wasm();
    for rt in runtimes() {
        let module = Module::compile(&bytes, rt).expect("compile");
        let region = Region::map().unwrap();
        let (mut vm, logs) = vm(&module, region);
        let root = vm.create_root(filter_config("block")).unwrap_or_else(|e| panic!("{rt:?}: {e}: {:?}", logs.borrow()));
        assert_eq!(exchange(&mut vm, root, stream("GET", "/search?q=blue+shoes", &[], b"")), None, "{rt:?}");
        assert_eq!(exchange(&mut vm, root, stream("GET", "/?id=1%27%20OR%201=1--", &[], b"")), Some(403), "{rt:?}");
        let form = b"user=1' UNION SELECT password FROM users--";
        let ct = [("content-type", "application/x-www-form-urlencoded")];
        assert_eq!(exchange(&mut vm, root, stream("POST", "/login", &ct, form)), Some(403), "{rt:?}");
        assert!(
            logs.borrow().iter().any(|(l, m)| *l == LogLevel::Warn && m.contains("[id \"942100\"]")),
            "{rt:?}: no rule log line: {:?}",
            logs.borrow()
        );
        let metrics = region.metrics();
        let get = |n: &str| metrics.iter().find(|m| m.name == n).map(|m| m.value);
        assert_eq!(get("palisade.requests.outcome.blocked"), Some(2), "{rt:?}: {metrics:?}");
        assert_eq!(get("palisade.requests.outcome.pass"), Some(1), "{rt:?}");
        unsafe { region.unmap() };
    }
}

#[test]
fn detect_mode_only_records() {
    let bytes = wasm();
    for rt in runtimes() {
        let module = Module::compile(&bytes, rt).expect("compile");
        let region = Region::map().unwrap();
        let (mut vm, _) = vm(&module, region);
        let root = vm.create_root(filter_config("detect")).unwrap();
        assert_eq!(exchange(&mut vm, root, stream("GET", "/?id=1%27%20OR%201=1--", &[], b"")), None);
        let m = region.metrics();
        assert_eq!(m.iter().find(|m| m.name == "palisade.requests.outcome.detected").map(|m| m.value), Some(1), "{rt:?}");
        unsafe { region.unmap() };
    }
}

#[test]
fn bad_configuration_is_refused_with_the_reason() {
    let bytes = wasm();
    let module = Module::compile(&bytes, runtimes()[0]).unwrap();
    let region = Region::map().unwrap();
    let (mut vm, logs) = vm(&module, region);
    let err = vm.create_root(br#"{"mode":"sideways"}"#.to_vec()).unwrap_err();
    assert!(err.contains("rejected its configuration"), "{err}");
    assert!(logs.borrow().iter().any(|(_, m)| m.contains("sideways")), "{:?}", logs.borrow());
    let err = vm.create_root(br#"{"rules":["SecRule ARGS \"@rx (\" \"id:1,deny\""]}"#.to_vec()).unwrap_err();
    assert!(err.contains("rejected"), "{err}");
    unsafe { region.unmap() };
}

#[test]
fn not_a_module_is_refused() {
    for rt in runtimes() {
        assert!(Module::compile(b"\0asm\x01\0\0\0garbage", rt).is_err());
        let e = Module::compile(b"not wasm at all", rt).err().unwrap();
        assert!(e.contains("invalid wasm module"), "{e}");
        // A valid module that is not proxy-wasm.
        let empty = b"\0asm\x01\0\0\0";
        let e = Module::compile(empty, rt).err().unwrap();
        assert!(e.contains("proxy-wasm"), "{e}");
    }
}
