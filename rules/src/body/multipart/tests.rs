//! Multipart cases. Unless a comment says otherwise, the expectations are what
//! libmodsecurity 3.0.9 produced for the same body and Content-Type (through
//! nginx, read from its debug log and from rules over every MULTIPART_* and
//! FILES* variable); the comments mark where this parser intentionally does
//! what 3.0.9 meant to do instead (see the module documentation).

use super::*;

const CT: &str = "multipart/form-data; boundary=b";

fn mp(body: &str, ct: &str) -> Multipart {
    parse(body.as_bytes(), ct.as_bytes(), &Limits::default())
}

fn args(m: &Multipart) -> Vec<(String, String)> {
    m.args.iter().map(|(n, v)| (lossy(n), lossy(v))).collect()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(n: &str, v: &str) -> (String, String) {
    (n.to_string(), v.to_string())
}

fn headers(m: &Multipart) -> Vec<(String, String)> {
    m.part_headers.iter().map(|(n, v)| (lossy(n), lossy(v))).collect()
}

fn strs(v: &[Vec<u8>]) -> Vec<String> {
    v.iter().map(|b| lossy(b)).collect()
}

fn error(m: &Multipart) -> String {
    m.error.clone().unwrap_or_default()
}

#[track_caller]
fn assert_error(m: &Multipart, want: &str) {
    let e = error(m);
    assert!(e.starts_with("Multipart parsing error: Multipart: "), "{e:?}");
    assert!(e.contains(want), "expected {want:?} in {e:?}");
}

#[test]
fn fields_and_files() {
    let body = "--b\r\nContent-Disposition: form-data; name=\"f1\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                line1\r\nline2\r\n\r\n\
                --b\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n\
                filedata\r\nmore\r\n\
                --b\r\nContent-Disposition: form-data; name=\"up2\"; filename=\"b.txt\"\r\n\r\nxyz\r\n--b--\r\n";
    let m = mp(body, CT);
    assert_eq!(m.error, None);
    assert_eq!(m.boundary, b"b");
    // 3.0.9 gave "line1line2" (its line-ending bug); the field's real value
    // keeps them.
    assert_eq!(args(&m), vec![p("f1", "line1\r\nline2\r\n")]);
    assert_eq!(m.files.len(), 2);
    assert_eq!((lossy(&m.files[0].name), lossy(&m.files[0].filename), m.files[0].size()), ("up".into(), "a.txt".into(), 14));
    assert_eq!(m.file_content(body.as_bytes(), &m.files[0]), b"filedata\r\nmore");
    assert_eq!((lossy(&m.files[1].name), lossy(&m.files[1].filename), m.files[1].size()), ("up2".into(), "b.txt".into(), 3));
    assert_eq!(m.files_combined_size(), 17);
    assert_eq!(strs(&m.names), ["f1", "up", "up2"]);
    assert_eq!(strs(&m.filenames), ["a.txt", "b.txt"]);
    // 3.0.9 kept "\r\n" and lost each part's last header (922110's bug).
    assert_eq!(
        headers(&m),
        vec![
            p("f1", "Content-Disposition: form-data; name=\"f1\""),
            p("f1", "Content-Type: text/plain; charset=utf-8"),
            p("up", "Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\""),
            p("up", "Content-Type: text/plain"),
            p("up2", "Content-Disposition: form-data; name=\"up2\"; filename=\"b.txt\""),
        ]
    );
    assert_eq!(m.flags, Flags { crlf_line: true, unmatched_boundary: 2, ..Flags::default() });
    assert!(!m.strict_error());
}

#[test]
fn line_ending_flags() {
    let m = mp("--b\nContent-Disposition: form-data; name=\"a\"\n\nv1\n--b--\n", CT);
    assert_eq!(args(&m), vec![p("a", "v1")]);
    assert!(m.flags.lf_line && !m.flags.crlf_lf_lines() && m.strict_error());
    assert_eq!(headers(&m), vec![p("a", "Content-Disposition: form-data; name=\"a\"")]);

    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"\n\r\nv1\r\n--b--\r\n", CT);
    assert_eq!(args(&m), vec![p("a", "v1")]);
    assert!(m.flags.lf_line && m.flags.crlf_lf_lines() && m.strict_error());

    // The line break before a boundary belongs to it and is checked too.
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nz\r;\n--b--\r\n", CT);
    assert_eq!(args(&m), vec![p("a", "z\r;")]);
    assert!(m.flags.lf_line && m.flags.crlf_lf_lines());
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nz\n--b--", CT);
    assert!(m.flags.lf_line && m.error.is_none());
    // Header values lose every trailing CR/LF (3.0.9's chomp), so a stray CR
    // before a fold does not break the header.
    let m = mp("--b\r\nContent-Disposition: form-data;\r\r\n name=\"fold\"\r\n\r\nx\r\n--b--", CT);
    assert_eq!(args(&m), vec![p("fold", "x")]);
    // A final boundary right after the headers cuts the part short.
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--b--", CT);
    assert_eq!(args(&m), vec![p("a", "")]);
    assert!(m.flags.invalid_part);
    // Line endings inside data do not count.
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\ry\r\n\r\n\r\nz\n\r\n--b--\r\n", CT);
    assert!(!m.flags.lf_line);
    // 3.0.9: "x\ryz".
    assert_eq!(args(&m), vec![p("a", "x\ry\r\n\r\n\r\nz\n")]);
}

#[test]
fn data_before_and_after() {
    let m = mp("junk\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n--b--\r\n", CT);
    assert!(m.flags.data_before && m.strict_error() && m.error.is_none());
    assert_eq!(args(&m), vec![p("a", "v1")]);
    for tail in ["extra", "\r\n", "--b--\r\n"] {
        let m = mp(&format!("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n--b--\r\n{tail}"), CT);
        assert!(m.flags.data_after && m.strict_error() && m.error.is_none(), "{tail:?}");
        assert_eq!(args(&m), vec![p("a", "v1")]);
    }
}

#[test]
fn header_folding() {
    let m = mp(
        "--b\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\nContent-Type: text/plain;\r\n\tcharset=utf-7\r\n\r\nv1\r\n--b--\r\n",
        CT,
    );
    assert_eq!(m.error, None);
    assert!(m.flags.header_folding && !m.flags.invalid_header_folding && m.strict_error());
    assert_eq!(args(&m), vec![p("a", "v1")]);
    assert_eq!(
        headers(&m),
        vec![
            p("a", "Content-Disposition: form-data; name=\"a\""),
            p("a", "Content-Type: text/plain; charset=utf-7")
        ]
    );

    let m = mp("--b\r\nContent-Disposition: form-data;\r\n\x0b name=\"a\"\r\n\r\nv1\r\n--b--\r\n", CT);
    assert!(m.flags.header_folding && m.flags.invalid_header_folding);
    assert_eq!(args(&m), vec![p("a", "v1")]);

    let m = mp("--b\r\n folded: x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n--b--\r\n", CT);
    assert_error(&m, "Invalid part header (folding error)");
    assert!(m.flags.header_folding);
}

#[test]
fn content_type_boundary_forms() {
    let body = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n--b--\r\n";
    let ok = |ct: &str| {
        let m = mp(body, ct);
        assert_eq!(m.error, None, "{ct}");
        assert_eq!(args(&m), vec![p("a", "v1")], "{ct}");
        m.flags
    };
    assert!(ok("multipart/form-data boundary=b").missing_semicolon);
    assert!(ok("multipart/form-data; boundary=\"b\"").boundary_quoted);
    assert_eq!(ok("multipart/form-data;boundary=b"), Flags { crlf_line: true, unmatched_boundary: 2, ..Flags::default() });
    assert_eq!(ok("Multipart/Form-Data; boundary=b").unmatched_boundary, 2);
    // A charset after the boundary is tolerated.
    assert!(!ok("multipart/form-data; boundary=b; charset=utf-8").missing_semicolon);

    // Whitespace around '=' is flagged and the space stays in the boundary,
    // which then never matches.
    let m = mp(body, "multipart/form-data; boundary = b");
    assert!(m.flags.boundary_whitespace && m.flags.data_before);
    assert_error(&m, "No boundaries found in payload.");

    let cases = [
        ("", "Content-Type header not available."),
        ("multipart/mixed; boundary=b", "Invalid MIME type."),
        ("multipart/form-data; BOUNDARY=b", "Invalid boundary in C-T (case sensitivity)."),
        ("multipart/form-data", "Boundary not found in C-T."),
        ("multipart/form-data; boundary=b; boundary=c", "Multiple boundary parameters in C-T."),
        ("multipart/form-data; charset=utf-8; boundary=b", "Invalid boundary in C-T (malformed)."),
        ("multipart/form-data; boundary", "Invalid boundary in C-T (malformed)."),
        ("multipart/form-data; boundaryx=b", "Invalid boundary in C-T (parameter name)."),
        ("multipart/form-data; boundary=b{", "Invalid boundary in C-T (characters)."),
        ("multipart/form-data; boundary=\tb", "Invalid boundary in C-T (characters)."),
        ("multipart/form-data; boundary=b ", "Invalid boundary in C-T (characters)."),
        ("multipart/form-data; boundary=\"b", "Invalid boundary in C-T (quote)."),
        ("multipart/form-data; boundary=b\"", "Invalid boundary in C-T (quote)."),
        ("multipart/form-data; boundary=\"", "Invalid boundary in C-T (quote)."),
        // 3.0.9 did nothing at all for these two.
        ("multipart/form-data; boundary=\"\"", "Invalid boundary in C-T (empty)."),
        ("multipart/form-data; boundary=", "Invalid boundary in C-T (empty)."),
        ("multipart/form-data; boundary=xboundary=", "Multiple boundary parameters in C-T."),
    ];
    for (ct, want) in cases {
        let m = mp(body, ct);
        assert_error(&m, want);
        assert!(m.args.is_empty() && m.strict_error(), "{ct}");
    }
    let long = format!("multipart/form-data; boundary={}", "x".repeat(1000));
    assert_error(&mp(body, &long), "(length)");
}

#[test]
fn quoting() {
    let m = mp("--b\r\nContent-Disposition: form-data; name='a'\r\n\r\nv1\r\n--b--\r\n", CT);
    assert!(m.flags.invalid_quoting && m.error.is_none());
    assert_eq!(args(&m), vec![p("a", "v1")]);

    // A single quote inside double quotes is fine; in a bare token it is not.
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a'b\"; filename=x'y\r\n\r\nv1\r\n--b--\r\n", CT);
    assert!(m.flags.invalid_quoting && m.error.is_none());
    assert_eq!((lossy(&m.files[0].name), lossy(&m.files[0].filename)), ("a'b".into(), "x'y".into()));

    let m = mp(
        "--b\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\c\\d\"; filename=\"C:\\\\x\\y.txt\"\r\n\r\nv1\r\n--b--\r\n",
        CT,
    );
    assert_eq!(m.error, None);
    assert_eq!((lossy(&m.files[0].name), lossy(&m.files[0].filename)), ("a\"b\\c\\d".into(), "C:\\x\\y.txt".into()));
    assert_eq!(m.files[0].size(), 2);

    let m = mp("--b\r\nContent-Disposition: form-data; name=abc; filename=x.php\r\n\r\nv1\r\n--b--\r\n", CT);
    assert_eq!((lossy(&m.files[0].name), lossy(&m.files[0].filename)), ("abc".into(), "x.php".into()));

    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"x\r\n\r\nv\r\n--b--\r\n", CT);
    assert!(m.flags.invalid_quoting);
    assert_error(&m, "Invalid Content-Disposition header (-12)");
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"\rX\r\n\r\nv1\r\n--b--\r\n", CT);
    assert!(m.flags.invalid_quoting);
    assert_error(&m, "(-12)");
}

#[test]
fn content_disposition_errors() {
    let cases = [
        ("Content-Disposition: form-data\r\n", "Content-Disposition header missing name field"),
        ("Content-Disposition: form-data; filename=\"x\"\r\n", "Content-Disposition header missing name field"),
        ("Content-Disposition: attachment; name=\"a\"\r\n", "Invalid Content-Disposition header (-1)"),
        ("Content-Disposition: form-data name=\"a\"\r\n", "(-2)"),
        ("Content-Disposition: form-data; \r\n", "(-3)"),
        ("Content-Disposition: form-data; name\r\n", "(-4)"),
        ("Content-Disposition: form-data; name x\r\n", "(-13)"),
        ("Content-Disposition: form-data; name=\"a\"; foo=\"x\"\r\n", "(-11)"),
        ("Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n", "(-14)"),
        ("Content-Disposition: form-data; name=\"a\"; filename=\"x\"; filename=\"y\"\r\n", "(-15)"),
        ("Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''y.php\r\n", "(-21)"),
        ("Content-Disposition: form-data; name=\"a\"; filename*=''y\r\n", "(-16)"),
        ("Content-Disposition: form-data; name=\"a\"; filename*=UTF-8'y\r\n", "(-17)"),
        ("Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''y%zz\r\n", "(-18)"),
        ("Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''y\"\r\n", "(-19)"),
        ("Content-Disposition: form-data; name=\"a\"; filename =\"x\"\r\n", "Invalid Content-Disposition header (filename)"),
        ("Content-Disposition: form-data; name=\"a\"; filename=\"x.ph\r\n", "(-7)"),
        ("Content-Type: text/plain\r\n", "Part missing Content-Disposition header"),
        ("Content-Disposition: form-data; name=\"a\"\r\nbogus\r\n", "Invalid part header (colon missing): bogus"),
        ("Content-Disposition: form-data; name=\"a\"\r\n: x\r\n", "Invalid part header (header name missing)"),
        ("Content-Disposition: form-data; name=\"a\"\r\nX: a\0b\r\n", "Nul byte in part headers"),
        // 3.0.9 ignored the second header silently.
        (
            "Content-Disposition: form-data; name=\"a\"\r\ncontent-disposition: form-data; name=\"b\"\r\n",
            "Duplicate part header: content-disposition",
        ),
    ];
    for (hdrs, want) in cases {
        let m = mp(&format!("--b\r\n{hdrs}\r\nv1\r\n--b--\r\n"), CT);
        assert_error(&m, want);
        assert!(m.args.is_empty() && m.strict_error(), "{hdrs}");
        assert!(error(&m).contains("(at byte "), "{}", error(&m));
    }
    // MULTIPART_NAME / MULTIPART_FILENAME record what was seen even so.
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\nv1\r\n--b--\r\n", CT);
    assert_eq!(strs(&m.names), ["a", "b"]);
    let m = mp("--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nv1\r\n--b--\r\n", CT);
    assert_eq!(strs(&m.filenames), ["x"]);
}

#[test]
fn content_disposition_accepted_forms() {
    let one = |cd: &str| {
        let m = mp(&format!("--b\r\n{cd}\r\n\r\nv\r\n--b--\r\n"), CT);
        assert_eq!(m.error, None, "{cd}");
        m
    };
    let m = one("content-disposition: form-data; name=\"a\"");
    assert_eq!(headers(&m), vec![p("a", "content-disposition: form-data; name=\"a\"")]);
    let m = one("Content-Disposition:form-data;name=\"a\"\r\nX-Y :  z ");
    assert_eq!(
        headers(&m),
        vec![p("a", "Content-Disposition:form-data;name=\"a\""), p("a", "X-Y :  z ")]
    );
    one("Content-Disposition: form-data; name=\"a\";");
    let m = one("Content-Disposition: form-data; name=\"a\"  ");
    assert_eq!(headers(&m), vec![p("a", "Content-Disposition: form-data; name=\"a\"  ")]);
    let m = one("Content-Disposition: form-data; name=\"a\"; filename=\"x.txt\"; filename*=UTF-8''y%20z.php");
    assert_eq!((lossy(&m.files[0].filename), m.files[0].size()), ("x.txt".into(), 1));
    // An empty filename is not a file.
    let m = one("Content-Disposition: form-data; name=\"a\"; filename=\"\"");
    assert_eq!(args(&m), vec![p("a", "v")]);
    assert!(m.files.is_empty());
    assert_eq!(strs(&m.filenames), [""]);
}

#[test]
fn boundary_lines() {
    let part = "Content-Disposition: form-data; name=\"a\"\r\n\r\nv1";
    let m = mp(&format!("--b\r\n{part}\r\n--b junk\r\n--b--\r\n"), CT);
    assert_error(&m, "Invalid boundary: --b junk");
    let m = mp(&format!("--b\r\n{part}\r\n--\"b\"\r\n--b--\r\n"), "multipart/form-data; boundary=\"b\"");
    assert_error(&m, "Invalid boundary (quotes)");
    let m = mp(&format!("--b\r\n{part}\r\n-- b\r\n--b--\r\n"), CT);
    assert_error(&m, "Invalid boundary (whitespace)");
    let m = mp("--b \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n--b--\r\n", CT);
    assert_error(&m, "Invalid boundary: --b ");

    // Something like our boundary inside data.
    let m = mp(&format!("--b\r\n{part} --bx\r\n--b--\r\n"), CT);
    assert_eq!(args(&m), vec![p("a", "v1 --bx")]);
    assert_eq!(m.flags.unmatched_boundary, 2); // overwritten by the final boundary
    let m = mp(&format!("--b\r\n{part} --bx\r\n"), CT);
    assert_eq!(m.flags.unmatched_boundary, 1);
    assert_error(&m, "Final boundary missing");
    let m = mp(&format!("--b\r\n{part}\r\n--c\r\n--b--\r\n"), CT);
    assert_eq!(args(&m), vec![p("a", "v1\r\n--c")]);
}

#[test]
fn missing_or_odd_final_boundary() {
    let part = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n";
    let m = mp(part, CT);
    assert_error(&m, "Final boundary missing");
    assert_eq!(strs(&m.names), ["a"]);
    assert!(m.args.is_empty());
    // Without a newline after the final boundary: fine.
    let m = mp(&format!("{part}--b--"), CT);
    assert_eq!(m.error, None);
    assert_eq!(args(&m), vec![p("a", "v1")]);
    assert!(!m.flags.data_after);
    let m = mp(&format!("{part}--b-"), CT);
    assert_error(&m, "Final boundary missing");
    let m = mp("hello world\r\n", CT);
    assert_error(&m, "No boundaries found in payload.");
    assert!(m.flags.data_before);
    assert_error(&mp("no newline at all", CT), "No boundaries found in payload.");
    // An empty body is not processed (as in libmodsecurity).
    let m = mp("", CT);
    assert_eq!(m.error, None);
    assert!(!m.strict_error());
}

#[test]
fn boundary_where_data_should_start() {
    // 3.0.9 raised MULTIPART_INVALID_PART but read the rest as part "a"'s
    // value ("--bContent-Disposition: ...v2"); the parts are what a backend
    // sees: an empty "a" and "c".
    let m = mp(
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nv2\r\n--b--\r\n",
        CT,
    );
    assert_eq!(m.error, None);
    assert!(m.flags.invalid_part && m.strict_error());
    assert_eq!(args(&m), vec![p("a", ""), p("c", "v2")]);

    // A part with no headers at all (3.0.9: colon-missing error).
    let m = mp("--b\r\n--b\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nv2\r\n--b--\r\n", CT);
    assert_eq!(m.error, None);
    assert!(m.flags.invalid_part);
    assert_eq!(args(&m), vec![p("c", "v2")]);

    // An empty value written properly is not invalid.
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--b--\r\n", CT);
    assert_eq!(args(&m), vec![p("a", "")]);
    assert!(!m.flags.invalid_part && !m.strict_error());
}

#[test]
fn repeated_names_and_sizes() {
    let m = mp(
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv1\r\n\
         --b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv2\r\n\
         --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\nF1\r\n\
         --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"y\"\r\n\r\nF22\r\n--b--\r\n",
        CT,
    );
    assert_eq!(args(&m), vec![p("a", "v1"), p("a", "v2")]);
    let files: Vec<_> = m.files.iter().map(|f| (lossy(&f.name), lossy(&f.filename), f.size())).collect();
    assert_eq!(files, vec![("f".into(), "x".into(), 2), ("f".into(), "y".into(), 3)]);
    assert_eq!(m.files_combined_size(), 5);
    assert_eq!(strs(&m.names), ["a", "a", "f", "f"]);
    assert_eq!(strs(&m.filenames), ["x", "y"]);
    assert_eq!(headers(&m).len(), 4);
}

#[test]
fn crs_922_cases() {
    // 922110 test 1: the charset is in the part's last header.
    let m = mp(
        "------WebKitFormBoundary\nContent-Disposition: form-data; name=\"username\"\nContent-Type: text/plain; charset=utf-7\n\n\
         +ADw-img+ACA-src+AD0-x+AD4-\n------WebKitFormBoundary--\n",
        "multipart/form-data; boundary=----WebKitFormBoundary",
    );
    assert_eq!(m.error, None);
    assert_eq!(args(&m), vec![p("username", "+ADw-img+ACA-src+AD0-x+AD4-")]);
    assert!(headers(&m).contains(&p("username", "Content-Type: text/plain; charset=utf-7")));
    // 922100: a part named _charset_.
    let m = mp("--b\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\nutf-7\r\n--b--\r\n", CT);
    assert_eq!(headers(&m), vec![p("_charset_", "Content-Disposition: form-data; name=\"_charset_\"")]);
    // 922130 test 1: a control character before a header name is kept for the
    // rule to find; it is not a parsing error (3.0.9 did the same).
    let m = mp(
        "--boundary\r\n\x0eContent-Disposition: form-data; name=\"file\"; filename=\"1.php\"\r\n\
         Content-Disposition: form-data; name=\"post\"\r\n\r\n<?php var_dump(file_get_contents(\"/etc/passwd\"));\r\n--boundary--",
        "multipart/form-data; boundary=boundary",
    );
    assert_eq!(m.error, None);
    assert_eq!(headers(&m)[0], p("post", "\x0eContent-Disposition: form-data; name=\"file\"; filename=\"1.php\""));
    assert_eq!(args(&m), vec![p("post", "<?php var_dump(file_get_contents(\"/etc/passwd\"));")]);
    // 922120: Content-Transfer-Encoding shows up in the part headers.
    let m = mp(
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: base64\r\n\r\nYQ==\r\n--b--\r\n",
        CT,
    );
    assert_eq!(headers(&m)[1], p("a", "Content-Transfer-Encoding: base64"));
}

#[test]
fn limits() {
    let part = |i: usize| format!("--b\r\nContent-Disposition: form-data; name=\"a{i}\"\r\n\r\nv\r\n");
    let body: String = (0..5).map(part).collect::<String>() + "--b--\r\n";
    let lim = Limits { multipart_max_parts: 4, ..Limits::default() };
    let m = parse(body.as_bytes(), CT.as_bytes(), &lim);
    assert_error(&m, "Too many parts, the limit is 4");
    assert_eq!(m.args.len(), 4);
    let lim = Limits { max_args: 3, ..Limits::default() };
    let m = parse(body.as_bytes(), CT.as_bytes(), &lim);
    assert_error(&m, "argument limit of 3 exceeded");
    assert_eq!(m.args.len(), 3);
    assert!(parse(body.as_bytes(), CT.as_bytes(), &Limits::default()).error.is_none());

    let file = |i: usize| format!("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{i}\"\r\n\r\nv\r\n");
    let body: String = (0..3).map(file).collect::<String>() + "--b--\r\n";
    let lim = Limits { multipart_max_files: 2, ..Limits::default() };
    let m = parse(body.as_bytes(), CT.as_bytes(), &lim);
    assert!(m.flags.file_limit_exceeded && m.strict_error() && m.error.is_none());
    assert_eq!(m.files.len(), 3);

    // Header lines must stay under the line buffer size.
    let long = "x".repeat(4091); // "X: " + 4091 + CRLF = 4096 bytes
    let m = mp(&format!("--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX: {long}\r\n\r\nv\r\n--b--\r\n"), CT);
    assert_error(&m, "Part header line over 4096 bytes long");
    let ok = "x".repeat(4090);
    let m = mp(&format!("--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX: {ok}\r\n\r\nv\r\n--b--\r\n"), CT);
    assert_eq!(m.error, None);
    let ok = "x".repeat(4000);
    let fold = format!("Content-Disposition: form-data; name=\"a\"\r\nX: {ok}\r\n {ok}\r\n");
    assert_error(&mp(&format!("--b\r\n{fold}\r\nv\r\n--b--\r\n"), CT), "Part header too long");
    // Long data lines are fine.
    let data = "d".repeat(100_000);
    let m = mp(&format!("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{data}\r\n--b--\r\n"), CT);
    assert_eq!(m.args[0].1.len(), 100_000);
}
