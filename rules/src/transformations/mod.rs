//! The `t:` transformation functions of SecLang.
//!
//! Each transformation turns a byte string into another one. They are pure
//! functions with no per-transaction state; the engine caches their results per
//! variable within a transaction. `t:none` is not a transformation: the parser
//! handles it by clearing the list built so far.

use std::borrow::Cow;

/// One transformation, by name as SecLang spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transformation {
    // to be filled in: every transformation ModSecurity v3 documents
}

impl Transformation {
    /// Looks up a transformation by its SecLang name (case-insensitive, as
    /// ModSecurity accepts both `base64Decode` and `base64decode`).
    /// Returns `None` for unknown names and for `none`.
    pub fn from_name(name: &str) -> Option<Transformation> {
        let _ = name;
        None
    }

    /// The canonical SecLang name.
    pub fn name(&self) -> &'static str {
        match *self {}
    }

    /// Applies the transformation. Returns `Cow::Borrowed` when nothing changed.
    pub fn apply<'a>(&self, input: &'a [u8]) -> Cow<'a, [u8]> {
        let _ = input;
        match *self {}
    }
}
