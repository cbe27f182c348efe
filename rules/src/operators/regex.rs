//! `@rx`, and the compiled [`Pattern`] that `@verifyCC`/`@verifyCPF`/`@verifySSN`
//! reuse.
//!
//! A pattern is read as PCRE2 (see [`super::pcre`]) and compiled with
//! `regex::bytes` whenever the translation needs nothing a finite automaton cannot
//! do; only patterns with look-around, backreferences, atomic groups or possessive
//! quantifiers go to `fancy-regex`, which searches the Latin-1 view of the input
//! (one char per byte, so any byte sequence is searched without loss and offsets
//! map back exactly). A fancy-regex search that hits its backtracking limit counts
//! as no match, as a PCRE match-limit error does in ModSecurity.
//!
//! Arguments containing a macro (`%{tx.x}`) are expanded on every evaluation and the
//! compiled result is kept in a small per-operator cache keyed by the expanded text.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use super::pcre::{self, latin1, Flavor};
use super::{set_capture, Arg, EvalContext};

/// Size limit for the compiled program of a pattern from the rule set.
const STATIC_SIZE_LIMIT: usize = 64 << 20;
/// Size limit for a pattern built from macro-expanded (possibly client) data.
const DYNAMIC_SIZE_LIMIT: usize = 2 << 20;
/// Macro-expanded patterns kept per operator before the cache is emptied.
const CACHE_ENTRIES: usize = 64;
/// Longest expanded pattern worth caching.
const CACHE_MAX_PATTERN: usize = 4096;

/// Which engine a pattern was compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexEngine {
    /// `regex::bytes` (finite automata, linear time).
    Automaton,
    /// `fancy-regex` (backtracking, for look-around and backreferences).
    Backtracking,
}

/// A compiled PCRE pattern.
#[derive(Debug)]
pub(crate) enum Pattern {
    Bytes {
        re: regex::bytes::Regex,
        /// Set when the pattern has a multi-line `^` (see [`CaretCheck`]).
        caret: Option<Box<CaretCheck>>,
    },
    Fancy(Fancy),
}

/// A fancy-regex pattern; `fold` means it searches the ASCII-lowercased input
/// (see [`pcre::Translated::fold_input`]).
#[derive(Debug)]
pub(crate) struct Fancy {
    re: fancy_regex::Regex,
    fold: bool,
}

impl Fancy {
    fn compile(pcre: &[u8], size_limit: usize) -> Result<Fancy, String> {
        let latin = pcre::translate(pcre, Flavor::Latin1)?;
        let re = fancy_regex::RegexBuilder::new(&latin.pattern)
            .delegate_size_limit(size_limit)
            .build()
            .map_err(|e| format!("cannot compile regular expression: {e}"))?;
        Ok(Fancy { re, fold: latin.fold_input })
    }

    fn text<'a>(&self, input: &'a [u8]) -> std::borrow::Cow<'a, str> {
        if self.fold && input.iter().any(u8::is_ascii_uppercase) {
            std::borrow::Cow::Owned(latin1::encode(&input.to_ascii_lowercase()).into_owned())
        } else {
            latin1::encode(input)
        }
    }

    /// fancy-regex reports hitting its backtracking limit as an error; PCRE's
    /// match-limit error is no match in ModSecurity, and so is this.
    fn is_match(&self, input: &[u8]) -> bool {
        self.re.is_match(&self.text(input)).unwrap_or(false)
    }

    fn captures(&self, input: &[u8], slots: &mut [Option<Vec<u8>>; 10]) -> bool {
        let text = self.text(input);
        let Ok(Some(caps)) = self.re.captures(&text) else { return false };
        for (i, slot) in slots.iter_mut().enumerate() {
            if let Some(m) = caps.get(i) {
                let s = latin1::byte_offset(&text, m.start());
                let e = latin1::byte_offset(&text, m.end());
                set_capture(slot, &input[s..e]);
            }
        }
        true
    }

    fn find_at(&self, input: &[u8], start: usize) -> Option<Range<usize>> {
        let text = self.text(input);
        let from = latin1::text_offset(input, start);
        let m = self.re.find_from_pos(&text, from).ok()??;
        Some(latin1::byte_offset(&text, m.start())..latin1::byte_offset(&text, m.end()))
    }

    fn groups_at(&self, input: &[u8], start: usize, spans: &mut Vec<Option<Range<usize>>>) -> bool {
        let text = self.text(input);
        let from = latin1::text_offset(input, start);
        let Ok(Some(caps)) = self.re.captures_from_pos(&text, from) else { return false };
        spans.clear();
        spans.extend(caps.iter().map(|g| {
            g.map(|m| latin1::byte_offset(&text, m.start())..latin1::byte_offset(&text, m.end()))
        }));
        true
    }
}

/// Rust's multi-line `^` also holds after a newline that ends the subject, PCRE's
/// does not. Only a match ending at the very end of an input that ends in `\n` can
/// have used that position; such a match is re-checked with the exact Latin-1
/// translation (compiled on first need, as this is rare). Any other match is what
/// PCRE finds too: PCRE explores the same paths in the same order and only rejects
/// ones that put `^` at the end.
#[derive(Debug)]
pub(crate) struct CaretCheck {
    source: Vec<u8>,
    size_limit: usize,
    exact: OnceLock<Option<Fancy>>,
}

impl CaretCheck {
    fn applies(&self, input: &[u8], match_end: usize) -> bool {
        match_end == input.len() && input.last() == Some(&b'\n')
    }

    fn exact(&self) -> Option<&Fancy> {
        self.exact.get_or_init(|| Fancy::compile(&self.source, self.size_limit).ok()).as_ref()
    }
}

impl Pattern {
    /// Compiles a pattern from the rule set.
    pub(crate) fn new(pcre: &[u8]) -> Result<Pattern, String> {
        Self::with_limit(pcre, STATIC_SIZE_LIMIT)
    }

    fn with_limit(pcre: &[u8], size_limit: usize) -> Result<Pattern, String> {
        let bytes = pcre::translate(pcre, Flavor::Bytes)?;
        if !bytes.needs_backtracking {
            // The lazy DFA cache keeps the crate's default bound (per regex and thread).
            let re = regex::bytes::RegexBuilder::new(&bytes.pattern)
                .size_limit(size_limit)
                .build()
                .map_err(|e| format!("cannot compile regular expression: {e}"))?;
            let caret = bytes.multiline_caret.then(|| {
                Box::new(CaretCheck { source: pcre.to_vec(), size_limit, exact: OnceLock::new() })
            });
            return Ok(Pattern::Bytes { re, caret });
        }
        Fancy::compile(pcre, size_limit).map(Pattern::Fancy)
    }

    pub(crate) fn engine(&self) -> RegexEngine {
        match self {
            Pattern::Bytes { .. } => RegexEngine::Automaton,
            Pattern::Fancy(_) => RegexEngine::Backtracking,
        }
    }

    /// The exact engine for `input` when a `regex` match ending at `match_end`
    /// needs confirming.
    fn recheck(&self, input: &[u8], match_end: usize) -> Option<&Fancy> {
        match self {
            Pattern::Bytes { caret: Some(c), .. } if c.applies(input, match_end) => c.exact(),
            _ => None,
        }
    }

    pub(crate) fn is_match(&self, input: &[u8]) -> bool {
        match self {
            Pattern::Bytes { re, caret: None } => re.is_match(input),
            Pattern::Bytes { re, caret: Some(_) } => {
                if input.last() != Some(&b'\n') {
                    return re.is_match(input);
                }
                match re.find(input) {
                    None => false,
                    Some(m) => match self.recheck(input, m.end()) {
                        Some(exact) => exact.is_match(input),
                        None => true,
                    },
                }
            }
            Pattern::Fancy(f) => f.is_match(input),
        }
    }

    /// Searches once; on a match stores the whole match in slot 0 and each group
    /// that took part in it in its slot (1..=9). Groups that did not participate
    /// leave their slot untouched, as ModSecurity does.
    pub(crate) fn captures(&self, input: &[u8], slots: &mut [Option<Vec<u8>>; 10]) -> bool {
        match self {
            Pattern::Bytes { re, .. } => {
                let mut locs = re.capture_locations();
                let Some(m) = re.captures_read(&mut locs, input) else { return false };
                if let Some(exact) = self.recheck(input, m.end()) {
                    return exact.captures(input, slots);
                }
                for (i, slot) in slots.iter_mut().enumerate() {
                    if let Some((s, e)) = locs.get(i) {
                        set_capture(slot, &input[s..e]);
                    }
                }
                true
            }
            Pattern::Fancy(f) => f.captures(input, slots),
        }
    }

    /// The leftmost match starting at or after `start`, with the whole input
    /// visible to anchors and look-behind (PCRE's start offset).
    pub(crate) fn find_at(&self, input: &[u8], start: usize) -> Option<Range<usize>> {
        match self {
            Pattern::Bytes { re, .. } => {
                let m = re.find_at(input, start)?;
                match self.recheck(input, m.end()) {
                    Some(exact) => exact.find_at(input, start),
                    None => Some(m.range()),
                }
            }
            Pattern::Fancy(f) => f.find_at(input, start),
        }
    }

    /// The leftmost match starting at or after `start`, as the span of every
    /// group (`None` for a group that did not take part); false when none.
    pub(crate) fn groups_at(
        &self,
        input: &[u8],
        start: usize,
        spans: &mut Vec<Option<Range<usize>>>,
    ) -> bool {
        match self {
            Pattern::Bytes { re, .. } => {
                let mut locs = re.capture_locations();
                let Some(m) = re.captures_read_at(&mut locs, input, start) else { return false };
                if let Some(exact) = self.recheck(input, m.end()) {
                    return exact.groups_at(input, start, spans);
                }
                spans.clear();
                spans.extend((0..locs.len()).map(|i| locs.get(i).map(|(s, e)| s..e)));
                true
            }
            Pattern::Fancy(f) => f.groups_at(input, start, spans),
        }
    }
}

/// Bounded cache of patterns compiled from macro-expanded arguments.
#[derive(Default)]
struct Cache {
    map: Mutex<HashMap<Vec<u8>, Option<Arc<Pattern>>>>,
}

impl Cache {
    fn get(&self, expanded: &[u8]) -> Option<Arc<Pattern>> {
        let key = if expanded.is_empty() { &b".*"[..] } else { expanded };
        if key.len() > CACHE_MAX_PATTERN {
            return Pattern::with_limit(key, DYNAMIC_SIZE_LIMIT).ok().map(Arc::new);
        }
        if let Some(hit) = self.lock().get(key) {
            return hit.clone();
        }
        // Compiled outside the lock; a race only compiles twice.
        let compiled = Pattern::with_limit(key, DYNAMIC_SIZE_LIMIT).ok().map(Arc::new);
        let mut map = self.lock();
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key.to_vec(), compiled.clone());
        compiled
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Option<Arc<Pattern>>>> {
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `@rx`.
pub(crate) struct Rx {
    arg: Arg,
    compiled: Option<Pattern>,
    cache: Cache,
}

impl Rx {
    pub(crate) fn new(arg: Arg) -> Result<Rx, String> {
        let compiled = if arg.has_macro() { None } else { Some(Pattern::new(arg.text().as_bytes())?) };
        Ok(Rx { arg, compiled, cache: Cache::default() })
    }

    pub(crate) fn engine(&self) -> Option<RegexEngine> {
        self.compiled.as_ref().map(Pattern::engine)
    }

    pub(crate) fn evaluate(&self, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
        match &self.compiled {
            Some(p) => run(p, input, ctx),
            None => {
                let expanded = (ctx.expand)(self.arg.text());
                // A pattern that does not compile matches nothing, as in ModSecurity.
                self.cache.get(&expanded).is_some_and(|p| run(&p, input, ctx))
            }
        }
    }
}

fn run(p: &Pattern, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
    match ctx.captures.as_deref_mut() {
        // Most values do not match: the capture-free search is much cheaper,
        // so groups are only extracted once a match is known.
        Some(slots) => p.is_match(input) && p.captures(input, slots),
        None => p.is_match(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines() {
        assert_eq!(Pattern::new(b"a+b").unwrap().engine(), RegexEngine::Automaton);
        assert_eq!(Pattern::new(br"<\?(?!xml)").unwrap().engine(), RegexEngine::Backtracking);
    }

    #[test]
    fn fancy_handles_non_utf8_input() {
        let p = Pattern::new(br"(?<=\xff)a(b)\1").unwrap();
        let input = [0xc3, 0xff, b'a', b'b', b'b', 0x80];
        assert!(p.is_match(&input));
        let mut slots: [Option<Vec<u8>>; 10] = Default::default();
        assert!(p.captures(&input, &mut slots));
        assert_eq!(slots[0].as_deref(), Some(&b"abb"[..]));
        assert_eq!(slots[1].as_deref(), Some(&b"b"[..]));
        assert_eq!(p.find_at(&input, 2), Some(2..5));
        let mut spans = Vec::new();
        assert!(p.groups_at(&input, 2, &mut spans));
        assert_eq!(spans, vec![Some(2..5), Some(3..4)]);
        assert_eq!(p.find_at(&input, 3), None);
        // ^ anchors at the real start even when searching from an offset.
        let p = Pattern::new(br"^\xff(?!x)").unwrap();
        assert_eq!(p.find_at(&[0xff, 0xff], 1), None);
        assert_eq!(p.find_at(&[0xff, 0xff], 0), Some(0..1));
    }

    #[test]
    fn caret_does_not_match_after_final_newline() {
        // PCRE2 (multi-line): ^ holds at the start and after an inner newline only.
        let p = Pattern::new(b"^$").unwrap();
        assert!(p.is_match(b""));
        assert!(p.is_match(b"\n")); // at 0, before the newline
        assert!(!p.is_match(b"abc\n"));
        assert!(p.is_match(b"abc\n\nx"));
        let p = Pattern::new(b"^0?$").unwrap();
        assert!(p.is_match(b"0\n"));
        let mut slots: [Option<Vec<u8>>; 10] = Default::default();
        assert!(p.captures(b"x\n0\n", &mut slots));
        assert_eq!(slots[0].as_deref(), Some(&b"0"[..]));
        assert!(!p.captures(b"x\n", &mut slots));
        let p = Pattern::new(b"a\n^").unwrap();
        assert_eq!(p.find_at(b"a\n", 0), None);
        assert_eq!(p.find_at(b"a\na", 0), Some(0..2));
    }

    #[test]
    fn caseless_backreference() {
        // CRS 3.3.4 942130 compares a tautology's sides case-insensitively.
        let p = Pattern::new(br"(?i:\b([\d\w]+)\b\s*=\s*\b\1\b)").unwrap();
        assert!(p.is_match(b"where A = a"));
        let mut slots: [Option<Vec<u8>>; 10] = Default::default();
        assert!(p.captures(b"x Ab=aB", &mut slots));
        assert_eq!(slots[0].as_deref(), Some(&b"Ab=aB"[..]));
        assert_eq!(slots[1].as_deref(), Some(&b"Ab"[..]));
        assert!(!p.is_match(b"a = b"));
    }

    #[test]
    fn unset_groups_keep_their_slot() {
        let p = Pattern::new(b"(a)|(b)").unwrap();
        let mut slots: [Option<Vec<u8>>; 10] = Default::default();
        slots[1] = Some(b"old".to_vec());
        assert!(p.captures(b"b", &mut slots));
        assert_eq!(slots[0].as_deref(), Some(&b"b"[..]));
        assert_eq!(slots[1].as_deref(), Some(&b"old"[..]));
        assert_eq!(slots[2].as_deref(), Some(&b"b"[..]));
        assert!(slots[3].is_none());
    }

    #[test]
    fn cache_is_bounded() {
        let cache = Cache::default();
        for i in 0..(CACHE_ENTRIES * 3) {
            let p = cache.get(format!("a{i}").as_bytes()).unwrap();
            assert!(p.is_match(format!("xa{i}").as_bytes()));
            assert!(cache.lock().len() <= CACHE_ENTRIES);
        }
        assert!(cache.get(b"(").is_none());
        assert!(cache.get(b"").unwrap().is_match(b""));
    }
}
