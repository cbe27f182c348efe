//! `application/json` bodies, flattened into arguments the way libmodsecurity
//! 3.0.9 (built on yajl) names them. Verified against 3.0.9:
//!
//! - every scalar becomes one argument; the name starts with `json` and adds
//!   one segment per enclosing container: `.key` for an object member (an
//!   empty key is written `empty-key`), `.array_N` for the N-th array element
//!   (counted from 0). `{"a":{"b":1,"c":[1,{"d":2}]}}` gives `json.a.b`,
//!   `json.a.c.array_0`, `json.a.c.array_1.d`; a top-level scalar is `json`;
//!   a top-level array gives `json.array_0`, …; keys are used as decoded, dots
//!   included, so `{"a.b":1}` is `json.a.b` too;
//! - values: strings decoded, numbers as written (`1E+2`, `-0`, `1.0`), `true`
//!   and `false` as those words, `null` as the empty string; empty objects and
//!   arrays produce nothing; duplicate keys give duplicate arguments;
//! - the grammar is yajl's strict one: no comments, no trailing commas, no
//!   leading zeros, no `NaN`, no BOM; whitespace is space, tab, LF, CR, VT and
//!   FF; raw control bytes inside strings are rejected; UTF-8 in strings is
//!   checked the way yajl checks it (lead byte and continuation bytes only);
//!   `\u` escapes decode like yajl, including its handling of unpaired
//!   surrogates (a lone high surrogate becomes `?`);
//! - arguments found before an error are kept (yajl reports them as it goes);
//!   they are returned inside the error.
//!
//! The parser is iterative: nesting costs heap, not stack, and is bounded by
//! [`Limits::json_max_depth`]; the number of arguments by [`Limits::max_args`].

use super::{Arg, Limits};

/// A JSON body that could not be fully processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// `JSON parsing error: …`, naming the byte offset.
    pub message: String,
    /// Arguments produced before the error (libmodsecurity keeps these too).
    pub partial_args: Vec<Arg>,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Flattens a JSON document into (name, value) arguments, in document order.
///
/// An empty body (no bytes at all) yields no arguments and no error; a body of
/// only whitespace is an error ("premature EOF"), as in yajl.
pub fn parse(body: &[u8], limits: &Limits) -> Result<Vec<Arg>, JsonError> {
    let mut p = Parser { src: body, pos: 0, args: Vec::new(), path: b"json".to_vec(), frames: Vec::new() };
    match p.run(limits) {
        Ok(()) => Ok(p.args),
        Err((kind, msg, at)) => Err(JsonError {
            message: format!("JSON parsing error: {kind}: {msg} (at byte {at})"),
            partial_args: p.args,
        }),
    }
}

/// Where the next token must fit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value; `first_in_array` allows `]` (an empty array).
    Value { first_in_array: bool },
    /// A key, or `}` right after `{`.
    KeyOrEnd,
    /// A key (after a comma).
    Key,
    Colon,
    /// `,` or `}` after a member value.
    MapNext,
    /// `,` or `]` after an array element.
    ArrayNext,
    Done,
}

enum Token<'a> {
    Open(u8),
    Close(u8),
    Colon,
    Comma,
    Str(Vec<u8>),
    Number(&'a [u8]),
    Lit(&'static [u8]),
}

struct Frame {
    is_array: bool,
    /// Length of `path` before this container's own segment.
    start: usize,
    index: usize,
}

type Fail = (&'static str, String, usize);

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    args: Vec<Arg>,
    /// Name prefix for the current position: `json` plus one segment per frame.
    path: Vec<u8>,
    frames: Vec<Frame>,
}

fn parse_err(msg: &str, at: usize) -> Fail {
    ("parse error", msg.to_string(), at)
}

fn lex_err(msg: &str, at: usize) -> Fail {
    ("lexical error", msg.to_string(), at)
}

impl<'a> Parser<'a> {
    fn run(&mut self, limits: &Limits) -> Result<(), Fail> {
        if self.src.is_empty() {
            return Ok(());
        }
        let mut state = State::Value { first_in_array: false };
        loop {
            self.skip_ws();
            if self.pos >= self.src.len() {
                return if state == State::Done { Ok(()) } else { Err(parse_err("premature EOF", self.pos)) };
            }
            if state == State::Done {
                return self.after_document();
            }
            let at = self.pos;
            let tok = self.lex()?;
            state = match (state, tok) {
                (State::Value { .. }, Token::Open(c)) => {
                    if self.frames.len() >= limits.json_max_depth {
                        return Err((
                            "parse error",
                            format!("nesting depth limit of {} exceeded", limits.json_max_depth),
                            at,
                        ));
                    }
                    self.enter_value();
                    let is_array = c == b'[';
                    self.frames.push(Frame { is_array, start: self.path.len(), index: 0 });
                    if is_array {
                        State::Value { first_in_array: true }
                    } else {
                        State::KeyOrEnd
                    }
                }
                (State::Value { first_in_array: true }, Token::Close(b']')) => self.close(),
                (State::Value { .. }, Token::Str(s)) => self.scalar(s, limits, at)?,
                (State::Value { .. }, Token::Number(n)) => self.scalar(n.to_vec(), limits, at)?,
                (State::Value { .. }, Token::Lit(l)) => {
                    let v = if l == b"null" { Vec::new() } else { l.to_vec() };
                    self.scalar(v, limits, at)?
                }
                (State::Value { .. }, _) => return Err(parse_err("unallowed token at this point in JSON text", at)),
                (State::KeyOrEnd, Token::Close(b'}')) => self.close(),
                (State::KeyOrEnd | State::Key, Token::Str(key)) => {
                    self.set_key(&key);
                    State::Colon
                }
                (State::KeyOrEnd | State::Key, _) => {
                    return Err(parse_err("invalid object key (must be a string)", at))
                }
                (State::Colon, Token::Colon) => State::Value { first_in_array: false },
                (State::Colon, _) => {
                    return Err(parse_err("object key and value must be separated by a colon (':')", at))
                }
                (State::MapNext, Token::Comma) => State::Key,
                (State::MapNext, Token::Close(b'}')) => self.close(),
                (State::MapNext, _) => {
                    return Err(parse_err("after key and value, inside map, I expect ',' or '}'", at))
                }
                (State::ArrayNext, Token::Comma) => State::Value { first_in_array: false },
                (State::ArrayNext, Token::Close(b']')) => self.close(),
                (State::ArrayNext, _) => return Err(parse_err("after array element, I expect ',' or ']'", at)),
                (State::Done, _) => return Err(parse_err("trailing garbage", at)),
            };
        }
    }

    /// Something follows the complete document. yajl only notices trailing
    /// garbage once it has lexed a whole token: a string still open at the
    /// end of the body is never finished, and so never complained about.
    fn after_document(&mut self) -> Result<(), Fail> {
        let at = self.pos;
        if self.src[at] == b'"' {
            return match self.lex() {
                Err((_, msg, _)) if msg == "premature EOF" => Ok(()),
                Err(e) => Err(e),
                Ok(_) => Err(parse_err("trailing garbage", at)),
            };
        }
        Err(parse_err("trailing garbage", at))
    }

    /// What comes after a complete value (scalar or closed container).
    fn after_value(&mut self) -> State {
        match self.frames.last_mut() {
            None => State::Done,
            Some(f) if f.is_array => {
                f.index += 1;
                State::ArrayNext
            }
            Some(_) => State::MapNext,
        }
    }

    /// Writes the enclosing array's `.array_N` segment before a value starts
    /// (object members got theirs from their key).
    fn enter_value(&mut self) {
        if let Some(f) = self.frames.last() {
            if f.is_array {
                let (start, index) = (f.start, f.index);
                self.path.truncate(start);
                self.path.extend_from_slice(b".array_");
                self.path.extend_from_slice(index.to_string().as_bytes());
            }
        }
    }

    fn set_key(&mut self, key: &[u8]) {
        if let Some(f) = self.frames.last() {
            self.path.truncate(f.start);
        }
        self.path.push(b'.');
        if key.is_empty() {
            self.path.extend_from_slice(b"empty-key");
        } else {
            self.path.extend_from_slice(key);
        }
    }

    fn close(&mut self) -> State {
        if let Some(f) = self.frames.pop() {
            self.path.truncate(f.start);
        }
        self.after_value()
    }

    fn scalar(&mut self, value: Vec<u8>, limits: &Limits, at: usize) -> Result<State, Fail> {
        if self.args.len() >= limits.max_args {
            return Err(("parse error", format!("argument limit of {} exceeded", limits.max_args), at));
        }
        self.enter_value();
        self.args.push((self.path.clone(), value));
        Ok(self.after_value())
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.src.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn lex(&mut self) -> Result<Token<'a>, Fail> {
        let at = self.pos;
        let c = self.src[at];
        self.pos += 1;
        Ok(match c {
            b'{' | b'[' => Token::Open(c),
            b'}' | b']' => Token::Close(c),
            b':' => Token::Colon,
            b',' => Token::Comma,
            b'"' => Token::Str(self.string()?),
            b'-' | b'0'..=b'9' => Token::Number(self.number(at)?),
            b't' => Token::Lit(self.literal(at, b"true")?),
            b'f' => Token::Lit(self.literal(at, b"false")?),
            b'n' => Token::Lit(self.literal(at, b"null")?),
            b'/' => return Err(lex_err("probable comment found in input text, comments are not enabled", at)),
            _ => return Err(lex_err("invalid char in json text", at)),
        })
    }

    fn literal(&mut self, at: usize, word: &'static [u8]) -> Result<&'static [u8], Fail> {
        for &expected in &word[1..] {
            match self.src.get(self.pos) {
                Some(&c) if c == expected => self.pos += 1,
                Some(_) => return Err(lex_err("invalid string in json text", at)),
                None => return Err(parse_err("premature EOF", self.pos)),
            }
        }
        Ok(word)
    }

    fn number(&mut self, at: usize) -> Result<&'a [u8], Fail> {
        let src = self.src;
        let digit = |i: usize| src.get(i).is_some_and(u8::is_ascii_digit);
        let mut i = at;
        if src[i] == b'-' {
            i += 1;
            if !digit(i) {
                return Err(lex_err("malformed number, a digit is required after the minus sign", i));
            }
        }
        if src[i] == b'0' {
            i += 1;
        } else {
            while digit(i) {
                i += 1;
            }
        }
        if src.get(i) == Some(&b'.') {
            i += 1;
            if !digit(i) {
                return Err(lex_err("malformed number, a digit is required after the decimal point", i));
            }
            while digit(i) {
                i += 1;
            }
        }
        if matches!(src.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(src.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digit(i) {
                return Err(lex_err("malformed number, a digit is required after the exponent", i));
            }
            while digit(i) {
                i += 1;
            }
        }
        self.pos = i;
        Ok(&src[at..i])
    }

    /// Reads a string body (the opening quote is consumed) and decodes it.
    fn string(&mut self) -> Result<Vec<u8>, Fail> {
        let src = self.src;
        let mut out = Vec::new();
        loop {
            // Copy the run of plain bytes up to the next quote, backslash or
            // byte needing a check.
            let run_start = self.pos;
            while let Some(&c) = src.get(self.pos) {
                if c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c) {
                    break;
                }
                self.pos += 1;
            }
            out.extend_from_slice(&src[run_start..self.pos]);
            let at = self.pos;
            let c = match src.get(at) {
                Some(&c) => c,
                None => return Err(parse_err("premature EOF", at)),
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => self.escape(&mut out)?,
                0..=0x1f => return Err(lex_err("invalid character inside string", at)),
                _ => {
                    let len = match utf8_len(src, at) {
                        Utf8::Ok(len) => len,
                        Utf8::Invalid => return Err(lex_err("invalid bytes in UTF8 string", at)),
                        Utf8::Truncated => return Err(parse_err("premature EOF", src.len())),
                    };
                    out.extend_from_slice(&src[at..at + len]);
                    self.pos = at + len;
                }
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Fail> {
        let src = self.src;
        let at = self.pos;
        let e = match src.get(at + 1) {
            Some(&e) => e,
            None => return Err(parse_err("premature EOF", src.len())),
        };
        self.pos = at + 2;
        let simple = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = self.hex4(at + 2)?;
                self.pos = at + 6;
                let mut cp = hi;
                if hi & 0xFC00 == 0xD800 {
                    // yajl pairs a high surrogate with whatever `\uXXXX`
                    // follows, without checking it is a low surrogate; with no
                    // `\u` following, it writes '?'.
                    if src.get(at + 6) == Some(&b'\\') && src.get(at + 7) == Some(&b'u') {
                        let lo = self.hex4(at + 8)?;
                        self.pos = at + 12;
                        cp = ((hi & 0x3F) << 10) | ((((hi >> 6) & 0xF) + 1) << 16) | (lo & 0x3FF);
                    } else {
                        out.push(b'?');
                        return Ok(());
                    }
                }
                push_utf8(out, cp);
                return Ok(());
            }
            _ => {
                return Err(lex_err("inside a string, '\\' occurs before a character which it may not", at + 1))
            }
        };
        out.push(simple);
        Ok(())
    }

    fn hex4(&self, from: usize) -> Result<u32, Fail> {
        let mut v = 0u32;
        for i in from..from + 4 {
            let c = match self.src.get(i) {
                Some(&c) => c,
                None => return Err(parse_err("premature EOF", self.src.len())),
            };
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(lex_err("invalid (non-hex) character occurs after '\\u' inside string", i)),
            };
            v = v << 4 | u32::from(d);
        }
        Ok(v)
    }
}

enum Utf8 {
    Ok(usize),
    Invalid,
    Truncated,
}

/// Length of the UTF-8 sequence at `at` as yajl validates it: the lead byte
/// decides the length, each continuation byte must be `10xxxxxx`.
fn utf8_len(src: &[u8], at: usize) -> Utf8 {
    let lead = src[at];
    let len = if lead >> 5 == 0b110 {
        2
    } else if lead >> 4 == 0b1110 {
        3
    } else if lead >> 3 == 0b11110 {
        4
    } else {
        return Utf8::Invalid;
    };
    for i in 1..len {
        match src.get(at + i) {
            None => return Utf8::Truncated,
            Some(b) if b >> 6 != 0b10 => return Utf8::Invalid,
            Some(_) => {}
        }
    }
    Utf8::Ok(len)
}

/// Encodes a code point as yajl does (no surrogate or range check below
/// 0x200000; '?' above).
fn push_utf8(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.push(0xC0 | (cp >> 6) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else if cp < 0x10000 {
        out.push(0xE0 | (cp >> 12) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else if cp < 0x200000 {
        out.push(0xF0 | (cp >> 18) as u8);
        out.push(0x80 | ((cp >> 12) & 0x3F) as u8);
        out.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        out.push(0x80 | (cp & 0x3F) as u8);
    } else {
        out.push(b'?');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(src: &str) -> Vec<(String, String)> {
        match parse(src.as_bytes(), &Limits::default()) {
            Ok(a) => a.into_iter().map(|(n, v)| (lossy(&n), lossy(&v))).collect(),
            Err(e) => panic!("{src}: {}", e.message),
        }
    }

    fn lossy(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn err(src: &[u8]) -> JsonError {
        match parse(src, &Limits::default()) {
            Ok(a) => panic!("{} parsed: {a:?}", String::from_utf8_lossy(src)),
            Err(e) => e,
        }
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    // The expectations below are what libmodsecurity 3.0.9 logged
    // ("Adding request argument (JSON)") for the same bodies.
    #[test]
    fn naming_matches_modsecurity() {
        assert_eq!(
            args(r#"{"a":{"b":1,"c":[1,"x",null,true,{"d":2},[3,4]]},"e":{},"f":[],"g":-1.5e3}"#),
            vec![
                p("json.a.b", "1"),
                p("json.a.c.array_0", "1"),
                p("json.a.c.array_1", "x"),
                p("json.a.c.array_2", ""),
                p("json.a.c.array_3", "true"),
                p("json.a.c.array_4.d", "2"),
                p("json.a.c.array_5.array_0", "3"),
                p("json.a.c.array_5.array_1", "4"),
                p("json.g", "-1.5e3"),
            ]
        );
        assert_eq!(args("[1,2]"), vec![p("json.array_0", "1"), p("json.array_1", "2")]);
        assert_eq!(args(r#""str""#), vec![p("json", "str")]);
        assert_eq!(args("5"), vec![p("json", "5")]);
        assert_eq!(args("null"), vec![p("json", "")]);
        assert_eq!(args(r#"[[1],[2,{"a":[]}]]"#), vec![p("json.array_0.array_0", "1"), p("json.array_1.array_0", "2")]);
        assert_eq!(args(r#"{"":1,"a.b":{"":2}}"#), vec![p("json.empty-key", "1"), p("json.a.b.empty-key", "2")]);
        assert_eq!(args(r#"{"a":1,"a":2}"#), vec![p("json.a", "1"), p("json.a", "2")]);
        assert_eq!(args(r#"{"a":[{"b":1},{"b":2}]}"#), vec![p("json.a.array_0.b", "1"), p("json.a.array_1.b", "2")]);
        assert_eq!(args(r#"{"":[1]}"#), vec![p("json.empty-key.array_0", "1")]);
        assert_eq!(args(r#"[{"":1}]"#), vec![p("json.array_0.empty-key", "1")]);
        assert_eq!(args(r#"[{"a":1},[2]]"#), vec![p("json.array_0.a", "1"), p("json.array_1.array_0", "2")]);
        assert_eq!(args(r#"{"x":{"a":1},"y":[[1]]}"#), vec![p("json.x.a", "1"), p("json.y.array_0.array_0", "1")]);
        assert_eq!(args(r#"{"a":[{"b":[{"c":1}]}]}"#), vec![p("json.a.array_0.b.array_0.c", "1")]);
        assert_eq!(args(r#"[[],{"z":[]},3]"#), vec![p("json.array_2", "3")]);
        assert_eq!(args(r#"{"a":{"b":{}},"c":1}"#), vec![p("json.c", "1")]);
        assert_eq!(args(r#"{"a.b":[{"c d":1}]}"#), vec![p("json.a.b.array_0.c d", "1")]);
        assert_eq!(
            args(r#"{"a" : 1e5, "b": 1.0, "c": -0, "d": 1E+2, "e": 1e-2, "f": 123456789012345678901234567890}"#),
            vec![
                p("json.a", "1e5"),
                p("json.b", "1.0"),
                p("json.c", "-0"),
                p("json.d", "1E+2"),
                p("json.e", "1e-2"),
                p("json.f", "123456789012345678901234567890")
            ]
        );
        assert!(args("{}").is_empty());
        assert!(args("[]").is_empty());
        assert!(args("").is_empty());
    }

    #[test]
    fn whitespace_includes_vt_and_ff() {
        assert_eq!(args("{\"a\":\x0b1}\n\n"), vec![p("json.a", "1")]);
        assert_eq!(args("{\"a\":\x0c1}"), vec![p("json.a", "1")]);
    }

    #[test]
    fn string_decoding_like_yajl() {
        let one = |src: &str| parse(src.as_bytes(), &Limits::default()).unwrap().remove(0).1;
        assert_eq!(one(r#"{"a":"\u0041\n\u00e9\ud83d\ude00"}"#), "A\né😀".as_bytes());
        assert_eq!(one(r#"{"a":"\/\"\\\b\f\r\t"}"#), b"/\"\\\x08\x0c\r\t");
        assert_eq!(one(r#"{"a":"\u0000x"}"#), b"\0x");
        // Unpaired surrogates, as 3.0.9 rendered them.
        assert_eq!(one(r#"{"c":"\ud800"}"#), b"?");
        assert_eq!(one(r#"{"c":"\ud800x"}"#), b"?x");
        assert_eq!(one(r#"{"c":"\udc00"}"#), b"\xed\xb0\x80");
        assert_eq!(one(r#"{"a":"\ud83d\u0041"}"#), b"\xf0\x9f\x91\x81");
        assert_eq!(one(r#""\u00e9""#), "é".as_bytes());
        // yajl's UTF-8 check looks at byte classes only.
        assert_eq!(parse(b"\"\xc0\x80\"", &Limits::default()).unwrap()[0].1, b"\xc0\x80");
    }

    #[test]
    fn malformed_documents_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"  ", "premature EOF"),
            (b"{\"a\":1}{\"b\":2}", "trailing garbage"),
            (b"{\"a\":1} x", "trailing garbage"),
            (b"[1]]", "trailing garbage"),
            (b"{\"a\":tru}", "invalid string in json text"),
            (b"{\"a\":TRUE}", "invalid char in json text"),
            (b"{\"a\":1,}", "invalid object key (must be a string)"),
            (b"{\"a\":01}", "after key and value, inside map, I expect ',' or '}'"),
            (b"{'a':1}", "invalid char in json text"),
            (b"{\"a\":\"b", "premature EOF"),
            (b"{\"a\":\"a\tb\"}", "invalid character inside string"),
            (b"\xef\xbb\xbf{\"a\":1}", "invalid char in json text"),
            (b"{\"a\":1e}", "a digit is required after the exponent"),
            (b"{\"a\":-}", "a digit is required after the minus sign"),
            (b"{\"a\":.5}", "invalid char in json text"),
            (b"{\"a\":1.}", "a digit is required after the decimal point"),
            (b"{\"a\":\"\\x\"}", "occurs before a character which it may not"),
            (b"{\"a\":\"\\u12\"}", "invalid (non-hex) character"),
            (b"{\"a\":[1 2]}", "after array element, I expect ',' or ']'"),
            (b"{\"a\" 1}", "separated by a colon"),
            (b"[1,]", "unallowed token"),
            (b",", "unallowed token"),
            (b"}", "unallowed token"),
            (b"{\"a\":NaN}", "invalid char in json text"),
            (b"{\"a\":+1}", "invalid char in json text"),
            (b"{\"a\":1/*x*/}", "comments are not enabled"),
            (b"{\"b\":\"\xff\xfe\"}", "invalid bytes in UTF8 string"),
            (b"[", "premature EOF"),
            (b"{\"a\"", "premature EOF"),
            (b"{\"a\":\"\\", "premature EOF"),
            (b"nul", "premature EOF"),
        ];
        for (src, want) in cases {
            let e = err(src);
            assert!(e.message.starts_with("JSON parsing error: "), "{}", e.message);
            assert!(e.message.contains(want), "{:?}: {}", String::from_utf8_lossy(src), e.message);
            assert!(e.message.contains("(at byte "), "{}", e.message);
        }
    }

    #[test]
    fn unfinished_string_after_the_document_is_ignored() {
        // As 3.0.9 (yajl) does.
        assert_eq!(args("\"top\"\""), vec![p("json", "top")]);
        assert_eq!(args("{\"a\":1} \"abc"), vec![p("json.a", "1")]);
        assert!(err(b"\"top\" \"x\"").message.contains("trailing garbage"));
        assert!(err(b"\"top\" \"\\x").message.contains("occurs before a character"));
        assert!(err(b"\"top\" 1").message.contains("trailing garbage"));
    }

    #[test]
    fn error_offsets() {
        assert!(err(b"{\"a\":1,}").message.ends_with("(at byte 7)"));
        assert!(err(b"[1] x").message.ends_with("(at byte 4)"));
        assert!(err(b"{\"a\":\"\xff\"}").message.ends_with("(at byte 6)"));
    }

    #[test]
    fn arguments_before_an_error_are_kept() {
        // 3.0.9 logged json.a=1 before failing on these.
        for src in [&b"{\"a\":1}{\"b\":2}"[..], b"{\"a\":1,}", b"{\"a\":1true}", b"{\"a\":1/*x*/}"] {
            assert_eq!(err(src).partial_args, vec![(b"json.a".to_vec(), b"1".to_vec())]);
        }
        assert_eq!(err(b"{\"a\":01}").partial_args, vec![(b"json.a".to_vec(), b"0".to_vec())]);
        assert_eq!(err(b"{\"a\":-01}").partial_args, vec![(b"json.a".to_vec(), b"-0".to_vec())]);
        assert_eq!(err(b"[1,]").partial_args, vec![(b"json.array_0".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn depth_limit() {
        // SecRequestBodyJsonDepthLimit 3 on 3.0.9: three levels pass, four fail.
        let limits = Limits { json_max_depth: 3, ..Limits::default() };
        assert!(parse(br#"{"a":{"b":{"c":1}}}"#, &limits).is_ok());
        assert!(parse(b"[[[1]]]", &limits).is_ok());
        let e = parse(br#"{"a":{"b":{"c":{"d":1}}}}"#, &limits).unwrap_err();
        assert!(e.message.contains("depth limit of 3"), "{}", e.message);
        assert!(e.partial_args.is_empty());
        assert!(parse(b"[[[[1]]]]", &limits).is_err());
        // Deep input with the default limit fails fast and without recursion.
        let deep = "[".repeat(100_000);
        assert!(parse(deep.as_bytes(), &Limits::default()).unwrap_err().message.contains("depth limit"));
    }

    #[test]
    fn argument_limit() {
        // SecArgumentsLimit 4 on 3.0.9: four arguments pass, a fifth fails and
        // the first four stay.
        let limits = Limits { max_args: 4, ..Limits::default() };
        assert_eq!(parse(b"[1,2,3,4]", &limits).unwrap().len(), 4);
        let e = parse(b"[1,2,3,4,5,6]", &limits).unwrap_err();
        assert!(e.message.contains("argument limit of 4"), "{}", e.message);
        assert_eq!(e.partial_args.len(), 4);
        assert!(parse(br#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#, &limits).is_err());
    }
}
