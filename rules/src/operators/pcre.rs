//! Translation of PCRE2 pattern syntax into Rust regex syntax.
//!
//! ModSecurity 3.0.9 (as built by Debian, against PCRE2 10.42) compiles every `@rx`
//! argument with `PCRE2_DOTALL | PCRE2_MULTILINE` and without UTF mode: the pattern
//! and the subject are byte strings, `.` matches any byte, `\w`, `\d`, `\s`, `\b` and
//! case-insensitivity only know ASCII. This module reads that dialect and writes an
//! equivalent pattern for one of two engines:
//!
//! * [`Flavor::Bytes`]: `regex::bytes` with Unicode off (`(?-u)`). Every byte of the
//!   PCRE pattern becomes the same byte in the output, so a pattern containing UTF-8
//!   text (`´’‘`) matches those bytes exactly as PCRE does.
//! * [`Flavor::Latin1`]: `fancy-regex`, for the few patterns that need backtracking
//!   features (look-around, backreferences, atomic groups, possessive quantifiers).
//!   fancy-regex only searches `&str`, so the subject is mapped byte-for-char onto
//!   U+0000..=U+00FF (see [`latin1`]) and every byte in the pattern is written as the
//!   matching char; no Unicode-aware construct is ever emitted.
//!
//! The translation resolves PCRE's own rules instead of passing text through: a `{`
//! that starts no valid quantifier is a literal, `[` inside a class is a literal,
//! `[\w-.]` has a literal hyphen, `\<` is `<`, `\x{HH}`, octal and `\cX` escapes become
//! bytes, `(?x)` whitespace is dropped. Flags (`i`, `m`, `s`, `x`, `n`, `U`) are
//! applied here and never forwarded: character classes are computed as 256-bit byte
//! sets (case-folded over ASCII letters only when `i` is on) and written out
//! explicitly, `.` becomes the set it stands for, `^`/`$` become `(?m:^)`/`(?m:$)` or
//! `\A`/end-of-subject forms. That keeps both flavors byte-for-byte equivalent.
//!
//! PCRE's multi-line `^` does not match after a newline that ends the subject;
//! Rust's does. [`Translated::multiline_caret`] tells the caller to confirm, with
//! the exact Latin-1 translation, any match that could depend on that position.
//!
//! fancy-regex has no caseless backreference. When every consuming item of a
//! pattern is case-insensitive anyway (CRS 3's 942130 is one `(?i:...)`), matching
//! the ASCII-lowercased subject is equivalent and makes `\1` caseless:
//! [`Translated::fold_input`] asks for that.
//!
//! Checked differentially against PCRE2 10.42 (every CRS 3.3.4 and 4.28 pattern on
//! ~37,000 inputs, and thousands of generated patterns): matches and groups 0-9
//! agree. Known differences, none of which a CRS pattern exhibits: a backreference
//! under `(?i)` in a pattern that also has case-sensitive parts compares
//! case-sensitively; a group that matches the empty string on the last iteration
//! of `*`/`+` may be reported unset where PCRE reports it empty; PCRE2's
//! auto-possessification treats `\h*` before `\S` as possessive although byte A0
//! is in both. Recursion, conditionals, callouts, branch reset, `\p`, `\X` and
//! `(*VERB)` are rejected with an error, as are the forms PCRE2 itself rejects
//! (`[\w-.]`, `\i`, unbalanced parentheses, ...).

use std::fmt::Write as _;

/// Which engine the output is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `regex::bytes`, Unicode off.
    Bytes,
    /// `fancy-regex` over the Latin-1 view of the subject.
    Latin1,
}

/// The translated pattern.
#[derive(Debug)]
pub(crate) struct Translated {
    pub pattern: String,
    /// The pattern uses a construct only a backtracking engine offers; the
    /// [`Flavor::Bytes`] output is then incomplete and must not be compiled.
    pub needs_backtracking: bool,
    /// The [`Flavor::Bytes`] output contains a multi-line `^`, which Rust also
    /// matches after a newline that ends the subject and PCRE does not. A match
    /// that ends at the end of a subject ending in `\n` must then be confirmed
    /// with the [`Flavor::Latin1`] translation, which spells `^` exactly.
    pub multiline_caret: bool,
    /// Search the ASCII-lowercased subject (offsets are unchanged): the pattern has
    /// backreferences under `(?i)` and nothing that tells letter cases apart.
    pub fold_input: bool,
}

/// Translates `pcre` (a PCRE2 pattern, as bytes) for `flavor`.
pub(crate) fn translate(pcre: &[u8], flavor: Flavor) -> Result<Translated, String> {
    let mut t = Translator {
        src: pcre,
        pos: 0,
        out: String::with_capacity(pcre.len() * 2 + 8),
        flavor,
        flags: Flags { i: false, m: true, s: true, x: false, n: false, ungreedy: false },
        frames: Vec::new(),
        groups: 0,
        names: Vec::new(),
        needs_backtracking: false,
        multiline_caret: false,
        case_sensitive: false,
        caseless_backref: false,
        cased_backref: false,
        last_atom: None,
        last_atom_is_assertion: false,
        quoting: false,
    };
    if flavor == Flavor::Bytes {
        t.out.push_str("(?-u)");
    }
    t.run().map_err(|e| format!("{e} at offset {} of the pattern", t.pos))?;
    Ok(Translated {
        pattern: t.out,
        needs_backtracking: t.needs_backtracking,
        multiline_caret: t.multiline_caret,
        fold_input: t.caseless_backref && !t.cased_backref && !t.case_sensitive,
    })
}

/// Maps bytes to a `str` whose chars are U+0000..=U+00FF, one per byte, so that a
/// `&str`-only engine can search arbitrary bytes without loss. ASCII input is
/// borrowed unchanged.
pub(crate) mod latin1 {
    use std::borrow::Cow;

    pub(crate) fn encode(bytes: &[u8]) -> Cow<'_, str> {
        match std::str::from_utf8(bytes) {
            Ok(s) if bytes.is_ascii() => Cow::Borrowed(s),
            _ => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
        }
    }

    /// Byte offset in the original input of text offset `text_pos` (a char boundary).
    pub(crate) fn byte_offset(text: &str, text_pos: usize) -> usize {
        text.get(..text_pos).map_or(0, |prefix| prefix.chars().count())
    }

    /// Text offset of byte offset `byte_pos` of the original input.
    pub(crate) fn text_offset(bytes: &[u8], byte_pos: usize) -> usize {
        let end = byte_pos.min(bytes.len());
        end + bytes[..end].iter().filter(|&&b| b >= 0x80).count()
    }
}

#[derive(Clone, Copy, Debug)]
struct Flags {
    i: bool,
    m: bool,
    s: bool,
    x: bool,
    n: bool,
    ungreedy: bool,
}

struct Frame {
    saved: Flags,
    out_start: usize,
    /// A look-around group: PCRE allows a quantifier on it, with its own meaning.
    assertion: bool,
    /// Something inside consumes input (otherwise the group is zero-width and a
    /// quantifier on it is treated like one on an assertion).
    consumes: bool,
}

/// A set of bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    const EMPTY: ByteSet = ByteSet([0; 4]);

    fn add(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1u64 << (b & 63);
    }
    fn add_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.add(b);
        }
    }
    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1u64 << (b & 63)) != 0
    }
    fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= *b;
        }
    }
    fn complement(&self) -> ByteSet {
        ByteSet([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }
    fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
    fn from_fn(f: impl Fn(u8) -> bool) -> ByteSet {
        let mut s = ByteSet::EMPTY;
        for b in 0..=255u8 {
            if f(b) {
                s.add(b);
            }
        }
        s
    }
    /// Adds the other ASCII case of every ASCII letter in the set.
    fn fold_ascii_case(&mut self) {
        for b in b'a'..=b'z' {
            let upper = b.to_ascii_uppercase();
            if self.contains(b) || self.contains(upper) {
                self.add(b);
                self.add(upper);
            }
        }
    }
}

/// The named sets of PCRE (C locale tables, no UCP).
fn class_escape_set(c: u8) -> Option<ByteSet> {
    let set = match c.to_ascii_lowercase() {
        b'd' => ByteSet::from_fn(|b| b.is_ascii_digit()),
        b'w' => ByteSet::from_fn(|b| b.is_ascii_alphanumeric() || b == b'_'),
        b's' => ByteSet::from_fn(|b| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')),
        b'h' => ByteSet::from_fn(|b| matches!(b, b'\t' | b' ' | 0xa0)),
        b'v' => ByteSet::from_fn(|b| matches!(b, b'\n' | 0x0b | 0x0c | b'\r' | 0x85)),
        _ => return None,
    };
    Some(if c.is_ascii_uppercase() { set.complement() } else { set })
}

fn posix_class_set(name: &[u8]) -> Option<ByteSet> {
    let f: fn(u8) -> bool = match name {
        b"alpha" => |b| b.is_ascii_alphabetic(),
        b"digit" => |b| b.is_ascii_digit(),
        b"alnum" => |b| b.is_ascii_alphanumeric(),
        b"space" => |b| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '),
        b"blank" => |b| b == b' ' || b == b'\t',
        b"cntrl" => |b| b < 0x20 || b == 0x7f,
        b"graph" => |b| (0x21..=0x7e).contains(&b),
        b"print" => |b| (0x20..=0x7e).contains(&b),
        b"punct" => |b| b.is_ascii_punctuation(),
        b"lower" => |b| b.is_ascii_lowercase(),
        b"upper" => |b| b.is_ascii_uppercase(),
        b"word" => |b| b.is_ascii_alphanumeric() || b == b'_',
        b"xdigit" => |b| b.is_ascii_hexdigit(),
        b"ascii" => |b| b < 0x80,
        _ => return None,
    };
    Some(ByteSet::from_fn(f))
}

/// What one escape sequence stands for.
enum Escape {
    Byte(u8),
    Set(ByteSet),
    /// Already-written text for a zero-width assertion (not quantifiable).
    Assertion(&'static str),
    /// Text for a quantifiable construct that is not a byte or a set.
    Other(String),
    Backref(usize),
    /// `\Q`, `\E`: nothing to emit.
    Nothing,
}

const WORD_CLASS_LATIN1: &str = "[0-9A-Z_a-z]";

struct Translator<'a> {
    src: &'a [u8],
    pos: usize,
    out: String,
    flavor: Flavor,
    flags: Flags,
    frames: Vec<Frame>,
    groups: usize,
    names: Vec<(Vec<u8>, usize)>,
    needs_backtracking: bool,
    multiline_caret: bool,
    /// Some emitted item tells `a` from `A`.
    case_sensitive: bool,
    caseless_backref: bool,
    cased_backref: bool,
    /// Output offset where the last quantifiable item starts.
    last_atom: Option<usize>,
    /// That item is a look-around group.
    last_atom_is_assertion: bool,
    /// Inside `\Q...\E`.
    quoting: bool,
}

impl Translator<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }
    fn peek_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }
    fn rest(&self) -> &[u8] {
        self.src.get(self.pos..).unwrap_or(&[])
    }

    fn run(&mut self) -> Result<(), String> {
        while let Some(c) = self.peek() {
            if self.quoting {
                if self.rest().starts_with(b"\\E") {
                    self.quoting = false;
                    self.pos += 2;
                } else {
                    self.pos += 1;
                    self.emit_literal(c);
                }
                continue;
            }
            if self.flags.x && self.skip_extended_space() {
                continue;
            }
            match c {
                b'\\' => self.escape_outside_class()?,
                b'[' => {
                    self.pos += 1;
                    let set = self.class()?;
                    self.start_atom();
                    self.emit_set(&set);
                }
                b'(' => self.open_group()?,
                b')' => {
                    self.pos += 1;
                    let frame = self.frames.pop().ok_or("unmatched closing parenthesis")?;
                    self.flags = frame.saved;
                    self.out.push(')');
                    self.last_atom = Some(frame.out_start);
                    self.last_atom_is_assertion = frame.assertion || !frame.consumes;
                    if frame.consumes && !frame.assertion {
                        if let Some(parent) = self.frames.last_mut() {
                            parent.consumes = true;
                        }
                    }
                }
                b'|' => {
                    self.pos += 1;
                    self.out.push('|');
                    self.last_atom = None;
                }
                b'^' => {
                    self.pos += 1;
                    let text = match (self.flags.m, self.flavor) {
                        (false, _) => "\\A",
                        (true, Flavor::Bytes) => {
                            self.multiline_caret = true;
                            "(?m:^)"
                        }
                        // Start, or after a newline that does not end the subject.
                        (true, Flavor::Latin1) => "(?:\\A|(?<=\\n)(?!\\z))",
                    };
                    self.emit_assertion(text);
                }
                b'$' => {
                    self.pos += 1;
                    if self.flags.m {
                        self.emit_assertion("(?m:$)");
                    } else {
                        self.end_or_final_newline();
                    }
                }
                b'.' => {
                    self.pos += 1;
                    let set = if self.flags.s {
                        ByteSet::EMPTY.complement()
                    } else {
                        ByteSet::from_fn(|b| b != b'\n')
                    };
                    self.start_atom();
                    self.emit_set(&set);
                }
                b'*' | b'+' | b'?' => {
                    self.pos += 1;
                    let (lo, hi) = match c {
                        b'*' => (0, None),
                        b'+' => (1, None),
                        _ => (0, Some(1)),
                    };
                    self.quantifier(lo, hi)?;
                }
                b'{' => match self.brace_quantifier()? {
                    Some((lo, hi, len)) => {
                        self.pos += len;
                        self.quantifier(lo, hi)?;
                    }
                    None => {
                        self.pos += 1;
                        self.emit_literal(b'{');
                    }
                },
                _ => {
                    self.pos += 1;
                    self.emit_literal(c);
                }
            }
        }
        if !self.frames.is_empty() {
            return Err("missing closing parenthesis".into());
        }
        Ok(())
    }

    /// In `(?x)` mode, skips one run of white space or one `#` comment.
    fn skip_extended_space(&mut self) -> bool {
        match self.peek() {
            Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') => {
                self.pos += 1;
                true
            }
            Some(b'#') => {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == b'\n' {
                        break;
                    }
                }
                true
            }
            _ => false,
        }
    }

    fn start_atom(&mut self) {
        self.last_atom = Some(self.out.len());
        self.last_atom_is_assertion = false;
        if let Some(frame) = self.frames.last_mut() {
            frame.consumes = true;
        }
    }

    fn emit_assertion(&mut self, text: &str) {
        self.out.push_str(text);
        self.last_atom = None;
    }

    /// PCRE's non-multi-line `$` and `\Z`: end of subject or before a final newline.
    fn end_or_final_newline(&mut self) {
        self.needs_backtracking = true;
        self.emit_assertion("(?=\\n?\\z)");
    }

    fn word_boundary(&mut self, negated: bool) {
        match self.flavor {
            Flavor::Bytes => self.emit_assertion(if negated { "\\B" } else { "\\b" }),
            Flavor::Latin1 => {
                // fancy-regex's own \b is Unicode-aware; spell out the ASCII one.
                let w = WORD_CLASS_LATIN1;
                let text = if negated {
                    format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))")
                } else {
                    format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))")
                };
                self.out.push_str(&text);
                self.last_atom = None;
            }
        }
    }

    fn emit_literal(&mut self, b: u8) {
        self.start_atom();
        if self.flags.i && b.is_ascii_alphabetic() {
            let mut set = ByteSet::EMPTY;
            set.add(b);
            set.fold_ascii_case();
            self.write_set(&set);
        } else {
            self.case_sensitive |= b.is_ascii_alphabetic();
            self.write_byte(b, false);
        }
    }

    fn write_byte(&mut self, b: u8, in_class: bool) {
        if b.is_ascii_alphanumeric() || (!in_class && b == b'_') {
            self.out.push(char::from(b));
        } else {
            match self.flavor {
                Flavor::Bytes => {
                    let _ = write!(self.out, "\\x{b:02X}");
                }
                Flavor::Latin1 => {
                    let _ = write!(self.out, "\\x{{{b:02X}}}");
                }
            }
        }
    }

    /// Writes a set (case folding already applied) as a class or a single byte.
    fn emit_set(&mut self, set: &ByteSet) {
        let mut set = *set;
        if self.flags.i {
            set.fold_ascii_case();
        }
        self.write_set(&set);
    }

    fn write_set(&mut self, set: &ByteSet) {
        self.case_sensitive |=
            (b'a'..=b'z').any(|b| set.contains(b) != set.contains(b.to_ascii_uppercase()));
        if set.count() == 1 {
            if let Some(b) = (0..=255u8).find(|&b| set.contains(b)) {
                self.write_byte(b, false);
                return;
            }
        }
        if set.count() == 0 {
            // Matches nothing; written as the complement of everything.
            match self.flavor {
                Flavor::Bytes => self.out.push_str("[^\\x00-\\xFF]"),
                Flavor::Latin1 => self.out.push_str("[^\\x{00}-\\x{FF}]"),
            }
            return;
        }
        self.out.push('[');
        let mut b = 0u16;
        while b <= 255 {
            let lo = b as u8;
            if !set.contains(lo) {
                b += 1;
                continue;
            }
            let mut hi = lo;
            while hi < 255 && set.contains(hi + 1) {
                hi += 1;
            }
            self.write_byte(lo, true);
            if hi > lo {
                if hi > lo + 1 {
                    self.out.push('-');
                }
                self.write_byte(hi, true);
            }
            b = u16::from(hi) + 1;
        }
        self.out.push(']');
    }

    /// Applies a quantifier to the last atom. `self.pos` is just past its base form.
    fn quantifier(&mut self, lo: u32, hi: Option<u32>) -> Result<(), String> {
        let Some(atom_start) = self.last_atom else {
            return Err("quantifier does not follow a repeatable item".into());
        };
        let mut lazy = false;
        let mut possessive = false;
        match self.peek() {
            Some(b'?') => {
                lazy = true;
                self.pos += 1;
            }
            Some(b'+') => {
                possessive = true;
                self.pos += 1;
            }
            _ => {}
        }
        if hi == Some(0) {
            // `X{0}` matches the empty string and leaves X's groups unset; the
            // engines here would report an empty capture, so X is made unreachable.
            let never = match self.flavor {
                Flavor::Bytes => "(?:[^\\x00-\\xFF]",
                Flavor::Latin1 => "(?:[^\\x{00}-\\x{FF}]",
            };
            self.out.insert_str(atom_start, never);
            self.out.push_str(")?");
            self.last_atom = None;
            return Ok(());
        }
        if self.last_atom_is_assertion {
            return self.quantified_assertion(atom_start, lo, lazy != self.flags.ungreedy);
        }
        if self.flags.ungreedy && !possessive {
            lazy = !lazy;
        }
        match (lo, hi) {
            (0, None) => self.out.push('*'),
            (1, None) => self.out.push('+'),
            (0, Some(1)) => self.out.push('?'),
            (lo, None) => {
                let _ = write!(self.out, "{{{lo},}}");
            }
            (lo, Some(hi)) if lo == hi => {
                let _ = write!(self.out, "{{{lo}}}");
            }
            (lo, Some(hi)) => {
                let _ = write!(self.out, "{{{lo},{hi}}}");
            }
        }
        if lazy {
            self.out.push('?');
        }
        if possessive {
            self.needs_backtracking = true;
            self.out.push('+');
        }
        self.last_atom = None;
        Ok(())
    }

    /// PCRE2 accepts a quantifier on a look-around group (or a group holding only
    /// assertions): with a minimum of zero the assertion becomes optional (tried,
    /// then skipped), otherwise it is tested once. Rust engines reject such
    /// quantifiers, so they are rewritten.
    fn quantified_assertion(&mut self, atom_start: usize, lo: u32, lazy: bool) -> Result<(), String> {
        if lo == 0 {
            // `(?:A|)` tries the assertion first, `(?:|A)` last, like `?` and `??`.
            self.out.insert_str(atom_start, if lazy { "(?:|" } else { "(?:" });
            self.out.push_str(if lazy { ")" } else { "|)" });
        }
        self.last_atom = None;
        Ok(())
    }

    /// Reads `{n}`, `{n,}` or `{n,m}` at `self.pos`; `None` when the brace starts
    /// no quantifier and is therefore a literal (PCRE2 10.42 rules).
    fn brace_quantifier(&self) -> Result<Option<(u32, Option<u32>, usize)>, String> {
        let rest = self.rest();
        let digits = |from: usize| rest.iter().skip(from).take_while(|b| b.is_ascii_digit()).count();
        let n1 = digits(1);
        if n1 == 0 {
            return Ok(None);
        }
        let parse = |from: usize, len: usize| -> Result<u32, String> {
            let text = std::str::from_utf8(&rest[from..from + len]).unwrap_or("");
            match text.parse::<u32>() {
                Ok(v) if v <= 65535 => Ok(v),
                _ => Err("number too big in {} quantifier".into()),
            }
        };
        match rest.get(1 + n1) {
            Some(b'}') => {
                let lo = parse(1, n1)?;
                Ok(Some((lo, Some(lo), n1 + 2)))
            }
            Some(b',') => {
                let n2 = digits(2 + n1);
                if rest.get(2 + n1 + n2) != Some(&b'}') {
                    return Ok(None);
                }
                let lo = parse(1, n1)?;
                if n2 == 0 {
                    return Ok(Some((lo, None, n1 + 3)));
                }
                let hi = parse(2 + n1, n2)?;
                if hi < lo {
                    return Err("numbers out of order in {} quantifier".into());
                }
                Ok(Some((lo, Some(hi), n1 + n2 + 3)))
            }
            _ => Ok(None),
        }
    }

    fn open_group(&mut self) -> Result<(), String> {
        let out_start = self.out.len();
        self.pos += 1; // '('
        if self.peek() == Some(b'*') {
            return Err("(*VERB) and alpha assertions are not supported".into());
        }
        if self.peek() != Some(b'?') {
            if self.flags.n {
                self.out.push_str("(?:");
            } else {
                self.groups += 1;
                self.out.push('(');
            }
            return self.push_frame(out_start);
        }
        self.pos += 1; // '?'
        let c = self.peek().ok_or("unterminated group")?;
        match c {
            b'#' => {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == b')' {
                        return Ok(());
                    }
                }
                Err("missing ) after (?# comment".into())
            }
            b':' => {
                self.pos += 1;
                self.out.push_str("(?:");
                self.push_frame(out_start)
            }
            b'>' => {
                self.pos += 1;
                self.needs_backtracking = true;
                self.out.push_str("(?>");
                self.push_frame(out_start)
            }
            b'=' | b'!' => {
                self.pos += 1;
                self.needs_backtracking = true;
                self.out.push_str(if c == b'=' { "(?=" } else { "(?!" });
                self.push_frame_kind(out_start, true)
            }
            b'<' if matches!(self.peek_at(1), Some(b'=' | b'!')) => {
                let neg = self.peek_at(1) == Some(b'!');
                self.pos += 2;
                self.needs_backtracking = true;
                self.out.push_str(if neg { "(?<!" } else { "(?<=" });
                self.push_frame_kind(out_start, true)
            }
            b'<' | b'\'' => {
                self.pos += 1;
                let close = if c == b'<' { b'>' } else { b'\'' };
                self.named_group(close, out_start)
            }
            b'P' => match self.peek_at(1) {
                Some(b'<') => {
                    self.pos += 2;
                    self.named_group(b'>', out_start)
                }
                Some(b'=') => {
                    self.pos += 2;
                    let name = self.read_name(b')')?;
                    let group = self.group_by_name(&name)?;
                    self.backref(group);
                    Ok(())
                }
                _ => Err("recursion and subroutine calls are not supported".into()),
            },
            b'|' => Err("branch reset groups (?| are not supported".into()),
            b'(' => Err("conditional groups are not supported".into()),
            b'R' | b'&' | b'+' | b'0'..=b'9' => {
                Err("recursion and subroutine calls are not supported".into())
            }
            b'C' => Err("callouts are not supported".into()),
            b'-' if matches!(self.peek_at(1), Some(b'0'..=b'9')) => {
                Err("recursion and subroutine calls are not supported".into())
            }
            _ => self.flag_group(out_start),
        }
    }

    fn push_frame(&mut self, out_start: usize) -> Result<(), String> {
        self.push_frame_kind(out_start, false)
    }

    fn push_frame_kind(&mut self, out_start: usize, assertion: bool) -> Result<(), String> {
        if self.frames.len() >= 200 {
            return Err("parentheses are too deeply nested".into());
        }
        self.frames.push(Frame { saved: self.flags, out_start, assertion, consumes: false });
        self.last_atom = None;
        Ok(())
    }

    /// `(?flags)` or `(?flags:...)`, `self.pos` just past `(?`.
    fn flag_group(&mut self, out_start: usize) -> Result<(), String> {
        let mut flags = self.flags;
        let mut on = true;
        if self.peek() == Some(b'^') {
            self.pos += 1;
            flags.i = false;
            flags.m = false;
            flags.s = false;
            flags.x = false;
            flags.n = false;
        }
        loop {
            let c = self.peek().ok_or("unterminated option setting")?;
            self.pos += 1;
            match c {
                b'i' => flags.i = on,
                b'm' => flags.m = on,
                b's' => flags.s = on,
                b'x' => flags.x = on,
                b'n' => flags.n = on,
                b'U' => flags.ungreedy = on,
                b'J' => {}
                b'-' if on => on = false,
                b')' => {
                    self.flags = flags;
                    return Ok(());
                }
                b':' => {
                    self.out.push_str("(?:");
                    self.push_frame(out_start)?;
                    self.flags = flags;
                    return Ok(());
                }
                other => {
                    return Err(format!("unrecognized option character '{}'", char::from(other)));
                }
            }
        }
    }

    fn read_name(&mut self, close: u8) -> Result<Vec<u8>, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == close {
                let name = self.src[start..self.pos].to_vec();
                self.pos += 1;
                let valid = !name.is_empty()
                    && name.len() <= 32
                    && !name[0].is_ascii_digit()
                    && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
                if !valid {
                    return Err("invalid group name".into());
                }
                return Ok(name);
            }
            self.pos += 1;
        }
        Err("unterminated group name".into())
    }

    fn named_group(&mut self, close: u8, out_start: usize) -> Result<(), String> {
        let name = self.read_name(close)?;
        if self.names.iter().any(|(n, _)| *n == name) {
            return Err("two named groups have the same name".into());
        }
        self.groups += 1;
        self.names.push((name.clone(), self.groups));
        self.out.push_str("(?P<");
        self.out.push_str(std::str::from_utf8(&name).unwrap_or("g"));
        self.out.push('>');
        self.push_frame(out_start)
    }

    fn group_by_name(&self, name: &[u8]) -> Result<usize, String> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, g)| *g)
            .ok_or_else(|| "reference to a non-existent group name".into())
    }

    fn backref(&mut self, group: usize) {
        self.needs_backtracking = true;
        if self.flags.i {
            self.caseless_backref = true;
        } else {
            self.cased_backref = true;
        }
        self.start_atom();
        let _ = write!(self.out, "\\k<{group}>");
    }

    fn escape_outside_class(&mut self) -> Result<(), String> {
        match self.escape(false)? {
            Escape::Byte(b) => self.emit_literal(b),
            Escape::Set(set) => {
                self.start_atom();
                self.emit_set(&set);
            }
            Escape::Assertion(text) => match text {
                "\\b" => self.word_boundary(false),
                "\\B" => self.word_boundary(true),
                "\\Z" => self.end_or_final_newline(),
                _ => self.emit_assertion(text),
            },
            Escape::Other(text) => {
                self.start_atom();
                self.out.push_str(&text);
            }
            Escape::Backref(group) => self.backref(group),
            Escape::Nothing => {}
        }
        Ok(())
    }

    /// Reads one escape sequence; `self.pos` is at the backslash.
    fn escape(&mut self, in_class: bool) -> Result<Escape, String> {
        self.pos += 1;
        let c = self.peek().ok_or("\\ at end of pattern")?;
        self.pos += 1;
        let byte = |b: u8| Ok(Escape::Byte(b));
        match c {
            b'a' => byte(0x07),
            b'e' => byte(0x1b),
            b'f' => byte(0x0c),
            b'n' => byte(b'\n'),
            b'r' => byte(b'\r'),
            b't' => byte(b'\t'),
            b'x' => self.hex_escape().map(Escape::Byte),
            b'o' => self.octal_braces().map(Escape::Byte),
            b'c' => {
                let x = self.peek().ok_or("\\c at end of pattern")?;
                if !(0x20..=0x7e).contains(&x) {
                    return Err("\\c must be followed by a printable ASCII character".into());
                }
                self.pos += 1;
                byte(x.to_ascii_uppercase() ^ 0x40)
            }
            b'd' | b'D' | b'w' | b'W' | b's' | b'S' | b'h' | b'H' | b'v' | b'V' => {
                Ok(Escape::Set(class_escape_set(c).ok_or("bad class escape")?))
            }
            b'Q' => {
                self.quoting = true;
                Ok(Escape::Nothing)
            }
            b'E' => Ok(Escape::Nothing),
            b'0'..=b'7' if in_class || c == b'0' => {
                self.pos -= 1;
                self.octal_digits().map(Escape::Byte)
            }
            b'8' | b'9' if in_class => byte(c),
            b'b' if in_class => byte(0x08),
            _ if in_class && c.is_ascii_alphanumeric() => Err(format!(
                "escape \\{} is not allowed in a character class",
                char::from(c)
            )),
            b'1'..=b'9' => {
                let start = self.pos - 1;
                let len = self.src[start..].iter().take_while(|b| b.is_ascii_digit()).count();
                let text = std::str::from_utf8(&self.src[start..start + len]).unwrap_or("");
                let n: usize = text.parse().unwrap_or(usize::MAX);
                if n < 10 || c >= b'8' || n <= self.groups {
                    self.pos = start + len;
                    Ok(Escape::Backref(n))
                } else {
                    self.pos = start;
                    self.octal_digits().map(Escape::Byte)
                }
            }
            b'g' => self.g_backref().map(Escape::Backref),
            b'k' => {
                let close = match self.peek() {
                    Some(b'<') => b'>',
                    Some(b'\'') => b'\'',
                    Some(b'{') => b'}',
                    _ => return Err("\\k must be followed by a group name".into()),
                };
                self.pos += 1;
                let name = self.read_name(close)?;
                self.group_by_name(&name).map(Escape::Backref)
            }
            b'b' => Ok(Escape::Assertion("\\b")),
            b'B' => Ok(Escape::Assertion("\\B")),
            b'A' => Ok(Escape::Assertion("\\A")),
            b'z' => Ok(Escape::Assertion("\\z")),
            b'Z' => Ok(Escape::Assertion("\\Z")),
            b'G' | b'K' => {
                self.needs_backtracking = true;
                Ok(Escape::Assertion(if c == b'G' { "\\G" } else { "\\K" }))
            }
            b'N' => {
                if self.peek() == Some(b'{') && self.brace_quantifier()?.is_none() {
                    return Err("\\N{name} and \\N{U+...} are not supported".into());
                }
                Ok(Escape::Set(ByteSet::from_fn(|b| b != b'\n')))
            }
            b'C' => Ok(Escape::Set(ByteSet::EMPTY.complement())),
            b'R' => {
                // Atomic in PCRE: \r\n is never split to let a later item match \n.
                self.needs_backtracking = true;
                Ok(Escape::Other("(?>\\x{0D}\\x{0A}|[\\x{0A}-\\x{0D}\\x{85}])".to_string()))
            }
            b'p' | b'P' | b'X' => Err(format!("\\{} is not supported", char::from(c))),
            _ if c.is_ascii_alphanumeric() => {
                Err(format!("unrecognized escape \\{}", char::from(c)))
            }
            _ => byte(c),
        }
    }

    /// `\x` already consumed: `\x{hh}` or up to two hex digits.
    fn hex_escape(&mut self) -> Result<u8, String> {
        if self.peek() == Some(b'{') {
            let rest = self.rest();
            let len = rest.iter().skip(1).take_while(|b| b.is_ascii_hexdigit()).count();
            if len > 0 && rest.get(1 + len) == Some(&b'}') {
                let text = std::str::from_utf8(&rest[1..1 + len]).unwrap_or("");
                let value = u32::from_str_radix(text.trim_start_matches('0'), 16).unwrap_or(0);
                if len > 8 || value > 0xff {
                    return Err("character code point value in \\x{} is too large".into());
                }
                self.pos += len + 2;
                return Ok(value as u8);
            }
            return Err("\\x{ is not followed by hex digits and }".into());
        }
        let mut value = 0u8;
        for _ in 0..2 {
            match self.peek() {
                Some(h) if h.is_ascii_hexdigit() => {
                    value = value * 16 + (h as char).to_digit(16).unwrap_or(0) as u8;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        Ok(value)
    }

    /// `\o` already consumed.
    fn octal_braces(&mut self) -> Result<u8, String> {
        let rest = self.rest();
        let len = rest.iter().skip(1).take_while(|b| (b'0'..=b'7').contains(b)).count();
        if rest.first() != Some(&b'{') || len == 0 || rest.get(1 + len) != Some(&b'}') {
            return Err("\\o must be followed by {octal digits}".into());
        }
        let text = std::str::from_utf8(&rest[1..1 + len]).unwrap_or("");
        let value = u32::from_str_radix(text.trim_start_matches('0'), 8).unwrap_or(0);
        if len > 11 || value > 0xff {
            return Err("octal value in \\o{} is too large".into());
        }
        self.pos += len + 2;
        Ok(value as u8)
    }

    /// Up to three octal digits at `self.pos`.
    fn octal_digits(&mut self) -> Result<u8, String> {
        let mut value = 0u32;
        for _ in 0..3 {
            match self.peek() {
                Some(d @ b'0'..=b'7') => {
                    value = value * 8 + u32::from(d - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        u8::try_from(value).map_err(|_| "octal value is greater than \\377".to_string())
    }

    /// `\g` already consumed: `\gN`, `\g{N}`, `\g-N`, `\g{-N}`, `\g{name}`.
    fn g_backref(&mut self) -> Result<usize, String> {
        let braced = self.peek() == Some(b'{');
        if braced {
            self.pos += 1;
        }
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative || self.peek() == Some(b'+') {
            self.pos += 1;
        }
        let digits = self.rest().iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            if braced {
                self.pos = start;
                let name = self.read_name(b'}')?;
                return self.group_by_name(&name);
            }
            return Err("\\g is not followed by a group number or name".into());
        }
        let text = std::str::from_utf8(&self.src[self.pos..self.pos + digits]).unwrap_or("");
        let n: usize = text.parse().map_err(|_| "group number is too big".to_string())?;
        self.pos += digits;
        if braced {
            if self.peek() != Some(b'}') {
                return Err("\\g{ is not terminated".into());
            }
            self.pos += 1;
        }
        if self.src.get(start) == Some(&b'+') {
            return Err("forward relative backreferences are not supported".into());
        }
        if negative {
            let group = (self.groups + 1).checked_sub(n).filter(|g| *g > 0 && n > 0);
            return group.ok_or_else(|| "relative backreference to a non-existent group".into());
        }
        if n == 0 {
            return Err("backreference to group 0".into());
        }
        Ok(n)
    }

    /// A character class; `self.pos` is just past `[`. Returns the positive set
    /// (negation and case folding of the listed members applied).
    fn class(&mut self) -> Result<ByteSet, String> {
        let mut negated = false;
        if self.peek() == Some(b'^') {
            negated = true;
            self.pos += 1;
        }
        let mut set = ByteSet::EMPTY;
        let mut first = true;
        loop {
            let c = self.peek().ok_or("missing terminating ] for character class")?;
            if self.quoting {
                if self.rest().starts_with(b"\\E") {
                    self.quoting = false;
                    self.pos += 2;
                    continue;
                }
            } else if c == b']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            if !self.quoting && c == b'[' {
                if let Some(posix) = self.posix_class()? {
                    set.union(&posix);
                    self.no_range_after_set()?;
                    continue;
                }
            }
            let start = match self.class_atom()? {
                None => continue,
                Some(Escape::Set(s)) => {
                    set.union(&s);
                    self.no_range_after_set()?;
                    continue;
                }
                Some(Escape::Byte(b)) => b,
                Some(_) => return Err("invalid escape in character class".into()),
            };
            let is_range = !self.quoting
                && self.peek() == Some(b'-')
                && self.peek_at(1).is_some_and(|n| n != b']');
            if !is_range {
                set.add(start);
                continue;
            }
            self.pos += 1; // '-'
            if self.peek() == Some(b'[') && self.peek_at(1) == Some(b':') {
                return Err("invalid range in character class".into());
            }
            match self.class_atom()? {
                Some(Escape::Byte(end)) => {
                    if end < start {
                        return Err("range out of order in character class".into());
                    }
                    set.add_range(start, end);
                }
                Some(Escape::Set(_)) => return Err("invalid range in character class".into()),
                _ => return Err("invalid range in character class".into()),
            }
        }
        if self.flags.i {
            set.fold_ascii_case();
        }
        Ok(if negated { set.complement() } else { set })
    }

    /// PCRE2 rejects `[\d-z]` and `[[:alpha:]-z]`; a hyphen after a set is only a
    /// literal at the end of the class.
    fn no_range_after_set(&self) -> Result<(), String> {
        if !self.quoting && self.peek() == Some(b'-') && self.peek_at(1).is_some_and(|n| n != b']') {
            return Err("invalid range in character class".into());
        }
        Ok(())
    }

    /// One member of a class: a byte, a set, or `None` for `\Q`/`\E`.
    fn class_atom(&mut self) -> Result<Option<Escape>, String> {
        let c = self.peek().ok_or("missing terminating ] for character class")?;
        if self.quoting || c != b'\\' {
            self.pos += 1;
            return Ok(Some(Escape::Byte(c)));
        }
        match self.escape(true)? {
            Escape::Nothing => Ok(None),
            e @ (Escape::Byte(_) | Escape::Set(_)) => Ok(Some(e)),
            _ => Err("invalid escape in character class".into()),
        }
    }

    /// `[:name:]` or `[:^name:]` at `self.pos`; `None` when the `[` is a literal.
    fn posix_class(&mut self) -> Result<Option<ByteSet>, String> {
        let rest = self.rest();
        let kind = match rest.get(1) {
            Some(&k @ (b':' | b'.' | b'=')) => k,
            _ => return Ok(None),
        };
        // PCRE recognises the syntax only when a matching terminator follows
        // before the class ends.
        let body_start = 2;
        let Some(len) = rest[body_start..]
            .windows(2)
            .position(|w| w[0] == kind && w[1] == b']')
        else {
            return Ok(None);
        };
        let body = &rest[body_start..body_start + len];
        if body.contains(&b']') || body.contains(&b'\\') || body.contains(&b'[') {
            return Ok(None);
        }
        if kind != b':' {
            return Err("POSIX collating elements are not supported".into());
        }
        let (negated, name) = match body.strip_prefix(b"^") {
            Some(name) => (true, name),
            None => (false, body),
        };
        let set = posix_class_set(name).ok_or("unknown POSIX class name")?;
        self.pos += body_start + len + 2;
        Ok(Some(if negated { set.complement() } else { set }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(p: &str) -> String {
        let t = translate(p.as_bytes(), Flavor::Bytes).unwrap();
        assert!(!t.needs_backtracking, "{p} needs backtracking");
        t.pattern
    }

    fn rx(p: &str) -> regex::bytes::Regex {
        regex::bytes::Regex::new(&bytes(p)).unwrap()
    }

    #[test]
    fn literal_braces_are_escaped() {
        assert!(rx(r"^\(\s*\)\s+{").is_match(b"() {"));
        assert!(rx("{{.*?}}").is_match(b"x{{7*7}}"));
        assert!(rx("a{2}").is_match(b"aa"));
        assert!(!rx("^a{2}$").is_match(b"a{2}"));
        assert!(rx("^a{,2}$").is_match(b"a{,2}"));
        assert!(rx("^a{2,}$").is_match(b"aaa"));
        assert!(rx("^x{1,2}$").is_match(b"xx"));
        assert!(rx(r"\${").is_match(b"${x}"));
        assert!(rx("^}$").is_match(b"}"));
    }

    #[test]
    fn classes_follow_pcre() {
        assert!(rx(r"^[.\w-]+$").is_match(b"a-b.c"));
        // PCRE2 10.42 (unlike PCRE1) rejects a range that starts with a set.
        assert!(translate(br"[\w-.]", Flavor::Bytes).is_err());
        assert!(translate(br"[[:alpha:]-z]", Flavor::Bytes).is_err());
        assert!(rx(r"^[[]$").is_match(b"["));
        assert!(rx(r"^[]a]+$").is_match(b"]a"));
        assert!(rx(r"^[^]a]$").is_match(b"b"));
        assert!(rx(r"^[a&&b]+$").is_match(b"&&ab"));
        assert!(rx(r"^[%--]+$").is_match(b"%+-"));
        assert!(translate(br"[a--]", Flavor::Bytes).is_err());
        assert!(rx(r"^[\d-]+$").is_match(b"1-"));
        assert!(rx(r"^[[:alpha:][:digit:]]+$").is_match(b"ab12"));
        assert!(rx(r"^[[:^digit:]]+$").is_match(b"ab"));
        assert!(rx(r"^[\b]$").is_match(b"\x08"));
        assert!(rx(r"^[\x41-\x{5a}]+$").is_match(b"AZ"));
        assert!(rx(r"^[\101]$").is_match(b"A"));
        assert!(rx(r"[\x5c\]{}]").is_match(b"}"));
        assert!(translate(br"[z-a]", Flavor::Bytes).is_err());
        assert!(translate(br"[a-\d]", Flavor::Bytes).is_err());
        assert!(translate(br"[abc", Flavor::Bytes).is_err());
    }

    #[test]
    fn bytes_not_unicode() {
        // PCRE without UTF: every pattern byte is one subject byte.
        assert!(!rx("^.$").is_match("é".as_bytes()));
        assert!(rx("^..$").is_match("é".as_bytes()));
        assert!(rx("^[´’]$").is_match(&[0xc2]));
        assert!(rx("^é$").is_match("é".as_bytes()));
        assert!(rx(r"^\xff$").is_match(&[0xff]));
        assert!(rx(r"^\x{ff}$").is_match(&[0xff]));
        assert!(!rx(r"^\w$").is_match("é".as_bytes()));
        assert!(rx(r"^[^a]$").is_match(&[0xff]));
    }

    #[test]
    fn flags_are_applied_here() {
        assert!(rx("(?i)select").is_match(b"SeLeCt"));
        assert!(rx("(?i:a)b").is_match(b"Ab"));
        assert!(!rx("(?i:a)b").is_match(b"AB"));
        assert!(rx("a(?i)b|c").is_match(b"C"));
        assert!(!rx("(a(?i)b)c").is_match(b"aBC"));
        assert!(rx("(?i)[^a]").is_match(b"b"));
        assert!(!rx("(?i)^[^a]$").is_match(b"A"));
        assert!(rx("(?-s)^a.b$").is_match(b"axb"));
        assert!(!rx("(?-s)a.b").is_match(b"a\nb"));
        assert!(rx("a.b").is_match(b"a\nb"));
        assert!(rx("(?x) a b  # comment\n c").is_match(b"abc"));
        assert!(rx("^b").is_match(b"a\nb"));
        assert!(rx("a$").is_match(b"a\nb"));
        assert!(rx("(?n)(a)").captures_len() == 1);
        let caps = rx(r"(\z){0}x").captures(b"x").unwrap();
        assert!(caps.get(1).is_none());
        // ungreedy swaps laziness
        let m = rx("(?U)a+").find(b"aaa").unwrap();
        assert_eq!(m.as_bytes(), b"a");
    }

    #[test]
    fn escapes() {
        assert!(rx(r"^\<\>\/\-\ \#$").is_match(b"<>/- #"));
        assert!(rx(r"^\cA\e\a\0\012$").is_match(b"\x01\x1b\x07\x00\n"));
        assert!(rx(r"^\Qa.b\E.$").is_match(b"a.bx"));
        assert!(!rx(r"^\Qa.b\E$").is_match(b"axb"));
        assert!(rx(r"^\h\v\N$").is_match(b" \nx"));
        assert!(rx(r"^\N{2}$").is_match(b"xy"));
        assert!(translate(br"\N{U+41}", Flavor::Bytes).is_err());
        assert!(translate(br"\N{,2}", Flavor::Bytes).is_err());
        let fancy = |p: &str| {
            let t = translate(p.as_bytes(), Flavor::Latin1).unwrap();
            fancy_regex::Regex::new(&t.pattern).unwrap()
        };
        assert!(fancy(r"^\R$").is_match("\r\n").unwrap());
        assert!(!fancy(r"^\R\n$").is_match("\r\n").unwrap());
        assert!(rx(r"\bfoo\b").is_match(b"a foo."));
        assert!(!rx(r"\bfoo\b").is_match(b"afoo"));
        assert!(rx(r"^\x$").is_match(b"\0"));
        assert!(rx(r"^\xA$").is_match(b"\n"));
        assert!(translate(br"\i", Flavor::Bytes).is_err());
        assert!(translate(br"\x{100}", Flavor::Bytes).is_err());
        assert!(translate(br"\p{L}", Flavor::Bytes).is_err());
    }

    #[test]
    fn backtracking_constructs_are_flagged() {
        for p in [r"<\?(?!xml)", r"(?<!a)b", r"(a)\1", r"a++", r"(?>a)", r"a$(?-m)$", r"\Z"] {
            assert!(translate(p.as_bytes(), Flavor::Bytes).unwrap().needs_backtracking, "{p}");
        }
        assert!(translate(br"(?<n>a)\k<n>", Flavor::Bytes).unwrap().needs_backtracking);
    }

    #[test]
    fn input_folding_for_caseless_backreferences() {
        let fold = |p: &str| translate(p.as_bytes(), Flavor::Latin1).unwrap().fold_input;
        assert!(fold(r"(?i:(\w+)=\1)"));
        assert!(fold(r"(?i)[\s'](a)\1"));
        assert!(!fold(r"(\w+)=\1"));
        assert!(!fold(r"(?i:(\w+)=\1)x"));
        assert!(!fold(r"(?i:(\w+)=\1)(\w)\2"));
        assert!(!fold(r"(?i:\w+)"));
    }

    #[test]
    fn quantified_assertions() {
        let fancy = |p: &str| {
            let t = translate(p.as_bytes(), Flavor::Latin1).unwrap();
            fancy_regex::Regex::new(&t.pattern).unwrap()
        };
        // Minimum zero: optional, so never blocks a match.
        assert!(fancy("(?=x)*a").is_match("a").unwrap());
        assert!(fancy("(?<=b){0,3}a").is_match("a").unwrap());
        // Minimum one: tested once.
        assert!(!fancy("(?=x){2}a").is_match("a").unwrap());
        assert!(fancy("(?!x)+a").is_match("a").unwrap());
        // A group holding only assertions counts as one.
        assert!(fancy("(?:(?<!b))*+a").is_match("ba").unwrap());
        assert!(!fancy("(?:(?<!b)){2}a").is_match("ba").unwrap());
        assert!(rx("(?:$){2,}").is_match(b"x"));
        // {0}: never tried, so its groups stay unset.
        let caps = rx(r"(\z){0}").captures(b"").unwrap();
        assert!(caps.get(1).is_none());
    }

    #[test]
    fn errors_are_reported_with_offset() {
        let e = translate(b"(a", Flavor::Bytes).unwrap_err();
        assert!(e.contains("missing closing parenthesis"), "{e}");
        let e = translate(b"a)", Flavor::Bytes).unwrap_err();
        assert!(e.contains("offset 2"), "{e}");
        assert!(translate(b"*a", Flavor::Bytes).is_err());
        assert!(translate(b"a{3,2}", Flavor::Bytes).is_err());
        assert!(translate(b"(?|a)", Flavor::Bytes).is_err());
        assert!(translate(b"(?R)", Flavor::Bytes).is_err());
    }

    #[test]
    fn latin1_mapping_roundtrips() {
        let input = [b'a', 0xe9, b'b', 0x00, 0xff];
        let text = latin1::encode(&input);
        assert_eq!(text.chars().count(), input.len());
        assert_eq!(latin1::text_offset(&input, 2), 3);
        assert_eq!(latin1::byte_offset(&text, 3), 2);
        assert!(matches!(latin1::encode(b"abc"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn latin1_flavor_compiles_with_fancy() {
        let p = translate(br"(?i)<\?(?!xml)\w+\b\s\xe9\w", Flavor::Latin1).unwrap();
        assert!(p.needs_backtracking);
        let re = fancy_regex::Regex::new(&p.pattern).unwrap();
        assert!(re.is_match(&latin1::encode(b"<?PHP \xe9_")).unwrap());
        assert!(!re.is_match(&latin1::encode(b"<?xml \xe9_")).unwrap());
        assert!(!re.is_match(&latin1::encode(b"<?PHP \xc9_")).unwrap());
        // ASCII-only \w and \b, as PCRE without UCP.
        let p = translate(br"(?=.)^\w\b", Flavor::Latin1).unwrap();
        let re = fancy_regex::Regex::new(&p.pattern).unwrap();
        assert!(re.is_match(&latin1::encode(b"a\xe9")).unwrap());
        assert!(!re.is_match(&latin1::encode(b"\xe9")).unwrap());
    }
}
