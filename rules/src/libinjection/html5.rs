//! The small HTML5-like tokenizer behind the XSS detector.
//!
//! It follows libinjection 3.9.2's tokenizer (a loose subset of the HTML5
//! tokenization states, plus old-browser quirks such as NULs inside tag names
//! and `<% %>` comments) and can start inside an attribute value, so that an
//! input can be judged as if it were pasted into `<x a=...>`, `'...'` and so
//! on. It yields positions into the input, never copies.
//!
//! The state machine runs as a loop over an explicit state, so that chains of
//! states cost no stack however long the input is.

/// Where the tokenizer starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Start {
    /// Ordinary text.
    Data,
    /// Inside a tag, after an unquoted attribute value.
    ValueNoQuote,
    ValueSingleQuote,
    ValueDoubleQuote,
    ValueBackQuote,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    DataText,
    TagNameOpen,
    TagNameClose,
    TagNameSelfClose,
    TagClose,
    AttrName,
    AttrValue,
    TagComment,
    Doctype,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Eof,
    Data,
    TagOpen,
    EndTagOpen,
    TagName,
    TagNameClose,
    BeforeAttrName,
    AttrName,
    AfterAttrName,
    BeforeAttrValue,
    AttrValueQuoted(u8),
    AttrValueUnquoted,
    AfterAttrValueQuoted,
    SelfClosingStartTag,
    BogusComment,
    PercentComment,
    MarkupDeclarationOpen,
    Comment,
    Cdata,
    Doctype,
}

/// What `skip_white` returns at the end of input. As in the C code the byte is
/// read as a signed char, so a 0xFF byte also reads as end of input.
const EOF: i32 = -1;

/// Whitespace between tag parts; NUL counts too (a `strchr` quirk upstream).
fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0)
}

pub(super) struct Html5<'a> {
    s: &'a [u8],
    pos: usize,
    state: State,
    is_close: bool,
    pub kind: Kind,
    pub start: usize,
    pub len: usize,
}

impl<'a> Html5<'a> {
    pub fn new(s: &'a [u8], start: Start) -> Self {
        let state = match start {
            Start::Data => State::Data,
            Start::ValueNoQuote => State::BeforeAttrName,
            Start::ValueSingleQuote => State::AttrValueQuoted(b'\''),
            Start::ValueDoubleQuote => State::AttrValueQuoted(b'"'),
            Start::ValueBackQuote => State::AttrValueQuoted(b'`'),
        };
        Html5 {
            s,
            pos: 0,
            state,
            is_close: false,
            kind: Kind::DataText,
            start: 0,
            len: 0,
        }
    }

    /// The current token's bytes.
    pub fn token(&self) -> &'a [u8] {
        let s: &'a [u8] = self.s;
        s.get(self.start..self.start.saturating_add(self.len))
            .unwrap_or(&[])
    }

    fn emit(&mut self, kind: Kind, start: usize, len: usize, next: State) -> bool {
        self.kind = kind;
        self.start = start;
        self.len = len;
        self.state = next;
        true
    }

    fn find(&self, from: usize, b: u8) -> Option<usize> {
        memchr::memchr(b, self.s.get(from..)?).map(|i| i + from)
    }

    fn skip_white(&mut self) -> i32 {
        while let Some(&c) = self.s.get(self.pos) {
            if matches!(c, 0 | b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
                self.pos += 1;
            } else {
                return i32::from(c as i8);
            }
        }
        EOF
    }

    /// Advances to the next token; false when there is none.
    pub fn next(&mut self) -> bool {
        let s = self.s;
        let len = s.len();
        let mut state = self.state;
        loop {
            match state {
                State::Eof => return false,
                State::Data => match self.find(self.pos, b'<') {
                    None => {
                        let (start, n) = (self.pos, len.saturating_sub(self.pos));
                        self.emit(Kind::DataText, start, n, State::Eof);
                        return n != 0;
                    }
                    Some(lt) => {
                        let (start, n) = (self.pos, lt - self.pos);
                        self.emit(Kind::DataText, start, n, State::TagOpen);
                        self.pos = lt + 1;
                        if n != 0 {
                            return true;
                        }
                        state = State::TagOpen;
                    }
                },
                State::TagOpen => {
                    let Some(&c) = s.get(self.pos) else {
                        return false;
                    };
                    match c {
                        b'!' => {
                            self.pos += 1;
                            state = State::MarkupDeclarationOpen;
                        }
                        b'/' => {
                            self.pos += 1;
                            self.is_close = true;
                            state = State::EndTagOpen;
                        }
                        b'?' => {
                            self.pos += 1;
                            state = State::BogusComment;
                        }
                        b'%' => {
                            // Not HTML5: the `<% %>` comments of old IE and Safari.
                            self.pos += 1;
                            state = State::PercentComment;
                        }
                        // Old browsers ignore NULs in tag names.
                        c if c.is_ascii_alphabetic() || c == 0 => state = State::TagName,
                        _ if self.pos == 0 => state = State::Data,
                        _ => return self.emit(Kind::DataText, self.pos - 1, 1, State::Data),
                    }
                }
                State::EndTagOpen => {
                    let Some(&c) = s.get(self.pos) else {
                        return false;
                    };
                    if c == b'>' {
                        state = State::Data;
                    } else if c.is_ascii_alphabetic() {
                        state = State::TagName;
                    } else {
                        self.is_close = false;
                        state = State::BogusComment;
                    }
                }
                State::TagNameClose => {
                    self.is_close = false;
                    let start = self.pos;
                    self.pos += 1;
                    let next = if self.pos < len {
                        State::Data
                    } else {
                        State::Eof
                    };
                    return self.emit(Kind::TagNameClose, start, 1, next);
                }
                State::TagName => {
                    let start = self.pos;
                    let mut p = start;
                    while let Some(&c) = s.get(p) {
                        if c == 0 {
                            p += 1;
                        } else if is_white(c) {
                            self.pos = p + 1;
                            return self.emit(
                                Kind::TagNameOpen,
                                start,
                                p - start,
                                State::BeforeAttrName,
                            );
                        } else if c == b'/' {
                            self.pos = p + 1;
                            return self.emit(
                                Kind::TagNameOpen,
                                start,
                                p - start,
                                State::SelfClosingStartTag,
                            );
                        } else if c == b'>' {
                            if self.is_close {
                                self.pos = p + 1;
                                self.is_close = false;
                                return self.emit(Kind::TagClose, start, p - start, State::Data);
                            }
                            self.pos = p;
                            return self.emit(
                                Kind::TagNameOpen,
                                start,
                                p - start,
                                State::TagNameClose,
                            );
                        } else {
                            p += 1;
                        }
                    }
                    return self.emit(
                        Kind::TagNameOpen,
                        start,
                        len.saturating_sub(start),
                        State::Eof,
                    );
                }
                State::BeforeAttrName => match self.skip_white() {
                    EOF => return false,
                    0x2f => {
                        self.pos += 1;
                        state = State::SelfClosingStartTag;
                    }
                    0x3e => {
                        let start = self.pos;
                        self.pos += 1;
                        return self.emit(Kind::TagNameClose, start, 1, State::Data);
                    }
                    _ => state = State::AttrName,
                },
                State::AttrName => {
                    // The first byte always belongs to the name, even `=`.
                    let start = self.pos;
                    let mut p = start + 1;
                    while let Some(&c) = s.get(p) {
                        let next = if is_white(c) {
                            State::AfterAttrName
                        } else if c == b'/' {
                            State::SelfClosingStartTag
                        } else if c == b'=' {
                            State::BeforeAttrValue
                        } else if c == b'>' {
                            State::TagNameClose
                        } else {
                            p += 1;
                            continue;
                        };
                        self.pos = if next == State::TagNameClose {
                            p
                        } else {
                            p + 1
                        };
                        return self.emit(Kind::AttrName, start, p - start, next);
                    }
                    self.pos = len;
                    return self.emit(Kind::AttrName, start, len.saturating_sub(start), State::Eof);
                }
                State::AfterAttrName => match self.skip_white() {
                    EOF => return false,
                    0x2f => {
                        self.pos += 1;
                        state = State::SelfClosingStartTag;
                    }
                    0x3d => {
                        self.pos += 1;
                        state = State::BeforeAttrValue;
                    }
                    0x3e => state = State::TagNameClose,
                    _ => state = State::AttrName,
                },
                State::BeforeAttrValue => match self.skip_white() {
                    EOF => {
                        self.state = State::Eof;
                        return false;
                    }
                    0x22 => state = State::AttrValueQuoted(b'"'),
                    0x27 => state = State::AttrValueQuoted(b'\''),
                    // Backquotes: Internet Explorer only.
                    0x60 => state = State::AttrValueQuoted(b'`'),
                    _ => state = State::AttrValueUnquoted,
                },
                State::AttrValueQuoted(quote) => {
                    // Skip the opening quote, unless the input starts inside
                    // the value (then position 0 is already value text).
                    if self.pos > 0 {
                        self.pos += 1;
                    }
                    let start = self.pos;
                    return match self.find(start, quote) {
                        None => self.emit(
                            Kind::AttrValue,
                            start,
                            len.saturating_sub(start),
                            State::Eof,
                        ),
                        Some(q) => {
                            self.pos = q + 1;
                            self.emit(
                                Kind::AttrValue,
                                start,
                                q - start,
                                State::AfterAttrValueQuoted,
                            )
                        }
                    };
                }
                State::AttrValueUnquoted => {
                    let start = self.pos;
                    let mut p = start;
                    while let Some(&c) = s.get(p) {
                        if is_white(c) {
                            self.pos = p + 1;
                            return self.emit(
                                Kind::AttrValue,
                                start,
                                p - start,
                                State::BeforeAttrName,
                            );
                        }
                        if c == b'>' {
                            self.pos = p;
                            return self.emit(
                                Kind::AttrValue,
                                start,
                                p - start,
                                State::TagNameClose,
                            );
                        }
                        p += 1;
                    }
                    return self.emit(
                        Kind::AttrValue,
                        start,
                        len.saturating_sub(start),
                        State::Eof,
                    );
                }
                State::AfterAttrValueQuoted => {
                    let Some(&c) = s.get(self.pos) else {
                        return false;
                    };
                    if is_white(c) {
                        self.pos += 1;
                        state = State::BeforeAttrName;
                    } else if c == b'/' {
                        self.pos += 1;
                        state = State::SelfClosingStartTag;
                    } else if c == b'>' {
                        let start = self.pos;
                        self.pos += 1;
                        return self.emit(Kind::TagNameClose, start, 1, State::Data);
                    } else {
                        state = State::BeforeAttrName;
                    }
                }
                State::SelfClosingStartTag => {
                    let Some(&c) = s.get(self.pos) else {
                        return false;
                    };
                    if c == b'>' {
                        let start = self.pos.saturating_sub(1);
                        self.pos += 1;
                        return self.emit(Kind::TagNameSelfClose, start, 2, State::Data);
                    }
                    state = State::BeforeAttrName;
                }
                State::BogusComment => {
                    let start = self.pos;
                    return match self.find(start, b'>') {
                        None => {
                            self.pos = len;
                            self.emit(
                                Kind::TagComment,
                                start,
                                len.saturating_sub(start),
                                State::Eof,
                            )
                        }
                        Some(gt) => {
                            self.pos = gt + 1;
                            self.emit(Kind::TagComment, start, gt - start, State::Data)
                        }
                    };
                }
                State::PercentComment => {
                    let start = self.pos;
                    let mut from = start;
                    loop {
                        match self.find(from, b'%') {
                            Some(pc) if pc + 1 < len => {
                                if s[pc + 1] != b'>' {
                                    from = pc + 1;
                                    continue;
                                }
                                self.pos = pc + 2;
                                return self.emit(Kind::TagComment, start, pc - start, State::Data);
                            }
                            _ => {
                                self.pos = len;
                                return self.emit(
                                    Kind::TagComment,
                                    start,
                                    len.saturating_sub(start),
                                    State::Eof,
                                );
                            }
                        }
                    }
                }
                State::MarkupDeclarationOpen => {
                    let rest = s.get(self.pos..).unwrap_or(&[]);
                    if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"DOCTYPE") {
                        state = State::Doctype;
                    } else if rest.starts_with(b"[CDATA[") {
                        self.pos += 7;
                        state = State::Cdata;
                    } else if rest.starts_with(b"--") {
                        self.pos += 2;
                        state = State::Comment;
                    } else {
                        state = State::BogusComment;
                    }
                }
                State::Comment => {
                    // Ends at `-->` or `--!>` (NULs after the first dash are
                    // skipped), or at the end of input.
                    let start = self.pos;
                    let mut from = start;
                    loop {
                        let dash = match self.find(from, b'-') {
                            Some(d) if d + 3 <= len => d,
                            _ => {
                                return self.emit(
                                    Kind::TagComment,
                                    start,
                                    len - start.min(len),
                                    State::Eof,
                                )
                            }
                        };
                        let mut off = 1;
                        while dash + off < len && s[dash + off] == 0 {
                            off += 1;
                        }
                        if dash + off == len {
                            return self.emit(
                                Kind::TagComment,
                                start,
                                len - start.min(len),
                                State::Eof,
                            );
                        }
                        if !matches!(s[dash + off], b'-' | b'!') {
                            from = dash + 1;
                            continue;
                        }
                        off += 1;
                        if dash + off == len {
                            return self.emit(
                                Kind::TagComment,
                                start,
                                len - start.min(len),
                                State::Eof,
                            );
                        }
                        if s[dash + off] != b'>' {
                            from = dash + 1;
                            continue;
                        }
                        self.pos = dash + off + 1;
                        return self.emit(Kind::TagComment, start, dash - start, State::Data);
                    }
                }
                State::Cdata => {
                    let start = self.pos;
                    let mut from = start;
                    loop {
                        match self.find(from, b']') {
                            Some(rb) if rb + 3 <= len => {
                                if s[rb + 1] == b']' && s[rb + 2] == b'>' {
                                    self.pos = rb + 3;
                                    return self.emit(
                                        Kind::DataText,
                                        start,
                                        rb - start,
                                        State::Data,
                                    );
                                }
                                from = rb + 1;
                            }
                            _ => {
                                return self.emit(
                                    Kind::DataText,
                                    start,
                                    len - start.min(len),
                                    State::Eof,
                                )
                            }
                        }
                    }
                }
                State::Doctype => {
                    let start = self.pos;
                    return match self.find(start, b'>') {
                        None => self.emit(Kind::Doctype, start, len - start.min(len), State::Eof),
                        Some(gt) => {
                            self.pos = gt + 1;
                            self.emit(Kind::Doctype, start, gt - start, State::Data)
                        }
                    };
                }
            }
        }
    }
}
