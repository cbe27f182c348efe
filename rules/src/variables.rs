//! SecLang variables: their names, selectors and the target-list grammar.
//!
//! A rule's target list such as `ARGS|!ARGS:foo|REQUEST_HEADERS:/^x-/|&TX:score`
//! parses into [`Target`]s. A target names a [`Var`] (a collection such as
//! `ARGS`, or a single value such as `REQUEST_URI`), optionally narrowed by a
//! [`Selector`] (a key, a `/regex/`, or an XPath for `XML`), and may be an
//! exclusion (`!`) or a count (`&`). The values behind the names live in the
//! transaction ([`crate::engine`]); this module only describes them.

use regex::bytes::Regex;

macro_rules! scalars {
    ($($variant:ident => $name:literal,)*) => {
        /// Variables that hold at most one value per transaction.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Scalar { $($variant,)* }

        impl Scalar {
            pub const ALL: &'static [Scalar] = &[$(Scalar::$variant,)*];
            pub fn name(self) -> &'static str {
                match self { $(Scalar::$variant => $name,)* }
            }
            fn from_upper(name: &str) -> Option<Scalar> {
                match name { $($name => Some(Scalar::$variant),)* _ => None }
            }
        }
    };
}

scalars! {
    ArgsCombinedSize => "ARGS_COMBINED_SIZE",
    AuthType => "AUTH_TYPE",
    Duration => "DURATION",
    FilesCombinedSize => "FILES_COMBINED_SIZE",
    FullRequest => "FULL_REQUEST",
    FullRequestLength => "FULL_REQUEST_LENGTH",
    HighestSeverity => "HIGHEST_SEVERITY",
    InboundDataError => "INBOUND_DATA_ERROR",
    MatchedVar => "MATCHED_VAR",
    MatchedVarName => "MATCHED_VAR_NAME",
    ModsecBuild => "MODSEC_BUILD",
    MscPcreLimitsExceeded => "MSC_PCRE_LIMITS_EXCEEDED",
    MultipartBoundaryQuoted => "MULTIPART_BOUNDARY_QUOTED",
    MultipartBoundaryWhitespace => "MULTIPART_BOUNDARY_WHITESPACE",
    MultipartCrlfLfLines => "MULTIPART_CRLF_LF_LINES",
    MultipartDataAfter => "MULTIPART_DATA_AFTER",
    MultipartDataBefore => "MULTIPART_DATA_BEFORE",
    MultipartFileLimitExceeded => "MULTIPART_FILE_LIMIT_EXCEEDED",
    MultipartHeaderFolding => "MULTIPART_HEADER_FOLDING",
    MultipartInvalidHeaderFolding => "MULTIPART_INVALID_HEADER_FOLDING",
    MultipartInvalidPart => "MULTIPART_INVALID_PART",
    MultipartInvalidQuoting => "MULTIPART_INVALID_QUOTING",
    MultipartLfLine => "MULTIPART_LF_LINE",
    MultipartMissingSemicolon => "MULTIPART_MISSING_SEMICOLON",
    MultipartStrictError => "MULTIPART_STRICT_ERROR",
    MultipartUnmatchedBoundary => "MULTIPART_UNMATCHED_BOUNDARY",
    OutboundDataError => "OUTBOUND_DATA_ERROR",
    PathInfo => "PATH_INFO",
    QueryString => "QUERY_STRING",
    RemoteAddr => "REMOTE_ADDR",
    RemoteHost => "REMOTE_HOST",
    RemotePort => "REMOTE_PORT",
    RemoteUser => "REMOTE_USER",
    ReqbodyError => "REQBODY_ERROR",
    ReqbodyErrorMsg => "REQBODY_ERROR_MSG",
    ReqbodyProcessor => "REQBODY_PROCESSOR",
    ReqbodyProcessorError => "REQBODY_PROCESSOR_ERROR",
    ReqbodyProcessorErrorMsg => "REQBODY_PROCESSOR_ERROR_MSG",
    RequestBasename => "REQUEST_BASENAME",
    RequestBody => "REQUEST_BODY",
    RequestBodyLength => "REQUEST_BODY_LENGTH",
    RequestFilename => "REQUEST_FILENAME",
    RequestLine => "REQUEST_LINE",
    RequestMethod => "REQUEST_METHOD",
    RequestProtocol => "REQUEST_PROTOCOL",
    RequestUri => "REQUEST_URI",
    RequestUriRaw => "REQUEST_URI_RAW",
    ResponseBody => "RESPONSE_BODY",
    ResponseContentLength => "RESPONSE_CONTENT_LENGTH",
    ResponseContentType => "RESPONSE_CONTENT_TYPE",
    ResponseProtocol => "RESPONSE_PROTOCOL",
    ResponseStatus => "RESPONSE_STATUS",
    ServerAddr => "SERVER_ADDR",
    ServerName => "SERVER_NAME",
    ServerPort => "SERVER_PORT",
    Sessionid => "SESSIONID",
    StatusLine => "STATUS_LINE",
    Time => "TIME",
    TimeDay => "TIME_DAY",
    TimeEpoch => "TIME_EPOCH",
    TimeHour => "TIME_HOUR",
    TimeMin => "TIME_MIN",
    TimeMon => "TIME_MON",
    TimeSec => "TIME_SEC",
    TimeWday => "TIME_WDAY",
    TimeYear => "TIME_YEAR",
    UniqueId => "UNIQUE_ID",
    UrlencodedError => "URLENCODED_ERROR",
    Userid => "USERID",
    Webappid => "WEBAPPID",
    WebserverErrorLog => "WEBSERVER_ERROR_LOG",
}

/// Variables that hold a list of keyed values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collection {
    Args,
    ArgsGet,
    ArgsPost,
    ArgsNames,
    ArgsGetNames,
    ArgsPostNames,
    RequestHeaders,
    RequestHeadersNames,
    RequestCookies,
    RequestCookiesNames,
    ResponseHeaders,
    ResponseHeadersNames,
    Files,
    FilesNames,
    FilesSizes,
    FilesTmpNames,
    FilesTmpContent,
    MultipartPartHeaders,
    MultipartFilename,
    MultipartName,
    MatchedVars,
    MatchedVarsNames,
    Xml,
    Env,
    Geo,
    Rule,
    /// TX and the persistent collections (IP, SESSION, ...), kept per transaction.
    Store(Store),
}

/// The writable collections `setvar` can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Store {
    Tx,
    Ip,
    Session,
    User,
    Global,
    Resource,
}

impl Store {
    pub const ALL: [Store; 6] = [Store::Tx, Store::Ip, Store::Session, Store::User, Store::Global, Store::Resource];

    pub fn from_name(name: &str) -> Option<Store> {
        Some(match name.to_ascii_uppercase().as_str() {
            "TX" => Store::Tx,
            "IP" => Store::Ip,
            "SESSION" => Store::Session,
            "USER" => Store::User,
            "GLOBAL" => Store::Global,
            "RESOURCE" => Store::Resource,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Store::Tx => "TX",
            Store::Ip => "IP",
            Store::Session => "SESSION",
            Store::User => "USER",
            Store::Global => "GLOBAL",
            Store::Resource => "RESOURCE",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl Collection {
    pub fn name(self) -> &'static str {
        use Collection::*;
        match self {
            Args => "ARGS",
            ArgsGet => "ARGS_GET",
            ArgsPost => "ARGS_POST",
            ArgsNames => "ARGS_NAMES",
            ArgsGetNames => "ARGS_GET_NAMES",
            ArgsPostNames => "ARGS_POST_NAMES",
            RequestHeaders => "REQUEST_HEADERS",
            RequestHeadersNames => "REQUEST_HEADERS_NAMES",
            RequestCookies => "REQUEST_COOKIES",
            RequestCookiesNames => "REQUEST_COOKIES_NAMES",
            ResponseHeaders => "RESPONSE_HEADERS",
            ResponseHeadersNames => "RESPONSE_HEADERS_NAMES",
            Files => "FILES",
            FilesNames => "FILES_NAMES",
            FilesSizes => "FILES_SIZES",
            FilesTmpNames => "FILES_TMPNAMES",
            FilesTmpContent => "FILES_TMP_CONTENT",
            MultipartPartHeaders => "MULTIPART_PART_HEADERS",
            MultipartFilename => "MULTIPART_FILENAME",
            MultipartName => "MULTIPART_NAME",
            MatchedVars => "MATCHED_VARS",
            MatchedVarsNames => "MATCHED_VARS_NAMES",
            Xml => "XML",
            Env => "ENV",
            Geo => "GEO",
            Rule => "RULE",
            Store(s) => s.name(),
        }
    }

    fn from_upper(name: &str) -> Option<Collection> {
        use Collection::*;
        Some(match name {
            "ARGS" => Args,
            "ARGS_GET" => ArgsGet,
            "ARGS_POST" => ArgsPost,
            "ARGS_NAMES" => ArgsNames,
            "ARGS_GET_NAMES" => ArgsGetNames,
            "ARGS_POST_NAMES" => ArgsPostNames,
            "REQUEST_HEADERS" => RequestHeaders,
            "REQUEST_HEADERS_NAMES" => RequestHeadersNames,
            "REQUEST_COOKIES" => RequestCookies,
            "REQUEST_COOKIES_NAMES" => RequestCookiesNames,
            "RESPONSE_HEADERS" => ResponseHeaders,
            "RESPONSE_HEADERS_NAMES" => ResponseHeadersNames,
            "FILES" => Files,
            "FILES_NAMES" => FilesNames,
            "FILES_SIZES" => FilesSizes,
            "FILES_TMPNAMES" => FilesTmpNames,
            "FILES_TMP_CONTENT" => FilesTmpContent,
            "MULTIPART_PART_HEADERS" => MultipartPartHeaders,
            "MULTIPART_FILENAME" => MultipartFilename,
            "MULTIPART_NAME" => MultipartName,
            "MATCHED_VARS" => MatchedVars,
            "MATCHED_VARS_NAMES" => MatchedVarsNames,
            "XML" => Xml,
            "ENV" => Env,
            "GEO" => Geo,
            "RULE" => Rule,
            other => Store(crate::variables::Store::from_name(other)?),
        })
    }

    /// Collections whose values are the keys of another collection.
    pub fn is_names(self) -> bool {
        use Collection::*;
        matches!(
            self,
            ArgsNames
                | ArgsGetNames
                | ArgsPostNames
                | RequestHeadersNames
                | RequestCookiesNames
                | ResponseHeadersNames
                | FilesNames
                | MatchedVarsNames
        )
    }
}

/// A variable: a collection or a single value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Var {
    Collection(Collection),
    Scalar(Scalar),
}

impl Var {
    /// Looks up a variable name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Var> {
        let upper = name.to_ascii_uppercase();
        if let Some(c) = Collection::from_upper(&upper) {
            return Some(Var::Collection(c));
        }
        Scalar::from_upper(&upper).map(Var::Scalar)
    }

    pub fn name(self) -> &'static str {
        match self {
            Var::Collection(c) => c.name(),
            Var::Scalar(s) => s.name(),
        }
    }
}

/// How a target narrows a collection.
#[derive(Clone, Debug)]
pub enum Selector {
    /// The whole collection.
    All,
    /// One key, compared case-insensitively (stored lowercased).
    Key(String),
    /// Keys matching a regular expression (case-insensitive).
    Regex(Regex),
    /// An XPath expression (XML only).
    XPath(String),
}

impl Selector {
    /// Whether a key (as found in the request) is selected.
    pub fn selects(&self, key: &[u8]) -> bool {
        match self {
            Selector::All => true,
            Selector::Key(k) => key.eq_ignore_ascii_case(k.as_bytes()),
            Selector::Regex(r) => r.is_match(key),
            Selector::XPath(_) => true,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Selector::All => String::new(),
            Selector::Key(k) => k.clone(),
            Selector::Regex(r) => format!("/{}/", r.as_str().trim_start_matches("(?i-u)")),
            Selector::XPath(x) => x.clone(),
        }
    }
}

/// One element of a rule's target list.
#[derive(Clone, Debug)]
pub struct Target {
    pub var: Var,
    pub selector: Selector,
    /// `&VAR`: the number of values instead of the values.
    pub count: bool,
    /// `!VAR:key`: removes values from the other targets.
    pub exclude: bool,
}

impl Target {
    /// `ARGS:foo` style text for logs.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if self.exclude {
            s.push('!');
        }
        if self.count {
            s.push('&');
        }
        s.push_str(self.var.name());
        let sel = self.selector.describe();
        if !sel.is_empty() {
            s.push(':');
            s.push_str(&sel);
        }
        s
    }

    /// Whether this exclusion removes the value `key` of `var`.
    pub fn excludes(&self, var: Var, key: &[u8]) -> bool {
        self.exclude && self.var == var && self.selector.selects(key)
    }
}

/// Compiles a selector regex the way keys are matched: bytes, case-insensitive.
pub fn selector_regex(pattern: &str) -> Result<Regex, String> {
    regex::bytes::RegexBuilder::new(&format!("(?i-u){pattern}"))
        .build()
        .or_else(|_| regex::bytes::RegexBuilder::new(&format!("(?i){pattern}")).build())
        .map_err(|e| format!("bad selector regex /{pattern}/: {e}"))
}

/// Parses a target list such as `ARGS|!ARGS:foo|&TX:x|REQUEST_HEADERS:/^x-/`.
pub fn parse_targets(text: &str) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Skip separators and whitespace.
        while i < bytes.len() && (bytes[i] == b'|' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let mut exclude = false;
        let mut count = false;
        loop {
            match bytes.get(i) {
                Some(b'!') => exclude = true,
                Some(b'&') => count = true,
                _ => break,
            }
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b'|' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let name = &text[name_start..i];
        if name.is_empty() {
            return Err(format!("empty variable name in `{text}`"));
        }
        let var = Var::from_name(name).ok_or_else(|| format!("unknown variable `{name}`"))?;
        let mut selector = Selector::All;
        if i < bytes.len() && bytes[i] == b':' {
            i += 1;
            let (raw, next) = read_selector(text, i, var)?;
            i = next;
            selector = make_selector(var, &raw)?;
        }
        if let (Var::Scalar(s), false) = (var, matches!(selector, Selector::All)) {
            return Err(format!("variable `{}` takes no selector", s.name()));
        }
        out.push(Target { var, selector, count, exclude });
    }
    if out.is_empty() {
        return Err("empty variable list".into());
    }
    Ok(out)
}

/// Reads the selector text starting at `start`, returning it and the index after it.
fn read_selector(text: &str, start: usize, var: Var) -> Result<(SelectorText, usize), String> {
    let bytes = text.as_bytes();
    if start >= bytes.len() {
        return Ok((SelectorText::Plain(String::new()), start));
    }
    let xml = var == Var::Collection(Collection::Xml);
    match bytes[start] {
        b'\'' => {
            let mut j = start + 1;
            let mut value = String::new();
            while j < bytes.len() && bytes[j] != b'\'' {
                j += 1;
            }
            if j >= bytes.len() {
                return Err(format!("unterminated quoted selector in `{text}`"));
            }
            value.push_str(&text[start + 1..j]);
            let inner = value;
            if !xml && inner.len() >= 2 && inner.starts_with('/') && inner.ends_with('/') {
                return Ok((SelectorText::Regex(inner[1..inner.len() - 1].to_string()), j + 1));
            }
            Ok((SelectorText::Plain(inner), j + 1))
        }
        b'/' if !xml => {
            // A regex runs to the last `/` that is followed by `|`, whitespace or the end.
            let mut j = start + 1;
            let mut end = None;
            while j < bytes.len() {
                if bytes[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if bytes[j] == b'/' && (j + 1 == bytes.len() || bytes[j + 1] == b'|' || bytes[j + 1].is_ascii_whitespace()) {
                    end = Some(j);
                    break;
                }
                j += 1;
            }
            let end = end.ok_or_else(|| format!("unterminated /regex/ selector in `{text}`"))?;
            Ok((SelectorText::Regex(text[start + 1..end].to_string()), end + 1))
        }
        _ => {
            let mut j = start;
            while j < bytes.len() && bytes[j] != b'|' && !bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            Ok((SelectorText::Plain(text[start..j].to_string()), j))
        }
    }
}

enum SelectorText {
    Plain(String),
    Regex(String),
}

fn make_selector(var: Var, raw: &SelectorText) -> Result<Selector, String> {
    Ok(match raw {
        SelectorText::Plain(s) if s.is_empty() => Selector::All,
        SelectorText::Plain(s) if var == Var::Collection(Collection::Xml) => Selector::XPath(s.clone()),
        SelectorText::Plain(s) => Selector::Key(s.to_ascii_lowercase()),
        SelectorText::Regex(r) => Selector::Regex(selector_regex(r)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crs_style_lists() {
        let t = parse_targets("REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/|REQUEST_COOKIES_NAMES|ARGS_NAMES|ARGS|XML:/*").unwrap();
        assert_eq!(t.len(), 6);
        assert!(t[1].exclude);
        assert!(matches!(t[1].selector, Selector::Regex(_)));
        assert!(t[1].selector.selects(b"x__utmz"));
        assert!(matches!(&t[5].selector, Selector::XPath(x) if x == "/*"));
        let t = parse_targets("&TX:crs_setup_version").unwrap();
        assert!(t[0].count);
        assert!(matches!(&t[0].selector, Selector::Key(k) if k == "crs_setup_version"));
        let t = parse_targets("XML://@*").unwrap();
        assert!(matches!(&t[0].selector, Selector::XPath(x) if x == "//@*"));
    }

    #[test]
    fn regex_selector_with_pipe() {
        let t = parse_targets("ARGS:/^(?:a|b)$/|REQUEST_URI").unwrap();
        assert_eq!(t.len(), 2);
        assert!(t[0].selector.selects(b"A"));
        assert!(!t[0].selector.selects(b"c"));
    }

    #[test]
    fn quoted_selector_and_errors() {
        let t = parse_targets("ARGS:'foo bar'").unwrap();
        assert!(matches!(&t[0].selector, Selector::Key(k) if k == "foo bar"));
        assert!(parse_targets("NOPE").unwrap_err().contains("unknown variable"));
        assert!(parse_targets("REQUEST_URI:x").is_err());
        assert!(parse_targets("ARGS:/abc").is_err());
        assert!(parse_targets("").is_err());
    }

    #[test]
    fn case_insensitive_names() {
        assert_eq!(Var::from_name("request_headers"), Some(Var::Collection(Collection::RequestHeaders)));
        assert_eq!(Var::from_name("tx"), Some(Var::Collection(Collection::Store(Store::Tx))));
    }
}
