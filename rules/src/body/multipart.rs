//! `multipart/form-data` bodies, with ModSecurity's multipart parser
//! semantics: the boundary taken from `Content-Type` the way libmodsecurity
//! takes it, parts read line by line, and every `MULTIPART_*` flag raised on
//! the same conditions. Checked against libmodsecurity 3.0.9 (see the tests).
//!
//! Where 3.0.9 has a bug, this module does what the parser was meant to do,
//! as ModSecurity 2.9 does:
//!
//! - part values keep their inner line breaks (3.0.9 drops every line ending
//!   inside a form field: `a\r\nb` became `ab`); only the line break right
//!   before the next boundary belongs to the boundary;
//! - `MULTIPART_PART_HEADERS` holds every header line of every part, without
//!   its line ending (3.0.9 kept `\r\n` and lost each part's last header, which
//!   CRS test 922110 exposes); a folded header is recorded once, unfolded, as
//!   `Name: value continued`;
//! - a malformed part header is an error that stops parsing (3.0.9 logged it and
//!   went on, swallowing the rest of the body into the broken part); so is a
//!   duplicate part header (3.0.9 ignored the second one silently);
//! - a boundary line right where a part's data should start ends that part
//!   (empty value) and raises `MULTIPART_INVALID_PART` (3.0.9 raised the flag
//!   but read the boundary line, and the parts after it, as data);
//! - an empty boundary (`boundary=""`) is an error (3.0.9 silently did nothing).
//!
//! Parts parsed before an error are kept in the result, next to the error.

use std::ops::Range;

use super::{show, Arg, Limits};

/// What a multipart body yields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multipart {
    /// The boundary taken from `Content-Type` (empty when that failed).
    pub boundary: Vec<u8>,
    /// Non-file parts as (name, value): `ARGS_POST`.
    pub args: Vec<Arg>,
    /// File parts: `FILES`, `FILES_NAMES`, `FILES_SIZES`, `FILES_COMBINED_SIZE`.
    pub files: Vec<FilePart>,
    /// (part name, header line without line ending) for every header of every
    /// named part: `MULTIPART_PART_HEADERS:<part name>`.
    pub part_headers: Vec<Arg>,
    /// Every `name` parameter seen in a `Content-Disposition`: `MULTIPART_NAME`.
    pub names: Vec<Vec<u8>>,
    /// Every `filename` parameter seen: `MULTIPART_FILENAME`.
    pub filenames: Vec<Vec<u8>>,
    /// The `MULTIPART_*` flags.
    pub flags: Flags,
    /// `Multipart parsing error: …` when the body (or its `Content-Type`) could
    /// not be processed: `REQBODY_ERROR_MSG`.
    pub error: Option<String>,
}

/// One file part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePart {
    /// The part's `name` parameter (`FILES_NAMES`, and the key of `FILES` and
    /// `FILES_SIZES`).
    pub name: Vec<u8>,
    /// The `filename` parameter (`FILES`).
    pub filename: Vec<u8>,
    /// Where the file's bytes are in the body; its length is `FILES_SIZES`.
    pub content: Range<usize>,
}

impl FilePart {
    /// The file's size in bytes (`FILES_SIZES`).
    pub fn size(&self) -> usize {
        self.content.len()
    }
}

/// The `MULTIPART_*` flags, named after their variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub boundary_quoted: bool,
    pub boundary_whitespace: bool,
    pub data_before: bool,
    pub data_after: bool,
    pub header_folding: bool,
    pub lf_line: bool,
    /// Some header or boundary line ended in CRLF (with `lf_line`, gives
    /// `MULTIPART_CRLF_LF_LINES`).
    pub crlf_line: bool,
    pub missing_semicolon: bool,
    pub invalid_quoting: bool,
    pub invalid_part: bool,
    pub invalid_header_folding: bool,
    pub file_limit_exceeded: bool,
    /// `MULTIPART_UNMATCHED_BOUNDARY` as libmodsecurity reports it: 1 when a
    /// line looked like a boundary but was not ours, and 2 once a real
    /// boundary is met after the first one (which therefore hides the 1).
    pub unmatched_boundary: u8,
}

impl Flags {
    /// `MULTIPART_CRLF_LF_LINES`: both line ending styles were used.
    pub fn crlf_lf_lines(&self) -> bool {
        self.crlf_line && self.lf_line
    }
}

impl Multipart {
    /// `MULTIPART_STRICT_ERROR`: an error or any of the strict flags.
    pub fn strict_error(&self) -> bool {
        let f = &self.flags;
        self.error.is_some()
            || f.boundary_quoted
            || f.boundary_whitespace
            || f.data_before
            || f.data_after
            || f.header_folding
            || f.lf_line
            || f.missing_semicolon
            || f.invalid_quoting
            || f.invalid_part
            || f.invalid_header_folding
            || f.file_limit_exceeded
    }

    /// `FILES_COMBINED_SIZE`.
    pub fn files_combined_size(&self) -> usize {
        self.files.iter().map(FilePart::size).sum()
    }

    /// A file's bytes.
    pub fn file_content<'b>(&self, body: &'b [u8], file: &FilePart) -> &'b [u8] {
        body.get(file.content.clone()).unwrap_or_default()
    }
}

/// Parses a `multipart/form-data` body. `content_type` is the request's whole
/// `Content-Type` header value.
pub fn parse(body: &[u8], content_type: &[u8], limits: &Limits) -> Multipart {
    let mut out = Multipart::default();
    match boundary_from_content_type(content_type, &mut out.flags) {
        Ok(b) => out.boundary = b,
        Err(msg) => {
            out.error = Some(format!("Multipart parsing error: Multipart: {msg}"));
            return out;
        }
    }
    let mut parser = Parser { body, limits, boundary: out.boundary.clone(), out, part: None, boundaries: 0, parts: 0 };
    if let Err(msg) = parser.run() {
        parser.out.error = Some(format!("Multipart parsing error: Multipart: {msg}"));
    }
    parser.out
}

/// C `isspace` in the "C" locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Counts "boundary" (any case) followed somewhere later by `=`.
fn count_boundary_params(s: &[u8]) -> usize {
    let lower = s.to_ascii_lowercase();
    let mut count = 0;
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&lower[from..], b"boundary") {
        from += i + 8;
        if memchr::memchr(b'=', &lower[from..]).is_some() {
            count += 1;
        }
    }
    count
}

/// RFC 2046 boundary characters (a space is allowed, but not last).
fn boundary_chars_valid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, &c)| {
        c.is_ascii_alphanumeric()
            || (c == b' ' && i + 1 < b.len())
            || matches!(c, b'\'' | b'(' | b')' | b'+' | b'_' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?')
    })
}

/// Takes the boundary out of the `Content-Type` value, raising
/// `MULTIPART_MISSING_SEMICOLON`, `MULTIPART_BOUNDARY_WHITESPACE` and
/// `MULTIPART_BOUNDARY_QUOTED` on the way.
fn boundary_from_content_type(ct: &[u8], flags: &mut Flags) -> Result<Vec<u8>, &'static str> {
    const MIME: &[u8] = b"multipart/form-data";
    if ct.is_empty() {
        return Err("Content-Type header not available.");
    }
    if ct.len() > 1024 {
        return Err("Invalid boundary in C-T (length).");
    }
    if ct.len() < MIME.len() || !ct[..MIME.len()].eq_ignore_ascii_case(MIME) {
        return Err("Invalid MIME type.");
    }
    if count_boundary_params(ct) > 1 {
        return Err("Multiple boundary parameters in C-T.");
    }
    let at = match memchr::memmem::find(ct, b"boundary") {
        Some(at) => at,
        None if count_boundary_params(ct) > 0 => return Err("Invalid boundary in C-T (case sensitivity)."),
        None => return Err("Boundary not found in C-T."),
    };
    // Only whitespace and one semicolon may stand between the type and the
    // parameter.
    let mut seen_semicolon = false;
    for &c in ct.get(MIME.len()..at).unwrap_or_default() {
        if is_space(c) {
            continue;
        }
        if c == b';' && !seen_semicolon {
            seen_semicolon = true;
        } else {
            return Err("Invalid boundary in C-T (malformed).");
        }
    }
    if !seen_semicolon {
        flags.missing_semicolon = true;
    }
    let after_name = at + 8;
    let eq = match memchr::memchr(b'=', &ct[after_name..]) {
        Some(i) => after_name + i,
        None => return Err("Invalid boundary in C-T (malformed)."),
    };
    for &c in &ct[after_name..eq] {
        if is_space(c) {
            flags.boundary_whitespace = true;
        } else {
            return Err("Invalid boundary in C-T (parameter name).");
        }
    }
    let value = &ct[eq + 1..];
    if value.first().is_some_and(|&c| is_space(c)) {
        flags.boundary_whitespace = true;
    }
    let mut boundary = if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
        flags.boundary_quoted = true;
        value[1..value.len() - 1].to_vec()
    } else {
        if value.first() == Some(&b'"') || (value.len() >= 2 && value[value.len() - 1] == b'"') {
            return Err("Invalid boundary in C-T (quote).");
        }
        value.to_vec()
    };
    if boundary.is_empty() {
        return Err("Invalid boundary in C-T (empty).");
    }
    if count_boundary_params(&boundary) != 0 {
        return Err("Invalid boundary in C-T (content).");
    }
    // Some clients append `; charset=...` after the boundary; tolerated.
    if !boundary_chars_valid(&boundary) {
        if let Some(semi) = memchr::memchr(b';', &boundary) {
            boundary.truncate(semi);
        }
    }
    if !boundary_chars_valid(&boundary) {
        return Err("Invalid boundary in C-T (characters).");
    }
    if boundary.is_empty() {
        return Err("Invalid boundary in C-T (empty).");
    }
    Ok(boundary)
}

/// The part being read.
struct Part {
    /// Still reading headers (false once the empty line was seen).
    in_headers: bool,
    /// (name, value) in arrival order; names compare case-insensitively.
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Header lines as recorded for `MULTIPART_PART_HEADERS`, index-aligned
    /// with `headers`.
    header_lines: Vec<Vec<u8>>,
    /// Lower-cased header names seen, for the duplicate check.
    seen: std::collections::HashSet<Vec<u8>>,
    name: Vec<u8>,
    filename: Vec<u8>,
    is_file: bool,
    /// Body offset where the data starts and where the data read so far ends
    /// (the last data line's ending excluded).
    data: Option<Range<usize>>,
}

impl Part {
    fn new() -> Part {
        Part {
            in_headers: true,
            headers: Vec::new(),
            header_lines: Vec::new(),
            seen: std::collections::HashSet::new(),
            name: Vec::new(),
            filename: Vec::new(),
            is_file: false,
            data: None,
        }
    }

    fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

struct Parser<'a> {
    body: &'a [u8],
    limits: &'a Limits,
    boundary: Vec<u8>,
    out: Multipart,
    part: Option<Part>,
    /// Boundary lines processed.
    boundaries: usize,
    /// Parts opened.
    parts: usize,
}

type Step = Result<(), String>;

/// Strips all trailing CR and LF bytes, unless there is nothing else (as
/// libmodsecurity's `chomp`).
fn chomp(s: &[u8]) -> &[u8] {
    match s.iter().rposition(|&c| c != b'\r' && c != b'\n') {
        Some(last) => &s[..=last],
        None => s,
    }
}

/// Length of the line ending at the end of `line` (2 for CRLF, 1 for LF).
fn ending_len(line: &[u8]) -> usize {
    if line.ends_with(b"\r\n") {
        2
    } else if line.ends_with(b"\n") {
        1
    } else {
        0
    }
}

impl<'a> Parser<'a> {
    fn run(&mut self) -> Step {
        let body = self.body;
        let mut pos = 0;
        while pos < body.len() {
            let Some(nl) = memchr::memchr(b'\n', &body[pos..]) else {
                // An unterminated last line: only a final boundary is
                // accepted there.
                let rest = &body[pos..];
                if self.boundaries > 0 && self.is_final_boundary_without_newline(rest) {
                    self.before_boundary(pos);
                    self.end_part(pos)?;
                    return Ok(());
                }
                break;
            };
            let end = pos + nl + 1;
            if self.line(pos, end)? {
                // Final boundary: anything left is data after it.
                if end < body.len() {
                    self.out.flags.data_after = true;
                }
                return Ok(());
            }
            pos = end;
        }
        if body.is_empty() {
            return Ok(());
        }
        if self.boundaries == 0 {
            return Err("No boundaries found in payload.".to_string());
        }
        Err(format!("Final boundary missing (at byte {}).", body.len()))
    }

    fn is_final_boundary_without_newline(&self, rest: &[u8]) -> bool {
        rest.len() == self.boundary.len() + 4
            && rest.starts_with(b"--")
            && rest[2..].starts_with(&self.boundary)
            && rest.ends_with(b"--")
    }

    /// Handles the line `body[start..end]` (ending in `\n`). Returns true when
    /// it was the final boundary.
    fn line(&mut self, start: usize, end: usize) -> Result<bool, String> {
        let line = &self.body[start..end];
        let blen = self.boundary.len();
        // libmodsecurity looks at lines as C strings here.
        let clen = memchr::memchr(0, line).unwrap_or(line.len());
        if clen > 3 && line.starts_with(b"--") {
            if clen >= blen + 2 && line[2..].starts_with(&self.boundary) {
                return self.boundary_line(start, end);
            }
            if self.out.flags.boundary_quoted
                && clen >= blen + 3
                && line[2] == b'"'
                && line[3..].starts_with(&self.boundary)
            {
                return Err(format!("Invalid boundary (quotes) (at byte {start})."));
            }
            let ws = line[2..].iter().take_while(|&&c| is_space(c)).count();
            if ws > 0 && line[2 + ws..].starts_with(&self.boundary) {
                return Err(format!("Invalid boundary (whitespace) (at byte {start})."));
            }
            self.out.flags.unmatched_boundary = 1;
        } else if memchr::memmem::find_iter(line, b"--").any(|i| line[i + 2..].starts_with(&self.boundary)) {
            self.out.flags.unmatched_boundary = 1;
        }
        match &self.part {
            None => self.out.flags.data_before = true,
            Some(p) if p.in_headers => self.header_line(start, end)?,
            Some(_) => self.data_line(start, end),
        }
        Ok(false)
    }

    fn boundary_line(&mut self, start: usize, end: usize) -> Result<bool, String> {
        let line = &self.body[start..end];
        let mut rest = &line[2 + self.boundary.len()..];
        if self.boundaries > 0 {
            self.out.flags.unmatched_boundary = 2;
        }
        let is_final = rest.starts_with(b"--");
        if is_final {
            rest = &rest[2..];
        }
        match rest {
            b"\r\n" => self.out.flags.crlf_line = true,
            b"\n" => self.out.flags.lf_line = true,
            _ => return Err(format!("Invalid boundary: {} (at byte {start})", show(chomp(line), 200))),
        }
        self.before_boundary(start);
        self.end_part(start)?;
        self.boundaries += 1;
        if !is_final {
            self.parts += 1;
            if self.parts > self.limits.multipart_max_parts {
                return Err(format!(
                    "Too many parts, the limit is {} (at byte {start}).",
                    self.limits.multipart_max_parts
                ));
            }
            self.part = Some(Part::new());
        }
        Ok(is_final)
    }

    /// Checks made on meeting a boundary line at `start`: the line break
    /// before it belongs to the delimiter and should be CRLF; and a part with
    /// no data line at all was cut short.
    fn before_boundary(&mut self, start: usize) {
        if start > 0 && self.body[start - 1] == b'\n' && (start < 2 || self.body[start - 2] != b'\r') {
            self.out.flags.lf_line = true;
        }
        if let Some(p) = &self.part {
            if p.in_headers || p.data.is_none() {
                self.out.flags.invalid_part = true;
            }
        }
    }

    /// Closes the current part, if any, at the boundary line starting at
    /// `at`.
    fn end_part(&mut self, at: usize) -> Step {
        let Some(part) = self.part.take() else { return Ok(()) };
        if part.in_headers || part.name.is_empty() {
            // No usable Content-Disposition: the part is skipped.
            self.out.flags.invalid_part = true;
            return Ok(());
        }
        let data = part.data.unwrap_or(at..at);
        if part.is_file {
            self.out.files.push(FilePart { name: part.name, filename: part.filename, content: data });
            if self.out.files.len() > self.limits.multipart_max_files {
                self.out.flags.file_limit_exceeded = true;
            }
        } else {
            if self.out.args.len() >= self.limits.max_args {
                return Err(format!("argument limit of {} exceeded (at byte {at}).", self.limits.max_args));
            }
            self.out.args.push((part.name, self.body[data].to_vec()));
        }
        Ok(())
    }

    fn data_line(&mut self, start: usize, end: usize) {
        let content_end = end - ending_len(&self.body[start..end]);
        if let Some(p) = &mut self.part {
            match &mut p.data {
                Some(r) => r.end = content_end,
                None => p.data = Some(start..content_end),
            }
        }
    }

    fn header_line(&mut self, start: usize, end: usize) -> Step {
        let line = &self.body[start..end];
        let max = self.limits.multipart_max_header_line;
        if line.len() >= max {
            return Err(format!("Part header line over {max} bytes long (at byte {start})."));
        }
        if memchr::memchr(0, line).is_some() {
            return Err(format!("Nul byte in part headers (at byte {start})."));
        }
        if line.len() > 1 && line[line.len() - 2] == b'\r' {
            self.out.flags.crlf_line = true;
        } else {
            self.out.flags.lf_line = true;
        }
        if line == b"\r\n" || line == b"\n" {
            return self.end_of_headers(start);
        }
        let Some(part) = self.part.as_mut() else { return Ok(()) };
        if is_space(line[0]) {
            // A folded continuation of the previous header.
            self.out.flags.header_folding = true;
            let ws = line.iter().take_while(|&&c| is_space(c)).count();
            if line[..ws].iter().any(|&c| c != b' ' && c != b'\t') {
                self.out.flags.invalid_header_folding = true;
            }
            let Some((name, value)) = part.headers.last_mut() else {
                return Err(format!("Invalid part header (folding error) (at byte {start})."));
            };
            value.push(b' ');
            value.extend_from_slice(chomp(&line[ws..]));
            if value.len() > max {
                return Err(format!("Part header too long (at byte {start})."));
            }
            let mut recorded = name.clone();
            recorded.extend_from_slice(b": ");
            recorded.extend_from_slice(value);
            if let Some(last) = part.header_lines.last_mut() {
                *last = recorded;
            }
            return Ok(());
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            return Err(format!("Invalid part header (colon missing): {} (at byte {start})", show(chomp(line), 200)));
        };
        if colon == 0 {
            return Err(format!("Invalid part header (header name missing) (at byte {start})."));
        }
        let name = &line[..colon];
        let mut v = colon + 1;
        while v < line.len() && (line[v] == b' ' || line[v] == b'\t') {
            v += 1;
        }
        let value = chomp(&line[v..]);
        if !part.seen.insert(name.to_ascii_lowercase()) {
            return Err(format!("Duplicate part header: {} (at byte {start}).", show(name, 200)));
        }
        part.headers.push((name.to_vec(), value.to_vec()));
        part.header_lines.push(chomp(line).to_vec());
        Ok(())
    }

    /// The empty line after a part's headers: reads `Content-Disposition`.
    fn end_of_headers(&mut self, at: usize) -> Step {
        let Some(part) = self.part.as_mut() else { return Ok(()) };
        let Some(cd) = part.header(b"Content-Disposition").map(<[u8]>::to_vec) else {
            return Err(format!("Part missing Content-Disposition header (at byte {at})."));
        };
        let mut cd_result = ContentDisposition::default();
        let rc = parse_content_disposition(&cd, &mut cd_result, &mut self.out.flags);
        self.out.names.extend(cd_result.names_seen);
        self.out.filenames.extend(cd_result.filenames_seen);
        if let Err(rc) = rc {
            return Err(format!("Invalid Content-Disposition header ({rc}): {} (at byte {at})", show(&cd, 200)));
        }
        let (Some(name), filename) = (cd_result.name, cd_result.filename) else {
            return Err(format!("Content-Disposition header missing name field (at byte {at})."));
        };
        if name.is_empty() {
            return Err(format!("Content-Disposition header missing name field (at byte {at})."));
        }
        let filename = filename.unwrap_or_default();
        if !filename.is_empty() {
            // A filename we understood but a cruder parser would not find.
            if memchr::memmem::find(&cd, b"filename=").is_none() {
                return Err(format!("Invalid Content-Disposition header (filename) (at byte {at})."));
            }
            part.is_file = true;
        }
        part.name = name;
        part.filename = filename;
        part.in_headers = false;
        for line in &part.header_lines {
            self.out.part_headers.push((part.name.clone(), line.clone()));
        }
        Ok(())
    }
}

#[derive(Default)]
struct ContentDisposition {
    name: Option<Vec<u8>>,
    filename: Option<Vec<u8>>,
    names_seen: Vec<Vec<u8>>,
    filenames_seen: Vec<Vec<u8>>,
}

/// RFC 2616 token characters.
fn is_token_char(c: u8) -> bool {
    c > 32
        && c < 127
        && !matches!(
            c,
            b'(' | b')' | b'<' | b'>' | b'@' | b',' | b';' | b':' | b'\\' | b'"' | b'/' | b'[' | b']' | b'?' | b'='
        )
}

/// Reads `form-data; name="..."; filename="..."`. On failure returns
/// libmodsecurity's (negative) reason code, which the error message shows.
fn parse_content_disposition(v: &[u8], cd: &mut ContentDisposition, flags: &mut Flags) -> Result<(), i32> {
    const CHARSET_SPECIAL: &[u8] = b"!#$%&+-^_`{}~";
    const ATTR_SPECIAL: &[u8] = b"!#$&+-.^_`~";
    let at = |i: usize| v.get(i).copied();
    let skip_ws = |mut i: usize| {
        while matches!(at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i
    };
    if !v.starts_with(b"form-data") {
        return Err(-1);
    }
    let mut p = skip_ws(9);
    if p >= v.len() {
        return Ok(());
    }
    if at(p) != Some(b';') {
        return Err(-2);
    }
    p += 1;
    let mut filename_star: Option<Vec<u8>> = None;
    while p < v.len() {
        p = skip_ws(p);
        if p >= v.len() {
            return Err(-3);
        }
        let start = p;
        while let Some(c) = at(p) {
            if c == b'=' || c == b' ' || c == b'\t' {
                break;
            }
            p += 1;
        }
        if p >= v.len() {
            return Err(-4);
        }
        let pname = &v[start..p];
        p = skip_ws(p);
        if p >= v.len() {
            return Err(-5);
        }
        if at(p) != Some(b'=') {
            return Err(-13);
        }
        p = skip_ws(p + 1);
        if p >= v.len() {
            return Err(-6);
        }
        let mut quote = None;
        let value: Vec<u8> = if pname == b"filename*" {
            // charset'[language]'percent-encoded-name
            let cs = p;
            while at(p).is_some_and(|c| c.is_ascii_alphanumeric() || CHARSET_SPECIAL.contains(&c)) {
                p += 1;
            }
            if at(p) != Some(b'\'') || p == cs {
                return Err(-16);
            }
            p += 1;
            while at(p).is_some_and(|c| c != b'\'') {
                p += 1;
            }
            if at(p) != Some(b'\'') {
                return Err(-17);
            }
            p += 1;
            let fs = p;
            while let Some(c) = at(p) {
                if c == b';' {
                    break;
                }
                if c == b'%' {
                    if !(at(p + 1).is_some_and(|h| h.is_ascii_hexdigit()) && at(p + 2).is_some_and(|h| h.is_ascii_hexdigit()))
                    {
                        return Err(-18);
                    }
                    p += 3;
                } else if c.is_ascii_alphanumeric() || ATTR_SPECIAL.contains(&c) {
                    p += 1;
                } else {
                    return Err(-19);
                }
            }
            v[fs..p].to_vec()
        } else if let Some(q @ (b'"' | b'\'')) = at(p) {
            quote = Some(q);
            if q == b'\'' {
                flags.invalid_quoting = true;
            }
            p += 1;
            if p >= v.len() {
                return Err(-7);
            }
            let mut val = Vec::new();
            loop {
                let Some(c) = at(p) else {
                    // The closing quote never came (libmodsecurity reads past
                    // the end of the string here; it mostly fails too).
                    return Err(-7);
                };
                if c == b'\\' {
                    match at(p + 1) {
                        None => return Err(-8),
                        // Only the quote and the backslash are escaped; other
                        // backslashes are kept (old browsers send them).
                        Some(n) if n == q || n == b'\\' => p += 1,
                        Some(_) => {}
                    }
                } else if c == q {
                    p += 1;
                    break;
                }
                val.push(v[p]);
                p += 1;
            }
            val
        } else {
            let s = p;
            while at(p).is_some_and(is_token_char) {
                p += 1;
            }
            v[s..p].to_vec()
        };
        // A single quote inside a value not in double quotes is suspicious.
        let check_quotes = |flags: &mut Flags, value: &[u8]| {
            if quote != Some(b'"') && value.contains(&b'\'') {
                flags.invalid_quoting = true;
            }
        };
        match pname {
            b"name" => {
                check_quotes(flags, &value);
                cd.names_seen.push(value.clone());
                if cd.name.as_ref().is_some_and(|n| !n.is_empty()) {
                    return Err(-14);
                }
                cd.name = Some(value);
            }
            b"filename" => {
                check_quotes(flags, &value);
                cd.filenames_seen.push(value.clone());
                if cd.filename.as_ref().is_some_and(|n| !n.is_empty()) {
                    return Err(-15);
                }
                cd.filename = Some(value);
            }
            b"filename*" => {
                if filename_star.as_ref().is_some_and(|n| !n.is_empty()) {
                    return Err(-20);
                }
                filename_star = Some(value);
            }
            _ => return Err(-11),
        }
        if p < v.len() {
            p = skip_ws(p);
            if p >= v.len() {
                break;
            }
            if at(p) != Some(b';') {
                if matches!(p.checked_sub(1).and_then(at), Some(b'\'' | b'"')) {
                    flags.invalid_quoting = true;
                }
                return Err(-12);
            }
            p += 1;
        }
    }
    if filename_star.is_some_and(|f| !f.is_empty()) && !matches!(&cd.filename, Some(f) if !f.is_empty()) {
        return Err(-21);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
