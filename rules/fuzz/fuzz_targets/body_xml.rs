//! XML body processor (`palisade_rules::body::xml`) on arbitrary bytes, with
//! the default limits and a tight set; on success, the XPath subset and the
//! content accessors run over every element.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::body::xml;

include!("limits.in");

const XPATHS: &[&str] = &["/*", "/", "//*", "//@*", "//*//*/@*", "/*/*//*", "//a/@id", "/r//b", "//p:b/@*", "/a/b/c/@x", "bogus["];

fuzz_target!(|data: &[u8]| {
    for limits in limit_sets() {
        match xml::parse(data, &limits) {
            Ok(doc) => {
                assert!(!doc.elements.is_empty(), "a well-formed document has a root element");
                assert!(doc.elements.iter().all(|e| e.depth >= 1 && e.depth <= limits.xml_max_depth));
                for (i, e) in doc.elements.iter().enumerate() {
                    if let Some(p) = e.parent {
                        assert!(p < i, "parent after child");
                    }
                    assert!(e.attributes.end <= doc.attributes.len());
                    let _ = doc.content(i);
                    let _ = doc.own_text(i);
                }
                assert!(doc.attributes.iter().all(|a| a.element < doc.elements.len()));
                let _ = doc.root_content();
                let _ = doc.attribute_values().count();
                for xp in XPATHS {
                    let _ = doc.select(xp);
                }
            }
            Err(e) => assert!(e.starts_with("XML parsing error: ") && e.contains("(at byte "), "{e}"),
        }
    }
});
