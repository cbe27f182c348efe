//! SQL injection detector: tokenizer, folding, fingerprint and its checks.
//!
//! Behaves like libinjection 3.9.2 as built into ModSecurity 3.0.9, quirks
//! included (those matter: CRS tunes its rules to them). The input is tokenized
//! as SQL in up to five contexts (as is, after a simulated `'` or `"`, ANSI or
//! MySQL comment rules); the token stream is folded into at most five token
//! types, the "fingerprint", which is looked up in a blacklist and then passed
//! through a few hand-written false-positive filters.
//!
//! Everything lives on the stack: tokens keep at most 31 bytes of their text
//! (as the C library does, and the truncation is observable).

use super::data::{FINGERPRINTS, KEYWORDS, KEYWORD_MAX_LEN, KEYWORD_SLOTS, SCAN};

/// At most this many folded tokens make up a fingerprint.
const MAX_TOKENS: usize = 5;
/// Bytes of token text kept (the C library's 32-byte buffer less its NUL).
const VAL_MAX: usize = 31;

// Token types; each is also the token's letter in the fingerprint.
const T_NONE: u8 = 0;
const T_KEYWORD: u8 = b'k';
const T_UNION: u8 = b'U';
const T_GROUP: u8 = b'B';
const T_EXPRESSION: u8 = b'E';
const T_SQLTYPE: u8 = b't';
const T_FUNCTION: u8 = b'f';
const T_BAREWORD: u8 = b'n';
const T_NUMBER: u8 = b'1';
const T_VARIABLE: u8 = b'v';
const T_STRING: u8 = b's';
const T_OPERATOR: u8 = b'o';
const T_LOGIC: u8 = b'&';
const T_COMMENT: u8 = b'c';
const T_COLLATE: u8 = b'A';
const T_LPAREN: u8 = b'(';
const T_RPAREN: u8 = b')';
const T_LBRACE: u8 = b'{';
const T_RBRACE: u8 = b'}';
const T_DOT: u8 = b'.';
const T_COMMA: u8 = b',';
const T_COLON: u8 = b':';
const T_SEMICOLON: u8 = b';';
const T_TSQL: u8 = b'T';
const T_UNKNOWN: u8 = b'?';
const T_EVIL: u8 = b'X';
const T_BACKSLASH: u8 = b'\\';

// Parsing contexts.
const QUOTE_SINGLE: u8 = 2;
const QUOTE_DOUBLE: u8 = 4;
const SQL_ANSI: u8 = 8;
const SQL_MYSQL: u8 = 16;
const CTX_PLAIN_ANSI: u8 = 1 | SQL_ANSI;
const CTX_PLAIN_MYSQL: u8 = 1 | SQL_MYSQL;
const CTX_SINGLE_ANSI: u8 = QUOTE_SINGLE | SQL_ANSI;
const CTX_SINGLE_MYSQL: u8 = QUOTE_SINGLE | SQL_MYSQL;
const CTX_DOUBLE_MYSQL: u8 = QUOTE_DOUBLE | SQL_MYSQL;

/// Which tokenizer routine handles a token starting with a given byte
/// (the table itself is data, in `data.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scan {
    White,
    Op1,
    Op2,
    Dash,
    Str,
    Hash,
    Num,
    Slash,
    Char,
    Var,
    Other,
    Money,
    Tick,
    Word,
    UString,
    QString,
    NQString,
    XString,
    BString,
    EString,
    BWord,
    Backslash,
}

/// A fingerprint: up to five token-type letters, e.g. `s&1c`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Fingerprint {
    bytes: [u8; 8],
    len: u8,
}

impl Fingerprint {
    /// The letters as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The letters as text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy)]
struct Token {
    kind: u8,
    /// Opening quote of a string-like token (0 when simulated or none).
    open: u8,
    /// Closing quote (0 when the string ran to the end of input).
    close: u8,
    len: u8,
    val: [u8; VAL_MAX],
}

impl Token {
    const EMPTY: Token = Token {
        kind: T_NONE,
        open: 0,
        close: 0,
        len: 0,
        val: [0; VAL_MAX],
    };

    fn text(&self) -> &[u8] {
        &self.val[..usize::from(self.len).min(VAL_MAX)]
    }

    /// Byte `i` of the text, or 0 past its end (the C string's terminator).
    fn byte(&self, i: usize) -> u8 {
        self.text().get(i).copied().unwrap_or(0)
    }

    fn set(&mut self, kind: u8, text: &[u8]) {
        let n = text.len().min(VAL_MAX);
        self.kind = kind;
        self.len = n as u8;
        self.val[..n].copy_from_slice(&text[..n]);
    }

    fn set_char(&mut self, kind: u8, ch: u8) {
        self.kind = kind;
        self.len = 1;
        self.val[0] = ch;
    }

    /// Text equals `word` (upper case ASCII), ignoring ASCII case.
    fn is(&self, word: &[u8]) -> bool {
        upper_eq(self.text(), word)
    }

    fn is_unary_op(&self) -> bool {
        if self.kind != T_OPERATOR {
            return false;
        }
        match self.text() {
            [c] => matches!(c, b'+' | b'-' | b'!' | b'~'),
            b"!!" => true,
            t if t.len() == 3 => upper_eq(t, b"NOT"),
            _ => false,
        }
    }

    fn is_arithmetic_op(&self) -> bool {
        self.kind == T_OPERATOR && matches!(self.text(), [b'*' | b'/' | b'-' | b'+' | b'%'])
    }
}

fn upper_eq(text: &[u8], upper: &[u8]) -> bool {
    text.len() == upper.len()
        && text
            .iter()
            .zip(upper)
            .all(|(a, b)| a.to_ascii_uppercase() == *b)
}

/// Token type of an SQL word (case-insensitive), or `T_NONE`.
fn lookup_word(key: &[u8]) -> u8 {
    if key.is_empty() || key.len() > KEYWORD_MAX_LEN {
        return T_NONE;
    }
    // Upper-case into a stack buffer while hashing (FNV-1a, as the generator).
    let mut buf = [0u8; KEYWORD_MAX_LEN];
    let mut hash: u32 = 0x811C_9DC5;
    for (d, s) in buf.iter_mut().zip(key) {
        *d = s.to_ascii_uppercase();
        hash = (hash ^ u32::from(*d)).wrapping_mul(0x0100_0193);
    }
    let upper = &buf[..key.len()];
    let mask = KEYWORD_SLOTS.len() - 1;
    let mut i = hash as usize & mask;
    loop {
        let Some((word, kind)) = KEYWORDS.get(usize::from(KEYWORD_SLOTS[i])) else {
            return T_NONE;
        };
        if *word == upper {
            return *kind;
        }
        i = (i + 1) & mask;
    }
}

fn is_blacklisted(fp: &[u8]) -> bool {
    if fp.is_empty() || fp.len() > 8 {
        return false;
    }
    let mut packed = [0u8; 8];
    for (d, s) in packed.iter_mut().zip(fp) {
        *d = s.to_ascii_uppercase();
    }
    FINGERPRINTS
        .binary_search(&u64::from_be_bytes(packed))
        .is_ok()
}

/// Whitespace for SQL: includes NUL and Latin-1 NBSP.
fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0 | 0)
}

/// A set of bytes as a lookup table.
struct ByteSet([bool; 256]);

impl ByteSet {
    /// The set of `bytes`; NUL is always a member (the C implementation tests
    /// membership with `strchr`, which also finds a string's terminator).
    const fn of(bytes: &[u8]) -> ByteSet {
        let mut set = [false; 256];
        set[0] = true;
        let mut i = 0;
        while i < bytes.len() {
            set[bytes[i] as usize] = true;
            i += 1;
        }
        ByteSet(set)
    }

    fn has(&self, c: u8) -> bool {
        self.0[usize::from(c)]
    }
}

/// Length of the prefix of `s` made of members of `set`.
fn span(s: &[u8], set: &ByteSet) -> usize {
    s.iter().position(|c| !set.has(*c)).unwrap_or(s.len())
}

/// Length of the prefix of `s` free of members of `stop`.
fn span_until(s: &[u8], stop: &ByteSet) -> usize {
    s.iter().position(|c| stop.has(*c)).unwrap_or(s.len())
}

/// First `i >= from` with `s[i] == a && s[i+1] == b`.
fn find_pair(s: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    let hay = s.get(from..)?;
    hay.windows(2)
        .position(|w| w[0] == a && w[1] == b)
        .map(|i| i + from)
}

fn find_byte(s: &[u8], from: usize, b: u8) -> Option<usize> {
    memchr::memchr(b, s.get(from..)?).map(|i| i + from)
}

static WORD_STOP: ByteSet = ByteSet::of(b" []{}<>:\\?=@!#~+-*/&|^%(),';\t\n\x0b\x0c\r\"\xa0");
static VAR_STOP: ByteSet = ByteSet::of(b" <>:\\?=@!#~+-*/&|^%(),';\t\n\x0b\x0c\r'`\"");
static HEX_DIGITS: ByteSet = ByteSet::of(b"0123456789ABCDEFabcdef");
static BINARY_DIGITS: ByteSet = ByteSet::of(b"01");
static MONEY: ByteSet = ByteSet::of(b"0123456789.,");
static LETTERS: ByteSet = ByteSet::of(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

/// Words that, followed by `(`, are function calls rather than names.
const FUNCTION_LIKE_WORDS: [&[u8]; 11] = [
    b"USER_ID",
    b"USER_NAME",
    b"DATABASE",
    b"PASSWORD",
    b"USER",
    b"CURRENT_USER",
    b"CURRENT_DATE",
    b"CURRENT_TIME",
    b"CURRENT_TIMESTAMP",
    b"LOCALTIME",
    b"LOCALTIMESTAMP",
];

struct Sqli<'a> {
    s: &'a [u8],
    ctx: u8,
    pos: usize,
    tokens: [Token; MAX_TOKENS + 3],
    /// Index of the token the tokenizer fills next.
    cur: usize,
    fp: Fingerprint,
    comment_ddx: u32,
    comment_hash: u32,
    token_count: usize,
}

impl<'a> Sqli<'a> {
    fn new(s: &'a [u8]) -> Self {
        Sqli {
            s,
            ctx: CTX_PLAIN_ANSI,
            pos: 0,
            tokens: [Token::EMPTY; MAX_TOKENS + 3],
            cur: 0,
            fp: Fingerprint::default(),
            comment_ddx: 0,
            comment_hash: 0,
            token_count: 0,
        }
    }

    fn reset(&mut self, ctx: u8) {
        self.ctx = ctx;
        self.pos = 0;
        self.tokens = [Token::EMPTY; MAX_TOKENS + 3];
        self.cur = 0;
        self.fp = Fingerprint::default();
        self.comment_ddx = 0;
        self.comment_hash = 0;
        self.token_count = 0;
    }

    fn tok(&mut self) -> &mut Token {
        &mut self.tokens[self.cur]
    }

    /// Sets the current token to `kind` with text `s[start..start+len]`.
    fn emit(&mut self, kind: u8, start: usize, len: usize) {
        let s = self.s;
        let text = s
            .get(start..start.saturating_add(len).min(s.len()))
            .unwrap_or(&[]);
        self.tok().set(kind, text);
    }

    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    // ------------------------------------------------------------ tokenizer

    /// Reads the next token into `tokens[cur]`; false at end of input.
    fn next_token(&mut self) -> bool {
        let slen = self.s.len();
        if slen == 0 {
            return false;
        }
        *self.tok() = Token::EMPTY;
        if self.pos == 0 && self.ctx & (QUOTE_SINGLE | QUOTE_DOUBLE) != 0 {
            let delim = if self.ctx & QUOTE_SINGLE != 0 {
                b'\''
            } else {
                b'"'
            };
            self.pos = self.string_body(0, delim, 0);
            self.token_count += 1;
            return true;
        }
        while self.pos < slen {
            let scan = SCAN[usize::from(self.s[self.pos])];
            self.pos = self.scan(scan);
            if self.tokens[self.cur].kind != T_NONE {
                self.token_count += 1;
                return true;
            }
        }
        false
    }

    /// Runs one tokenizer routine at `self.pos`; returns where scanning resumes.
    fn scan(&mut self, scan: Scan) -> usize {
        let pos = self.pos;
        match scan {
            Scan::White => pos + 1,
            Scan::Op1 => self.op1(),
            Scan::Other => {
                let c = self.at(pos);
                self.tok().set_char(T_UNKNOWN, c);
                pos + 1
            }
            Scan::Char => {
                let c = self.at(pos);
                self.tok().set_char(c, c);
                pos + 1
            }
            Scan::Op2 => self.op2(),
            Scan::Dash => self.dash(),
            Scan::Str => self.string_body(pos, self.at(pos), 1),
            Scan::Hash => self.hash(),
            Scan::Num => self.number(),
            Scan::Slash => self.slash(),
            Scan::Var => self.variable(),
            Scan::Money => self.money(),
            Scan::Tick => self.tick(),
            Scan::Word => self.word(),
            Scan::UString => self.ustring(),
            Scan::QString => self.qstring(0),
            Scan::NQString => {
                if pos + 2 < self.s.len() && self.at(pos + 1) == b'\'' {
                    self.estring()
                } else {
                    self.qstring(1)
                }
            }
            Scan::XString => self.radix_string(&HEX_DIGITS),
            Scan::BString => self.radix_string(&BINARY_DIGITS),
            Scan::EString => self.estring(),
            Scan::BWord => self.bracket_word(),
            Scan::Backslash => {
                if pos + 1 < self.s.len() && self.at(pos + 1) == b'N' {
                    self.emit(T_NUMBER, pos, 2);
                    pos + 2
                } else {
                    let c = self.at(pos);
                    self.tok().set_char(T_BACKSLASH, c);
                    pos + 1
                }
            }
        }
    }

    fn op1(&mut self) -> usize {
        let c = self.at(self.pos);
        self.tok().set_char(T_OPERATOR, c);
        self.pos + 1
    }

    fn op2(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 1 >= s.len() {
            return self.op1();
        }
        if pos + 2 < s.len() && &s[pos..pos + 3] == b"<=>" {
            self.emit(T_OPERATOR, pos, 3);
            return pos + 3;
        }
        let kind = lookup_word(&s[pos..pos + 2]);
        if kind != T_NONE {
            self.emit(kind, pos, 2);
            return pos + 2;
        }
        if s[pos] == b':' {
            self.emit(T_COLON, pos, 1);
            pos + 1
        } else {
            self.op1()
        }
    }

    /// Comment up to (not including) the next newline.
    fn line_comment(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        match find_byte(s, pos, b'\n') {
            None => {
                self.emit(T_COMMENT, pos, s.len() - pos);
                s.len()
            }
            Some(nl) => {
                self.emit(T_COMMENT, pos, nl - pos);
                nl + 1
            }
        }
    }

    /// `#`: an operator in ANSI SQL, a line comment in MySQL.
    fn hash(&mut self) -> usize {
        self.comment_hash += 1;
        if self.ctx & SQL_MYSQL != 0 {
            self.comment_hash += 1;
            self.line_comment()
        } else {
            self.tok().set_char(T_OPERATOR, b'#');
            self.pos + 1
        }
    }

    fn dash(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        let next_dash = self.at(pos + 1) == b'-' && pos + 1 < s.len();
        // `--` then whitespace or end of input: always a comment.
        if next_dash && (pos + 2 == s.len() || (pos + 2 < s.len() && is_white(s[pos + 2]))) {
            self.line_comment()
        } else if next_dash && self.ctx & SQL_ANSI != 0 {
            // `--x`: a comment in ANSI SQL, two minus signs in MySQL.
            self.comment_ddx += 1;
            self.line_comment()
        } else {
            self.tok().set_char(T_OPERATOR, b'-');
            pos + 1
        }
    }

    fn slash(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 1 == s.len() || self.at(pos + 1) != b'*' {
            return self.op1();
        }
        let end = find_pair(s, pos + 2, b'*', b'/');
        let len = match end {
            None => s.len() - pos,
            Some(e) => e + 2 - pos,
        };
        // A nested `/*` (PostgreSQL nests comments) or a MySQL `/*!` comment
        // cannot be parsed reliably: flagged as evil.
        let nested = end.is_some_and(|e| find_pair(&s[..e + 1], pos + 2, b'/', b'*').is_some());
        let mysql = pos + 2 < s.len() && s[pos + 2] == b'!';
        let kind = if nested || mysql { T_EVIL } else { T_COMMENT };
        self.emit(kind, pos, len);
        pos + len
    }

    /// A quoted string whose opening `delim` is at `pos` (`offset` 1), or a
    /// simulated one starting at `pos` (`offset` 0). Doubled delimiters and
    /// backslash-escaped ones do not end it.
    fn string_body(&mut self, pos: usize, delim: u8, offset: usize) -> usize {
        let s = self.s;
        let start = pos + offset;
        self.tok().open = if offset > 0 { delim } else { 0 };
        let mut q = find_byte(s, start, delim);
        loop {
            match q {
                None => {
                    self.emit(T_STRING, start, s.len().saturating_sub(start));
                    self.tok().close = 0;
                    return s.len();
                }
                Some(qp) => {
                    let backslashes = s[start.min(qp)..qp]
                        .iter()
                        .rev()
                        .take_while(|c| **c == b'\\')
                        .count();
                    if backslashes % 2 == 1 {
                        q = find_byte(s, qp + 1, delim);
                    } else if qp + 1 < s.len() && s[qp + 1] == s[qp] {
                        q = find_byte(s, qp + 2, delim);
                    } else {
                        self.emit(T_STRING, start, qp - start);
                        self.tok().close = delim;
                        return qp + 1;
                    }
                }
            }
        }
    }

    /// `E'...'` / `N'...'`: a string after a one-letter prefix.
    fn estring(&mut self) -> usize {
        let pos = self.pos;
        if pos + 2 >= self.s.len() || self.at(pos + 1) != b'\'' {
            return self.word();
        }
        self.string_body(pos, b'\'', 2)
    }

    /// `U&'...'`.
    fn ustring(&mut self) -> usize {
        let pos = self.pos;
        if pos + 2 < self.s.len() && self.at(pos + 1) == b'&' && self.at(pos + 2) == b'\'' {
            self.pos += 2;
            let end = self.string_body(self.pos, b'\'', 1);
            let tok = self.tok();
            tok.open = b'u';
            if tok.close == b'\'' {
                tok.close = b'u';
            }
            end
        } else {
            self.word()
        }
    }

    /// Oracle's `q'[...]'` (`offset` 0) or `nq'[...]'` (`offset` 1).
    fn qstring(&mut self, offset: usize) -> usize {
        let s = self.s;
        let pos = self.pos + offset;
        if pos >= s.len()
            || !matches!(s[pos], b'q' | b'Q')
            || pos + 2 >= s.len()
            || s[pos + 1] != b'\''
        {
            return self.word();
        }
        let open = s[pos + 2];
        // Control characters, space and (as signed chars) all non-ASCII bytes
        // cannot open a q-string.
        if (open as i8) < 33 {
            return self.word();
        }
        let close = match open {
            b'(' => b')',
            b'[' => b']',
            b'{' => b'}',
            b'<' => b'>',
            c => c,
        };
        match find_pair(s, pos + 3, close, b'\'') {
            None => {
                self.emit(T_STRING, pos + 3, s.len() - pos - 3);
                let tok = self.tok();
                tok.open = b'q';
                tok.close = 0;
                s.len()
            }
            Some(e) => {
                self.emit(T_STRING, pos + 3, e - pos - 3);
                let tok = self.tok();
                tok.open = b'q';
                tok.close = b'q';
                e + 2
            }
        }
    }

    /// `X'4142'` and `B'0101'` literals: numbers.
    fn radix_string(&mut self, digits: &ByteSet) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 >= s.len() || s[pos + 1] != b'\'' {
            return self.word();
        }
        let n = span(&s[pos + 2..], digits);
        if pos + 2 + n >= s.len() || s[pos + 2 + n] != b'\'' {
            return self.word();
        }
        self.emit(T_NUMBER, pos, n + 3);
        pos + n + 3
    }

    /// SQL Server's `[name]`.
    fn bracket_word(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        match find_byte(s, pos, b']') {
            None => {
                self.emit(T_BAREWORD, pos, s.len() - pos);
                s.len()
            }
            Some(e) => {
                self.emit(T_BAREWORD, pos, e - pos + 1);
                e + 1
            }
        }
    }

    fn word(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        let wlen = span_until(&s[pos..], &WORD_STOP);
        self.emit(T_BAREWORD, pos, wlen);
        // `SELECT.1` or SELECT`col`: a keyword before a `.` or backtick ends the word.
        let tok = self.tokens[self.cur];
        for (i, c) in tok.text().iter().enumerate() {
            if *c == b'.' || *c == b'`' {
                let kind = lookup_word(&tok.text()[..i]);
                if kind != T_NONE && kind != T_BAREWORD {
                    *self.tok() = Token::EMPTY;
                    self.emit(kind, pos, i);
                    return pos + i;
                }
            }
        }
        if wlen <= VAL_MAX {
            let kind = lookup_word(tok.text());
            self.tok().kind = if kind == T_NONE { T_BAREWORD } else { kind };
        }
        pos + wlen
    }

    /// MySQL backtick-quoted name: a bare word, or a function if it names one.
    fn tick(&mut self) -> usize {
        let end = self.string_body(self.pos, b'`', 1);
        let tok = self.tok();
        tok.kind = if lookup_word(tok.text()) == T_FUNCTION {
            T_FUNCTION
        } else {
            T_BAREWORD
        };
        end
    }

    /// `@var`, `@@var`, `@@'x'`, `@@`x``.
    fn variable(&mut self) -> usize {
        let s = self.s;
        let mut pos = self.pos + 1;
        if self.at(pos) == b'@' && pos < s.len() {
            pos += 1;
        }
        if pos < s.len() {
            let c = s[pos];
            if c == b'`' || c == b'\'' || c == b'"' {
                self.pos = pos;
                let end = if c == b'`' {
                    self.tick()
                } else {
                    self.string_body(pos, c, 1)
                };
                self.tok().kind = T_VARIABLE;
                return end;
            }
        }
        let n = span_until(s.get(pos..).unwrap_or(&[]), &VAR_STOP);
        self.emit(T_VARIABLE, pos, n);
        pos + n
    }

    /// `$`: money (`$1,000.00`), PostgreSQL `$$...$$` and `$tag$...$tag$`
    /// strings, or a lone `$`.
    fn money(&mut self) -> usize {
        let (s, pos) = (self.s, self.pos);
        let slen = s.len();
        if pos + 1 == slen {
            self.tok().set_char(T_BAREWORD, b'$');
            return slen;
        }
        let digits = span(&s[pos + 1..], &MONEY);
        if digits == 1 && s[pos + 1] == b'.' {
            return self.word();
        }
        if digits > 0 {
            self.emit(T_NUMBER, pos, digits + 1);
            return pos + digits + 1;
        }
        if s[pos + 1] == b'$' {
            return match find_pair(s, pos + 2, b'$', b'$') {
                None => {
                    self.emit(T_STRING, pos + 2, slen - pos - 2);
                    self.quoted_by(b'$', 0);
                    slen
                }
                Some(e) => {
                    self.emit(T_STRING, pos + 2, e - pos - 2);
                    self.quoted_by(b'$', b'$');
                    e + 2
                }
            };
        }
        let tag = span(&s[pos + 1..], &LETTERS);
        if tag == 0 || pos + tag + 1 == slen || s[pos + tag + 1] != b'$' {
            self.tok().set_char(T_BAREWORD, b'$');
            return pos + 1;
        }
        // `$tag$ ... $tag$`. (Some libinjection builds search for the closing
        // tag from the wrong offset; ModSecurity 3.0.9's searches after the
        // opening tag, as done here.)
        let needle = &s[pos..pos + tag + 2];
        let body = pos + tag + 2;
        match memchr::memmem::find(&s[body..], needle) {
            Some(off) => {
                let i = body + off;
                self.emit(T_STRING, body, i - body);
                self.quoted_by(b'$', b'$');
                i + tag + 2
            }
            None => {
                self.emit(T_STRING, body, slen - body);
                self.quoted_by(b'$', 0);
                slen
            }
        }
    }

    fn quoted_by(&mut self, open: u8, close: u8) {
        let tok = self.tok();
        tok.open = open;
        tok.close = close;
    }

    fn number(&mut self) -> usize {
        let s = self.s;
        let slen = s.len();
        let mut pos = self.pos;
        if s[pos] == b'0' && pos + 1 < slen {
            let digits = match s[pos + 1] {
                b'x' | b'X' => Some(&HEX_DIGITS),
                b'b' | b'B' => Some(&BINARY_DIGITS),
                _ => None,
            };
            if let Some(digits) = digits {
                let n = span(&s[pos + 2..], digits);
                if n == 0 {
                    self.emit(T_BAREWORD, pos, 2);
                    return pos + 2;
                }
                self.emit(T_NUMBER, pos, n + 2);
                return pos + n + 2;
            }
        }
        let start = pos;
        while pos < slen && s[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos < slen && s[pos] == b'.' {
            pos += 1;
            while pos < slen && s[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos - start == 1 {
                self.tok().set_char(T_DOT, b'.');
                return pos;
            }
        }
        let mut has_e = false;
        let mut has_exponent = false;
        if pos < slen && matches!(s[pos], b'e' | b'E') {
            has_e = true;
            pos += 1;
            if pos < slen && matches!(s[pos], b'+' | b'-') {
                pos += 1;
            }
            while pos < slen && s[pos].is_ascii_digit() {
                has_exponent = true;
                pos += 1;
            }
        }
        // Oracle's float/double suffix: `1.5f`, but `123FROM` stays `123`.
        if pos < slen && matches!(s[pos], b'd' | b'D' | b'f' | b'F') {
            let next = s.get(pos + 1).copied();
            match next {
                None => pos += 1,
                Some(c) if is_white(c) || c == b';' || c == b'u' || c == b'U' => pos += 1,
                Some(_) => {}
            }
        }
        // `1.e`, `10E`: a word, not a number.
        let kind = if has_e && !has_exponent {
            T_BAREWORD
        } else {
            T_NUMBER
        };
        self.emit(kind, start, pos - start);
        pos
    }

    // -------------------------------------------------------------- folding

    /// Reads tokens into `tokens[pos..]` until `pos - left` reaches `want`;
    /// comments are remembered but not kept. Returns whether input remains.
    fn fill(
        &mut self,
        mut more: bool,
        pos: &mut usize,
        left: usize,
        want: usize,
        last_comment: &mut Token,
    ) -> bool {
        while more && *pos <= MAX_TOKENS && pos.wrapping_sub(left) < want {
            self.cur = *pos;
            more = self.next_token();
            if more {
                if self.tokens[*pos].kind == T_COMMENT {
                    *last_comment = self.tokens[*pos];
                } else {
                    last_comment.kind = T_NONE;
                    *pos += 1;
                }
            }
        }
        more
    }

    /// Joins two word-like tokens when the pair is itself a known phrase
    /// (`UNION` `ALL` -> `UNION ALL`).
    fn merge_words(&mut self, a: usize, b: usize) -> bool {
        const FIRST: &[u8] = &[
            T_KEYWORD,
            T_BAREWORD,
            T_OPERATOR,
            T_UNION,
            T_FUNCTION,
            T_EXPRESSION,
            T_TSQL,
            T_SQLTYPE,
        ];
        let (ta, tb) = (self.tokens[a], self.tokens[b]);
        if !FIRST.contains(&ta.kind) || !(FIRST.contains(&tb.kind) || tb.kind == T_LOGIC) {
            return false;
        }
        let (la, lb) = (ta.text().len(), tb.text().len());
        let total = la + lb + 1;
        if total > VAL_MAX {
            return false;
        }
        let mut buf = [0u8; VAL_MAX];
        buf[..la].copy_from_slice(ta.text());
        buf[la] = b' ';
        buf[la + 1..total].copy_from_slice(tb.text());
        let kind = lookup_word(&buf[..total]);
        if kind == T_NONE {
            return false;
        }
        self.tokens[a].set(kind, &buf[..total]);
        true
    }

    /// Folds the token stream; returns how many tokens make the fingerprint.
    fn fold(&mut self) -> usize {
        let mut last_comment = Token::EMPTY;
        let mut pos = 0usize;
        let mut left = 0usize;
        let mut more = true;

        // Skip leading comments, `(`, SQL types and unary operators.
        self.cur = 0;
        while more {
            more = self.next_token();
            let t = &self.tokens[0];
            if !(t.kind == T_COMMENT
                || t.kind == T_LPAREN
                || t.kind == T_SQLTYPE
                || t.is_unary_op())
            {
                break;
            }
        }
        if !more {
            return 0;
        }
        pos += 1;

        loop {
            if pos >= MAX_TOKENS && self.five_token_special() {
                if pos > MAX_TOKENS {
                    self.tokens[1] = self.tokens[MAX_TOKENS];
                    pos = 2;
                } else {
                    pos = 1;
                }
                left = 0;
            }
            if !more || left >= MAX_TOKENS {
                left = pos;
                break;
            }

            more = self.fill(more, &mut pos, left, 2, &mut last_comment);
            if pos.wrapping_sub(left) < 2 {
                left = pos;
                continue;
            }
            match self.fold_two(left, &mut pos) {
                Step::Again => {
                    left = 0;
                    continue;
                }
                Step::AgainFrom(l) => {
                    left = l;
                    continue;
                }
                Step::Stop(n) => return n,
                Step::Next(l) => left = l,
            }

            more = self.fill(more, &mut pos, left, 3, &mut last_comment);
            if pos.wrapping_sub(left) < 3 {
                left = pos;
                continue;
            }
            if self.fold_three(left, &mut pos) {
                left = 0;
                continue;
            }
            left += 1;
        }

        if left < MAX_TOKENS && last_comment.kind == T_COMMENT {
            self.tokens[left] = last_comment;
            left += 1;
        }
        left.min(MAX_TOKENS)
    }

    /// Five-token patterns such as `1,(2)` or `n=(n)` that fold back to their head.
    fn five_token_special(&self) -> bool {
        let k = |i: usize| self.tokens[i].kind;
        (k(0) == T_NUMBER
            && (k(1) == T_OPERATOR || k(1) == T_COMMA)
            && k(2) == T_LPAREN
            && k(3) == T_NUMBER
            && k(4) == T_RPAREN)
            || (k(0) == T_BAREWORD
                && k(1) == T_OPERATOR
                && k(2) == T_LPAREN
                && (k(3) == T_BAREWORD || k(3) == T_NUMBER)
                && k(4) == T_RPAREN)
            || (k(0) == T_NUMBER
                && k(1) == T_RPAREN
                && k(2) == T_COMMA
                && k(3) == T_LPAREN
                && k(4) == T_NUMBER)
            || (k(0) == T_BAREWORD
                && k(1) == T_RPAREN
                && k(2) == T_OPERATOR
                && k(3) == T_LPAREN
                && k(4) == T_BAREWORD)
    }

    /// Rules on the pair at `left`, `left + 1`.
    fn fold_two(&mut self, left: usize, pos: &mut usize) -> Step {
        let a = self.tokens[left];
        let b = self.tokens[left + 1];
        let back = if left > 0 { left - 1 } else { 0 };
        if (a.kind == T_STRING && b.kind == T_STRING)
            || (a.kind == T_SEMICOLON && b.kind == T_SEMICOLON)
        {
            // "foo" "bar" is one string; repeated semicolons are one.
            *pos -= 1;
            return Step::AgainFrom(left);
        }
        if (a.kind == T_OPERATOR || a.kind == T_LOGIC) && (b.is_unary_op() || b.kind == T_SQLTYPE) {
            *pos -= 1;
            return Step::Again;
        }
        if a.kind == T_LPAREN && b.is_unary_op() {
            *pos -= 1;
            return Step::AgainFrom(back);
        }
        if self.merge_words(left, left + 1) {
            *pos -= 1;
            return Step::AgainFrom(back);
        }
        if a.kind == T_SEMICOLON
            && b.kind == T_FUNCTION
            && matches!(b.byte(0), b'I' | b'i')
            && matches!(b.byte(1), b'F' | b'f')
        {
            // `; IF ...`: Transact-SQL control flow, not the IF() function.
            self.tokens[left + 1].kind = T_TSQL;
            return Step::AgainFrom(left);
        }
        if (a.kind == T_BAREWORD || a.kind == T_VARIABLE)
            && b.kind == T_LPAREN
            && FUNCTION_LIKE_WORDS.iter().any(|w| a.is(w))
        {
            self.tokens[left].kind = T_FUNCTION;
            return Step::AgainFrom(left);
        }
        if a.kind == T_KEYWORD && (a.is(b"IN") || a.is(b"NOT IN")) {
            self.tokens[left].kind = if b.kind == T_LPAREN {
                T_OPERATOR
            } else {
                T_BAREWORD
            };
            return Step::AgainFrom(left);
        }
        if a.kind == T_OPERATOR && (a.is(b"LIKE") || a.is(b"NOT LIKE")) {
            if b.kind == T_LPAREN {
                self.tokens[left].kind = T_FUNCTION;
            }
            return Step::Next(left);
        }
        if a.kind == T_SQLTYPE
            && matches!(
                b.kind,
                T_BAREWORD | T_NUMBER | T_SQLTYPE | T_LPAREN | T_FUNCTION | T_VARIABLE | T_STRING
            )
        {
            self.tokens[left] = b;
            *pos -= 1;
            return Step::Again;
        }
        if a.kind == T_COLLATE && b.kind == T_BAREWORD {
            // Too many collations to list: one with an `_` is taken as a type.
            let text = b.text();
            let c_str = &text[..text.iter().position(|c| *c == 0).unwrap_or(text.len())];
            if c_str.contains(&b'_') {
                self.tokens[left + 1].kind = T_SQLTYPE;
                return Step::Next(0);
            }
            return Step::Next(left);
        }
        if a.kind == T_BACKSLASH {
            if b.is_arithmetic_op() {
                // T-SQL reads `\%1` as `0 % 1`.
                self.tokens[left].kind = T_NUMBER;
            } else {
                self.tokens[left] = b;
                *pos -= 1;
            }
            return Step::Again;
        }
        if (a.kind == T_LPAREN && b.kind == T_LPAREN) || (a.kind == T_RPAREN && b.kind == T_RPAREN)
        {
            *pos -= 1;
            return Step::Again;
        }
        if a.kind == T_LBRACE && b.kind == T_BAREWORD {
            // MySQL's `{ ``.``.id }` is too odd to parse: evil.
            if b.len == 0 {
                self.tokens[left + 1].kind = T_EVIL;
                return Step::Stop(left + 2);
            }
            // ODBC `{foo expr}`: keep only the expression.
            *pos -= 2;
            return Step::Again;
        }
        if b.kind == T_RBRACE {
            *pos -= 1;
            return Step::Again;
        }
        Step::Next(left)
    }

    /// Rules on the triple at `left`; true when something was folded.
    fn fold_three(&mut self, left: usize, pos: &mut usize) -> bool {
        let (a, b, c) = (
            self.tokens[left],
            self.tokens[left + 1],
            self.tokens[left + 2],
        );
        let (ka, kb, kc) = (a.kind, b.kind, c.kind);
        if (ka == T_NUMBER && kb == T_OPERATOR && kc == T_NUMBER)
            || (ka == T_OPERATOR && kb != T_LPAREN && kc == T_OPERATOR)
            || (ka == T_LOGIC && kc == T_LOGIC)
            || (ka == T_VARIABLE
                && kb == T_OPERATOR
                && matches!(kc, T_VARIABLE | T_NUMBER | T_BAREWORD))
            || (matches!(ka, T_BAREWORD | T_NUMBER)
                && kb == T_OPERATOR
                && matches!(kc, T_NUMBER | T_BAREWORD))
            || (matches!(ka, T_BAREWORD | T_NUMBER | T_VARIABLE | T_STRING)
                && kb == T_OPERATOR
                && b.text() == b"::"
                && kc == T_SQLTYPE)
            || (matches!(ka, T_BAREWORD | T_NUMBER | T_STRING | T_VARIABLE)
                && kb == T_COMMA
                && matches!(kc, T_NUMBER | T_BAREWORD | T_STRING | T_VARIABLE))
            || (ka == T_BAREWORD && kb == T_DOT && kc == T_BAREWORD)
        {
            *pos -= 2;
            return true;
        }
        let drop_middle =
            (matches!(ka, T_EXPRESSION | T_GROUP | T_COMMA) && b.is_unary_op() && kc == T_LPAREN)
                || (matches!(ka, T_KEYWORD | T_EXPRESSION | T_GROUP)
                    && b.is_unary_op()
                    && matches!(
                        kc,
                        T_NUMBER | T_BAREWORD | T_VARIABLE | T_STRING | T_FUNCTION
                    ));
        if drop_middle {
            // `SELECT + (`, `select - 1`: the unary operator goes.
            self.tokens[left + 1] = c;
            *pos -= 1;
            return true;
        }
        if ka == T_COMMA
            && b.is_unary_op()
            && matches!(kc, T_NUMBER | T_BAREWORD | T_VARIABLE | T_STRING)
        {
            // `1,-1`: drop the sign and back up to fold `1,1` as well.
            self.tokens[left + 1] = c;
            *pos = pos.wrapping_sub(3);
            return true;
        }
        if (ka == T_COMMA && b.is_unary_op() && kc == T_FUNCTION)
            || (ka == T_EXPRESSION && kb == T_DOT && kc == T_BAREWORD)
        {
            self.tokens[left + 1] = c;
            *pos -= 1;
            return true;
        }
        if ka == T_FUNCTION && kb == T_LPAREN && kc != T_RPAREN && a.is(b"USER") {
            // USER(x) is not the zero-argument USER() function.
            self.tokens[left].kind = T_BAREWORD;
        }
        false
    }

    // ---------------------------------------------------------- fingerprint

    fn fingerprint(&mut self, ctx: u8) {
        self.reset(ctx);
        let n = self.fold();
        if n > 2 {
            // PHP's unclosed, empty backtick at the end acts as a comment.
            let last = &mut self.tokens[n - 1];
            if last.kind == T_BAREWORD && last.open == b'`' && last.len == 0 && last.close == 0 {
                last.kind = T_COMMENT;
            }
        }
        let mut fp = Fingerprint::default();
        for (d, t) in fp
            .bytes
            .iter_mut()
            .zip(&self.tokens[..n.min(MAX_TOKENS + 1)])
        {
            *d = t.kind;
        }
        fp.len = n.min(MAX_TOKENS + 1) as u8;
        if fp.as_bytes().contains(&T_EVIL) {
            fp = Fingerprint {
                bytes: [T_EVIL, 0, 0, 0, 0, 0, 0, 0],
                len: 1,
            };
            self.tokens[0] = Token::EMPTY;
            self.tokens[0].set_char(T_EVIL, T_EVIL);
            self.tokens[1].kind = T_NONE;
        }
        self.fp = fp;
    }

    /// The blacklist, then the false-positive filters.
    fn fingerprint_is_sqli(&self) -> bool {
        is_blacklisted(self.fp.as_bytes()) && !self.looks_benign()
    }

    fn looks_benign(&self) -> bool {
        let fp = self.fp.as_bytes();
        let t = &self.tokens;
        if fp.len() > 1
            && fp[fp.len() - 1] == T_COMMENT
            && memchr::memmem::find(self.s, b"sp_password").is_some()
        {
            // SQL Server hides statements mentioning sp_password from its audit log.
            return false;
        }
        match fp.len() {
            2 => {
                if fp[1] == T_UNION {
                    // A bare "1 union" is common text; only folded forms count.
                    return self.token_count == 2;
                }
                if t[1].byte(0) == b'#' {
                    return true;
                }
                if t[0].kind == T_BAREWORD && t[1].kind == T_COMMENT && t[1].byte(0) != b'/' {
                    return true;
                }
                if t[0].kind == T_NUMBER && t[1].kind == T_COMMENT {
                    if t[1].byte(0) == b'/' || self.token_count > 2 {
                        return false;
                    }
                    // "1234 --" and "1/*" are attacks, "1234-ABC--" is not. The
                    // C code indexes the input by the number's length.
                    let i = usize::from(t[0].len);
                    let ch = self.at(i);
                    if (ch as i8) <= 32 {
                        return false;
                    }
                    if (ch == b'/' && self.at(i + 1) == b'*')
                        || (ch == b'-' && self.at(i + 1) == b'-')
                    {
                        return false;
                    }
                    return true;
                }
                if t[1].len > 2 && t[1].byte(0) == b'-' {
                    return true;
                }
                false
            }
            3 => {
                if fp == b"sos" || fp == b"s&s" {
                    // ...foo' + 'bar...: SQLi only when both ends are open.
                    return !(t[0].open == 0 && t[2].close == 0 && t[0].close == t[2].open);
                }
                if matches!(fp, b"s&n" | b"n&1" | b"1&1" | b"1&v" | b"1&s") {
                    // "sexy and 17" is not SQLi, "sexy and 17<18" is.
                    return self.token_count == 3;
                }
                if t[1].kind == T_KEYWORD {
                    // Only INTO OUTFILE / INTO DUMPFILE count.
                    return t[1].len < 5 || !upper_eq(&t[1].text()[..4], b"INTO");
                }
                false
            }
            _ => false,
        }
    }

    /// Tries the contexts in libinjection's order; true on the first hit.
    /// `self.fp` is left with the fingerprint of the last context tried.
    fn detect(&mut self) -> bool {
        if self.s.is_empty() {
            return false;
        }
        self.fingerprint(CTX_PLAIN_ANSI);
        if self.fingerprint_is_sqli() {
            return true;
        }
        if self.reparse_as_mysql() {
            self.fingerprint(CTX_PLAIN_MYSQL);
            if self.fingerprint_is_sqli() {
                return true;
            }
        }
        if memchr::memchr(b'\'', self.s).is_some() {
            self.fingerprint(CTX_SINGLE_ANSI);
            if self.fingerprint_is_sqli() {
                return true;
            }
            if self.reparse_as_mysql() {
                self.fingerprint(CTX_SINGLE_MYSQL);
                if self.fingerprint_is_sqli() {
                    return true;
                }
            }
        }
        if memchr::memchr(b'"', self.s).is_some() {
            self.fingerprint(CTX_DOUBLE_MYSQL);
            if self.fingerprint_is_sqli() {
                return true;
            }
        }
        false
    }

    fn reparse_as_mysql(&self) -> bool {
        self.comment_ddx != 0 || self.comment_hash != 0
    }
}

/// Outcome of the pair rules.
enum Step {
    /// Folded; restart from the first token.
    Again,
    /// Restart the pair rules at this position.
    AgainFrom(usize),
    /// Stop folding with this many tokens.
    Stop(usize),
    /// Nothing folded; go on to the triple rules at this position.
    Next(usize),
}

/// SQLi verdict and the fingerprint of the last context tried.
pub(super) fn check(input: &[u8]) -> (bool, Fingerprint) {
    let mut state = Sqli::new(input);
    let hit = state.detect();
    (hit, state.fp)
}
