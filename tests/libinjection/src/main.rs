//! Reads length-prefixed inputs (u32 little-endian length, then the bytes) from
//! stdin and prints one line per input: `<sqli>\t<last fingerprint>\t<xss>`, where
//! `<sqli>` is the fingerprint when SQLi was detected or `-`, `<last fingerprint>`
//! is the fingerprint of the last context tried (or `?` when the implementation
//! does not expose it) and `<xss>` is 1 or 0.
//! `--impl ours` (default) or `--impl rs` (needs `--features rs`).
//! `--bench`: time our detectors on typical 40-byte arguments and check that
//! they do not allocate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, BufWriter, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts heap allocations, to check the detectors make none.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Typical argument values, about 40 bytes each.
const TYPICAL: [&[u8]; 6] = [
    b"john.smith@example.com?ref=newsletter-2024",
    b"The quick brown fox jumps over the lazy d",
    b"1' OR '1'='1' -- and some trailing text x",
    b"1 UNION SELECT username,password FROM us",
    b"<img src=x onerror=alert(document.cookie)",
    b"Mozilla/5.0 (X11; Linux x86_64; rv:109.0",
];

fn bench() {
    use palisade_rules::libinjection as li;
    let rounds = 200_000;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut hits = 0usize;
    let t = Instant::now();
    for _ in 0..rounds {
        for input in TYPICAL {
            hits += usize::from(li::sqli_fingerprint(std::hint::black_box(input)).is_some());
        }
    }
    let sqli_ns = t.elapsed().as_nanos() as f64 / (rounds * TYPICAL.len()) as f64;
    let t = Instant::now();
    for _ in 0..rounds {
        for input in TYPICAL {
            hits += usize::from(li::detect_xss(std::hint::black_box(input)));
        }
    }
    let xss_ns = t.elapsed().as_nanos() as f64 / (rounds * TYPICAL.len()) as f64;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    for input in TYPICAL {
        let per = 100_000;
        let t = Instant::now();
        for _ in 0..per {
            hits += usize::from(li::sqli_fingerprint(std::hint::black_box(input)).is_some());
        }
        let s_ns = t.elapsed().as_nanos() as f64 / per as f64;
        let t = Instant::now();
        for _ in 0..per {
            hits += usize::from(li::detect_xss(std::hint::black_box(input)));
        }
        let x_ns = t.elapsed().as_nanos() as f64 / per as f64;
        let fp = li::sqli_fingerprint(input).map(|f| f.to_string()).unwrap_or("-".into());
        println!(
            "{:>3} bytes  sqli={fp:<6} {s_ns:>5.0} ns  xss={:<5} {x_ns:>5.0} ns  {}",
            input.len(),
            li::detect_xss(input),
            String::from_utf8_lossy(input)
        );
    }
    println!("sqli_fingerprint: {sqli_ns:.0} ns/call, detect_xss: {xss_ns:.0} ns/call (mean over the inputs above)");
    println!("heap allocations during {} calls: {allocations} (hits {hits})", 2 * rounds * TYPICAL.len());
    assert_eq!(allocations, 0, "the detectors allocated");
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--bench") {
        return bench();
    }
    let which = std::env::args().nth(2).unwrap_or_else(|| "ours".into());
    let mut data = Vec::new();
    io::stdin().read_to_end(&mut data).expect("read stdin");
    let out = io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut pos = 0usize;
    while pos + 4 <= data.len() {
        let n = u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        pos += 4;
        let input = &data[pos..pos + n];
        pos += n;
        let (sqli, last, xss) = match which.as_str() {
            "ours" => ours(input),
            #[cfg(feature = "rs")]
            "rs" => rs(input),
            other => panic!("unknown implementation {other}"),
        };
        writeln!(out, "{}\t{}\t{}", sqli.as_deref().unwrap_or("-"), last, u8::from(xss)).unwrap();
    }
}

fn ours(input: &[u8]) -> (Option<String>, String, bool) {
    use palisade_rules::libinjection as li;
    let (hit, last) = li::sqli_verdict_and_fingerprint(input);
    let sqli = li::detect_sqli(input);
    assert_eq!(hit, sqli.is_some(), "detect_sqli and the verdict helper disagree");
    (sqli, last.as_str().to_owned(), li::detect_xss(input))
}

#[cfg(feature = "rs")]
fn rs(input: &[u8]) -> (Option<String>, String, bool) {
    let r = libinjectionrs::detect_sqli(input);
    let fp = r.fingerprint.as_ref().map(|f| f.to_string()).unwrap_or_default();
    let sqli = if r.is_injection() { Some(fp.clone()) } else { None };
    (sqli, fp, libinjectionrs::detect_xss(input).is_injection())
}
