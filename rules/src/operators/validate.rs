//! Input validation: `@validateByteRange`, `@validateUrlEncoding`,
//! `@validateUtf8Encoding`. Each matches when the input is *not* valid.

/// `@validateByteRange 10,13,32-126`: matches when any byte is outside the ranges.
pub(crate) struct ByteRange {
    allowed: [bool; 256],
}

impl ByteRange {
    /// Parses the list as ModSecurity does: comma-separated items, each `n` or
    /// `n-m`, every number read like `std::stoi` (leading white space, digits up to
    /// the first other byte, so `65 -90` is 65-90 and `0x41` is 0). An item that
    /// cannot be read is skipped with a warning, as ModSecurity ignores it.
    pub(crate) fn new(arg: &str, warnings: &mut Vec<String>) -> ByteRange {
        let mut allowed = [false; 256];
        for item in arg.split(',') {
            if let Err(e) = add_item(item, &mut allowed) {
                warnings.push(format!("@validateByteRange: ignoring '{item}': {e}"));
            }
        }
        ByteRange { allowed }
    }

    pub(crate) fn evaluate(&self, input: &[u8]) -> bool {
        input.iter().any(|&b| !self.allowed[usize::from(b)])
    }
}

fn add_item(item: &str, allowed: &mut [bool; 256]) -> Result<(), String> {
    let (start, end) = match item.find('-') {
        None => {
            let v = stoi(item)?;
            (v, v)
        }
        Some(pos) => (stoi(&item[..pos])?, stoi(&item[pos + 1..])?),
    };
    if !(0..=255).contains(&start) || !(0..=255).contains(&end) {
        return Err("values must be between 0 and 255".into());
    }
    if start > end {
        return Err("the range start is greater than its end".into());
    }
    for slot in &mut allowed[start as usize..=end as usize] {
        *slot = true;
    }
    Ok(())
}

/// `std::stoi`: white space, sign, digits; an error when there is no digit or
/// the value does not fit a 32-bit `int`.
fn stoi(text: &str) -> Result<i64, String> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err("not a number".into());
    }
    let v: i64 = t[..digits].parse().map_err(|_| "number out of range".to_string())?;
    let v = if negative { -v } else { v };
    i32::try_from(v).map(i64::from).map_err(|_| "number out of range".into())
}

/// `@validateUrlEncoding`: matches when a `%` is not followed by two hex digits.
/// Empty input does not match.
pub(crate) fn invalid_url_encoding(input: &[u8]) -> bool {
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            match input.get(i + 1..i + 3) {
                Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => i += 3,
                _ => return true,
            }
        } else {
            i += 1;
        }
    }
    false
}

/// `@validateUtf8Encoding`: matches on a truncated or malformed sequence, an
/// overlong form, a surrogate (U+D800..U+DFFF) or a lead byte of F5 and above.
/// Like ModSecurity, a four-byte form from F4 90 upwards (above U+10FFFF) passes.
pub(crate) fn invalid_utf8(input: &[u8]) -> bool {
    let mut i = 0;
    while i < input.len() {
        match utf8_char_len(&input[i..]) {
            Some(n) => i += n,
            None => return true,
        }
    }
    false
}

fn utf8_char_len(s: &[u8]) -> Option<usize> {
    let c = *s.first()?;
    let (len, init) = match c {
        0x00..=0x7f => return Some(1),
        _ if c & 0xe0 == 0xc0 => (2, u32::from(c & 0x1f)),
        _ if c & 0xf0 == 0xe0 => (3, u32::from(c & 0x0f)),
        _ if c & 0xf8 == 0xf0 => {
            if c >= 0xf5 {
                return None;
            }
            (4, u32::from(c & 0x07))
        }
        _ => return None,
    };
    let tail = s.get(1..len)?;
    let mut cp = init;
    for &b in tail {
        if b & 0xc0 != 0x80 {
            return None;
        }
        cp = (cp << 6) | u32::from(b & 0x3f);
    }
    let min = match len {
        2 => 0x80,
        3 => 0x800,
        _ => 0x10000,
    };
    if (0xd800..=0xdfff).contains(&cp) || cp < min {
        return None;
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(arg: &str) -> (ByteRange, Vec<String>) {
        let mut w = Vec::new();
        (ByteRange::new(arg, &mut w), w)
    }

    #[test]
    fn byte_range_parsing_observed_in_modsecurity() {
        let (r, w) = range("65-90,x,97-122");
        assert_eq!(w.len(), 1);
        assert!(!r.evaluate(b"az") && r.evaluate(b"0"));
        let (r, w) = range("65-90,122-97,48");
        assert_eq!(w.len(), 1);
        assert!(!r.evaluate(b"0") && r.evaluate(b"a"));
        let (r, _) = range("65 -90");
        assert!(!r.evaluate(b"AZ") && r.evaluate(b"a"));
        let (r, _) = range("65-90x,97");
        assert!(!r.evaluate(b"a") && r.evaluate(b"z"));
        let (r, _) = range("0x41-0x5a");
        assert!(!r.evaluate(b"\0") && r.evaluate(b"A"));
        let (r, w) = range("48-57, 97-122");
        assert!(w.is_empty());
        assert!(!r.evaluate(b"abc") && r.evaluate(b"GET") && r.evaluate(" 7".as_bytes()));
        assert!(!r.evaluate(b""));
        let (r, w) = range("1-255");
        assert!(w.is_empty() && r.evaluate(b"a\0") && !r.evaluate(&[255]));
        let (_, w) = range("300");
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn url_encoding() {
        assert!(!invalid_url_encoding(b""));
        assert!(!invalid_url_encoding(b"a%41b%2f"));
        assert!(invalid_url_encoding(b"a%4"));
        assert!(invalid_url_encoding(b"%"));
        assert!(invalid_url_encoding(b"%zz"));
        assert!(invalid_url_encoding(b"%4g"));
    }

    #[test]
    fn utf8() {
        assert!(!invalid_utf8(b""));
        assert!(!invalid_utf8("héllo €𝄞".as_bytes()));
        assert!(invalid_utf8(&[0xc3]));
        assert!(invalid_utf8(&[0xc3, 0x41]));
        assert!(invalid_utf8(&[0xc0, 0xaf]));
        assert!(invalid_utf8(&[0xe0, 0x80, 0xaf]));
        assert!(invalid_utf8(&[0xed, 0xa0, 0x80]));
        assert!(invalid_utf8(&[0xf5, 0x80, 0x80, 0x80]));
        assert!(invalid_utf8(&[0xff]));
        assert!(invalid_utf8(&[0x80]));
        assert!(!invalid_utf8(&[0xf4, 0x90, 0x80, 0x80]));
    }
}
