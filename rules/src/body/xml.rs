//! `text/xml` / `application/xml` bodies: a strict XML 1.0 parser that accepts
//! and refuses what libxml2 2.9 (as libmodsecurity 3.0.9 drives it) accepts
//! and refuses, and keeps what SecLang's `XML` collection needs.
//!
//! What CRS reads, verified against libmodsecurity 3.0.9:
//!
//! - `XML:/*` is **one** value: the text content of the root element, i.e. all
//!   descendant character data in document order (text, CDATA, expanded
//!   entities, character references), with comments and processing
//!   instructions left out and line ends normalised to `\n`
//!   ([`XmlDocument::root_content`]);
//! - `XML://@*` is one value per attribute, in document order, after entity
//!   expansion and attribute-value normalisation (tab, CR, LF become spaces;
//!   `&#10;` stays a newline); namespace declarations (`xmlns`, `xmlns:p`) are
//!   not attributes ([`XmlDocument::attribute_values`]).
//!
//! Like libxml2 (without `XML_PARSE_NOENT` or network access): internal
//! entities declared in the internal DTD subset are expanded, also through
//! parameter entities; external entities are not loaded and contribute
//! nothing; an undeclared entity is fatal unless the DTD has an external subset
//! or parameter-entity references; DTD attribute defaults are not added.
//! Namespaces are not checked (libxml2 reports namespace problems without
//! failing the document).
//!
//! Any well-formedness error fails the whole document (`REQBODY_ERROR`), with a
//! message naming the byte offset and line. Nesting is bounded by
//! [`Limits::xml_max_depth`] and entity expansion by
//! [`Limits::xml_max_entity_expansion`]; element nesting is handled without
//! recursion, entity nesting recurses at most [`MAX_ENTITY_NESTING`] deep.
//!
//! Byte offsets refer to the document as UTF-8 (the same bytes for UTF-8
//! input; a UTF-16 or Latin-1 body is converted first).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use super::Limits;

mod encoding;

/// How deeply entity references may nest inside entity replacement text
/// (libxml2's limit is 40 too).
pub const MAX_ENTITY_NESTING: usize = 40;

/// A parsed, well-formed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlDocument {
    /// All character data inside the root element, in document order.
    text: Vec<u8>,
    /// Elements in document order; `elements[0]` is the root.
    pub elements: Vec<Element>,
    /// Attributes in document order.
    pub attributes: Vec<Attribute>,
}

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The qualified name as written (`p:name`).
    pub name: Vec<u8>,
    /// Index of the parent element (`None` for the root).
    pub parent: Option<usize>,
    /// 1 for the root.
    pub depth: usize,
    /// This element's text content within [`XmlDocument::root_content`].
    content: Range<usize>,
    /// This element's attributes within [`XmlDocument::attributes`].
    pub attributes: Range<usize>,
    /// The element comes from an entity's replacement text. libxml2 keeps such
    /// content under an entity-reference node: its text is part of the
    /// enclosing elements' content, but XPath steps (`//*`, `//@*`) do not
    /// reach it.
    pub from_entity: bool,
}

/// One attribute (namespace declarations excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Index of the element it belongs to.
    pub element: usize,
    /// The qualified name as written.
    pub name: Vec<u8>,
    /// The normalised value.
    pub value: Vec<u8>,
    /// Belongs to an element from an entity's replacement text (not selected
    /// by `XML://@*`, as in libxml2).
    pub from_entity: bool,
}

impl XmlDocument {
    /// The value of `XML:/*`: the root element's text content.
    pub fn root_content(&self) -> &[u8] {
        &self.text
    }

    /// The values of `XML://@*`, in document order (attributes of elements
    /// that come from entity expansion excluded, as libxml2's XPath does).
    pub fn attribute_values(&self) -> impl Iterator<Item = &[u8]> {
        self.attributes.iter().filter(|a| !a.from_entity).map(|a| a.value.as_slice())
    }

    /// An element's text content: all character data of its descendants, as
    /// XPath's string-value (libxml2's `xmlNodeGetContent`).
    pub fn content(&self, element: usize) -> &[u8] {
        self.elements.get(element).and_then(|e| self.text.get(e.content.clone())).unwrap_or_default()
    }

    /// The character data directly inside an element, leaving out what its
    /// child elements hold.
    pub fn own_text(&self, element: usize) -> Vec<u8> {
        let Some(e) = self.elements.get(element) else { return Vec::new() };
        let mut out = Vec::new();
        let mut at = e.content.start;
        for child in self.elements.iter().skip(element + 1).take_while(|c| c.depth > e.depth) {
            if child.parent == Some(element) {
                out.extend_from_slice(self.text.get(at..child.content.start).unwrap_or_default());
                at = child.content.end;
            }
        }
        out.extend_from_slice(self.text.get(at..e.content.end).unwrap_or_default());
        out
    }

    /// Values an XPath expression selects, for the small subset SecLang rules
    /// use: `/*`, `/`, `//*`, `//@*`, and paths of `/` or `//` steps whose
    /// tests are element names or `*`, optionally ending in `@name` or `@*`
    /// (`/a/b`, `//b`, `//a/@id`, `/a//@*`). Element values are text content,
    /// attribute values as stored. Names compare as written (prefix included;
    /// namespaces are not resolved). `None` for anything outside the subset.
    pub fn select(&self, xpath: &str) -> Option<Vec<Cow<'_, [u8]>>> {
        let steps = parse_xpath(xpath)?;
        if steps.is_empty() {
            // "/": the document node, whose string-value is the root's.
            return Some(vec![Cow::Borrowed(self.root_content())]);
        }
        // The current node set, as a flag per element plus one for the
        // document node. Parents precede children in `elements`, so one pass
        // in order can tell whether some ancestor is selected.
        let n = self.elements.len();
        let mut selected = vec![false; n];
        let mut at_document = true;
        let last = steps.len() - 1;
        for (i, step) in steps.iter().enumerate() {
            // under[e]: a proper ancestor of e (or the document) is selected.
            let mut under = vec![false; n];
            for (idx, e) in self.elements.iter().enumerate() {
                under[idx] = match e.parent {
                    None => at_document,
                    Some(p) => selected.get(p).copied().unwrap_or(false) || under.get(p).copied().unwrap_or(false),
                };
            }
            if step.attribute {
                if i != last {
                    return None;
                }
                let out = self
                    .attributes
                    .iter()
                    .filter(|a| !a.from_entity && step.matches(&a.name))
                    .filter(|a| {
                        let own = selected.get(a.element).copied().unwrap_or(false);
                        own || (step.descendant && under.get(a.element).copied().unwrap_or(false))
                    })
                    .map(|a| Cow::Borrowed(a.value.as_slice()))
                    .collect();
                return Some(out);
            }
            let next: Vec<bool> = self
                .elements
                .iter()
                .enumerate()
                .map(|(idx, e)| {
                    let reachable = if step.descendant {
                        under[idx]
                    } else {
                        match e.parent {
                            None => at_document,
                            Some(p) => selected.get(p).copied().unwrap_or(false),
                        }
                    };
                    reachable && !e.from_entity && step.matches(&e.name)
                })
                .collect();
            selected = next;
            at_document = false;
        }
        Some((0..n).filter(|&i| selected[i]).map(|i| Cow::Borrowed(self.content(i))).collect())
    }
}

struct Step {
    descendant: bool,
    attribute: bool,
    /// `None` for `*`.
    name: Option<Vec<u8>>,
}

impl Step {
    fn matches(&self, name: &[u8]) -> bool {
        match &self.name {
            None => true,
            Some(n) => n == name,
        }
    }
}

fn parse_xpath(x: &str) -> Option<Vec<Step>> {
    let x = x.trim();
    if !x.starts_with('/') {
        return None;
    }
    let mut steps = Vec::new();
    let mut rest = x;
    while !rest.is_empty() {
        let descendant = if let Some(r) = rest.strip_prefix("//") {
            rest = r;
            true
        } else if let Some(r) = rest.strip_prefix('/') {
            rest = r;
            false
        } else {
            return None;
        };
        let end = rest.find('/').unwrap_or(rest.len());
        let (test, r) = rest.split_at(end);
        rest = r;
        if test.is_empty() {
            // Only "/" alone is allowed to end without a test.
            if steps.is_empty() && rest.is_empty() && !descendant {
                return Some(steps);
            }
            return None;
        }
        let (attribute, test) = match test.strip_prefix('@') {
            Some(t) => (true, t),
            None => (false, test),
        };
        let name = if test == "*" {
            None
        } else if test.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':')) {
            Some(test.as_bytes().to_vec())
        } else {
            return None;
        };
        steps.push(Step { descendant, attribute, name });
    }
    Some(steps)
}

/// Parses an XML body. The error is the `REQBODY_ERROR_MSG` text:
/// `XML parsing error: XML: Failed parsing document: <what> (at byte N, line L)`.
pub fn parse(body: &[u8], limits: &Limits) -> Result<XmlDocument, String> {
    let fail = |msg: &str, at: usize, src: &[u8]| {
        let line = 1 + src.get(..at).map_or(0, |s| memchr::memchr_iter(b'\n', s).count());
        format!("XML parsing error: XML: Failed parsing document: {msg} (at byte {at}, line {line})")
    };
    let src = encoding::to_utf8(body).map_err(|(msg, at)| fail(&msg, at, body))?;
    let mut p = Parser {
        src: &src,
        limits,
        doc: XmlDocument::default(),
        general: HashMap::new(),
        parameter: HashMap::new(),
        external_subset: false,
        pe_refs: false,
        standalone: false,
        expanded: 0,
        expanding: Vec::new(),
        origin: None,
        open: Vec::new(),
    };
    match p.document() {
        Ok(()) => Ok(p.doc),
        Err((msg, at)) => Err(fail(&msg, at, &src)),
    }
}

type Fail = (String, usize);
type Res<T> = Result<T, Fail>;

enum Entity {
    Internal(Vec<u8>),
    External { unparsed: bool },
}

struct Parser<'a> {
    /// The whole document, UTF-8.
    src: &'a [u8],
    limits: &'a Limits,
    doc: XmlDocument,
    general: HashMap<Vec<u8>, Entity>,
    parameter: HashMap<Vec<u8>, Entity>,
    external_subset: bool,
    pe_refs: bool,
    standalone: bool,
    /// Bytes of entity replacement text parsed so far.
    expanded: usize,
    /// Names of the entities being expanded (loop detection).
    expanding: Vec<Vec<u8>>,
    /// Document offset of the outermost entity reference being expanded;
    /// errors inside replacement text are reported there.
    origin: Option<usize>,
    /// Open elements (indices into `doc.elements`).
    open: Vec<usize>,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Decodes the UTF-8 character at `i` (the input is valid UTF-8).
fn char_at(s: &[u8], i: usize) -> Option<(char, usize)> {
    let b = *s.get(i)?;
    let len = match b {
        0..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    };
    let c = std::str::from_utf8(s.get(i..i + len)?).ok()?.chars().next()?;
    Some((c, len))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// End of the Name starting at `i`, if one does.
fn name_end(s: &[u8], i: usize) -> Option<usize> {
    let (c, len) = char_at(s, i)?;
    if !is_name_start(c) {
        return None;
    }
    let mut j = i + len;
    while let Some((c, len)) = char_at(s, j) {
        if !is_name_char(c) {
            break;
        }
        j += len;
    }
    Some(j)
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&c| is_ws(c)) {
        i += 1;
    }
    i
}

/// Appends character data, normalising CR LF and lone CR to LF.
fn push_text(out: &mut Vec<u8>, s: &[u8]) {
    let mut i = 0;
    while let Some(cr) = memchr::memchr(b'\r', &s[i..]) {
        out.extend_from_slice(&s[i..i + cr]);
        out.push(b'\n');
        i += cr + 1;
        if s.get(i) == Some(&b'\n') {
            i += 1;
        }
    }
    out.extend_from_slice(&s[i..]);
}

/// What an `&...;` at a position is.
enum Ref<'s> {
    Char(char),
    Named(&'s [u8]),
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: impl Into<String>, at: usize) -> Res<T> {
        Err((msg.into(), self.origin.unwrap_or(at)))
    }

    fn document(&mut self) -> Res<()> {
        let src = self.src;
        // Every character must be an XML Char, wherever it appears.
        let mut i = 0;
        while i < src.len() {
            let b = src[i];
            if b < 0x80 {
                if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
                    return self.err(format!("Char 0x{b:X} out of allowed range"), i);
                }
                i += 1;
                continue;
            }
            match char_at(src, i) {
                Some((c, len)) if is_xml_char(c) => i += len,
                Some((c, _)) => return self.err(format!("Char 0x{:X} out of allowed range", c as u32), i),
                None => return self.err("Input is not proper UTF-8", i),
            }
        }
        if src.is_empty() {
            return self.err("Document is empty", 0);
        }
        let mut pos = 0;
        if src.starts_with(b"<?xml") && src.get(5).is_some_and(|&c| is_ws(c)) {
            pos = self.xml_decl()?;
        }
        let mut seen_doctype = false;
        loop {
            pos = skip_ws(src, pos);
            if pos >= src.len() {
                return self.err("Start tag expected, '<' not found", pos);
            }
            if src[pos..].starts_with(b"<!--") {
                pos = self.comment(src, pos)?;
            } else if src[pos..].starts_with(b"<?") {
                pos = self.pi(src, pos)?;
            } else if src[pos..].starts_with(b"<!DOCTYPE") {
                if seen_doctype {
                    return self.err("Extra content at the end of the document", pos);
                }
                seen_doctype = true;
                pos = self.doctype(pos)?;
            } else if src[pos] == b'<' {
                break;
            } else {
                return self.err("Start tag expected, '<' not found", pos);
            }
        }
        if name_end(src, pos + 1).is_none() {
            return self.err("StartTag: invalid element name", pos + 1);
        }
        pos = self.content(src, pos, true)?;
        // Misc after the root element.
        loop {
            pos = skip_ws(src, pos);
            if pos >= src.len() {
                return Ok(());
            }
            if src[pos..].starts_with(b"<!--") {
                pos = self.comment(src, pos)?;
            } else if src[pos..].starts_with(b"<?") {
                pos = self.pi(src, pos)?;
            } else {
                return self.err("Extra content at the end of the document", pos);
            }
        }
    }

    /// `<?xml version="1.x" encoding="..." standalone="yes|no"?>` at offset 0.
    fn xml_decl(&mut self) -> Res<usize> {
        let src = self.src;
        let mut pos = 5;
        let mut attrs: Vec<(&[u8], &[u8])> = Vec::new();
        loop {
            let after_ws = skip_ws(src, pos);
            if src[after_ws..].starts_with(b"?>") {
                pos = after_ws + 2;
                break;
            }
            if after_ws == pos {
                return self.err("parsing XML declaration: '?>' expected", pos);
            }
            pos = after_ws;
            let Some(end) = name_end(src, pos) else {
                return self.err("parsing XML declaration: '?>' expected", pos);
            };
            let name = &src[pos..end];
            pos = skip_ws(src, end);
            if src.get(pos) != Some(&b'=') {
                return self.err("parsing XML declaration: '=' expected", pos);
            }
            pos = skip_ws(src, pos + 1);
            let Some(&q) = src.get(pos).filter(|&&q| q == b'"' || q == b'\'') else {
                return self.err("String not started expecting ' or \"", pos);
            };
            let Some(close) = memchr::memchr(q, &src[pos + 1..]) else {
                return self.err("String not closed", pos);
            };
            attrs.push((name, &src[pos + 1..pos + 1 + close]));
            pos += close + 2;
        }
        // version first and required; encoding and standalone optional, in
        // that order.
        const ORDER: [&[u8]; 3] = [b"version", b"encoding", b"standalone"];
        if attrs.first().map(|(n, _)| *n) != Some(ORDER[0]) {
            return self.err("Malformed declaration expecting version", 5);
        }
        let mut next = 0;
        for (name, _) in &attrs {
            match ORDER.iter().skip(next).position(|o| o == name) {
                Some(k) => next += k + 1,
                None => {
                    return self.err(format!("parsing XML declaration: unexpected {}", String::from_utf8_lossy(name)), 5)
                }
            }
        }
        for (name, value) in attrs {
            match name {
                b"version" => {
                    let ok = value.starts_with(b"1.") && value.len() > 2 && value[2..].iter().all(u8::is_ascii_digit);
                    if !ok {
                        return self.err(format!("Unsupported version '{}'", String::from_utf8_lossy(value)), 5);
                    }
                }
                b"encoding" => {
                    let ok = value.first().is_some_and(u8::is_ascii_alphabetic)
                        && value.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
                    if !ok {
                        return self.err("Invalid XML encoding name", 5);
                    }
                }
                _ => match value {
                    b"yes" => self.standalone = true,
                    b"no" => {}
                    _ => return self.err("standalone accepts only 'yes' or 'no'", 5),
                },
            }
        }
        Ok(pos)
    }

    fn comment(&self, s: &[u8], pos: usize) -> Res<usize> {
        let body = pos + 4;
        let Some(i) = memchr::memmem::find(&s[body..], b"--") else {
            return self.err("Comment not terminated", pos);
        };
        let at = body + i;
        if s.get(at + 2) == Some(&b'>') {
            Ok(at + 3)
        } else {
            self.err("Double hyphen within comment", at)
        }
    }

    fn pi(&self, s: &[u8], pos: usize) -> Res<usize> {
        let start = pos + 2;
        let Some(end) = name_end(s, start) else {
            return self.err("xmlParsePI : no target name", start);
        };
        let target = &s[start..end];
        if target.eq_ignore_ascii_case(b"xml") {
            return self.err("XML declaration allowed only at the start of the document", pos);
        }
        if s[end..].starts_with(b"?>") {
            return Ok(end + 2);
        }
        if !s.get(end).is_some_and(|&c| is_ws(c)) {
            return self.err("ParsePI: PI space expected", end);
        }
        match memchr::memmem::find(&s[end..], b"?>") {
            Some(i) => Ok(end + i + 2),
            None => self.err("PI not terminated", pos),
        }
    }

    /// `<!DOCTYPE name (ExternalID)? [internal subset]? >`
    fn doctype(&mut self, pos: usize) -> Res<usize> {
        let src = self.src;
        let mut p = pos + 9;
        if !src.get(p).is_some_and(|&c| is_ws(c)) {
            return self.err("Space required after '<!DOCTYPE'", p);
        }
        p = skip_ws(src, p);
        let Some(end) = name_end(src, p) else {
            return self.err("xmlParseDocTypeDecl : no DOCTYPE name !", p);
        };
        p = skip_ws(src, end);
        if src[p..].starts_with(b"SYSTEM") || src[p..].starts_with(b"PUBLIC") {
            p = self.external_id(src, p)?;
            self.external_subset = true;
            p = skip_ws(src, p);
        }
        if src.get(p) == Some(&b'[') {
            p = self.subset(src, p + 1, 0)?;
            // `subset` stops at the closing bracket.
            p = skip_ws(src, p + 1);
        }
        if src.get(p) != Some(&b'>') {
            return self.err("DOCTYPE improperly terminated", p);
        }
        Ok(p + 1)
    }

    /// `SYSTEM "uri"` or `PUBLIC "pubid" "uri"`; returns the end.
    fn external_id(&self, s: &[u8], p: usize) -> Res<usize> {
        let public = s[p..].starts_with(b"PUBLIC");
        let mut p = p + 6;
        let literals = if public { 2 } else { 1 };
        for n in 0..literals {
            if !s.get(p).is_some_and(|&c| is_ws(c)) {
                return self.err("Space required after the keyword or literal", p);
            }
            p = skip_ws(s, p);
            let Some(&q) = s.get(p).filter(|&&q| q == b'"' || q == b'\'') else {
                return self.err("SystemLiteral \" or ' expected", p);
            };
            let Some(close) = memchr::memchr(q, &s[p + 1..]) else {
                return self.err("Unfinished SystemLiteral", p);
            };
            if public && n == 0 {
                let ok = s[p + 1..p + 1 + close].iter().all(|&c| {
                    c.is_ascii_alphanumeric() || b" \r\n-'()+,./:=?;!*#@$_%".contains(&c)
                });
                if !ok {
                    return self.err("Unfinished PubidLiteral", p);
                }
            }
            p += close + 2;
        }
        Ok(p)
    }

    /// Internal subset (or a parameter entity's text at `level` > 0): markup
    /// declarations up to `]` (level 0) or the end of `s`. Returns the offset
    /// of the `]` (or `s.len()`).
    fn subset(&mut self, s: &[u8], mut p: usize, level: usize) -> Res<usize> {
        loop {
            p = skip_ws(s, p);
            let Some(&c) = s.get(p) else {
                if level > 0 {
                    return Ok(p);
                }
                return self.err("xmlParseInternalSubset: error detected in Markup declaration", p);
            };
            if c == b']' && level == 0 {
                return Ok(p);
            }
            if c == b'%' {
                p = self.pe_reference(s, p, level)?;
            } else if s[p..].starts_with(b"<!--") {
                p = self.comment(s, p)?;
            } else if s[p..].starts_with(b"<?") {
                p = self.pi(s, p)?;
            } else if s[p..].starts_with(b"<!ENTITY") {
                p = self.entity_decl(s, p)?;
            } else if s[p..].starts_with(b"<!ELEMENT") {
                p = self.element_decl(s, p)?;
            } else if s[p..].starts_with(b"<!ATTLIST") {
                p = self.attlist_decl(s, p)?;
            } else if s[p..].starts_with(b"<!NOTATION") {
                p = self.notation_decl(s, p)?;
            } else {
                return self.err("xmlParseInternalSubset: error detected in Markup declaration", p);
            }
        }
    }

    /// `%name;` between declarations: an internal parameter entity's text is
    /// read as declarations.
    fn pe_reference(&mut self, s: &[u8], p: usize, level: usize) -> Res<usize> {
        // Whether an undeclared entity is fatal is decided before this
        // reference counts as one.
        let undeclared_fatal = self.standalone || (!self.external_subset && !self.pe_refs);
        self.pe_refs = true;
        let Some(end) = name_end(s, p + 1) else {
            return self.err("PEReference: no name", p);
        };
        if s.get(end) != Some(&b';') {
            return self.err("PEReference: expecting ';'", end);
        }
        let name = s[p + 1..end].to_vec();
        match self.parameter.get(&name) {
            Some(Entity::Internal(text)) => {
                let text = text.clone();
                self.enter_entity(&name, text.len(), p, level)?;
                let r = self.subset(&text, 0, level + 1);
                self.leave_entity();
                r?;
            }
            Some(Entity::External { .. }) => {}
            None => {
                if undeclared_fatal {
                    return self.err(format!("PEReference: %{}; not found", String::from_utf8_lossy(&name)), p);
                }
            }
        }
        Ok(end + 1)
    }

    /// Requires whitespace at `i`, returns the offset after it.
    fn need_ws(&self, s: &[u8], i: usize, what: &str) -> Res<usize> {
        if !s.get(i).is_some_and(|&c| is_ws(c)) {
            return self.err(format!("Space required {what}"), i);
        }
        Ok(skip_ws(s, i))
    }

    fn need_name(&self, s: &[u8], i: usize, what: &str) -> Res<usize> {
        match name_end(s, i) {
            Some(end) => Ok(end),
            None => self.err(format!("{what}: name expected"), i),
        }
    }

    fn need_gt(&self, s: &[u8], i: usize, what: &str) -> Res<usize> {
        let i = skip_ws(s, i);
        if s.get(i) != Some(&b'>') {
            return self.err(format!("{what}: declaration not terminated"), i);
        }
        Ok(i + 1)
    }

    /// `<!ELEMENT name (EMPTY | ANY | mixed | children)>`
    fn element_decl(&self, s: &[u8], p: usize) -> Res<usize> {
        let i = self.need_ws(s, p + 9, "after 'ELEMENT'")?;
        let i = self.need_name(s, i, "xmlParseElementDecl")?;
        let mut i = self.need_ws(s, i, "after the element name")?;
        if s[i..].starts_with(b"EMPTY") {
            i += 5;
        } else if s[i..].starts_with(b"ANY") {
            i += 3;
        } else if s.get(i) == Some(&b'(') {
            let j = skip_ws(s, i + 1);
            i = if s[j..].starts_with(b"#PCDATA") { self.mixed(s, j + 7)? } else { self.children(s, i, 0)? };
        } else {
            return self.err("xmlParseElementDecl: 'EMPTY', 'ANY' or '(' expected", i);
        }
        self.need_gt(s, i, "xmlParseElementDecl")
    }

    /// After `(#PCDATA`: `)`, `)*`, or `|a|b)*`.
    fn mixed(&self, s: &[u8], i: usize) -> Res<usize> {
        let mut i = skip_ws(s, i);
        if s.get(i) == Some(&b')') {
            return Ok(if s.get(i + 1) == Some(&b'*') { i + 2 } else { i + 1 });
        }
        while s.get(i) == Some(&b'|') {
            i = skip_ws(s, i + 1);
            i = skip_ws(s, self.need_name(s, i, "xmlParseElementMixedContentDecl")?);
        }
        if s.get(i) == Some(&b')') && s.get(i + 1) == Some(&b'*') {
            return Ok(i + 2);
        }
        self.err("xmlParseElementMixedContentDecl : '|' or ')*' expected", i)
    }

    /// A `( cp (sep cp)* )` group with one kind of separator, then an
    /// optional `?`, `*` or `+`.
    fn children(&self, s: &[u8], i: usize, depth: usize) -> Res<usize> {
        if depth > 128 {
            return self.err("xmlParseElementChildrenContentDecl : depth too deep", i);
        }
        let mut i = skip_ws(s, i + 1);
        let mut sep = None;
        loop {
            i = if s.get(i) == Some(&b'(') {
                self.children(s, i, depth + 1)?
            } else {
                let e = self.need_name(s, i, "xmlParseElementChildrenContentDecl")?;
                if matches!(s.get(e), Some(b'?' | b'*' | b'+')) { e + 1 } else { e }
            };
            i = skip_ws(s, i);
            match s.get(i) {
                Some(b')') => {
                    i += 1;
                    break;
                }
                Some(&c @ (b'|' | b',')) => {
                    if sep.is_some_and(|x| x != c) {
                        return self.err("xmlParseElementChildrenContentDecl : mixed separators", i);
                    }
                    sep = Some(c);
                    i = skip_ws(s, i + 1);
                }
                _ => return self.err("xmlParseElementChildrenContentDecl : ',' '|' or ')' expected", i),
            }
        }
        Ok(if matches!(s.get(i), Some(b'?' | b'*' | b'+')) { i + 1 } else { i })
    }

    /// `<!ATTLIST element (name type default)* >`
    fn attlist_decl(&mut self, s: &[u8], p: usize) -> Res<usize> {
        const TYPES: [&[u8]; 8] = [b"CDATA", b"IDREFS", b"IDREF", b"ID", b"ENTITY", b"ENTITIES", b"NMTOKENS", b"NMTOKEN"];
        let i = self.need_ws(s, p + 9, "after '<!ATTLIST'")?;
        let mut i = self.need_name(s, i, "ATTLIST")?;
        loop {
            let j = skip_ws(s, i);
            if s.get(j) == Some(&b'>') {
                return Ok(j + 1);
            }
            if j == i {
                return self.err("Space required after the attribute list", i);
            }
            i = self.need_name(s, j, "ATTLIST: no name for Attribute")?;
            i = self.need_ws(s, i, "after the attribute name")?;
            // The type.
            if s[i..].starts_with(b"NOTATION") {
                i = self.need_ws(s, i + 8, "after 'NOTATION'")?;
                i = self.enumeration(s, i, true)?;
            } else if s.get(i) == Some(&b'(') {
                i = self.enumeration(s, i, false)?;
            } else if let Some(t) = TYPES.iter().find(|t| s[i..].starts_with(t)) {
                i += t.len();
            } else {
                return self.err("xmlParseAttributeListDecl: invalid type", i);
            }
            i = self.need_ws(s, i, "after the attribute type")?;
            // The default.
            if s[i..].starts_with(b"#REQUIRED") {
                i += 9;
            } else if s[i..].starts_with(b"#IMPLIED") {
                i += 8;
            } else {
                if s[i..].starts_with(b"#FIXED") {
                    i = self.need_ws(s, i + 6, "after '#FIXED'")?;
                }
                let Some(&q) = s.get(i).filter(|&&q| q == b'"' || q == b'\'') else {
                    return self.err("Attribute default value declaration error", i);
                };
                let Some(close) = memchr::memchr(q, &s[i + 1..]) else {
                    return self.err("AttValue: ' expected", i);
                };
                let raw = &s[i + 1..i + 1 + close];
                if let Some(k) = memchr::memchr(b'<', raw) {
                    return self.err("Unescaped '<' not allowed in attributes values", i + 1 + k);
                }
                let mut k = 0;
                while let Some(a) = memchr::memchr(b'&', &raw[k..]) {
                    let (_, end) = self.reference(raw, k + a, i + 1)?;
                    k = end;
                }
                i += close + 2;
            }
        }
    }

    /// `( a | b | c )` of names (`NOTATION`) or name tokens.
    fn enumeration(&self, s: &[u8], i: usize, names: bool) -> Res<usize> {
        if s.get(i) != Some(&b'(') {
            return self.err("'(' required to start an enumeration", i);
        }
        let mut i = i;
        loop {
            i = skip_ws(s, i + 1);
            let end = if names {
                self.need_name(s, i, "Enumeration")?
            } else {
                let mut e = i;
                while let Some((c, len)) = char_at(s, e).filter(|(c, _)| is_name_char(*c)) {
                    let _ = c;
                    e += len;
                }
                if e == i {
                    return self.err("NmToken expected in enumeration", i);
                }
                e
            };
            i = skip_ws(s, end);
            match s.get(i) {
                Some(b'|') => {}
                Some(b')') => return Ok(i + 1),
                _ => return self.err("Enumeration: ')' required", i),
            }
        }
    }

    /// `<!NOTATION name (SYSTEM "uri" | PUBLIC "pubid" ("uri")?)>`
    fn notation_decl(&self, s: &[u8], p: usize) -> Res<usize> {
        let i = self.need_ws(s, p + 10, "after '<!NOTATION'")?;
        let i = self.need_name(s, i, "NOTATION")?;
        let i = self.need_ws(s, i, "after the NOTATION name")?;
        let end = if s[i..].starts_with(b"PUBLIC") {
            // The system literal is optional for notations.
            match self.external_id(s, i) {
                Ok(end) => end,
                Err(_) => self.public_only(s, i)?,
            }
        } else if s[i..].starts_with(b"SYSTEM") {
            self.external_id(s, i)?
        } else {
            return self.err("Invalid Notation declaration", i);
        };
        self.need_gt(s, end, "NOTATION")
    }

    /// `PUBLIC "pubid"` without a system literal.
    fn public_only(&self, s: &[u8], i: usize) -> Res<usize> {
        let j = self.need_ws(s, i + 6, "after 'PUBLIC'")?;
        let Some(&q) = s.get(j).filter(|&&q| q == b'"' || q == b'\'') else {
            return self.err("Pubid literal expected", j);
        };
        match memchr::memchr(q, &s[j + 1..]) {
            Some(close) => Ok(j + close + 2),
            None => self.err("Unfinished PubidLiteral", j),
        }
    }

    /// `<!ENTITY (% )? name (value | ExternalID (NDATA name)?) >`
    fn entity_decl(&mut self, s: &[u8], p: usize) -> Res<usize> {
        let mut i = p + 8;
        if !s.get(i).is_some_and(|&c| is_ws(c)) {
            return self.err("Space required after '<!ENTITY'", i);
        }
        i = skip_ws(s, i);
        let is_pe = s.get(i) == Some(&b'%');
        if is_pe {
            i += 1;
            if !s.get(i).is_some_and(|&c| is_ws(c)) {
                return self.err("Space required after '%'", i);
            }
            i = skip_ws(s, i);
        }
        let Some(end) = name_end(s, i) else {
            return self.err("xmlParseEntityDecl: no name", i);
        };
        let name = s[i..end].to_vec();
        i = end;
        if !s.get(i).is_some_and(|&c| is_ws(c)) {
            return self.err("Space required after the entity name", i);
        }
        i = skip_ws(s, i);
        let entity = match s.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let Some(close) = memchr::memchr(q, &s[i + 1..]) else {
                    return self.err("EntityValue: \" or ' expected", i);
                };
                let raw = &s[i + 1..i + 1 + close];
                let value = self.entity_value(raw, i + 1)?;
                i += close + 2;
                Entity::Internal(value)
            }
            _ if s[i..].starts_with(b"SYSTEM") || s[i..].starts_with(b"PUBLIC") => {
                i = self.external_id(s, i)?;
                let j = skip_ws(s, i);
                let mut unparsed = false;
                if s[j..].starts_with(b"NDATA") {
                    if is_pe || j == i {
                        return self.err("Space required before 'NDATA'", j);
                    }
                    let k = j + 5;
                    if !s.get(k).is_some_and(|&c| is_ws(c)) {
                        return self.err("Space required after 'NDATA'", k);
                    }
                    let k = skip_ws(s, k);
                    let Some(e) = name_end(s, k) else {
                        return self.err("NDATA: notation name expected", k);
                    };
                    i = e;
                    unparsed = true;
                }
                Entity::External { unparsed }
            }
            _ => return self.err("Entity value required", i),
        };
        i = skip_ws(s, i);
        if s.get(i) != Some(&b'>') {
            return self.err("xmlParseEntityDecl: entity not terminated", i);
        }
        // The first declaration of a name binds.
        let table = if is_pe { &mut self.parameter } else { &mut self.general };
        table.entry(name).or_insert(entity);
        Ok(i + 1)
    }

    /// An entity's literal value: character references replaced, general
    /// entity references kept as written (checked for form), parameter
    /// references refused (internal subset).
    fn entity_value(&self, raw: &[u8], base: usize) -> Res<Vec<u8>> {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'%' => return self.err("PEReferences forbidden in internal subset", base + i),
                b'&' => match self.reference(raw, i, base)? {
                    (Ref::Char(c), end) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        i = end;
                    }
                    (Ref::Named(_), end) => {
                        out.extend_from_slice(&raw[i..end]);
                        i = end;
                    }
                },
                b'\r' => {
                    out.push(b'\n');
                    i += if raw.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    /// Reads `&#N;`, `&#xH;` or `&name;` at `s[i]` (an `&`); returns what it
    /// is and the offset after the `;`.
    fn reference<'s>(&self, s: &'s [u8], i: usize, base: usize) -> Res<(Ref<'s>, usize)> {
        if s.get(i + 1) == Some(&b'#') {
            let (hex, digits) = if s.get(i + 2) == Some(&b'x') { (true, i + 3) } else { (false, i + 2) };
            let mut j = digits;
            let mut v: u32 = 0;
            while let Some(&c) = s.get(j) {
                let d = match (hex, c) {
                    (_, b'0'..=b'9') => c - b'0',
                    (true, b'a'..=b'f') => c - b'a' + 10,
                    (true, b'A'..=b'F') => c - b'A' + 10,
                    _ => break,
                };
                v = v.saturating_mul(if hex { 16 } else { 10 }).saturating_add(u32::from(d));
                j += 1;
            }
            if j == digits || s.get(j) != Some(&b';') {
                return self.err("CharRef: invalid decimal value", base + i);
            }
            return match char::from_u32(v).filter(|&c| is_xml_char(c)) {
                Some(c) => Ok((Ref::Char(c), j + 1)),
                None => self.err(format!("xmlParseCharRef: invalid xmlChar value {v}"), base + i),
            };
        }
        let Some(end) = name_end(s, i + 1) else {
            return self.err("xmlParseEntityRef: no name", base + i);
        };
        if s.get(end) != Some(&b';') {
            return self.err("EntityRef: expecting ';'", base + end);
        }
        Ok((Ref::Named(&s[i + 1..end]), end + 1))
    }

    fn predefined(name: &[u8]) -> Option<u8> {
        match name {
            b"lt" => Some(b'<'),
            b"gt" => Some(b'>'),
            b"amp" => Some(b'&'),
            b"apos" => Some(b'\''),
            b"quot" => Some(b'"'),
            _ => None,
        }
    }

    fn enter_entity(&mut self, name: &[u8], len: usize, at: usize, level: usize) -> Res<()> {
        if level >= MAX_ENTITY_NESTING {
            return self.err("Maximum entity nesting depth exceeded", at);
        }
        if self.expanding.iter().any(|n| n == name) {
            return self.err("Detected an entity reference loop", at);
        }
        self.expanded = self.expanded.saturating_add(len);
        if self.expanded > self.limits.xml_max_entity_expansion {
            return self.err(
                format!("entity expansion limit of {} bytes exceeded", self.limits.xml_max_entity_expansion),
                at,
            );
        }
        if self.origin.is_none() {
            self.origin = Some(at);
        }
        self.expanding.push(name.to_vec());
        Ok(())
    }

    fn leave_entity(&mut self) {
        self.expanding.pop();
        if self.expanding.is_empty() {
            self.origin = None;
        }
    }

    /// Content: elements, text, references, CDATA, comments and PIs. For the
    /// document (`is_root`), `s[pos]` starts the root element and parsing stops
    /// after it closes; for replacement text, parsing runs to the end of `s`
    /// and must close every element it opens.
    fn content(&mut self, s: &[u8], mut pos: usize, is_root: bool) -> Res<usize> {
        let floor = self.open.len();
        let level = self.expanding.len();
        loop {
            if is_root && self.open.len() == floor && !self.doc.elements.is_empty() {
                return Ok(pos);
            }
            let Some(&c) = s.get(pos) else {
                if is_root {
                    return self.err("Premature end of data in tag", pos);
                }
                if self.open.len() != floor {
                    return self.err("chunk is not well balanced", pos);
                }
                return Ok(pos);
            };
            match c {
                b'<' => {
                    let rest = &s[pos..];
                    if rest.starts_with(b"</") {
                        pos = self.end_tag(s, pos, floor)?;
                    } else if rest.starts_with(b"<!--") {
                        pos = self.comment(s, pos)?;
                    } else if rest.starts_with(b"<![CDATA[") {
                        let body = pos + 9;
                        let Some(i) = memchr::memmem::find(&s[body..], b"]]>") else {
                            return self.err("CData section not finished", pos);
                        };
                        push_text(&mut self.doc.text, &s[body..body + i]);
                        pos = body + i + 3;
                    } else if rest.starts_with(b"<?") {
                        pos = self.pi(s, pos)?;
                    } else if rest.starts_with(b"<!") {
                        return self.err("StartTag: invalid element name", pos + 1);
                    } else {
                        pos = self.start_tag(s, pos)?;
                    }
                }
                b'&' => {
                    if self.open.len() == floor && is_root {
                        return self.err("Start tag expected, '<' not found", pos);
                    }
                    pos = self.content_reference(s, pos, level)?;
                }
                _ => {
                    if is_root && self.open.len() == floor {
                        return self.err("Start tag expected, '<' not found", pos);
                    }
                    let end = s[pos..].iter().position(|&b| b == b'<' || b == b'&').map_or(s.len(), |i| pos + i);
                    let data = &s[pos..end];
                    if let Some(i) = memchr::memmem::find(data, b"]]>") {
                        return self.err("Sequence ']]>' not allowed in content", pos + i);
                    }
                    push_text(&mut self.doc.text, data);
                    pos = end;
                }
            }
        }
    }

    fn content_reference(&mut self, s: &[u8], pos: usize, level: usize) -> Res<usize> {
        let (r, end) = self.reference(s, pos, 0)?;
        let name = match r {
            Ref::Char(c) => {
                let mut buf = [0u8; 4];
                self.doc.text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                return Ok(end);
            }
            Ref::Named(name) => name,
        };
        if let Some(b) = Self::predefined(name) {
            self.doc.text.push(b);
            return Ok(end);
        }
        match self.general.get(name) {
            Some(Entity::Internal(text)) => {
                let text = text.clone();
                self.enter_entity(name, text.len(), pos, level)?;
                let r = self.content(&text, 0, false);
                self.leave_entity();
                r?;
            }
            Some(Entity::External { unparsed: true }) => {
                return self.err(
                    format!("Entity reference to unparsed entity {}", String::from_utf8_lossy(name)),
                    pos,
                );
            }
            // External parsed entities are not loaded: no content.
            Some(Entity::External { unparsed: false }) => {}
            // Inside replacement text libxml2 always fails on an undeclared
            // entity (the text is parsed in a fresh context).
            None if level > 0 => {
                return self.err(format!("Entity '{}' not defined", String::from_utf8_lossy(name)), pos)
            }
            None => self.undeclared(name, pos)?,
        }
        Ok(end)
    }

    fn undeclared(&self, name: &[u8], pos: usize) -> Res<()> {
        if self.standalone || (!self.external_subset && !self.pe_refs) {
            return self.err(format!("Entity '{}' not defined", String::from_utf8_lossy(name)), pos);
        }
        Ok(())
    }

    fn start_tag(&mut self, s: &[u8], pos: usize) -> Res<usize> {
        let Some(end) = name_end(s, pos + 1) else {
            return self.err("StartTag: invalid element name", pos + 1);
        };
        let depth = self.open.len() + 1;
        if depth > self.limits.xml_max_depth {
            return self.err(format!("Excessive depth in document: {}", self.limits.xml_max_depth), pos);
        }
        let idx = self.doc.elements.len();
        let attr_start = self.doc.attributes.len();
        self.doc.elements.push(Element {
            name: s[pos + 1..end].to_vec(),
            parent: self.open.last().copied(),
            depth,
            content: self.doc.text.len()..self.doc.text.len(),
            attributes: attr_start..attr_start,
            from_entity: !self.expanding.is_empty(),
        });
        let mut i = end;
        let mut names: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        loop {
            let after_ws = skip_ws(s, i);
            match s.get(after_ws) {
                Some(b'>') => {
                    i = after_ws + 1;
                    self.open.push(idx);
                    break;
                }
                Some(b'/') => {
                    if s.get(after_ws + 1) != Some(&b'>') {
                        return self.err("Couldn't find end of Start Tag", after_ws);
                    }
                    i = after_ws + 2;
                    break;
                }
                None => return self.err("Couldn't find end of Start Tag", pos),
                Some(_) => {}
            }
            if after_ws == i {
                return self.err("attributes construct error", i);
            }
            i = after_ws;
            let Some(nend) = name_end(s, i) else {
                return self.err("attributes construct error", i);
            };
            let name = &s[i..nend];
            if !names.insert(name) {
                return self.err(format!("Attribute {} redefined", String::from_utf8_lossy(name)), i);
            }
            i = skip_ws(s, nend);
            if s.get(i) != Some(&b'=') {
                return self.err(
                    format!("Specification mandates value for attribute {}", String::from_utf8_lossy(name)),
                    i,
                );
            }
            i = skip_ws(s, i + 1);
            let Some(&q) = s.get(i).filter(|&&q| q == b'"' || q == b'\'') else {
                return self.err("AttValue: \" or ' expected", i);
            };
            let Some(close) = memchr::memchr(q, &s[i + 1..]) else {
                return self.err("AttValue: ' expected", i);
            };
            let raw = &s[i + 1..i + 1 + close];
            let mut value = Vec::with_capacity(raw.len());
            self.attribute_value(raw, i + 1, &mut value)?;
            i += close + 2;
            let is_ns_decl = name == b"xmlns" || name.starts_with(b"xmlns:");
            if !is_ns_decl {
                let from_entity = !self.expanding.is_empty();
                self.doc.attributes.push(Attribute { element: idx, name: name.to_vec(), value, from_entity });
            }
        }
        let attr_end = self.doc.attributes.len();
        if let Some(e) = self.doc.elements.get_mut(idx) {
            e.attributes = attr_start..attr_end;
        }
        Ok(i)
    }

    /// Normalises an attribute value into `out`: references expanded,
    /// whitespace characters turned into spaces.
    fn attribute_value(&mut self, raw: &[u8], base: usize, out: &mut Vec<u8>) -> Res<()> {
        let level = self.expanding.len();
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'<' => return self.err("Unescaped '<' not allowed in attributes values", base + i),
                b'&' => {
                    let (r, end) = self.reference(raw, i, base)?;
                    match r {
                        Ref::Char(c) => {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        Ref::Named(name) => {
                            if let Some(b) = Self::predefined(name) {
                                out.push(b);
                            } else {
                                match self.general.get(name) {
                                    Some(Entity::Internal(text)) => {
                                        let text = text.clone();
                                        if text.contains(&b'<') {
                                            return self.err(
                                                format!(
                                                    "'<' in entity '{}' is not allowed in attributes values",
                                                    String::from_utf8_lossy(name)
                                                ),
                                                base + i,
                                            );
                                        }
                                        self.enter_entity(name, text.len(), base + i, level)?;
                                        let r = self.attribute_value(&text, base + i, out);
                                        self.leave_entity();
                                        r?;
                                    }
                                    Some(Entity::External { .. }) => {
                                        return self.err(
                                            format!(
                                                "Attribute references external entity '{}'",
                                                String::from_utf8_lossy(name)
                                            ),
                                            base + i,
                                        );
                                    }
                                    None => self.undeclared(name, base + i)?,
                                }
                            }
                        }
                    }
                    i = end;
                }
                b'\r' => {
                    out.push(b' ');
                    i += if raw.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                }
                b'\t' | b'\n' => {
                    out.push(b' ');
                    i += 1;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        Ok(())
    }

    fn end_tag(&mut self, s: &[u8], pos: usize, floor: usize) -> Res<usize> {
        let Some(end) = name_end(s, pos + 2) else {
            return self.err("xmlParseEndTag: '</' not found", pos);
        };
        let name = &s[pos + 2..end];
        let i = skip_ws(s, end);
        if s.get(i) != Some(&b'>') {
            return self.err("expected '>'", i);
        }
        if self.open.len() <= floor {
            return self.err(
                format!("Unexpected end tag : {}", String::from_utf8_lossy(name)),
                pos,
            );
        }
        let Some(&idx) = self.open.last() else {
            return self.err("Unexpected end tag", pos);
        };
        let text_end = self.doc.text.len();
        let Some(e) = self.doc.elements.get_mut(idx) else {
            return self.err("Unexpected end tag", pos);
        };
        if e.name != name {
            let open = String::from_utf8_lossy(&e.name).into_owned();
            return self.err(
                format!("Opening and ending tag mismatch: {open} and {}", String::from_utf8_lossy(name)),
                pos,
            );
        }
        e.content.end = text_end;
        self.open.pop();
        Ok(i + 1)
    }
}

#[cfg(test)]
mod tests;
