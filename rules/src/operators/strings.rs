//! String comparisons: `@streq`, `@strmatch`, `@contains`, `@containsWord`,
//! `@beginsWith`, `@endsWith`, `@within`.
//!
//! All are case-sensitive byte comparisons against the (possibly macro-expanded)
//! argument. Empty strings behave as in ModSecurity 3.0.9 (checked against it): an
//! empty argument is found in every input by `@contains`, `@strmatch`,
//! `@containsWord`, `@beginsWith` and `@endsWith`; `@within` matches every empty
//! input, whatever its argument; `@streq` with an empty argument matches only an
//! empty input.

use memchr::memmem;

use super::{Arg, EvalContext};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrKind {
    Eq,
    /// `@strmatch` and `@contains` (ModSecurity 3 implements both as a substring search).
    Contains,
    ContainsWord,
    BeginsWith,
    EndsWith,
    Within,
}

pub(crate) struct StrOp {
    kind: StrKind,
    arg: Arg,
    /// Prepared substring searcher for a literal `@contains`/`@strmatch` argument.
    finder: Option<memmem::Finder<'static>>,
}

impl StrOp {
    pub(crate) fn new(kind: StrKind, arg: Arg) -> StrOp {
        let finder = (kind == StrKind::Contains && !arg.has_macro())
            .then(|| memmem::Finder::new(arg.text().as_bytes()).into_owned());
        StrOp { kind, arg, finder }
    }

    pub(crate) fn evaluate(&self, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
        if let Some(finder) = &self.finder {
            return finder.find(input).is_some();
        }
        let param = self.arg.value(ctx);
        let p: &[u8] = &param;
        match self.kind {
            StrKind::Eq => input == p,
            StrKind::Contains => memmem::find(input, p).is_some(),
            StrKind::ContainsWord => contains_word(input, p),
            StrKind::BeginsWith => input.starts_with(p),
            StrKind::EndsWith => input.ends_with(p),
            StrKind::Within => input.is_empty() || memmem::find(p, input).is_some(),
        }
    }
}

/// `@containsWord`: `word` occurs in `input` with no ASCII letter directly before
/// or after it (digits and `_` do not count as word characters, as in ModSecurity).
fn contains_word(input: &[u8], word: &[u8]) -> bool {
    if word.is_empty() {
        return true;
    }
    if input.is_empty() {
        return false;
    }
    let boundary = |pos: Option<usize>| match pos.and_then(|p| input.get(p)) {
        Some(b) => !b.is_ascii_alphabetic(),
        None => false,
    };
    let finder = memmem::Finder::new(word);
    let mut from = 0;
    // Overlapping occurrences, as ModSecurity searches again from pos + 1.
    while let Some(found) = input.get(from..).and_then(|rest| finder.find(rest)) {
        let pos = from + found;
        from = pos + 1;
        let end = pos + word.len();
        // ModSecurity lists four cases; they amount to: each side is the edge of
        // the input or a non-letter.
        let left_ok = pos == 0 || boundary(pos.checked_sub(1));
        let right_ok = end == input.len() || boundary(Some(end));
        if left_ok && right_ok {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(kind: StrKind, arg: &str, input: &[u8]) -> bool {
        let op = StrOp::new(kind, Arg::new(arg));
        let expand = |s: &str| -> Vec<u8> {
            match s {
                "%{tx.methods}" => b"GET POST".to_vec(),
                _ => Vec::new(),
            }
        };
        op.evaluate(input, &mut EvalContext { expand: &expand, captures: None })
    }

    #[test]
    fn basic() {
        assert!(eval(StrKind::Eq, "abc", b"abc"));
        assert!(!eval(StrKind::Eq, "abc", b"ABC"));
        assert!(eval(StrKind::Contains, "oo", b"foo"));
        assert!(!eval(StrKind::Contains, "oo", b"fo"));
        assert!(eval(StrKind::BeginsWith, "GET", b"GET /"));
        assert!(!eval(StrKind::BeginsWith, "GET /x", b"GET"));
        assert!(eval(StrKind::EndsWith, ".php", b"/a.php"));
        assert!(!eval(StrKind::EndsWith, ".php", b"/a.phps"));
    }

    #[test]
    fn within_and_macros() {
        assert!(eval(StrKind::Within, "GET POST", b"GET"));
        assert!(eval(StrKind::Within, "GET POST", b"ET P"));
        assert!(!eval(StrKind::Within, "GET POST", b"get"));
        assert!(eval(StrKind::Within, "GET POST", b""));
        assert!(eval(StrKind::Within, "%{tx.methods}", b"POST"));
        assert!(!eval(StrKind::Within, "%{tx.methods}", b"PUT"));
        assert!(eval(StrKind::Within, "%{tx.none}", b""));
        assert!(!eval(StrKind::Within, "%{tx.none}", b"GET"));
    }

    #[test]
    fn empty_argument_from_macro() {
        for kind in [StrKind::Contains, StrKind::ContainsWord, StrKind::BeginsWith, StrKind::EndsWith] {
            assert!(eval(kind, "%{tx.none}", b"x"), "{kind:?}");
            assert!(eval(kind, "%{tx.none}", b""), "{kind:?}");
        }
        assert!(eval(StrKind::Eq, "%{tx.none}", b""));
        assert!(!eval(StrKind::Eq, "%{tx.none}", b"x"));
    }

    #[test]
    fn contains_word_boundaries() {
        // Observed with libmodsecurity 3.0.9.
        assert!(eval(StrKind::ContainsWord, "foo", b"foo"));
        assert!(eval(StrKind::ContainsWord, "foo", b"foo1"));
        assert!(!eval(StrKind::ContainsWord, "foo", b"xfoo"));
        assert!(eval(StrKind::ContainsWord, "foo", b"a foo."));
        assert!(eval(StrKind::ContainsWord, "foo", b"_foo_"));
        assert!(!eval(StrKind::ContainsWord, "foo", b""));
        assert!(eval(StrKind::ContainsWord, "foo", b"foox foo"));
        assert!(!eval(StrKind::ContainsWord, "foo", b"foox"));
    }
}
