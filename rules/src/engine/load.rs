//! Loading configuration: directives → a compiled [`RuleSet`].
//!
//! Follows `Include` (with globs), applies SecDefaultAction to the rules after
//! it, links `chain`ed rules, places SecMarkers in every phase, and applies
//! the SecRuleRemove* / SecRuleUpdate* directives once everything is read (as
//! ModSecurity v3 does, they affect rules wherever they were defined).

use super::rule::{Entry, Rule};
use super::{Config, ConfigError, ConfigSource, RuleSet};
use crate::actions::{parse_engine_mode, Actions, Disruptive, IdRange};
use crate::operators::{DataFiles, Operator};
use crate::parser::{self, Directive, Location};
use crate::transformations::Transformation;
use crate::variables::{parse_targets, Target};
use std::collections::{HashMap, HashSet};

const MAX_INCLUDE_DEPTH: usize = 16;

/// What a SecRuleUpdateTarget* / SecRuleRemove* directive selects.
#[derive(Clone, Debug)]
pub(crate) enum RuleMatcher {
    Ids(Vec<IdRange>),
    Tag(String),
    Msg(String),
}

impl RuleMatcher {
    pub(crate) fn matches(&self, rule: &Rule) -> bool {
        match self {
            RuleMatcher::Ids(r) => r.iter().any(|r| r.contains(rule.id)),
            RuleMatcher::Tag(t) => rule.has_tag(t),
            RuleMatcher::Msg(m) => rule.literal_msg() == Some(m.as_str()),
        }
    }
}

struct DefaultAction {
    disruptive: Disruptive,
    log: bool,
    transformations: Vec<Transformation>,
}

pub(crate) struct Loader<'s> {
    source: &'s dyn ConfigSource,
    config: Config,
    phases: [Vec<Entry>; 6],
    defaults: [Option<DefaultAction>; 6],
    chain: Vec<Rule>,
    removals: Vec<RuleMatcher>,
    target_updates: Vec<(RuleMatcher, Vec<Target>, Option<Vec<Target>>, Location)>,
    action_updates: Vec<(u32, Actions, Location)>,
    warnings: Vec<String>,
    ids: HashSet<u32>,
}

impl<'s> Loader<'s> {
    pub(crate) fn new(source: &'s dyn ConfigSource) -> Self {
        Loader {
            source,
            config: Config::default(),
            phases: Default::default(),
            defaults: Default::default(),
            chain: Vec::new(),
            removals: Vec::new(),
            target_updates: Vec::new(),
            action_updates: Vec::new(),
            warnings: Vec::new(),
            ids: HashSet::new(),
        }
    }

    pub(crate) fn load_text(&mut self, name: &str, text: &str, depth: usize) -> Result<(), ConfigError> {
        for d in parser::directives(name, text)? {
            self.directive(&d, depth)?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<(RuleSet, Vec<String>), ConfigError> {
        if let Some(last) = self.chain.last() {
            return Err(last.location.error("rule has `chain` but no rule follows it"));
        }
        // Apply removals and updates to every rule, wherever it was defined.
        for list in self.phases.iter_mut() {
            list.retain(|e| match e {
                Entry::Rule(r) => !self.removals.iter().any(|m| m.matches(r)),
                Entry::Marker(_) => true,
            });
            for e in list.iter_mut() {
                let Entry::Rule(rule) = e else { continue };
                for (m, add, replace, _) in &self.target_updates {
                    if !m.matches(rule) {
                        continue;
                    }
                    match replace {
                        None => {
                            for t in add {
                                if t.exclude {
                                    rule.exclusions.push(t.clone())
                                } else {
                                    rule.targets.push(t.clone())
                                }
                            }
                        }
                        Some(old) => {
                            let names: Vec<String> = old.iter().map(Target::describe).collect();
                            rule.targets.retain(|t| !names.contains(&t.describe()));
                            rule.targets.extend(add.iter().filter(|t| !t.exclude).cloned());
                            rule.exclusions.extend(add.iter().filter(|t| t.exclude).cloned());
                        }
                    }
                }
                for (id, actions, _) in &self.action_updates {
                    if rule.id == *id {
                        rule.actions.update_with(actions.clone());
                        if let Some(log) = actions.log {
                            rule.log = log;
                        }
                    }
                }
            }
        }
        // Intern the transformation lists (final after the updates above).
        let mut ids = HashMap::new();
        for list in self.phases.iter_mut() {
            for e in list.iter_mut() {
                if let Entry::Rule(rule) = e {
                    intern_all(rule, &mut ids);
                }
            }
        }
        let rs = RuleSet::from_parts(self.config, self.phases);
        Ok((rs, self.warnings))
    }

    fn warn(&mut self, loc: &Location, msg: String) {
        self.warnings.push(format!("{}:{}: {}", loc.file, loc.line, msg));
    }

    fn directive(&mut self, d: &Directive, depth: usize) -> Result<(), ConfigError> {
        let loc = &d.location;
        let name = d.name.to_ascii_lowercase();
        if !self.chain.is_empty() && name != "secrule" {
            return Err(loc.error(format!("`{}` found where the chained rule was expected", d.name)));
        }
        let arg = |i: usize| -> Result<&str, ConfigError> {
            d.args.get(i).map(String::as_str).ok_or_else(|| loc.error(format!("`{}` expects an argument", d.name)))
        };
        let exactly = |n: usize| -> Result<(), ConfigError> {
            if d.args.len() != n {
                return Err(loc.error(format!("`{}` expects {n} argument(s), got {}", d.name, d.args.len())));
            }
            Ok(())
        };
        let on_off = |v: &str| -> Result<bool, ConfigError> {
            match v.to_ascii_lowercase().as_str() {
                "on" => Ok(true),
                "off" => Ok(false),
                _ => Err(loc.error(format!("`{}` expects On or Off, got `{v}`", d.name))),
            }
        };
        let number = |v: &str| -> Result<u64, ConfigError> {
            v.parse::<u64>().map_err(|_| loc.error(format!("`{}` expects a number, got `{v}`", d.name)))
        };
        match name.as_str() {
            "include" | "includeoptional" => {
                exactly(1)?;
                self.include(arg(0)?, loc, depth, name == "includeoptional")?;
            }
            "secrule" => {
                if d.args.len() < 2 || d.args.len() > 3 {
                    return Err(loc.error(format!("SecRule expects VARIABLES OPERATOR [ACTIONS], got {} argument(s)", d.args.len())));
                }
                let actions = d.args.get(2).map(String::as_str).unwrap_or("");
                self.rule(Some(arg(0)?), arg(1)?, actions, loc)?;
            }
            "secaction" => {
                exactly(1)?;
                self.rule(None, "@unconditionalMatch", arg(0)?, loc)?;
            }
            "secmarker" => {
                exactly(1)?;
                for list in self.phases.iter_mut().skip(1) {
                    list.push(Entry::Marker(d.args[0].clone()));
                }
            }
            "secdefaultaction" => {
                exactly(1)?;
                let a = Actions::parse(arg(0)?).map_err(|e| loc.error(e))?;
                let phase = a.phase.ok_or_else(|| loc.error("SecDefaultAction must name a phase"))?;
                if a.id.is_some() || a.chain || a.skip_after.is_some() || a.msg.is_some() {
                    return Err(loc.error("SecDefaultAction may not carry id, msg, chain or skipAfter"));
                }
                let disruptive = match a.disruptive {
                    Some(Disruptive::Block) => return Err(loc.error("SecDefaultAction cannot use `block`")),
                    Some(d) => d,
                    None => Disruptive::Pass,
                };
                self.defaults[phase as usize] =
                    Some(DefaultAction { disruptive, log: a.log.unwrap_or(true), transformations: a.transformations });
            }
            "secruleengine" => {
                exactly(1)?;
                self.config.engine_mode = parse_engine_mode(arg(0)?).map_err(|e| loc.error(e))?;
            }
            "secrequestbodyaccess" => {
                exactly(1)?;
                self.config.request_body_access = on_off(arg(0)?)?;
            }
            "secresponsebodyaccess" => {
                exactly(1)?;
                self.config.response_body_access = on_off(arg(0)?)?;
            }
            "secrequestbodylimit" => self.config.request_body_limit = number(arg(0)?)?,
            "secrequestbodynofileslimit" => self.config.request_body_no_files_limit = number(arg(0)?)?,
            "secrequestbodyinmemorylimit" => {
                number(arg(0)?)?;
            }
            "secresponsebodylimit" => self.config.response_body_limit = number(arg(0)?)?,
            "secrequestbodylimitaction" | "secresponsebodylimitaction" => {
                exactly(1)?;
                let reject = match arg(0)?.to_ascii_lowercase().as_str() {
                    "reject" => true,
                    "processpartial" => false,
                    v => return Err(loc.error(format!("`{}` expects Reject or ProcessPartial, got `{v}`", d.name))),
                };
                if name == "secrequestbodylimitaction" {
                    self.config.request_body_limit_reject = reject;
                } else {
                    self.config.response_body_limit_reject = reject;
                }
            }
            "secresponsebodymimetype" => {
                for t in &d.args {
                    for part in t.split_whitespace() {
                        self.config.response_mime_types.push(part.to_ascii_lowercase());
                    }
                }
            }
            "secresponsebodymimetypesclear" => self.config.response_mime_types.clear(),
            "secargumentseparator" => {
                exactly(1)?;
                let s = arg(0)?;
                if s.len() != 1 {
                    return Err(loc.error(format!("SecArgumentSeparator expects one character, got `{s}`")));
                }
                self.config.argument_separator = s.as_bytes()[0];
            }
            "seccollectiontimeout" => self.config.collection_timeout = number(arg(0)?)?,
            "secrequestbodyjsondepthlimit" => self.config.json_depth_limit = number(arg(0)?)? as usize,
            "secargumentslimit" => self.config.arguments_limit = number(arg(0)?)? as usize,
            "seccomponentsignature" => {
                exactly(1)?;
                self.config.component_signatures.push(arg(0)?.to_string());
            }
            "secruleremovebyid" => {
                let mut ranges = Vec::new();
                for a in &d.args {
                    for part in a.split([' ', ',']).filter(|x| !x.is_empty()) {
                        ranges.push(IdRange::parse(part).map_err(|e| loc.error(e))?);
                    }
                }
                if ranges.is_empty() {
                    return Err(loc.error("SecRuleRemoveById expects rule ids"));
                }
                self.removals.push(RuleMatcher::Ids(ranges));
            }
            "secruleremovebytag" => {
                for a in &d.args {
                    self.removals.push(RuleMatcher::Tag(a.clone()));
                }
            }
            "secruleremovebymsg" => {
                for a in &d.args {
                    self.removals.push(RuleMatcher::Msg(a.clone()));
                }
            }
            "secruleupdatetargetbyid" | "secruleupdatetargetbytag" | "secruleupdatetargetbymsg" => {
                if d.args.len() < 2 || d.args.len() > 3 {
                    return Err(loc.error(format!("`{}` expects RULE TARGETS [REPLACED]", d.name)));
                }
                let which = arg(0)?;
                let matcher = match name.as_str() {
                    "secruleupdatetargetbyid" => {
                        let ranges = which
                            .split([' ', ','])
                            .filter(|x| !x.is_empty())
                            .map(IdRange::parse)
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|e| loc.error(e))?;
                        RuleMatcher::Ids(ranges)
                    }
                    "secruleupdatetargetbytag" => RuleMatcher::Tag(which.to_string()),
                    _ => RuleMatcher::Msg(which.to_string()),
                };
                let targets = parse_targets(arg(1)?).map_err(|e| loc.error(e))?;
                let replaced = match d.args.get(2) {
                    Some(r) => Some(parse_targets(r).map_err(|e| loc.error(e))?),
                    None => None,
                };
                self.target_updates.push((matcher, targets, replaced, loc.clone()));
            }
            "secruleupdateactionbyid" => {
                exactly(2)?;
                let id_text = arg(0)?;
                let id = id_text
                    .split(':')
                    .next()
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .ok_or_else(|| loc.error(format!("SecRuleUpdateActionById: bad rule id `{id_text}`")))?;
                let a = Actions::parse(arg(1)?).map_err(|e| loc.error(e))?;
                if a.id.is_some() || a.phase.is_some() || a.chain {
                    return Err(loc.error("SecRuleUpdateActionById may not change id, phase or chain"));
                }
                self.action_updates.push((id, a, loc.clone()));
            }
            // Directives that are meaningless inside a proxy-embedded engine.
            "secauditengine" | "secauditlog" | "secauditlog2" | "secauditlogparts" | "secauditlogtype"
            | "secauditlogstoragedir" | "secauditlogformat" | "secauditlogrelevantstatus" | "secauditlogdirmode"
            | "secauditlogfilemode" | "secdebuglog" | "secdebugloglevel" | "sectmpdir" | "secdatadir" | "secuploaddir"
            | "secuploadkeepfiles" | "secuploadfilemode" | "secuploadfilelimit" | "seccookieformat" | "secunicodemapfile"
            | "secstatusengine" | "secpcrematchlimit" | "secpcrematchlimitrecursion" | "secxmlexternalentity"
            | "secserversignature" | "secwebappid" | "sechttpblkey" | "secgeolookupdb" | "secgsblookupdb" | "sectmpsaveuploadedfiles"
            | "secconnengine" | "secremoterulesfailaction" | "secsensorid" | "sechashengine" | "sechashkey"
            | "sechashparam" | "sechashmethodrx" | "sechashmethodpm" | "secinterceptonerror" | "secstreaminbodyinspection"
            | "secstreamoutbodyinspection" | "secruleperftime" | "secconnreadstatelimit" | "secconnwritestatelimit"
            | "seccontentinjection" | "secdisablebackendcompression" | "secguardianlog" | "secchrootdir" | "secreadstatelimit"
            | "secruleinheritance" | "secrulescript" | "secparsexmlintoargs" => {
                self.warn(loc, format!("`{}` has no effect in Palisade and is ignored", d.name));
            }
            "secremoterules" => return Err(loc.error("SecRemoteRules is not supported: load rules from files")),
            _ => return Err(loc.error(format!("unknown directive `{}`", d.name))),
        }
        Ok(())
    }

    fn include(&mut self, path: &str, loc: &Location, depth: usize, optional: bool) -> Result<(), ConfigError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(loc.error(format!("Include nested more than {MAX_INCLUDE_DEPTH} levels (a cycle?)")));
        }
        let resolved = resolve_path(&loc.file, path);
        let files = if resolved.contains(['*', '?', '[']) {
            let found = self.source.glob(&resolved).map_err(|e| loc.error(e))?;
            if found.is_empty() && !optional {
                return Err(loc.error(format!("Include `{path}` matched no files")));
            }
            found
        } else {
            vec![resolved]
        };
        for f in files {
            let bytes = match self.source.read(&f) {
                Ok(b) => b,
                Err(_) if optional => continue,
                Err(e) => return Err(loc.error(format!("Include: {e}"))),
            };
            let text = String::from_utf8(bytes).map_err(|e| loc.error(format!("{f} is not valid UTF-8 at byte {}", e.utf8_error().valid_up_to())))?;
            self.load_text(&f, &text, depth + 1)?;
        }
        Ok(())
    }

    fn rule(&mut self, vars: Option<&str>, op: &str, actions: &str, loc: &Location) -> Result<(), ConfigError> {
        let mut a = Actions::parse(actions).map_err(|e| loc.error(e))?;
        for ignored in &a.ignored {
            self.warnings.push(format!("{}:{}: action `{ignored}` has no effect in Palisade", loc.file, loc.line));
        }
        let is_child = !self.chain.is_empty();
        let (targets, exclusions) = match vars {
            Some(v) => {
                let all = parse_targets(v).map_err(|e| loc.error(e))?;
                let (ex, pos): (Vec<_>, Vec<_>) = all.into_iter().partition(|t| t.exclude);
                (pos, ex)
            }
            None => (Vec::new(), Vec::new()),
        };
        let (negated, op_name, op_arg) = split_operator(op);
        let files = SourceFiles { source: self.source, base: &loc.file };
        let mut warns = Vec::new();
        let operator = Operator::compile(&op_name, &op_arg, &files, &mut warns)
            .map_err(|e| loc.error(format!("operator @{op_name}: {e}")))?;
        for w in warns {
            self.warn(loc, w);
        }
        let operator_macro = if operator.has_macros() {
            Some(crate::macros::MacroText::parse(operator.argument()).map_err(|e| loc.error(format!("operator @{op_name}: {e}")))?)
        } else {
            None
        };
        let phase = if is_child {
            if a.id.is_some() || a.phase.is_some() {
                // ModSecurity rejects these too: a chained rule runs in its head's phase.
                if a.phase.is_some() {
                    return Err(loc.error("a chained rule cannot set its own phase"));
                }
                return Err(loc.error("a chained rule cannot carry its own id"));
            }
            if matches!(a.disruptive, Some(ref d) if *d != Disruptive::Pass && *d != Disruptive::Block) {
                return Err(loc.error("only the first rule of a chain may have a disruptive action"));
            }
            self.chain[0].phase
        } else {
            let id = a.id.ok_or_else(|| loc.error("rule has no `id` action"))?;
            if !self.ids.insert(id) {
                return Err(loc.error(format!("duplicate rule id {id}")));
            }
            a.phase.unwrap_or(2)
        };
        let default = self.defaults[phase as usize].as_ref();
        if !a.t_none && !is_child {
            if let Some(def) = default {
                let mut t = def.transformations.clone();
                t.extend(a.transformations.drain(..));
                a.transformations = t;
            }
        }
        let block_action = default.map(|d| d.disruptive.clone()).unwrap_or(Disruptive::Pass);
        let log = a.log.unwrap_or_else(|| default.map(|d| d.log).unwrap_or(true));
        let chain = a.chain;
        let rule = Rule {
            id: if is_child { 0 } else { a.id.unwrap_or(0) },
            phase,
            targets,
            exclusions,
            operator,
            negated,
            operator_text: op.to_string(),
            actions: a,
            block_action,
            log,
            chained: None,
            location: loc.clone(),
            transform_id: 0,
            operator_macro,
        };
        if vars.is_none() && chain {
            return Err(loc.error("SecAction cannot start a chain"));
        }
        if chain {
            self.chain.push(rule);
            return Ok(());
        }
        let mut head = rule;
        while let Some(mut parent) = self.chain.pop() {
            parent.chained = Some(Box::new(head));
            head = parent;
        }
        let p = head.phase as usize;
        self.phases[p].push(Entry::Rule(Box::new(head)));
        Ok(())
    }
}

fn intern_all(rule: &mut Rule, ids: &mut HashMap<Vec<Transformation>, u32>) {
    let next = ids.len() as u32;
    rule.transform_id = *ids.entry(rule.actions.transformations.clone()).or_insert(next);
    if let Some(c) = rule.chained.as_deref_mut() {
        intern_all(c, ids);
    }
}

/// Splits `!@rx foo` into (negated, "rx", "foo"). A missing `@` means `@rx`.
pub(crate) fn split_operator(op: &str) -> (bool, String, String) {
    let mut s = op.trim_start();
    let negated = s.starts_with('!');
    if negated {
        s = s[1..].trim_start();
    }
    if let Some(rest) = s.strip_prefix('@') {
        let (name, arg) = match rest.find(|c: char| c.is_whitespace()) {
            Some(p) => (&rest[..p], rest[p..].trim_start()),
            None => (rest, ""),
        };
        (negated, name.to_string(), arg.to_string())
    } else {
        (negated, "rx".to_string(), s.to_string())
    }
}

/// Resolves `path` relative to the directory of the file that names it.
/// Absolute paths and `@alias` paths are left alone.
pub(crate) fn resolve_path(including_file: &str, path: &str) -> String {
    if path.starts_with('/') || path.starts_with('@') {
        return path.to_string();
    }
    match including_file.rfind('/') {
        Some(p) if !including_file.starts_with('<') => format!("{}/{}", &including_file[..p], path),
        _ => path.to_string(),
    }
}

/// Data files for operators, resolved against the rule's own file.
struct SourceFiles<'a> {
    source: &'a dyn ConfigSource,
    base: &'a str,
}

impl DataFiles for SourceFiles<'_> {
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        self.source.read(&resolve_path(self.base, name))
    }
}

/// Matches a file name against a glob with `*`, `?` (and literal text).
pub(crate) fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = n;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            n = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_split() {
        assert_eq!(split_operator("!@rx ^a b"), (true, "rx".into(), "^a b".into()));
        assert_eq!(split_operator("@unconditionalMatch"), (false, "unconditionalMatch".into(), "".into()));
        assert_eq!(split_operator("foo|bar"), (false, "rx".into(), "foo|bar".into()));
    }

    #[test]
    fn globbing() {
        assert!(glob_match(b"*.conf", b"REQUEST-901.conf"));
        assert!(!glob_match(b"*.conf", b"x.conf.example"));
        assert!(glob_match(b"REQUEST-9?1*", b"REQUEST-901-X.conf"));
        assert_eq!(resolve_path("/etc/crs/setup.conf", "rules/*.conf"), "/etc/crs/rules/*.conf");
        assert_eq!(resolve_path("<inline>", "a.conf"), "a.conf");
    }
}
