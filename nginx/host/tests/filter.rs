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
        let root =
            vm.create_root(filter_config("block")).unwrap_or_else(|e| panic!("{rt:?}: {e}: {:?}", logs.borrow()));
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
        assert_eq!(
            m.iter().find(|m| m.name == "palisade.requests.outcome.detected").map(|m| m.value),
            Some(1),
            "{rt:?}"
        );
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

/// A minimal module whose request-headers callback traps.
fn trapping_module() -> Vec<u8> {
    fn section(id: u8, body: Vec<u8>, out: &mut Vec<u8>) {
        out.push(id);
        let mut n = body.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend(body);
    }
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    section(
        1,
        vec![
            6, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 2, 0x7f, 0x7f, 1, 0x7f, 0x60, 3, 0x7f, 0x7f, 0x7f,
            1, 0x7f, 0x60, 0, 0, 0x60, 1, 0x7f, 0,
        ],
        &mut m,
    );
    section(3, vec![7, 4, 0, 1, 2, 3, 0, 5], &mut m);
    section(5, vec![1, 0, 1], &mut m);
    let exports: [(&str, u8, u8); 7] = [
        ("memory", 2, 0),
        ("proxy_abi_version_0_2_1", 0, 0),
        ("proxy_on_memory_allocate", 0, 1),
        ("proxy_on_context_create", 0, 2),
        ("proxy_on_vm_start", 0, 3),
        ("proxy_on_configure", 0, 3),
        ("proxy_on_request_headers", 0, 4),
    ];
    let mut e = vec![exports.len() as u8];
    for (name, kind, idx) in exports {
        e.push(name.len() as u8);
        e.extend_from_slice(name.as_bytes());
        e.extend([kind, idx]);
    }
    section(7, e, &mut m);
    let bodies: [&[u8]; 7] = [
        &[0, 0x0b],
        &[0, 0x41, 0x80, 0x08, 0x0b],
        &[0, 0x0b],
        &[0, 0x41, 1, 0x0b],
        &[0, 0x00, 0x0b],
        &[0, 0x41, 1, 0x0b],
        &[0, 0x0b],
    ];
    let mut code = vec![bodies.len() as u8];
    for b in bodies {
        code.push(b.len() as u8);
        code.extend_from_slice(b);
    }
    section(10, code, &mut m);
    m
}

#[test]
fn a_trap_poisons_the_instance_and_is_reported() {
    for rt in runtimes() {
        let module = Module::compile(&trapping_module(), rt).unwrap_or_else(|e| panic!("{rt:?}: {e}"));
        let region = Region::map().unwrap();
        let (mut vm, _) = vm(&module, region);
        let root = vm.create_root(Vec::new()).unwrap();
        let ctx = vm.create_stream(root).unwrap();
        let mut s = stream("GET", "/", &[], b"");
        let err = vm.on_request_headers(ctx, &mut s, true).unwrap_err();
        assert!(vm.poisoned().is_some(), "{rt:?}");
        // Every later call fails at once with the same trap.
        assert_eq!(vm.create_stream(root).unwrap_err(), err, "{rt:?}");
        unsafe { region.unmap() };
    }
}
