//! The `t:` transformation functions of SecLang.
//!
//! Each transformation turns a byte string into another one. They are pure
//! functions with no per-transaction state; the engine caches their results per
//! variable within a transaction. `t:none` is not a transformation: the parser
//! handles it by clearing the list built so far.
//!
//! Semantics follow libmodsecurity 3.0.x byte for byte, including its odd
//! corners (which CRS regression tests can depend on); every submodule says
//! which corners it reproduces. They were checked differentially against
//! libmodsecurity 3.0.9 (see `tests.rs`).
//!
//! | module       | transformations                                               |
//! |--------------|---------------------------------------------------------------|
//! | `url`        | urlDecode, urlDecodeUni, urlEncode                            |
//! | `html`       | htmlEntityDecode                                              |
//! | `js_css`     | jsDecode, cssDecode                                           |
//! | `escape`     | escapeSeqDecode                                               |
//! | `whitespace` | compressWhitespace, removeWhitespace, trim, trimLeft, trimRight |
//! | `path`       | normalizePath, normalizePathWin                               |
//! | `encode`     | base64Decode, base64DecodeExt, base64Encode, hexDecode, hexEncode, sqlHexDecode |
//! | `hash`       | md5, sha1, length                                             |
//! | `bytes`      | lowercase, uppercase, parity*7bit, removeNulls, replaceNulls  |
//! | `comments`   | removeComments, removeCommentsChar, replaceComments           |
//! | `cmdline`    | cmdLine                                                       |
//! | `utf8`       | utf8toUnicode                                                 |

use std::borrow::Cow;

mod bytes;
mod cmdline;
mod comments;
mod encode;
mod escape;
mod hash;
mod html;
mod js_css;
mod path;
mod url;
mod utf8;
mod whitespace;

#[cfg(test)]
mod tests;

/// One transformation, by name as SecLang spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transformation {
    Base64Decode,
    Base64DecodeExt,
    Base64Encode,
    CmdLine,
    CompressWhitespace,
    CssDecode,
    EscapeSeqDecode,
    HexDecode,
    HexEncode,
    HtmlEntityDecode,
    JsDecode,
    Length,
    Lowercase,
    Md5,
    NormalizePath,
    NormalizePathWin,
    ParityEven7bit,
    ParityOdd7bit,
    ParityZero7bit,
    RemoveComments,
    RemoveCommentsChar,
    RemoveNulls,
    RemoveWhitespace,
    ReplaceComments,
    ReplaceNulls,
    Sha1,
    SqlHexDecode,
    Trim,
    TrimLeft,
    TrimRight,
    Uppercase,
    UrlDecode,
    UrlDecodeUni,
    UrlEncode,
    Utf8ToUnicode,
}

/// Every transformation, in manual order (for tests and tooling).
pub const ALL: &[Transformation] = &[
    Transformation::Base64Decode,
    Transformation::Base64DecodeExt,
    Transformation::Base64Encode,
    Transformation::CmdLine,
    Transformation::CompressWhitespace,
    Transformation::CssDecode,
    Transformation::EscapeSeqDecode,
    Transformation::HexDecode,
    Transformation::HexEncode,
    Transformation::HtmlEntityDecode,
    Transformation::JsDecode,
    Transformation::Length,
    Transformation::Lowercase,
    Transformation::Md5,
    Transformation::NormalizePath,
    Transformation::NormalizePathWin,
    Transformation::ParityEven7bit,
    Transformation::ParityOdd7bit,
    Transformation::ParityZero7bit,
    Transformation::RemoveComments,
    Transformation::RemoveCommentsChar,
    Transformation::RemoveNulls,
    Transformation::RemoveWhitespace,
    Transformation::ReplaceComments,
    Transformation::ReplaceNulls,
    Transformation::Sha1,
    Transformation::SqlHexDecode,
    Transformation::Trim,
    Transformation::TrimLeft,
    Transformation::TrimRight,
    Transformation::Uppercase,
    Transformation::UrlDecode,
    Transformation::UrlDecodeUni,
    Transformation::UrlEncode,
    Transformation::Utf8ToUnicode,
];

impl Transformation {
    /// Looks up a transformation by its SecLang name (case-insensitive, as
    /// ModSecurity accepts both `base64Decode` and `base64decode`).
    /// Both spellings of the path normalisers (`normalisePath`,
    /// `normalizePath`, and the `Win` forms) are accepted.
    /// Returns `None` for unknown names and for `none`.
    pub fn from_name(name: &str) -> Option<Transformation> {
        // Longest name is 18 bytes; anything longer is unknown.
        if name.len() > 24 {
            return None;
        }
        let mut buf = [0u8; 24];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        use Transformation::*;
        Some(match &*lower {
            b"base64decode" => Base64Decode,
            b"base64decodeext" => Base64DecodeExt,
            b"base64encode" => Base64Encode,
            b"cmdline" => CmdLine,
            b"compresswhitespace" => CompressWhitespace,
            b"cssdecode" => CssDecode,
            b"escapeseqdecode" => EscapeSeqDecode,
            b"hexdecode" => HexDecode,
            b"hexencode" => HexEncode,
            b"htmlentitydecode" => HtmlEntityDecode,
            b"jsdecode" => JsDecode,
            b"length" => Length,
            b"lowercase" => Lowercase,
            b"md5" => Md5,
            b"normalisepath" | b"normalizepath" => NormalizePath,
            b"normalisepathwin" | b"normalizepathwin" => NormalizePathWin,
            b"parityeven7bit" => ParityEven7bit,
            b"parityodd7bit" => ParityOdd7bit,
            b"parityzero7bit" => ParityZero7bit,
            b"removecomments" => RemoveComments,
            b"removecommentschar" => RemoveCommentsChar,
            b"removenulls" => RemoveNulls,
            b"removewhitespace" => RemoveWhitespace,
            b"replacecomments" => ReplaceComments,
            b"replacenulls" => ReplaceNulls,
            b"sha1" => Sha1,
            b"sqlhexdecode" => SqlHexDecode,
            b"trim" => Trim,
            b"trimleft" => TrimLeft,
            b"trimright" => TrimRight,
            b"uppercase" => Uppercase,
            b"urldecode" => UrlDecode,
            b"urldecodeuni" => UrlDecodeUni,
            b"urlencode" => UrlEncode,
            b"utf8tounicode" => Utf8ToUnicode,
            _ => return None,
        })
    }

    /// The canonical SecLang name.
    pub fn name(&self) -> &'static str {
        use Transformation::*;
        match *self {
            Base64Decode => "base64Decode",
            Base64DecodeExt => "base64DecodeExt",
            Base64Encode => "base64Encode",
            CmdLine => "cmdLine",
            CompressWhitespace => "compressWhitespace",
            CssDecode => "cssDecode",
            EscapeSeqDecode => "escapeSeqDecode",
            HexDecode => "hexDecode",
            HexEncode => "hexEncode",
            HtmlEntityDecode => "htmlEntityDecode",
            JsDecode => "jsDecode",
            Length => "length",
            Lowercase => "lowercase",
            Md5 => "md5",
            NormalizePath => "normalizePath",
            NormalizePathWin => "normalizePathWin",
            ParityEven7bit => "parityEven7bit",
            ParityOdd7bit => "parityOdd7bit",
            ParityZero7bit => "parityZero7bit",
            RemoveComments => "removeComments",
            RemoveCommentsChar => "removeCommentsChar",
            RemoveNulls => "removeNulls",
            RemoveWhitespace => "removeWhitespace",
            ReplaceComments => "replaceComments",
            ReplaceNulls => "replaceNulls",
            Sha1 => "sha1",
            SqlHexDecode => "sqlHexDecode",
            Trim => "trim",
            TrimLeft => "trimLeft",
            TrimRight => "trimRight",
            Uppercase => "uppercase",
            UrlDecode => "urlDecode",
            UrlDecodeUni => "urlDecodeUni",
            UrlEncode => "urlEncode",
            Utf8ToUnicode => "utf8toUnicode",
        }
    }

    /// Applies the transformation.
    ///
    /// Returns `Cow::Borrowed(input)` exactly when the output equals the input,
    /// so callers can tell "unchanged" by the variant alone; any change comes
    /// back as `Cow::Owned`.
    pub fn apply<'a>(&self, input: &'a [u8]) -> Cow<'a, [u8]> {
        use Transformation::*;
        let out = match *self {
            Base64Decode => encode::base64_decode(input),
            Base64DecodeExt => encode::base64_decode_ext(input),
            Base64Encode => encode::base64_encode(input),
            CmdLine => cmdline::cmd_line(input),
            CompressWhitespace => whitespace::compress(input),
            CssDecode => js_css::css_decode(input),
            EscapeSeqDecode => escape::escape_seq_decode(input),
            HexDecode => encode::hex_decode(input),
            HexEncode => encode::hex_encode(input),
            HtmlEntityDecode => html::html_entity_decode(input),
            JsDecode => js_css::js_decode(input),
            Length => hash::length(input),
            Lowercase => bytes::lowercase(input),
            Md5 => hash::md5(input),
            NormalizePath => path::normalize(input, false),
            NormalizePathWin => path::normalize(input, true),
            ParityEven7bit => bytes::parity(input, bytes::Parity::Even),
            ParityOdd7bit => bytes::parity(input, bytes::Parity::Odd),
            ParityZero7bit => bytes::parity(input, bytes::Parity::Zero),
            RemoveComments => comments::remove_comments(input),
            RemoveCommentsChar => comments::remove_comments_char(input),
            RemoveNulls => bytes::remove_nulls(input),
            RemoveWhitespace => whitespace::remove(input),
            ReplaceComments => comments::replace_comments(input),
            ReplaceNulls => bytes::replace_nulls(input),
            Sha1 => hash::sha1(input),
            SqlHexDecode => encode::sql_hex_decode(input),
            Trim => whitespace::trim(input, true, true),
            TrimLeft => whitespace::trim(input, true, false),
            TrimRight => whitespace::trim(input, false, true),
            Uppercase => bytes::uppercase(input),
            UrlDecode => url::url_decode(input),
            UrlDecodeUni => url::url_decode_uni(input),
            UrlEncode => url::url_encode(input),
            Utf8ToUnicode => utf8::utf8_to_unicode(input),
        };
        match out {
            Cow::Owned(v) if v.as_slice() == input => Cow::Borrowed(input),
            Cow::Borrowed(b) if b.len() != input.len() => Cow::Owned(b.to_vec()),
            other => other,
        }
    }
}

/// Wraps a freshly built output, handing back the input when nothing changed.
/// The length check first keeps the common "changed" case cheap.
fn owned_if_changed(input: &[u8], out: Vec<u8>) -> Cow<'_, [u8]> {
    if out.as_slice() == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

/// `VALID_HEX` of libmodsecurity: an ASCII hex digit.
#[inline]
fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Value of an ASCII hex digit (callers check `is_hex` first).
#[inline]
fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// libmodsecurity's `x2c` digit rule, which does not validate its input:
/// anything at or above `'A'` is folded to upper case and offset from `'A'`,
/// anything below is offset from `'0'`, all in wrapping 8-bit arithmetic.
/// hexDecode relies on this for non-hex input.
#[inline]
fn loose_digit(b: u8) -> u8 {
    if b >= b'A' {
        (b & 0xdf).wrapping_sub(b'A').wrapping_add(10)
    } else {
        b.wrapping_sub(b'0')
    }
}

/// Two hex digits to a byte, with `x2c`'s unchecked arithmetic (exact for
/// valid digits).
#[inline]
fn x2c(hi: u8, lo: u8) -> u8 {
    loose_digit(hi)
        .wrapping_mul(16)
        .wrapping_add(loose_digit(lo))
}

/// C `isspace` in the "C" locale: space, \t, \n, \v, \f, \r.
#[inline]
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// An octal digit.
#[inline]
fn is_odigit(b: u8) -> bool {
    (b'0'..=b'7').contains(&b)
}

/// Full-width ASCII folding shared by urlDecodeUni, jsDecode and cssDecode:
/// a code unit `FFxx` whose low byte is 0x01..=0x5E becomes low byte + 0x20
/// (U+FF01 '！' → '!'). `hi1`/`hi2` are the two high hex digits as written.
#[inline]
fn fold_full_width(low: u8, hi1: u8, hi2: u8) -> u8 {
    if low > 0x00 && low < 0x5f && (hi1 | 0x20) == b'f' && (hi2 | 0x20) == b'f' {
        low + 0x20
    } else {
        low
    }
}
