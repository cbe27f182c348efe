//! Turning an XML document's bytes into UTF-8 before parsing, as libxml2
//! does: byte-order marks, UTF-16 detection, and the `encoding` of the XML
//! declaration. Supported: UTF-8, UTF-16 (LE/BE), US-ASCII, ISO-8859-1,
//! ISO-8859-15 and windows-1252. Anything else is refused (libxml2 would use
//! iconv; refusing is the safe side: the body becomes a processing error).

use std::borrow::Cow;

/// The document as UTF-8, or an error message with the byte offset (in the
/// original bytes) where decoding failed.
pub(super) fn to_utf8(src: &[u8]) -> Result<Cow<'_, [u8]>, (String, usize)> {
    let utf16 = if src.starts_with(&[0xFE, 0xFF]) {
        Some((true, 2))
    } else if src.starts_with(&[0xFF, 0xFE]) {
        Some((false, 2))
    } else if src.starts_with(&[0x00, b'<', 0x00, b'?']) {
        Some((true, 0))
    } else if src.starts_with(&[b'<', 0x00, b'?', 0x00]) {
        Some((false, 0))
    } else {
        None
    };
    let text: Cow<'_, [u8]> = match utf16 {
        Some((big_endian, skip)) => Cow::Owned(from_utf16(&src[skip..], big_endian).map_err(|at| {
            ("Input is not proper UTF-16".to_string(), at + skip)
        })?),
        None => Cow::Borrowed(src.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(src)),
    };
    let declared = declared_encoding(&text);
    let text = match (declared, utf16.is_some()) {
        (None, _) => text,
        (Some(enc), true) => {
            if !is_utf16_name(&enc) && !is_utf8_name(&enc) {
                return Err((format!("Document labelled {} but has UTF-16 content", String::from_utf8_lossy(&enc)), 0));
            }
            text
        }
        (Some(enc), false) => {
            if is_utf8_name(&enc) {
                text
            } else if is_utf16_name(&enc) {
                return Err(("Document labelled UTF-16 but has UTF-8 content".to_string(), 0));
            } else if let Some(table) = single_byte_table(&enc) {
                Cow::Owned(from_single_byte(&text, table).map_err(|at| {
                    (format!("input conversion failed due to input error, bytes 0x{:02X}", text[at]), at)
                })?)
            } else {
                return Err((format!("Unsupported encoding {}", String::from_utf8_lossy(&enc)), 0));
            }
        }
    };
    if let Err(e) = std::str::from_utf8(&text) {
        let at = e.valid_up_to();
        let bad = text.get(at).copied().unwrap_or(0);
        return Err((format!("Input is not proper UTF-8, indicate encoding ! Bytes: 0x{bad:02X}"), at));
    }
    Ok(text)
}

fn is_utf8_name(e: &[u8]) -> bool {
    e.eq_ignore_ascii_case(b"UTF-8") || e.eq_ignore_ascii_case(b"UTF8")
}

fn is_utf16_name(e: &[u8]) -> bool {
    e.eq_ignore_ascii_case(b"UTF-16") || e.eq_ignore_ascii_case(b"UTF-16LE") || e.eq_ignore_ascii_case(b"UTF-16BE")
}

/// The `encoding="..."` value of an XML declaration at the very start, if any
/// (the declaration's syntax is checked later by the parser).
fn declared_encoding(text: &[u8]) -> Option<Vec<u8>> {
    if !text.starts_with(b"<?xml") || !text.get(5).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
        return None;
    }
    let end = memchr::memmem::find(text, b"?>")?;
    let decl = &text[..end];
    let at = memchr::memmem::find(decl, b"encoding")?;
    let mut i = at + 8;
    while decl.get(i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    if decl.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while decl.get(i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    let q = *decl.get(i)?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let close = memchr::memchr(q, &decl[i + 1..])?;
    Some(decl[i + 1..i + 1 + close].to_vec())
}

enum Table {
    Ascii,
    Latin1,
    Latin9,
    Windows1252,
}

fn single_byte_table(e: &[u8]) -> Option<Table> {
    let e = e.to_ascii_uppercase();
    match e.as_slice() {
        b"US-ASCII" | b"ASCII" => Some(Table::Ascii),
        b"ISO-8859-1" | b"ISO_8859-1" | b"ISO8859-1" | b"LATIN1" | b"LATIN-1" => Some(Table::Latin1),
        b"ISO-8859-15" | b"ISO_8859-15" | b"ISO8859-15" | b"LATIN9" | b"LATIN-9" => Some(Table::Latin9),
        b"WINDOWS-1252" | b"CP1252" => Some(Table::Windows1252),
        _ => None,
    }
}

/// windows-1252 code points for 0x80..=0x9F (0 = undefined).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0, 0,
    0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

fn from_single_byte(src: &[u8], table: Table) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() + src.len() / 8);
    let mut buf = [0u8; 4];
    for (i, &b) in src.iter().enumerate() {
        if b < 0x80 {
            out.push(b);
            continue;
        }
        let cp = match table {
            Table::Ascii => return Err(i),
            Table::Latin1 => u32::from(b),
            Table::Latin9 => match b {
                0xA4 => 0x20AC,
                0xA6 => 0x0160,
                0xA8 => 0x0161,
                0xB4 => 0x017D,
                0xB8 => 0x017E,
                0xBC => 0x0152,
                0xBD => 0x0153,
                0xBE => 0x0178,
                _ => u32::from(b),
            },
            Table::Windows1252 => match b {
                0x80..=0x9F => match CP1252_HIGH[usize::from(b - 0x80)] {
                    0 => return Err(i),
                    cp => u32::from(cp),
                },
                _ => u32::from(b),
            },
        };
        let c = char::from_u32(cp).ok_or(i)?;
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Ok(out)
}

/// UTF-16 to UTF-8; the error is the offset of the bad unit.
fn from_utf16(src: &[u8], big_endian: bool) -> Result<Vec<u8>, usize> {
    if src.len() & 1 == 1 {
        return Err(src.len() - 1);
    }
    let units = src.chunks_exact(2).map(|c| if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) });
    let mut out = Vec::with_capacity(src.len());
    let mut buf = [0u8; 4];
    for (i, r) in char::decode_utf16(units).enumerate() {
        match r {
            Ok(c) => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
            Err(_) => return Err(i * 2),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_and_converts() {
        assert_eq!(&*to_utf8(b"<a/>").unwrap(), b"<a/>");
        assert_eq!(&*to_utf8(b"\xEF\xBB\xBF<a/>").unwrap(), b"<a/>");
        let le: Vec<u8> = "\u{feff}<?xml version=\"1.0\"?><a>é</a>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(&*to_utf8(&le).unwrap(), "<?xml version=\"1.0\"?><a>é</a>".as_bytes());
        let be: Vec<u8> = "<?xml version=\"1.0\"?><a/>".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(&*to_utf8(&be).unwrap(), b"<?xml version=\"1.0\"?><a/>");
        // libxml2 honours a Latin-1 declaration: UTF-8 bytes become two chars.
        assert_eq!(
            &*to_utf8("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>é</a>".as_bytes()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Ã©</a>".as_bytes()
        );
        assert_eq!(
            &*to_utf8(b"<?xml version='1.0' encoding='windows-1252'?><a>\x80</a>").unwrap(),
            "<?xml version='1.0' encoding='windows-1252'?><a>€</a>".as_bytes()
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(to_utf8(b"<a>\xff</a>").unwrap_err().0.contains("not proper UTF-8"));
        assert_eq!(to_utf8(b"<a>\xff</a>").unwrap_err().1, 3);
        assert!(to_utf8(b"<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?><a/>").unwrap_err().0.contains("Unsupported"));
        assert!(to_utf8(b"<?xml version=\"1.0\" encoding=\"UTF-7\"?><a/>").is_err());
        assert!(to_utf8(b"<?xml version=\"1.0\" encoding=\"US-ASCII\"?><a>\xe9</a>").is_err());
        assert!(to_utf8(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>").is_err());
        assert!(to_utf8(b"\xFF\xFE<\x00\x00\xD8").is_err());
    }
}
