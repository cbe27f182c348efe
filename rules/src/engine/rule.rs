//! A compiled rule: targets, operator, transformations and actions, with its
//! chained continuation and source location.

use crate::actions::{Actions, Disruptive};
use crate::operators::Operator;
use crate::parser::Location;
use crate::variables::Target;

pub struct Rule {
    /// 0 for chained continuations (they report their head's id).
    pub id: u32,
    pub phase: u8,
    /// Targets that produce values.
    pub targets: Vec<Target>,
    /// `!` targets that remove values from the others.
    pub exclusions: Vec<Target>,
    pub operator: Operator,
    pub negated: bool,
    /// The operator as written (`@rx ^a`), for logs.
    pub operator_text: String,
    pub actions: Actions,
    /// What `block` means for this rule (the phase's SecDefaultAction).
    pub block_action: Disruptive,
    /// Whether a match is logged (explicit `log`/`nolog`, else the default).
    pub log: bool,
    pub chained: Option<Box<Rule>>,
    pub location: Location,
    /// Interned id of the transformation list, for the per-transaction cache.
    pub transform_id: u32,
    /// The operator argument's macros, parsed once (`@eq %{tx.x}`).
    pub operator_macro: Option<crate::macros::MacroText>,
}

impl Rule {
    /// The disruptive action in effect (with `block` resolved).
    pub fn disruptive(&self) -> &Disruptive {
        match &self.actions.disruptive {
            Some(Disruptive::Block) => &self.block_action,
            Some(d) => d,
            None => &Disruptive::Pass,
        }
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.actions.tags.iter().any(|t| t == tag)
    }

    /// The rule's msg when it is plain text (no macros).
    pub fn literal_msg(&self) -> Option<&str> {
        self.actions.msg.as_ref().and_then(|m| m.as_literal())
    }
}

/// An entry in a phase's rule list.
pub enum Entry {
    Rule(Box<Rule>),
    Marker(String),
}
