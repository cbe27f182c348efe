//! `@pm`, `@pmFromFile` and `@pmf`: case-insensitive phrase matching.
//!
//! Phrases go into one Aho-Corasick automaton (ASCII case folding, as ModSecurity's
//! `acmp` folds with C `tolower`). ModSecurity reports the phrase that ends first in
//! the input; among phrases ending at the same byte, the longest. That is what
//! `capture` stores in `TX.0`, spelled as in the rule or data file.
//!
//! Two deliberate differences from ModSecurity 3.0.9, both in places where it is
//! broken: its automaton builds incomplete failure links and can miss a phrase that
//! follows a partial match of a longer one (`@pm abcde bcx cd` misses `cd` in
//! `abcdz`); here every occurrence is found. And its `@pm` argument decoder for
//! `|hex|` bytes and `\` escapes leaves the undecoded tail in place and ignores hex
//! digits 0-9; here those are decoded as ModSecurity 2 and the reference manual
//! describe (`|0d 0a|` is CR LF, `\:` `\;` `\\` `\"` are the character).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{set_capture, DataFiles, EvalContext};

pub(crate) struct Pm {
    /// Built on first use: the large CRS data files make this a noticeable
    /// part of loading, and some lists are never consulted at a given
    /// paranoia level.
    automaton: std::sync::OnceLock<AhoCorasick>,
    phrases: Vec<Vec<u8>>,
}

impl Pm {
    /// `@pm`: phrases separated by white space, after `"..."`/`|hex|`/`\` decoding.
    pub(crate) fn from_argument(arg: &str) -> Result<Pm, String> {
        let content = decode_content(arg.as_bytes()).unwrap_or_else(|| arg.as_bytes().to_vec());
        let phrases = content
            .split(|b| b.is_ascii_whitespace() || *b == 0x0b)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        Pm::build(phrases)
    }

    /// `@pmFromFile`/`@pmf`: one phrase per line of each named file. A line is
    /// skipped when empty or when only white space precedes a `#`; otherwise the
    /// whole line is the phrase, as ModSecurity 3 reads it (no trimming).
    pub(crate) fn from_files(arg: &str, files: &dyn DataFiles) -> Result<Pm, String> {
        let mut phrases = Vec::new();
        let mut any = false;
        for name in arg.split(' ').filter(|n| !n.is_empty()) {
            any = true;
            if name.starts_with("https://") || name.starts_with("http://") {
                return Err(format!("remote data file {name} is not supported"));
            }
            let data = files.read(name).map_err(|e| format!("cannot read data file {name}: {e}"))?;
            for line in data.split(|b| *b == b'\n') {
                if !is_comment(line) {
                    phrases.push(line.to_vec());
                }
            }
        }
        if !any {
            return Err("no data file named".into());
        }
        Pm::build(phrases)
    }

    fn build(mut phrases: Vec<Vec<u8>>) -> Result<Pm, String> {
        // Phrases equal under ASCII case folding are one trie path in ModSecurity;
        // keep the first spelling.
        let mut seen = std::collections::HashSet::new();
        phrases.retain(|p| seen.insert(p.to_ascii_lowercase()));
        Ok(Pm { automaton: std::sync::OnceLock::new(), phrases })
    }

    /// Builds the automaton now rather than on first use; returns whether
    /// there was anything to build.
    pub(crate) fn warm_up(&self) -> bool {
        let todo = self.automaton.get().is_none();
        self.automaton();
        todo
    }

    fn automaton(&self) -> &AhoCorasick {
        self.automaton.get_or_init(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&self.phrases)
                // Only a pattern set beyond the crate's size limits fails; it then matches nothing.
                .unwrap_or_else(|_| AhoCorasick::new(Vec::<&[u8]>::new()).unwrap_or_else(|_| unreachable!("empty set")))
        })
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.phrases.len()
    }

    pub(crate) fn evaluate(&self, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
        let Some(slots) = ctx.captures.as_deref_mut() else {
            return self.automaton().is_match(input);
        };
        // Earliest end first; the overlapping iterator reports by end position.
        let mut best: Option<(usize, usize)> = None; // (end, pattern)
        for m in self.automaton().find_overlapping_iter(input) {
            match best {
                Some((end, _)) if m.end() > end => break,
                Some((_, p)) if self.phrases[p].len() >= m.len() => {}
                _ => best = Some((m.end(), m.pattern().as_usize())),
            }
        }
        match best {
            Some((_, p)) => {
                set_capture(&mut slots[0], &self.phrases[p]);
                true
            }
            None => false,
        }
    }
}

/// ModSecurity's comment test for data-file lines.
fn is_comment(line: &[u8]) -> bool {
    match line.iter().position(|b| *b == b'#') {
        None => line.is_empty(),
        Some(pos) => line[..pos].iter().all(|b| b.is_ascii_whitespace() || *b == 0x0b),
    }
}

/// Decodes a `@pm` argument: optional surrounding double quotes, `|hex|` runs and
/// `\` escapes of `: ; \ "`. `None` (use the argument as written) when it is empty
/// after unquoting or holds another escape.
fn decode_content(arg: &[u8]) -> Option<Vec<u8>> {
    let start = arg.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(arg.len());
    let mut body = &arg[start..];
    if body.len() >= 2 && body.first() == Some(&b'"') && body.last() == Some(&b'"') {
        body = &body[1..body.len() - 1];
    }
    if body.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let (mut hex_mode, mut escaped) = (false, false);
    let mut pending: Option<u8> = None;
    for &c in body {
        if c == b'|' && !escaped {
            hex_mode = !hex_mode;
            pending = None;
        } else if !escaped && c == b'\\' {
            escaped = true;
        } else if hex_mode && !escaped {
            if let Some(v) = (c as char).to_digit(16) {
                match pending.take() {
                    Some(hi) => out.push(hi << 4 | v as u8),
                    None => pending = Some(v as u8),
                }
            }
        } else if escaped {
            if !matches!(c, b':' | b';' | b'\\' | b'"') {
                return None;
            }
            out.push(c);
            escaped = false;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files;
    impl DataFiles for Files {
        fn read(&self, name: &str) -> Result<Vec<u8>, String> {
            match name {
                "a.data" => Ok(b"# comment\n\nfoo bar\n  # indented comment\nBaZ\n x#y\n".to_vec()),
                "b.data" => Ok(b"qux".to_vec()),
                _ => Err("no such file".into()),
            }
        }
    }

    fn capture(pm: &Pm, input: &[u8]) -> Option<Vec<u8>> {
        let mut slots: [Option<Vec<u8>>; 10] = Default::default();
        let expand = |_: &str| Vec::new();
        let mut ctx = EvalContext { expand: &expand, captures: Some(&mut slots) };
        if pm.evaluate(input, &mut ctx) {
            slots[0].take()
        } else {
            None
        }
    }

    fn matches(pm: &Pm, input: &[u8]) -> bool {
        let expand = |_: &str| Vec::new();
        pm.evaluate(input, &mut EvalContext { expand: &expand, captures: None })
    }

    #[test]
    fn reports_earliest_ending_then_longest_phrase() {
        // Observed with libmodsecurity 3.0.9.
        let pm = Pm::from_argument("a bc abcd").unwrap();
        assert_eq!(capture(&pm, b"xxbc").unwrap(), b"bc");
        assert_eq!(capture(&pm, b"abcd").unwrap(), b"a");
        let pm = Pm::from_argument("b ab").unwrap();
        assert_eq!(capture(&pm, b"ab").unwrap(), b"ab");
        let pm = Pm::from_argument("ABC abd").unwrap();
        assert_eq!(capture(&pm, b"abcdex").unwrap(), b"ABC");
        assert_eq!(capture(&pm, b"ABD").unwrap(), b"abd");
        assert!(!matches(&pm, b"ab"));
        assert!(!matches(&pm, b""));
    }

    #[test]
    fn finds_phrases_acmp_misses() {
        let pm = Pm::from_argument("abcde bcx cd").unwrap();
        assert!(matches(&pm, b"abcdz"));
    }

    #[test]
    fn case_folding_is_ascii_only() {
        let pm = Pm::from_argument("émile").unwrap();
        assert!(!matches(&pm, "xÉMILE".as_bytes()));
        assert!(matches(&pm, "éMILE".as_bytes()));
    }

    #[test]
    fn argument_decoding() {
        let pm = Pm::from_argument("x|41 42|y").unwrap();
        assert!(matches(&pm, b"xABy"));
        let pm = Pm::from_argument(r"m\:n").unwrap();
        assert!(matches(&pm, b"m:n"));
        // Unsupported escape: the argument is used as written.
        let pm = Pm::from_argument(r"u\zv").unwrap();
        assert!(matches(&pm, br"u\zv"));
        let pm = Pm::from_argument("\"foo bar\"").unwrap();
        assert_eq!(pm.len(), 2);
        let pm = Pm::from_argument("( )").unwrap();
        assert!(matches(&pm, b"f("));
        assert_eq!(Pm::from_argument("a A a").unwrap().len(), 1);
    }

    #[test]
    fn files() {
        let pm = Pm::from_files("a.data b.data", &Files).unwrap();
        assert_eq!(pm.len(), 4);
        assert!(matches(&pm, b"xx foo bar"));
        assert!(!matches(&pm, b"foo"));
        assert!(matches(&pm, b"baz"));
        assert!(matches(&pm, b"qux"));
        assert!(matches(&pm, b"a x#y"));
        let e = Pm::from_files("missing.data", &Files).err().unwrap();
        assert!(e.contains("missing.data"), "{e}");
        assert!(Pm::from_files("https://example.com/x", &Files).is_err());
    }
}
