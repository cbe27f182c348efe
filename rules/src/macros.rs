//! Macro expansion in action and operator arguments: `%{TX.score}`,
//! `%{MATCHED_VAR}`, `%{REQUEST_HEADERS.host}`, `%{RULE.id}`.
//!
//! Text is split once, at load time, into literal pieces and variable
//! references; the engine resolves the references per transaction.

use crate::variables::{Collection, Var};

/// A reference inside `%{...}`: a variable and, for collections, a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroRef {
    pub var: Var,
    /// Lowercased key (`%{tx.score}` → `score`).
    pub key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Ref(MacroRef),
}

/// Text with macros, compiled.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MacroText {
    pub pieces: Vec<Piece>,
}

impl MacroText {
    /// Splits `text` into literals and references. Unknown variables are errors.
    pub fn parse(text: &str) -> Result<MacroText, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        while let Some(pos) = rest.find("%{") {
            let after = &rest[pos + 2..];
            let Some(end) = after.find('}') else {
                break;
            };
            literal.push_str(&rest[..pos]);
            let inner = after[..end].trim();
            let (name, key) = match inner.find(['.', ':']) {
                Some(p) => (&inner[..p], Some(inner[p + 1..].to_ascii_lowercase())),
                None => (inner, None),
            };
            let var = Var::from_name(name).ok_or_else(|| format!("unknown variable `{name}` in macro %{{{inner}}}"))?;
            if let (Var::Collection(_), None) = (var, &key) {
                // `%{TX}` alone: ModSecurity expands a collection without key to nothing useful.
            }
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Ref(MacroRef { var, key }));
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(MacroText { pieces })
    }

    /// The text when it has no references.
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }

    pub fn has_macros(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Ref(_)))
    }

    /// Whether any reference reads MATCHED_VAR(_NAME) (such text must be
    /// expanded at match time).
    pub fn reads_collection(&self, c: Collection) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Ref(MacroRef { var: Var::Collection(x), .. }) if *x == c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variables::{Scalar, Store};

    #[test]
    fn splits_text_and_refs() {
        let m = MacroText::parse("Matched %{TX.0} in %{MATCHED_VAR_NAME}: %{matched_var}").unwrap();
        assert_eq!(m.pieces.len(), 6);
        assert_eq!(
            m.pieces[1],
            Piece::Ref(MacroRef { var: Var::Collection(Collection::Store(Store::Tx)), key: Some("0".into()) })
        );
        assert_eq!(m.pieces[5], Piece::Ref(MacroRef { var: Var::Scalar(Scalar::MatchedVar), key: None }));
        assert!(MacroText::parse("%{NOPE.x}").is_err());
        assert_eq!(MacroText::parse("100%{").unwrap().as_literal(), Some("100%{"));
    }
}
