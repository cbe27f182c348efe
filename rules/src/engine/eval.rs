//! Running one phase: rule order, chains, transformations, operators and actions.
//!
//! Semantics follow ModSecurity v3: a rule collects the values of its targets
//! (minus exclusions), transforms each one, and runs the operator on it. Each
//! match updates MATCHED_VAR(S) and runs the rule's `setvar`s at once; when the
//! rule and its whole chain matched, the other actions run (`ctl`, flow), the
//! match is recorded, and the disruptive action applies if the engine is On.

use super::data::{collect, lookup, Item, Items, MatchedVar, Origin, Stores, TxData};
use super::load::RuleMatcher;
use super::rule::{Entry, Rule};
use super::{EngineMode, Intervention, MatchedRule, RuleSet};
use crate::actions::{AllowScope, Ctl, Disruptive, SetOp, SEVERITIES};
use crate::macros::{MacroText, Piece};
use crate::operators::EvalContext;
use crate::variables::{Scalar, Store, Target, Var};
use std::borrow::Cow;
use std::sync::Arc;

/// Longest matched value kept in a report.
const MAX_REPORTED_VALUE: usize = 512;

/// Per-transaction evaluation state besides the data.
pub(crate) struct State {
    pub mode: EngineMode,
    pub removed: Vec<RuleMatcher>,
    pub removed_targets: Vec<(RuleMatcher, Target)>,
    pub matched: Vec<MatchedRule>,
    pub intervention: Option<Intervention>,
    /// An enforced disruptive action stopped the request/response phases.
    pub interrupted: bool,
    pub allow: Option<(AllowScope, u8)>,
    pub request_body_access: bool,
    pub response_body_access: bool,
    pub force_request_body_variable: bool,
    pub audit_engine: Option<String>,
    pub audit_log_parts: Option<String>,
    pub highest_severity: Option<u8>,
    pub cache: rustc_hash::FxHashMap<(Origin, u32), Cached>,
    pub matched_var: Option<MatchedVar>,
}

/// Everything a phase run touches.
pub(crate) struct Run<'a> {
    pub rules: &'a RuleSet,
    pub data: &'a mut TxData,
    pub stores: &'a mut Stores,
    pub st: &'a mut State,
}

/// One value that matched, kept for the report and MATCHED_VARS.
type Hit = MatchedVar;

impl Run<'_> {
    /// Runs all rules of `phase`.
    pub fn phase(&mut self, phase: u8) {
        if self.st.mode == EngineMode::Off {
            return;
        }
        if let Some((scope, at)) = self.st.allow {
            let skip = match scope {
                AllowScope::All => true,
                AllowScope::Request => phase <= 2,
                AllowScope::Phase => phase == at,
            };
            if skip && phase != 5 {
                return;
            }
        }
        let list = &self.rules.phases[phase as usize];
        let mut i = 0;
        let mut skip = 0u32;
        while i < list.len() {
            let rule = match &list[i] {
                Entry::Marker(_) => {
                    i += 1;
                    continue;
                }
                Entry::Rule(r) => r,
            };
            if skip > 0 {
                skip -= 1;
                i += 1;
                continue;
            }
            if self.is_removed(rule) {
                i += 1;
                continue;
            }
            self.data.matched_vars.clear();
            let mut hits = Vec::new();
            if !self.eval_rule(rule, rule, &mut hits) {
                i += 1;
                continue;
            }
            self.record(rule, &hits, phase);
            if self.apply_disruptive(rule, phase) {
                return;
            }
            if rule.actions.skip > 0 {
                skip = rule.actions.skip;
            }
            if let Some(marker) = &rule.actions.skip_after {
                i = self.rules.find_marker(phase, i, marker);
                continue;
            }
            i += 1;
        }
    }

    fn is_removed(&self, rule: &Rule) -> bool {
        self.st.removed.iter().any(|m| m.matches(rule))
    }

    /// Evaluates `rule` (a chain link of `head`). Returns whether it and the
    /// rest of its chain matched.
    fn eval_rule(&mut self, rule: &Rule, head: &Rule, hits: &mut Vec<Hit>) -> bool {
        let mut matched_any = false;
        {
            let data: &TxData = self.data;
            let st = &mut *self.st;
            let stores = &mut *self.stores;
            let mut items: Items = Items::new();
            {
                let removed = &st.removed_targets;
                let excluded = |var: Var, key: &[u8]| {
                    rule.exclusions.iter().any(|t| t.var == var && t.selector.selects(key))
                        || (!removed.is_empty() && st_removed_target(removed, head, var, key))
                };
                for t in &rule.targets {
                    if !removed.is_empty() && st_removed_whole(removed, head, t) {
                        continue;
                    }
                    collect(t, data, stores, st.matched_var.as_ref(), &excluded, &mut items);
                }
            }
            if rule.targets.is_empty() {
                // SecAction: the operator (unconditional) runs once, on nothing.
                items.push(Item { var: Var::Scalar(Scalar::RequestLine), key: None, value: Cow::Borrowed(b""), origin: None });
            }
            let transforms = &rule.actions.transformations;
            let mut captures: [Option<Vec<u8>>; 10] = Default::default();
            for item in &items {
                if rule.actions.multi_match {
                    // The operator sees the value before and after every transformation that changed it.
                    let mut cur: Vec<u8> = item.value.to_vec();
                    if test_value(rule, item, &cur, data, stores, st, &mut captures, hits) {
                        matched_any = true;
                    }
                    for t in transforms {
                        if let Cow::Owned(next) = t.apply(&cur) {
                            cur = next;
                            if test_value(rule, item, &cur, data, stores, st, &mut captures, hits) {
                                matched_any = true;
                            }
                        }
                    }
                    continue;
                }
                let hit = if transforms.is_empty() {
                    test_value(rule, item, &item.value, data, stores, st, &mut captures, hits)
                } else if let Some(origin) = item.origin {
                    let key = (origin, rule.transform_id);
                    let cached = match st.cache.get(&key) {
                        Some(c) => c.clone(),
                        None => {
                            let c = match apply_all(transforms, &item.value) {
                                Cow::Borrowed(_) => Cached::Same,
                                Cow::Owned(v) => Cached::Value(Arc::from(v)),
                            };
                            st.cache.insert(key, c.clone());
                            c
                        }
                    };
                    match &cached {
                        Cached::Same => test_value(rule, item, &item.value, data, stores, st, &mut captures, hits),
                        Cached::Value(v) => test_value(rule, item, v, data, stores, st, &mut captures, hits),
                    }
                } else {
                    let v = apply_all(transforms, &item.value);
                    test_value(rule, item, &v, data, stores, st, &mut captures, hits)
                };
                matched_any |= hit;
            }
        }
        if !matched_any {
            self.st.matched_var = None;
            self.data.matched_vars.clear();
            return false;
        }
        // Publish this link's matches.
        self.data.matched_vars.clone_from(hits);
        if let Some(child) = rule.chained.as_deref() {
            hits.clear();
            if !self.eval_rule(child, head, hits) {
                return false;
            }
        }
        self.after_match(rule);
        true
    }

    /// Actions that run once the rule and its chain matched.
    fn after_match(&mut self, rule: &Rule) {
        // initcol needs nothing here: persistent collections live for one
        // transaction in this engine.
        for ctl in &rule.actions.ctls {
            self.apply_ctl(ctl);
        }
    }

    fn apply_ctl(&mut self, ctl: &Ctl) {
        match ctl {
            Ctl::RuleEngine(m) => self.st.mode = *m,
            Ctl::RuleRemoveById(r) => self.st.removed.push(RuleMatcher::Ids(r.clone())),
            Ctl::RuleRemoveByTag(t) => self.st.removed.push(RuleMatcher::Tag(t.clone())),
            Ctl::RuleRemoveByMsg(m) => self.st.removed.push(RuleMatcher::Msg(m.clone())),
            Ctl::RuleRemoveTargetById(r, targets) => {
                for t in targets {
                    self.st.removed_targets.push((RuleMatcher::Ids(r.clone()), t.clone()));
                }
            }
            Ctl::RuleRemoveTargetByTag(tag, targets) => {
                for t in targets {
                    self.st.removed_targets.push((RuleMatcher::Tag(tag.clone()), t.clone()));
                }
            }
            Ctl::RuleRemoveTargetByMsg(msg, targets) => {
                for t in targets {
                    self.st.removed_targets.push((RuleMatcher::Msg(msg.clone()), t.clone()));
                }
            }
            Ctl::RequestBodyProcessor(p) => self.data.set_scalar(Scalar::ReqbodyProcessor, p.clone().into_bytes()),
            Ctl::ForceRequestBodyVariable(b) => self.st.force_request_body_variable = *b,
            Ctl::RequestBodyAccess(b) => self.st.request_body_access = *b,
            Ctl::ResponseBodyAccess(b) => self.st.response_body_access = *b,
            Ctl::RequestBodyLimit(_) | Ctl::ResponseBodyLimit(_) | Ctl::NoEffect(_) => {}
            Ctl::AuditEngine(v) => self.st.audit_engine = Some(v.clone()),
            Ctl::AuditLogParts(v) => self.st.audit_log_parts = Some(v.clone()),
        }
    }

    /// Records a full match of `rule` for the report.
    fn record(&mut self, rule: &Rule, hits: &[Hit], phase: u8) {
        let a = &rule.actions;
        if let Some(sev) = a.severity {
            let highest = self.st.highest_severity.map_or(sev, |h| h.min(sev));
            self.st.highest_severity = Some(highest);
            self.data.set_scalar(Scalar::HighestSeverity, highest.to_string().into_bytes());
        }
        // Like ModSecurity, a `nolog` rule leaves no message behind.
        if !rule.log {
            return;
        }
        let matched = self.st.matched_var.as_ref();
        let msg = a.msg.as_ref().map(|m| lossy(&expand_macro(m, self.data, self.stores, matched))).unwrap_or_default();
        let data = a.logdata.as_ref().map(|m| lossy(&expand_macro(m, self.data, self.stores, matched))).unwrap_or_default();
        let (variable, value) = match hits.last() {
            Some(h) => (h.name(), truncate(&h.value)),
            None => (String::new(), String::new()),
        };
        self.st.matched.push(MatchedRule {
            id: rule.id,
            phase,
            msg,
            data,
            severity: a.severity,
            tags: a.tags.clone(),
            variable,
            value,
            logged: rule.log,
            disruptive: rule.disruptive().name().to_string(),
            file: rule.location.file.to_string(),
            line: rule.location.line,
            ver: a.ver.clone().unwrap_or_default(),
            operator: rule.operator_text.clone(),
        });
    }

    /// Applies the rule's disruptive action. Returns true when the phase stops.
    fn apply_disruptive(&mut self, rule: &Rule, phase: u8) -> bool {
        let d = rule.disruptive().clone();
        let (status, redirect) = match &d {
            Disruptive::Pass | Disruptive::Block => return false,
            Disruptive::Allow(scope) => {
                if self.st.mode == EngineMode::On {
                    self.st.allow = Some((*scope, phase));
                    return true;
                }
                return false;
            }
            Disruptive::Deny | Disruptive::Drop => (rule.actions.status.unwrap_or(403), None),
            Disruptive::Redirect(m) => {
                let url = lossy(&expand_macro(m, self.data, self.stores, self.st.matched_var.as_ref()));
                (rule.actions.status.filter(|s| (300..400).contains(s)).unwrap_or(302), Some(url))
            }
        };
        if self.st.intervention.is_none() {
            self.st.intervention = Some(Intervention { status, redirect, rule_id: rule.id, action: d.name().to_string() });
        }
        if self.st.mode == EngineMode::On {
            self.st.interrupted = true;
            return true;
        }
        false
    }
}

/// A transformation result kept for the rest of the phase.
#[derive(Clone)]
pub(crate) enum Cached {
    /// The transformations left the value as it was.
    Same,
    Value(Arc<[u8]>),
}

fn apply_all<'v>(transforms: &[crate::transformations::Transformation], value: &'v [u8]) -> Cow<'v, [u8]> {
    let mut cur: Cow<'v, [u8]> = Cow::Borrowed(value);
    for t in transforms {
        if let Cow::Owned(next) = t.apply(&cur) {
            cur = Cow::Owned(next);
        }
    }
    cur
}

/// Runs the operator on one (transformed) value; on a match, records it and
/// runs the rule's per-match actions (captures, MATCHED_VAR, setvar).
#[allow(clippy::too_many_arguments)]
fn test_value(
    rule: &Rule,
    item: &Item,
    value: &[u8],
    data: &TxData,
    stores: &mut Stores,
    st: &mut State,
    captures: &mut [Option<Vec<u8>>; 10],
    hits: &mut Vec<Hit>,
) -> bool {
    let want_capture = rule.actions.capture;
    let ok = {
        let stores_ro: &Stores = stores;
        let matched = &st.matched_var;
        let expand = |text: &str| -> Vec<u8> {
            if let Some(m) = rule.operator_macro.as_ref().filter(|_| text == rule.operator.argument()) {
                return expand_macro(m, data, stores_ro, matched.as_ref());
            }
            match MacroText::parse(text) {
                Ok(m) => expand_macro(&m, data, stores_ro, matched.as_ref()),
                Err(_) => text.as_bytes().to_vec(),
            }
        };
        let mut ctx = EvalContext { expand: &expand, captures: if want_capture { Some(captures) } else { None } };
        rule.operator.evaluate(value, &mut ctx)
    };
    if ok == rule.negated {
        return false;
    }
    if want_capture {
        for (n, c) in captures.iter_mut().enumerate() {
            if let Some(c) = c.take() {
                stores.get_mut(Store::Tx).set(n.to_string().as_bytes(), c);
            }
        }
    }
    let m = MatchedVar { var: item.var, key: item.key.as_ref().map(|k| k.to_vec()), value: value.to_vec() };
    // MATCHED_VARS and the report need every hit only for chain links and
    // logged rules; other rules only leave MATCHED_VAR behind.
    if rule.chained.is_some() || rule.log || rule.id == 0 {
        hits.push(m.clone());
    }
    st.matched_var = Some(m);
    for sv in &rule.actions.setvars {
        apply_setvar(sv, data, stores, &st.matched_var);
    }
    true
}

fn st_removed_target(removed: &[(RuleMatcher, Target)], head: &Rule, var: Var, key: &[u8]) -> bool {
    removed.iter().any(|(m, t)| t.var == var && !matches!(t.selector, crate::variables::Selector::All) && t.selector.selects(key) && m.matches(head))
}

fn st_removed_whole(removed: &[(RuleMatcher, Target)], head: &Rule, target: &Target) -> bool {
    removed.iter().any(|(m, t)| {
        t.var == target.var && matches!(t.selector, crate::variables::Selector::All) && m.matches(head)
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn truncate(v: &[u8]) -> String {
    let cut = &v[..v.len().min(MAX_REPORTED_VALUE)];
    lossy(cut)
}

/// Expands a macro text against the transaction.
pub(crate) fn expand_macro(m: &MacroText, data: &TxData, stores: &Stores, matched: Option<&MatchedVar>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in &m.pieces {
        match p {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Ref(r) => match (r.var, &r.key) {
                (Var::Scalar(Scalar::MatchedVar), _) => {
                    if let Some(mv) = matched {
                        out.extend_from_slice(&mv.value)
                    }
                }
                (Var::Scalar(Scalar::MatchedVarName), _) => {
                    if let Some(mv) = matched {
                        out.extend_from_slice(mv.name().as_bytes())
                    }
                }
                (var, key) => {
                    if let Some(v) = lookup(data, stores, var, key.as_deref()) {
                        out.extend_from_slice(&v);
                    }
                }
            },
        }
    }
    out
}

/// C `atoi`-like parse: optional spaces and sign, then digits; anything else is 0.
pub(crate) fn atoi(v: &[u8]) -> i64 {
    let mut i = 0;
    while i < v.len() && v[i].is_ascii_whitespace() {
        i += 1;
    }
    let mut neg = false;
    if i < v.len() && (v[i] == b'-' || v[i] == b'+') {
        neg = v[i] == b'-';
        i += 1;
    }
    let mut n: i64 = 0;
    while i < v.len() && v[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add((v[i] - b'0') as i64);
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
}

fn apply_setvar(sv: &crate::actions::SetVar, data: &TxData, stores: &mut Stores, matched: &Option<MatchedVar>) {
    let m = matched.as_ref();
    let key = expand_macro(&sv.key, data, stores, m).to_ascii_lowercase();
    match &sv.op {
        SetOp::Delete => stores.get_mut(sv.store).remove(&key),
        SetOp::Set(v) => {
            let value = expand_macro(v, data, stores, m);
            stores.get_mut(sv.store).set(&key, value);
        }
        SetOp::Add(v) | SetOp::Sub(v) => {
            let delta = atoi(&expand_macro(v, data, stores, m));
            let cur = stores.get(sv.store).get(&key).map(atoi).unwrap_or(0);
            let new = if matches!(sv.op, SetOp::Add(_)) { cur.saturating_add(delta) } else { cur.saturating_sub(delta) };
            stores.get_mut(sv.store).set(&key, new.to_string().into_bytes());
        }
    }
}

/// The severity name for a number.
pub fn severity_name(s: u8) -> &'static str {
    SEVERITIES.get(s as usize).copied().unwrap_or("UNKNOWN")
}
