//! The `@` operators of SecLang (`@rx`, `@pm`, `@eq`, `@detectSQLi`, ...).
//!
//! An [`Operator`] is compiled once when the rule set loads (regexes, pattern
//! automata and data files are all prepared then) and evaluated many times, from
//! many transactions at once. Negation (`!@rx`) is applied by the engine, not here.
//! Semantics follow libmodsecurity 3.0.9; the submodules note where and why they
//! knowingly differ.
//!
//! | module       | operators                                                        |
//! |--------------|------------------------------------------------------------------|
//! | [`regex`]    | `@rx` (PCRE read by [`pcre`], run by `regex` or `fancy-regex`)   |
//! | [`pm`]       | `@pm`, `@pmFromFile`, `@pmf`                                     |
//! | [`strings`]  | `@streq`, `@strmatch`, `@contains`, `@containsWord`, `@beginsWith`, `@endsWith`, `@within` |
//! | [`compare`]  | `@eq`, `@ge`, `@gt`, `@le`, `@lt`                                |
//! | [`validate`] | `@validateByteRange`, `@validateUrlEncoding`, `@validateUtf8Encoding` |
//! | [`ip`]       | `@ipMatch`, `@ipMatchFromFile`, `@ipMatchF`                      |
//! | [`verify`]   | `@verifyCC`, `@verifyCPF`, `@verifySSN`, `@verifySVNR`           |
//!
//! Here: `@detectSQLi`, `@detectXSS` (via [`crate::libinjection`]),
//! `@unconditionalMatch`, `@noMatch`; `@geoLookup`, `@rbl`, `@validateDTD` and
//! `@validateSchema` load with a warning and never match; `@inspectFile`,
//! `@fuzzyHash`, `@rsub`, `@gsbLookup` and `@validateHash` are refused.
//!
//! # Performance
//!
//! Everything that can be prepared is prepared in [`Operator::compile`]. Evaluation
//! without `capture` allocates nothing for `@rx` (a plain `is_match`), `@pm` (one
//! Aho-Corasick pass), literal string and numeric operators. Regex prefiltering is
//! left to the `regex` crate's own literal extraction (prefix/inner literals,
//! Teddy/memchr), which the translation preserves by writing case-folded letters as
//! the same small classes `(?i)` would produce. There is deliberately no cross-rule
//! prefilter at this level. Costs that remain: `capture` copies matched bytes into
//! the caller's slots (reusing their buffers); macro arguments call `expand` per
//! evaluation, and a macro `@rx` takes a mutex for its compiled-pattern cache; the
//! rare `fancy-regex` patterns re-encode non-ASCII input to Latin-1 per call.

mod compare;
mod ip;
mod pcre;
mod pm;
mod regex;
mod strings;
mod validate;
mod verify;

use std::borrow::Cow;

pub use self::regex::RegexEngine;

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
    name: String,
    arg: Arg,
    kind: Kind,
}

enum Kind {
    Rx(regex::Rx),
    Pm(pm::Pm),
    Str(strings::StrOp),
    Num(compare::NumOp),
    ByteRange(validate::ByteRange),
    UrlEncoding,
    Utf8Encoding,
    Ip(ip::IpSet),
    Verify(verify::Verify),
    DetectSqli,
    DetectXss,
    Always,
    Never,
}

impl Operator {
    /// Compiles operator `name` (without the `@`, e.g. `"rx"`; any letter case)
    /// with its argument. Unknown operators and bad arguments (a regex that does
    /// not compile, a missing data file) are errors. Operators accepted but never
    /// matching inside a proxy (`geoLookup`, `rbl`) push a warning.
    pub fn compile(
        name: &str,
        argument: &str,
        files: &dyn DataFiles,
        warnings: &mut Vec<String>,
    ) -> Result<Operator, String> {
        let lower = name.to_ascii_lowercase();
        let fail = |e: String| format!("@{name}: {e}");
        let needs_argument = !matches!(
            lower.as_str(),
            "detectsqli"
                | "detectxss"
                | "unconditionalmatch"
                | "nomatch"
                | "geolookup"
                | "validateurlencoding"
                | "validateutf8encoding"
        );
        if needs_argument && argument.is_empty() && is_known(&lower) {
            return Err(format!("@{name} requires an argument"));
        }
        let arg = Arg::new(argument);
        let no_macro = |what: &str| -> Result<(), String> {
            if arg.has_macro() {
                Err(format!("@{name}: macros are not expanded in {what}"))
            } else {
                Ok(())
            }
        };
        use strings::StrKind;
        let string_op = |kind| Kind::Str(strings::StrOp::new(kind, Arg::new(argument)));
        let num_op = |cmp| Kind::Num(compare::NumOp::new(cmp, Arg::new(argument)));
        let kind = match lower.as_str() {
            "rx" => Kind::Rx(regex::Rx::new(Arg::new(argument)).map_err(fail)?),
            "pm" => Kind::Pm(pm::Pm::from_argument(argument).map_err(fail)?),
            "pmfromfile" | "pmf" => {
                no_macro("file names")?;
                Kind::Pm(pm::Pm::from_files(argument, files).map_err(fail)?)
            }
            "streq" => string_op(StrKind::Eq),
            "strmatch" | "contains" => string_op(StrKind::Contains),
            "containsword" => string_op(StrKind::ContainsWord),
            "beginswith" => string_op(StrKind::BeginsWith),
            "endswith" => string_op(StrKind::EndsWith),
            "within" => string_op(StrKind::Within),
            "eq" => num_op(compare::Cmp::Eq),
            "ge" => num_op(compare::Cmp::Ge),
            "gt" => num_op(compare::Cmp::Gt),
            "le" => num_op(compare::Cmp::Le),
            "lt" => num_op(compare::Cmp::Lt),
            "validatebyterange" => Kind::ByteRange(validate::ByteRange::new(argument, warnings)),
            "validateurlencoding" => Kind::UrlEncoding,
            "validateutf8encoding" => Kind::Utf8Encoding,
            "ipmatch" => Kind::Ip(ip::IpSet::from_list(argument).map_err(fail)?),
            "ipmatchfromfile" | "ipmatchf" => {
                no_macro("file names")?;
                Kind::Ip(ip::IpSet::from_files(argument, files).map_err(fail)?)
            }
            "verifycc" | "verifycpf" | "verifyssn" | "verifysvnr" => {
                let check = match lower.as_str() {
                    "verifycc" => verify::Check::CreditCard,
                    "verifycpf" => verify::Check::Cpf,
                    "verifyssn" => verify::Check::Ssn,
                    _ => verify::Check::Svnr,
                };
                Kind::Verify(verify::Verify::new(check, argument).map_err(fail)?)
            }
            "detectsqli" => Kind::DetectSqli,
            "detectxss" => Kind::DetectXss,
            "unconditionalmatch" => Kind::Always,
            "nomatch" => Kind::Never,
            "geolookup" | "rbl" | "validatedtd" | "validateschema" => {
                warnings.push(format!(
                    "@{name} is not available in this proxy; the operator never matches"
                ));
                Kind::Never
            }
            "inspectfile" | "fuzzyhash" | "rsub" | "gsblookup" | "validatehash" => {
                return Err(format!("@{name} is not supported in a proxy"));
            }
            _ => return Err(format!("unknown operator @{name}")),
        };
        Ok(Operator { name: name.to_string(), arg, kind })
    }

    /// The operator's name as written in rules, without `@`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The argument as written in the rule.
    pub fn argument(&self) -> &str {
        self.arg.text()
    }

    /// True when the argument contains a macro (`%{...}`) that is expanded, through
    /// [`EvalContext::expand`], on every evaluation.
    pub fn has_macros(&self) -> bool {
        match &self.kind {
            Kind::Rx(_) | Kind::Str(_) | Kind::Num(_) => self.arg.has_macro(),
            _ => false,
        }
    }

    /// Builds what is otherwise built on first use (regex and phrase
    /// automata), so a host can pay that before traffic arrives. Returns
    /// whether there was anything to build.
    pub fn warm_up(&self) -> bool {
        match &self.kind {
            Kind::Rx(rx) => rx.warm_up(),
            Kind::Pm(pm) => pm.warm_up(),
            _ => false,
        }
    }

    /// For `@rx` without macros: which engine runs the pattern.
    pub fn regex_engine(&self) -> Option<RegexEngine> {
        match &self.kind {
            Kind::Rx(rx) => rx.engine(),
            _ => None,
        }
    }

    /// Evaluates against one (already transformed) value.
    pub fn evaluate(&self, input: &[u8], ctx: &mut EvalContext<'_>) -> bool {
        match &self.kind {
            Kind::Rx(rx) => rx.evaluate(input, ctx),
            Kind::Pm(pm) => pm.evaluate(input, ctx),
            Kind::Str(op) => op.evaluate(input, ctx),
            Kind::Num(op) => op.evaluate(input, ctx),
            Kind::ByteRange(r) => r.evaluate(input),
            Kind::UrlEncoding => validate::invalid_url_encoding(input),
            Kind::Utf8Encoding => validate::invalid_utf8(input),
            Kind::Ip(set) => set.contains(input),
            Kind::Verify(v) => v.evaluate(input, ctx),
            Kind::DetectSqli => match crate::libinjection::detect_sqli(input) {
                Some(fingerprint) => {
                    if let Some(slots) = ctx.captures.as_deref_mut() {
                        set_capture(&mut slots[0], fingerprint.as_bytes());
                    }
                    true
                }
                None => false,
            },
            Kind::DetectXss => crate::libinjection::detect_xss(input),
            Kind::Always => true,
            Kind::Never => false,
        }
    }
}

fn is_known(lower: &str) -> bool {
    matches!(
        lower,
        "rx" | "pm"
            | "pmfromfile"
            | "pmf"
            | "streq"
            | "strmatch"
            | "contains"
            | "containsword"
            | "beginswith"
            | "endswith"
            | "within"
            | "eq"
            | "ge"
            | "gt"
            | "le"
            | "lt"
            | "validatebyterange"
            | "ipmatch"
            | "ipmatchfromfile"
            | "ipmatchf"
            | "verifycc"
            | "verifycpf"
            | "verifyssn"
            | "verifysvnr"
            | "rbl"
            | "validatedtd"
            | "validateschema"
            | "inspectfile"
            | "fuzzyhash"
            | "rsub"
            | "gsblookup"
            | "validatehash"
    )
}

/// An operator argument, literal or with macros.
pub(crate) struct Arg {
    text: String,
    has_macro: bool,
}

impl Arg {
    pub(crate) fn new(text: &str) -> Arg {
        // A macro is `%{` followed later by `}`, as ModSecurity's run-time strings
        // recognise it.
        let has_macro = text
            .find("%{")
            .is_some_and(|start| text[start + 2..].contains('}'));
        Arg { text: text.to_string(), has_macro }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn has_macro(&self) -> bool {
        self.has_macro
    }

    /// The argument's value for this evaluation.
    pub(crate) fn value(&self, ctx: &EvalContext<'_>) -> Cow<'_, [u8]> {
        if self.has_macro {
            Cow::Owned((ctx.expand)(&self.text))
        } else {
            Cow::Borrowed(self.text.as_bytes())
        }
    }
}

/// Stores `value` in a capture slot, reusing the slot's buffer.
pub(crate) fn set_capture(slot: &mut Option<Vec<u8>>, value: &[u8]) {
    let buf = slot.get_or_insert_with(Vec::new);
    buf.clear();
    buf.extend_from_slice(value);
}

#[cfg(test)]
mod tests;
