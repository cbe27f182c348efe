//! XML cases. Accept/refuse decisions and the `XML:/*` / `XML://@*` values
//! are what libmodsecurity 3.0.9 (libxml2 2.9.14) produced for the same
//! bodies, except where a comment says otherwise.

use super::*;

fn doc(src: &str) -> XmlDocument {
    match parse(src.as_bytes(), &Limits::default()) {
        Ok(d) => d,
        Err(e) => panic!("{src}: {e}"),
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn root(src: &str) -> String {
    lossy(doc(src).root_content())
}

fn attrs(src: &str) -> Vec<String> {
    doc(src).attribute_values().map(lossy).collect()
}

#[track_caller]
fn refused(src: &[u8]) -> String {
    match parse(src, &Limits::default()) {
        Ok(d) => panic!("{} accepted: {:?}", String::from_utf8_lossy(src), lossy(d.root_content())),
        Err(e) => {
            assert!(e.starts_with("XML parsing error: XML: Failed parsing document: "), "{e}");
            assert!(e.contains("(at byte "), "{e}");
            e
        }
    }
}

#[test]
fn collection_values() {
    let src = "<?xml version=\"1.0\"?><xml a=\"1\" b=\"two\"><l1 c=\"&amp;3\">text1<l2>  inner </l2>tail\
               <![CDATA[<cd>]]><!-- comment --><?pi x?></l1>&lt;&#65;</xml>";
    assert_eq!(root(src), "text1  inner tail<cd><A");
    assert_eq!(attrs(src), ["1", "two", "&3"]);
    let d = doc(src);
    let names: Vec<_> = d.elements.iter().map(|e| lossy(&e.name)).collect();
    assert_eq!(names, ["xml", "l1", "l2"]);
    assert_eq!(lossy(d.content(1)), "text1  inner tail<cd>");
    assert_eq!(lossy(d.content(2)), "  inner ");
    assert_eq!(lossy(&d.own_text(1)), "text1tail<cd>");
    assert_eq!(lossy(&d.own_text(0)), "<A");
    assert_eq!(d.elements[2].parent, Some(1));
    assert_eq!(d.elements[2].depth, 3);
    assert_eq!(d.attributes[2].element, 1);
    assert_eq!(lossy(&d.attributes[2].name), "c");
}

#[test]
fn crs_944120_bodies() {
    let src = "<?xml version=\"1.0\"?><xml><element attribute_name=\"ProcessBuilder.evil.clonetransformer\">element_value</element></xml>";
    assert_eq!(root(src), "element_value");
    assert_eq!(attrs(src), ["ProcessBuilder.evil.clonetransformer"]);
    let src = "<?xml version=\"1.0\"?><xml><l1><l2><l3><element attribute_name=\"attribute_value\">ProcessBuilder.evil.forclosure</element></l3></l2></l1></xml>";
    assert_eq!(root(src), "ProcessBuilder.evil.forclosure");
    // Element and attribute names are not values.
    let src = "<?xml version=\"1.0\"?><xml><element ProcessBuilder.evil.x=\"attribute_value\">element_value</element></xml>";
    assert_eq!(root(src), "element_value");
    assert_eq!(attrs(src), ["attribute_value"]);
}

#[test]
fn whitespace_and_namespaces() {
    let src = "<a xmlns=\"urn:x\" xmlns:p=\"urn:p\" p:q=\"1\">\n <b>x</b>\n</a>";
    assert_eq!(root(src), "\n x\n");
    assert_eq!(attrs(src), ["1"]);
    assert_eq!(attrs("<a b=\"x\ty\nz  w&#10;\">1</a>"), ["x y z  w\n"]);
    assert_eq!(attrs("<a b=\"x\r\ny\">1</a>"), ["x y"]);
    assert_eq!(root("<a>x\r\ny\rz</a>"), "x\ny\nz");
    assert_eq!(root("<a>&#13;</a>"), "\r");
    assert_eq!(root("<a/><!--c-->  "), "");
    assert_eq!(root("<p:a></p:a>"), "");
    assert_eq!(root("<a:b:c/>"), "");
    assert_eq!(root("<a xmlns:p=\"\"><p:b/></a>"), "");
    assert_eq!(root("<a>x</a >"), "x");
    assert_eq!(root("<a >x</a>"), "x");
    assert_eq!(attrs("<a x = \"1\"/>"), ["1"]);
    assert_eq!(attrs("<a x=\"1\" y=\"&#x3c;\"/>"), ["1", "<"]);
    assert_eq!(attrs("<a x='&lt;&quot;'/>"), ["<\""]);
    assert_eq!(root("<a>&amp;lt;&quot;&apos;&gt;</a>"), "&lt;\"'>");
    assert_eq!(root("<a>&#x1F600;</a>"), "\u{1F600}");
    assert_eq!(root("<a><?xml-foo x?>t</a>"), "t");
    assert_eq!(root("<a><!-- a- --></a>"), "");
    assert_eq!(root("\u{feff}<a>bom</a>"), "bom");
}

#[test]
fn dtd_and_entities() {
    assert_eq!(root("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e \"EXP\">]><a x=\"&e;\">&e;</a>"), "EXP");
    assert_eq!(attrs("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e \"EXP\">]><a x=\"&e;\">&e;</a>"), ["EXP"]);
    // Entity text is markup.
    assert_eq!(root("<!DOCTYPE a [<!ENTITY e \"<b>in</b>\">]><a>&e;</a>"), "in");
    assert_eq!(doc("<!DOCTYPE a [<!ENTITY e \"<b>in</b>\">]><a>&e;</a>").elements.len(), 2);
    // Attributes of elements from entity text are not in XML://@* (3.0.9).
    let src = "<!DOCTYPE a [<!ENTITY e \"EXP\"><!ENTITY f \"<b x='1'>&e;</b>\">]><a y=\"&e;\">&f;z</a>";
    assert_eq!(root(src), "EXPz");
    assert_eq!(attrs(src), ["EXP"]);
    let d = doc(src);
    assert!(d.elements[1].from_entity && d.attributes[1].from_entity);
    assert_eq!(d.select("//b").unwrap().len(), 0);
    assert_eq!(root("<!DOCTYPE a [<!ENTITY e \"&f;\"><!ENTITY f \"F\">]><a>&e;</a>"), "F");
    // Declared through a parameter entity.
    assert_eq!(root("<!DOCTYPE a [<!ENTITY % p \"<!ENTITY e &#39;PE-ATTACK&#39;>\"> %p;]><a>&e;</a>"), "PE-ATTACK");
    // External entities are not loaded.
    assert_eq!(root("<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/hostname\">]><a>&e;</a>"), "");
    assert_eq!(root("<!DOCTYPE a SYSTEM \"http://127.0.0.1:1/x.dtd\"><a>z</a>"), "z");
    assert_eq!(root("<!DOCTYPE a PUBLIC \"-//X//Y\" \"x.dtd\"><a>z</a>"), "z");
    // With an external subset, an undeclared entity is not fatal.
    assert_eq!(root("<!DOCTYPE a SYSTEM \"x.dtd\"><a>&foo;z</a>"), "z");
    // Parameter entities, declarations and defaults that add nothing.
    assert_eq!(root("<!DOCTYPE a [<!ENTITY % p \"x\">]><a>y</a>"), "y");
    assert_eq!(attrs("<!DOCTYPE a [<!ATTLIST a d CDATA \"def\">]><a>y</a>"), Vec::<String>::new());
    assert_eq!(
        root("<!DOCTYPE a [<!ELEMENT a (#PCDATA)><!ATTLIST a x CDATA #IMPLIED><!NOTATION n SYSTEM \"x\">]><a>q</a>"),
        "q"
    );
    assert_eq!(root("<!DOCTYPE a [<!ENTITY e \"1\"><!ENTITY e \"2\">]><a>&e;</a>"), "1");
    assert_eq!(root("<!DOCTYPE a><a/>"), "");
    assert_eq!(root("<!DOCTYPE a [ ]><a/>"), "");
    assert_eq!(root("<!DOCTYPE a [<!-- c --><?p x?>]><a>1</a>"), "1");
}

#[test]
fn dtd_declaration_syntax() {
    // Accepted and refused by libxml2 2.9.14 through 3.0.9.
    let ok = [
        "<!DOCTYPE r [<!ELEMENT r (a|b)*><!ELEMENT a (#PCDATA|b)*><!ELEMENT b EMPTY><!ELEMENT c (a,(b|c)+)?>]><r/>",
        "<!DOCTYPE r [<!ATTLIST r a CDATA #FIXED \"x\" b (x|y) \"x\" c NOTATION (n) #IMPLIED d NMTOKENS #REQUIRED>]><r/>",
        "<!DOCTYPE r [<!ATTLIST r>]><r/>",
        "<!DOCTYPE r [<!NOTATION n PUBLIC \"p\">]><r/>",
        "<!DOCTYPE r [<!ELEMENT r ANY >]><r/>",
        "<!DOCTYPE r SYSTEM \"x.dtd\" [<!ENTITY ent \"v&am;\">]><r a=\"&ent;\">z</r>",
        "<!DOCTYPE r [<!ENTITY ent \"v&am;\">]><r>z</r>",
    ];
    for src in ok {
        doc(src);
    }
    let bad = [
        "<!DOCTYPE r [<!ELEMENT r (a|b,c)>]><r/>",
        "<!DOCTYPE r [<!ELEMENT r (#PCDATA|b)>]><r/>",
        "<!DOCTYPE r [<!ELEMENT r(#PCDATA)>]><r/>",
        "<!DOCTYPE r [<!ELEMENT r ANYT r ANY>]><r/>",
        "<!DOCTYPE r [<!ATTLIST r a CDATA>]><r/>",
        "<!DOCTYPE r [<!ATTLIST r id ID #\tIMPLIED>]><r/>",
        "<!DOCTYPE r [<!ATTLIST r a CDATA \"<\">]><r/>",
        "<!DOCTYPE r [<!NOTATION n SYSTEM>]><r/>",
        "<!DOCTYPE r [<!NOTATION n PUBLIC [\"p\">]><r/>",
        // Undeclared entities inside entity text fail even with an external
        // subset; an undeclared parameter entity fails without one.
        "<!DOCTYPE r SYSTEM \"x.dtd\" [<!ENTITY ent \"v&am;\">]><r>&ent;</r>",
        "<!DOCTYPE r [<!ENTITY % p \"x\"><!ENTITY ent \"v&am;\">]><r>&ent;</r>",
        "<!DOCTYPE r [<!ENTITY ent \"v&am;\">]><r a=\"&ent;\">z</r>",
        "<!DOCTYPE r [%e;]><r/>",
    ];
    for src in bad {
        refused(src.as_bytes());
    }
}

#[test]
fn declarations_and_encodings() {
    assert_eq!(root("<?xml version=\"1.1\"?><a>x</a>"), "x");
    assert_eq!(root("<?xml version='1.0' encoding='UTF-8' standalone='yes'?><a>x</a>"), "x");
    assert_eq!(root("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>é</a>"), "Ã©");
    let utf16: Vec<u8> = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-16\"?><a b=\"ü\">ß</a>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let d = parse(&utf16, &Limits::default()).unwrap();
    assert_eq!(lossy(d.root_content()), "ß");
    assert_eq!(d.attribute_values().map(lossy).collect::<Vec<_>>(), ["ü"]);
}

#[test]
fn malformed_documents() {
    let cases: &[(&[u8], &str)] = &[
        (b"<a><b></a>", "Opening and ending tag mismatch: b and a"),
        (b"<a></a><b></b>", "Extra content at the end of the document"),
        (b"<a>&foo;</a>", "Entity 'foo' not defined"),
        (b"<a x=1></a>", "AttValue"),
        (b"<a x=\"1\" x=\"2\"></a>", "Attribute x redefined"),
        (b"<a x=\"<\"></a>", "Unescaped '<'"),
        (b"<a>&</a>", "xmlParseEntityRef: no name"),
        (b"", "Document is empty"),
        (b"   ", "Start tag expected"),
        (b"text", "Start tag expected"),
        (b"<a>", "Premature end of data"),
        (b"<a/>junk", "Extra content at the end of the document"),
        (b"<a>&#0;</a>", "invalid xmlChar value 0"),
        (b"<a>&#xD800;</a>", "invalid xmlChar value"),
        (b"<a>&#x1;</a>", "invalid xmlChar value 1"),
        (b"<a>&#65</a>", "CharRef"),
        (b"<a>]]></a>", "Sequence ']]>' not allowed in content"),
        (b"<1a></1a>", "StartTag: invalid element name"),
        (b"<a b=\"1\"c=\"2\"/>", "attributes construct error"),
        (b" <?xml version=\"1.0\"?><a/>", "XML declaration allowed only at the start"),
        (b"<?xml version=\"2.0\"?><a>x</a>", "Unsupported version"),
        (b"<?xml encoding=\"UTF-8\"?><a>x</a>", "expecting version"),
        (b"<?xml version=\"1.0\" standalone=\"yes\" encoding=\"UTF-8\"?><a>x</a>", "unexpected encoding"),
        (b"<?XML version=\"1.0\"?><a>x</a>", "XML declaration allowed only at the start"),
        (b"<a><?xml x?></a>", "XML declaration allowed only at the start"),
        (b"<a><!-- a--b --></a>", "Double hyphen within comment"),
        (b"<a><!-- x -></a>", "Comment not terminated"),
        (b"<!DOCTYPE a [<!ENTITY e \"<\">]><a x=\"&e;\"/>", "not allowed in attributes values"),
        (b"<!DOCTYPE a [<!ENTITY e \"a<b\">]><a>&e;</a>", "Couldn't find end of Start Tag"),
        (b"<!DOCTYPE a [<!ENTITY e \"<b>\">]><a>&e;</b></a>", "chunk is not well balanced"),
        (b"<!DOCTYPE a [<!ENTITY e \"&e;\">]><a>&e;</a>", "entity reference loop"),
        (b"<!DOCTYPE a [<!ENTITY e SYSTEM \"x\" NDATA n>]><a>&e;</a>", "unparsed entity"),
        (b"<!DOCTYPE a [<!ENTITY e SYSTEM \"x\">]><a x=\"&e;\"/>", "external entity"),
        (b"<?xml version=\"1.0\" standalone=\"yes\"?><!DOCTYPE a SYSTEM \"x.dtd\"><a>&foo;</a>", "not defined"),
        (b"<!DOCTYPE a [<!ENTITY % p \"x\"> %p; ]><a>&und;y</a>", "Markup declaration"),
        (b"<!DOCTYPE a [<!ENTITY e \"%p;\">]><a/>", "PEReferences forbidden"),
        (b"<!DOCTYPE a [<!FOO>]><a/>", "Markup declaration"),
        (b"<a/ >", "Couldn't find end of Start Tag"),
        (b"<a>\x01</a>", "Char 0x1 out of allowed range"),
        (b"<a>\xff</a>", "not proper UTF-8"),
        (b"<a>\xef\xbf\xbe</a>", "Char 0xFFFE out of allowed range"),
        (b"<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?><a>x</a>", "Unsupported encoding"),
        (b"<a><![CDATA[x</a>", "CData section not finished"),
        (b"<a><!x></a>", "StartTag: invalid element name"),
        (b"</a>", "StartTag: invalid element name"),
        (b"<!DOCTYPE a><!DOCTYPE a><a/>", "Extra content"),
        (b"<!DOCTYPE a [<!ENTITY e \"x\">", "Markup declaration"),
        (b"<a b=\"1/>", "AttValue"),
        (b"<a>x</b>", "tag mismatch"),
    ];
    for (src, want) in cases {
        let e = refused(src);
        assert!(e.contains(want), "{:?}: {e}", String::from_utf8_lossy(src));
    }
}

#[test]
fn error_positions() {
    let e = refused(b"<a>\n<b>\n</c></a>");
    assert!(e.ends_with("(at byte 8, line 3)"), "{e}");
    // Errors inside entity text point at the reference.
    let e = refused(b"<!DOCTYPE a [<!ENTITY e \"<b>\">]><a>&e;</a>");
    assert!(e.contains("(at byte 35, line 1)"), "{e}");
}

#[test]
fn depth_limit() {
    // libxml2 as used by 3.0.9: 257 nested elements pass, 258 fail.
    let nest = |n: usize| format!("{}x{}", "<a>".repeat(n), "</a>".repeat(n));
    assert_eq!(root(&nest(257)), "x");
    assert!(refused(nest(258).as_bytes()).contains("Excessive depth in document"));
    // Very deep input fails fast, without recursion.
    assert!(refused("<a>".repeat(200_000).as_bytes()).contains("Excessive depth"));
}

#[test]
fn entity_expansion_is_bounded() {
    let mut dtd = String::from("<!DOCTYPE a [<!ENTITY e0 \"xxxxxxxxxx\">");
    for i in 1..10 {
        let prev = format!("&e{};", i - 1);
        dtd.push_str(&format!("<!ENTITY e{i} \"{}\">", prev.repeat(10)));
    }
    dtd.push_str("]><a>&e9;</a>");
    assert!(refused(dtd.as_bytes()).contains("entity expansion limit"));
    let small = Limits { xml_max_entity_expansion: 10, ..Limits::default() };
    let src = "<!DOCTYPE a [<!ENTITY e \"0123456789\">]><a>&e;&e;</a>";
    assert!(parse(src.as_bytes(), &small).unwrap_err().contains("entity expansion limit of 10 bytes"));
    // Deep entity chains stop at the nesting limit.
    let mut chain = String::from("<!DOCTYPE a [<!ENTITY e0 \"x\">");
    for i in 1..60 {
        chain.push_str(&format!("<!ENTITY e{i} \"&e{};\">", i - 1));
    }
    chain.push_str("]><a>&e59;</a>");
    assert!(refused(chain.as_bytes()).contains("Maximum entity nesting depth exceeded"));
}

#[test]
fn xpath_subset() {
    let d = doc("<r id=\"1\"><a x=\"ax\">A<b y=\"by\">B</b></a><c>C<a>A2</a></c></r>");
    let sel = |x: &str| d.select(x).map(|v| v.into_iter().map(|c| lossy(&c)).collect::<Vec<_>>());
    assert_eq!(sel("/*").unwrap(), ["ABCA2"]);
    assert_eq!(sel("/").unwrap(), ["ABCA2"]);
    assert_eq!(sel("//@*").unwrap(), ["1", "ax", "by"]);
    assert_eq!(sel("//a").unwrap(), ["AB", "A2"]);
    assert_eq!(sel("/r/a").unwrap(), ["AB"]);
    assert_eq!(sel("/r/*").unwrap(), ["AB", "CA2"]);
    assert_eq!(sel("//*").unwrap(), ["ABCA2", "AB", "B", "CA2", "A2"]);
    assert_eq!(sel("//a/@x").unwrap(), ["ax"]);
    assert_eq!(sel("/r/@*").unwrap(), ["1"]);
    assert_eq!(sel("/r/a//@*").unwrap(), ["ax", "by"]);
    assert_eq!(sel("//c//a").unwrap(), ["A2"]);
    assert_eq!(sel("/x").unwrap(), Vec::<String>::new());
    assert!(sel("//a[1]").is_none());
    assert!(sel("count(//a)").is_none());
    assert!(sel("//@x/y").is_none());
}
