//! The `@` operators of SecLang (`@rx`, `@pm`, `@eq`, `@detectSQLi`, ...).
//!
//! An [`Operator`] is compiled once when the rule set loads (regexes, pattern
//! automata and data files are all prepared then) and evaluated many times, from
//! many transactions at once. Negation (`!@rx`) is applied by the engine, not here.

/// Reads a data file named by `@pmFromFile`, `@ipMatchFromFile` and similar. The
/// parser resolves the name relative to the rule file that uses it.
pub trait DataFiles {
    fn read(&self, name: &str) -> Result<Vec<u8>, String>;
}

/// What one evaluation may need from the transaction.
pub struct EvalContext<'a> {
    /// Expands `%{...}` macros in an operator argument (e.g. `@eq %{tx.x}`,
    /// `@rx ^%{tx.allowed_charsets}$`). Only called for arguments that contain a macro.
    pub expand: &'a dyn Fn(&str) -> Vec<u8>,
    /// `Some` when the rule has the `capture` action: on a match, the operator
    /// fills slot 0 with the whole match and slots 1..=9 with the groups
    /// (`TX.0`..`TX.9`); slots it does not set are left as `None`.
    pub captures: Option<&'a mut [Option<Vec<u8>>; 10]>,
}

/// A compiled operator.
pub struct Operator {
    // to be filled in
}

impl Operator {
    /// Compiles operator `name` (without the `@`, e.g. `"rx"`) with its argument.
    /// Unknown operators and bad arguments (a regex that does not compile, a
    /// missing data file) are errors. Operators accepted but never matching inside
    /// a proxy (`geoLookup`, `rbl`) push a warning.
    pub fn compile(
        name: &str,
        argument: &str,
        files: &dyn DataFiles,
        warnings: &mut Vec<String>,
    ) -> Result<Operator, String> {
        let _ = (name, argument, files, warnings);
        Err("not implemented".into())
    }

    /// The operator's name as written in rules, without `@`.
    pub fn name(&self) -> &str {
        ""
    }

    /// Evaluates against one (already transformed) value.
    pub fn evaluate(&self, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
        let _ = (input, ctx);
        false
    }
}
