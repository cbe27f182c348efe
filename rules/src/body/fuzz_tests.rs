//! No-panic and boundedness checks over thousands of random and adversarial
//! bodies for every processor: random bytes, mutations of realistic seeds,
//! truncations, deep nesting and huge repetition counts. Each case also
//! checks a few invariants of the result.

use super::{json, multipart, urlencoded, xml, Limits};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const JSON_SEEDS: &[&str] = &[
    r#"{"a":{"b":1,"c":[1,"x",null,true,{"d":2},[3,4]]},"e":{},"f":[],"g":-1.5e3}"#,
    r#"[{"id":1,"q":"1 OR 1=1"},{"s":"\u0041\ud83d\ude00\n","n":{"":"e"}}]"#,
];
const XML_SEEDS: &[&str] = &[
    "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e \"E\"><!ENTITY % p \"<!ENTITY f '&#60;b&#62;F&#60;/b&#62;'>\"> %p;\
     <!ELEMENT r ANY><!ATTLIST r a CDATA #IMPLIED>]><r a=\"&e;\">t&e;&f;<![CDATA[x]]><!--c--><?p d?><s xmlns:p=\"u\" p:b='2'/></r>",
    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><m:G><m:Id>1</m:Id></m:G></soap:Body></soap:Envelope>",
];
const MP_SEED: &str = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain\r\n\r\nv1\r\nv2\r\n\
                       --b\r\nContent-Disposition: form-data;\r\n name=\"f\"; filename=\"x.php\"\r\n\r\nFILE\r\n--b--\r\n";
const PIECES: &[&[u8]] = &[
    b"{", b"}", b"[", b"]", b"\"", b"\\", b"\\u", b"<", b">", b"&", b"&#", b";", b"<!--", b"-->", b"<![CDATA[", b"]]>",
    b"\r\n", b"\n", b"\r", b"--b", b"--b--", b"=", b"%", b"%2", b"+", b"'", b"\0", b"\xff", b"\xc3", b"\xed\xa0\x80",
    b"<!ENTITY x \"&x;\">", b"&x;", b"%p;", b":", b" ", b"\t",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut s = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let pos = rng.below(s.len() + 1);
        match rng.below(5) {
            0 | 1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                s.splice(pos..pos, piece.iter().copied());
            }
            2 => {
                let end = (pos + 1 + rng.below(4)).min(s.len());
                s.drain(pos..end);
            }
            3 => s.truncate(pos),
            _ => {
                let end = (pos + 1 + rng.below(12)).min(s.len());
                let chunk = s[pos..end].to_vec();
                s.splice(pos..pos, chunk);
            }
        }
    }
    s
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(200);
    let alphabet = b"{}[]\",:\\u0123aeftrnl<>&;#x!-?=/'\r\n \t%+b";
    (0..len)
        .map(|_| if rng.below(4) == 0 { rng.next() as u8 } else { alphabet[rng.below(alphabet.len())] })
        .collect()
}

fn check_all(body: &[u8], limits: &Limits) {
    let pairs = urlencoded::parse(body, b'&');
    assert!(pairs.len() <= body.len() + 1);

    match json::parse(body, limits) {
        Ok(args) => assert!(args.len() <= limits.max_args),
        Err(e) => {
            assert!(e.message.starts_with("JSON parsing error: ") && e.message.contains("(at byte "));
            assert!(e.partial_args.len() <= limits.max_args);
        }
    }

    match xml::parse(body, limits) {
        Ok(doc) => {
            assert!(doc.elements.iter().all(|e| e.depth <= limits.xml_max_depth));
            for i in 0..doc.elements.len() {
                let _ = doc.content(i);
                let _ = doc.own_text(i);
            }
            let _ = doc.select("//@*");
            let _ = doc.select("//*//*/@*");
            let _ = doc.select("/*/*//*");
        }
        Err(e) => assert!(e.starts_with("XML parsing error: ") && e.contains("(at byte "), "{e}"),
    }

    for ct in [&b"multipart/form-data; boundary=b"[..], b"multipart/form-data; boundary=\"b\"", b"multipart/form-data"] {
        let m = multipart::parse(body, ct, limits);
        for f in &m.files {
            assert!(f.content.start <= f.content.end && f.content.end <= body.len());
            let _ = m.file_content(body, f);
        }
        assert!(m.args.len() <= limits.max_args);
        if let Some(e) = &m.error {
            assert!(e.starts_with("Multipart parsing error: Multipart: "), "{e}");
        }
    }
}

#[test]
fn random_and_mutated_inputs_never_panic() {
    let limits = Limits::default();
    let small = Limits {
        json_max_depth: 4,
        max_args: 5,
        xml_max_depth: 4,
        xml_max_entity_expansion: 64,
        multipart_max_parts: 2,
        multipart_max_files: 1,
        multipart_max_header_line: 40,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let seeds: Vec<&[u8]> =
        JSON_SEEDS.iter().chain(XML_SEEDS).map(|s| s.as_bytes()).chain(std::iter::once(MP_SEED.as_bytes())).collect();
    for i in 0..4000 {
        let body = if i % 4 == 0 {
            random_bytes(&mut rng)
        } else {
            let seed = seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed)
        };
        check_all(&body, if i % 3 == 0 { &small } else { &limits });
    }
    // Every prefix of each seed (truncated uploads).
    for seed in &seeds {
        for end in 0..=seed.len() {
            check_all(&seed[..end], &limits);
        }
    }
}

#[test]
fn adversarial_shapes_are_bounded() {
    let limits = Limits::default();
    let n = 200_000;
    let cases: Vec<Vec<u8>> = vec![
        "[".repeat(n).into_bytes(),
        "{\"a\":".repeat(n).into_bytes(),
        format!("[{}]", "1,".repeat(n) + "1").into_bytes(),
        format!("{{{}\"z\":1}}", "\"k\":1,".repeat(n)).into_bytes(),
        "<a>".repeat(n).into_bytes(),
        format!("<r>{}</r>", "<a/>".repeat(n)).into_bytes(),
        format!("<r {}/>", (0..5000).map(|i| format!("a{i}=\"v\" ")).collect::<String>()).into_bytes(),
        format!("<r>{}</r>", "&amp;".repeat(n)).into_bytes(),
        "<!DOCTYPE r [<!ENTITY a \"&b;\"><!ENTITY b \"&a;\">]><r>&a;</r>".to_string().into_bytes(),
        format!("<!DOCTYPE r [<!ELEMENT r {}a{}>]><r/>", "(".repeat(1000), ")".repeat(1000)).into_bytes(),
        "a=1&".repeat(n).into_bytes(),
        "%".repeat(n).into_bytes(),
        format!("{}--b--\r\n", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n".repeat(5000)).into_bytes(),
        format!("--b\r\n{}", "X: y\r\n".repeat(n)).into_bytes(),
        format!("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n{}\r\n\r\nv\r\n--b--", " x\r\n".repeat(n)).into_bytes(),
        "\r\n".repeat(n).into_bytes(),
        format!("<r {}/>", (0..n).map(|i| format!("a{i}='' ")).collect::<String>()).into_bytes(),
        format!("--b\r\n{}", (0..n).map(|i| format!("X{i}: y\r\n")).collect::<String>()).into_bytes(),
        vec![b'-'; n],
    ];
    for body in &cases {
        let started = std::time::Instant::now();
        check_all(body, &limits);
        // Generous: debug build, shared machine. Quadratic behaviour would take
        // minutes on these sizes.
        assert!(started.elapsed().as_secs() < 20, "slow on {:?}...", String::from_utf8_lossy(&body[..40.min(body.len())]));
    }
    // Specific outcomes.
    assert!(json::parse(&cases[0], &limits).unwrap_err().message.contains("depth limit"));
    assert!(json::parse(&cases[2], &limits).unwrap_err().message.contains("argument limit"));
    assert!(xml::parse(&cases[4], &limits).unwrap_err().contains("Excessive depth"));
    assert_eq!(xml::parse(&cases[5], &limits).unwrap().elements.len(), n + 1);
    assert!(xml::parse(&cases[8], &limits).unwrap_err().contains("loop"));
    let m = multipart::parse(&cases[12], b"multipart/form-data; boundary=b", &limits);
    assert!(m.error.unwrap().contains("Too many parts"));
}
