//! XSS detector: runs the HTML5 tokenizer from five starting contexts and flags
//! dangerous tags, attributes, URL schemes and comment forms, as libinjection
//! 3.9.2 does (the lists below are its data, checked against the ModSecurity
//! 3.0.9 build by tests/libinjection/gen_tables.py).

use super::html5::{Html5, Kind, Start};

/// How an attribute's value must be judged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attr {
    None,
    /// Always XSS, whatever the value.
    Black,
    /// The value is a URL: XSS when its scheme is dangerous.
    Url,
    /// The value is CSS.
    Style,
    /// The value names another attribute (SVG `attributeName`).
    Indirect,
}

const BLACK_TAGS: [&[u8]; 20] = [
    b"APPLET",
    b"BASE",
    b"COMMENT",
    b"EMBED",
    b"FRAME",
    b"FRAMESET",
    b"HANDLER",
    b"IFRAME",
    b"IMPORT",
    b"ISINDEX",
    b"LINK",
    b"LISTENER",
    b"META",
    b"NOSCRIPT",
    b"OBJECT",
    b"SCRIPT",
    b"STYLE",
    b"VMLFRAME",
    b"XML",
    b"XSS",
];

const BLACK_ATTRS: [(&[u8], Attr); 20] = [
    (b"ACTION", Attr::Url),
    (b"ATTRIBUTENAME", Attr::Indirect),
    (b"BY", Attr::Url),
    (b"BACKGROUND", Attr::Url),
    (b"DATAFORMATAS", Attr::Black),
    (b"DATASRC", Attr::Black),
    (b"DYNSRC", Attr::Url),
    (b"FILTER", Attr::Style),
    (b"FORMACTION", Attr::Url),
    (b"FOLDER", Attr::Url),
    (b"FROM", Attr::Url),
    (b"HANDLER", Attr::Url),
    (b"HREF", Attr::Url),
    (b"LOWSRC", Attr::Url),
    (b"POSTER", Attr::Url),
    (b"SRC", Attr::Url),
    (b"STYLE", Attr::Style),
    (b"TO", Attr::Url),
    (b"VALUES", Attr::Url),
    (b"XLINK:HREF", Attr::Url),
];

/// URL schemes (prefixes) that make a URL attribute XSS.
const BLACK_SCHEMES: [&[u8]; 4] = [b"DATA", b"VIEW-SOURCE", b"JAVA", b"VBSCRIPT"];

/// `name` (upper case) equals `text` ignoring ASCII case and NULs in `text`.
fn same_name(name: &[u8], text: &[u8]) -> bool {
    let mut i = 0;
    for &c in text.iter().filter(|c| **c != 0) {
        if name.get(i) != Some(&c.to_ascii_uppercase()) {
            return false;
        }
        i += 1;
    }
    i == name.len()
}

fn starts_ci(text: &[u8], upper: &[u8]) -> bool {
    text.len() >= upper.len() && text[..upper.len()].eq_ignore_ascii_case(upper)
}

fn is_black_tag(name: &[u8]) -> bool {
    if name.len() < 3 {
        return false;
    }
    BLACK_TAGS.iter().any(|t| same_name(t, name))
        || starts_ci(name, b"SVG")
        || starts_ci(name, b"XSL")
}

fn black_attr(name: &[u8]) -> Attr {
    if name.len() < 2 {
        return Attr::None;
    }
    if name.len() >= 5 {
        // Any on* event handler, and XML namespace tricks.
        if starts_ci(name, b"ON")
            || same_name(b"XMLNS", &name[..5])
            || same_name(b"XLINK", &name[..5])
        {
            return Attr::Black;
        }
    }
    BLACK_ATTRS
        .iter()
        .find(|(n, _)| same_name(n, name))
        .map_or(Attr::None, |(_, a)| *a)
}

/// Byte `i` of the input, or 0 past its end (where the C code reads the
/// string's terminating NUL).
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn hex_value(c: u8) -> Option<i32> {
    (c as char).to_digit(16).map(|d| d as i32)
}

/// Decodes one character at `s[p..]`, `len` bytes being available to the
/// token (the C code may look a little past that), resolving `&#...;`
/// numeric entities. Returns the character and the bytes consumed.
fn decode_char_at(s: &[u8], p: usize, len: usize) -> (i32, usize) {
    let c = at(s, p);
    if c != b'&' || len < 2 {
        return (i32::from(c), 1);
    }
    if at(s, p + 1) != b'#' {
        return (i32::from(b'&'), 1);
    }
    const LIMIT: i32 = 0x0010_00FF;
    if matches!(at(s, p + 2), b'x' | b'X') {
        let Some(mut val) = hex_value(at(s, p + 3)) else {
            return (i32::from(b'&'), 1);
        };
        let mut i = 4;
        while i < len {
            let c = at(s, p + i);
            if c == b';' {
                return (val, i + 1);
            }
            let Some(d) = hex_value(c) else {
                return (val, i);
            };
            val = val * 16 + d;
            if val > LIMIT {
                return (i32::from(b'&'), 1);
            }
            i += 1;
        }
        (val, i)
    } else {
        let c = at(s, p + 2);
        if !c.is_ascii_digit() {
            return (i32::from(b'&'), 1);
        }
        let mut val = i32::from(c - b'0');
        let mut i = 3;
        while i < len {
            let c = at(s, p + i);
            if c == b';' {
                return (val, i + 1);
            }
            if !c.is_ascii_digit() {
                return (val, i);
            }
            val = val * 10 + i32::from(c - b'0');
            if val > LIMIT {
                return (i32::from(b'&'), 1);
            }
            i += 1;
        }
        (val, i)
    }
}

/// Does the HTML-encoded text at `s[p..p+n]` start with `prefix` (upper case)?
/// Leading control characters and spaces, NULs and newlines are ignored.
fn html_starts_with(prefix: &[u8], s: &[u8], mut p: usize, mut n: usize) -> bool {
    let mut matched = 0;
    let mut first = true;
    while n > 0 {
        if matched == prefix.len() {
            return true;
        }
        if p >= s.len() {
            // Only reachable after an entity ran past the token (the C code's
            // count wraps around): what lies beyond the input is unknown, so
            // stop here.
            return false;
        }
        let (c, used) = decode_char_at(s, p, n);
        p += used;
        n = n.wrapping_sub(used);
        if first && c <= 32 {
            continue;
        }
        first = false;
        if c == 0 || c == 10 {
            continue;
        }
        let c = if (i32::from(b'a')..=i32::from(b'z')).contains(&c) {
            c - 0x20
        } else {
            c
        };
        // Compared as a C char: only the low byte counts.
        if prefix[matched] != c as u8 {
            return false;
        }
        matched += 1;
    }
    matched == prefix.len()
}

fn is_black_url(s: &[u8], start: usize, len: usize) -> bool {
    let token = s.get(start..start + len).unwrap_or(&[]);
    // Skip spaces, control characters and everything outside printable ASCII.
    let skip = token
        .iter()
        .take_while(|c| !(33..=126).contains(*c))
        .count();
    BLACK_SCHEMES
        .iter()
        .any(|scheme| html_starts_with(scheme, s, start + skip, len - skip))
}

fn is_xss_from(s: &[u8], start: Start) -> bool {
    let mut h5 = Html5::new(s, start);
    let mut attr = Attr::None;
    while h5.next() {
        let token = h5.token();
        if h5.kind != Kind::AttrValue {
            attr = Attr::None;
        }
        match h5.kind {
            Kind::Doctype => return true,
            Kind::TagNameOpen if is_black_tag(token) => return true,
            Kind::AttrName => attr = black_attr(token),
            Kind::AttrValue => {
                let bad = match attr {
                    Attr::None => false,
                    Attr::Black | Attr::Style => true,
                    Attr::Url => is_black_url(s, h5.start, token.len()),
                    Attr::Indirect => black_attr(token) != Attr::None,
                };
                if bad {
                    return true;
                }
                attr = Attr::None;
            }
            Kind::TagComment => {
                // IE takes a backquote as the end of a tag.
                if token.contains(&b'`') {
                    return true;
                }
                // IE conditional comments and XML processing instructions.
                if token.len() > 3 && (starts_ci(token, b"[IF") || starts_ci(token, b"XML")) {
                    return true;
                }
                // IE's `<?import` and XML entity definitions.
                if token.len() > 5
                    && (same_name(b"IMPORT", &token[..6]) || same_name(b"ENTITY", &token[..6]))
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

pub(super) fn check(input: &[u8]) -> bool {
    [
        Start::Data,
        Start::ValueNoQuote,
        Start::ValueSingleQuote,
        Start::ValueDoubleQuote,
        Start::ValueBackQuote,
    ]
    .into_iter()
    .any(|start| is_xss_from(input, start))
}
