//! Surgical YAML edits for the enforcement toggle: the disable label is
//! inserted into (and removed from) `spec.podSelector.matchLabels` or
//! `spec.endpointSelector.matchLabels` by editing the text, so everything
//! else in the manifest (comments, order, quoting, blank lines) stays byte
//! for byte. Every edit is checked by parsing the result: the document must
//! equal the original except for the label, else the edit is refused.
//!
//! Forms handled (block style as written by kubectl and most people):
//! `selector: {}`; `selector:` followed by a block with or without
//! `matchLabels:` (block, `{}` or flow map); `selector: {matchLabels: {..}}`.

use serde_yaml::Value;

/// The label that switches a policy off.
#[derive(Debug, Clone)]
pub struct Label {
    pub key: String,
    pub value: String,
}

impl Label {
    fn entry(&self) -> String {
        format!("{}: {}", self.key, self.value)
    }
}

/// Whether a label key or value can be written as a plain YAML scalar.
pub fn valid_label_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// The selector key for a manifest kind.
pub fn selector_for(kind: &str) -> Option<&'static str> {
    match kind {
        "NetworkPolicy" => Some("podSelector"),
        "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy" => Some("endpointSelector"),
        _ => None,
    }
}

/// Whether the parsed document carries the disable label.
pub fn is_disabled(doc: &Value, selector: &str, label: &Label) -> bool {
    doc.get("spec")
        .and_then(|s| s.get(selector))
        .and_then(|s| s.get("matchLabels"))
        .and_then(|m| m.get(label.key.as_str()))
        .and_then(Value::as_str)
        .map(|v| v == label.value)
        .unwrap_or(false)
}

/// One line: its indentation, content (without the line ending) and ending.
struct Line<'a> {
    text: &'a str,
    ending: &'a str,
}

impl<'a> Line<'a> {
    fn indent(&self) -> usize {
        self.text.len() - self.text.trim_start_matches(' ').len()
    }
    /// Blank or comment-only.
    fn is_filler(&self) -> bool {
        let t = self.text.trim();
        t.is_empty() || t.starts_with('#')
    }
    /// `key` and the value text (comment stripped, trimmed) if this line is
    /// `<indent>key:<value>`.
    fn key_value(&self, key: &str) -> Option<&'a str> {
        let t = self.text.trim_start_matches(' ');
        let rest = t.strip_prefix(key)?.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
            return None;
        }
        Some(strip_comment(rest).trim())
    }
}

fn strip_comment(s: &str) -> &str {
    // Our values never contain quotes or '#'; a " #" starts a comment.
    match s.find(" #") {
        Some(i) => &s[..i],
        None => s,
    }
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|l| {
            let (body, ending) = if let Some(b) = l.strip_suffix("\r\n") {
                (b, "\r\n")
            } else if let Some(b) = l.strip_suffix('\n') {
                (b, "\n")
            } else {
                (l, "")
            };
            Line { text: body, ending }
        })
        .collect()
}

/// The index range of the block under line `at` (lines indented deeper,
/// fillers included, trailing fillers excluded).
fn block(lines: &[Line<'_>], at: usize) -> std::ops::Range<usize> {
    let base = lines[at].indent();
    let mut end = at + 1;
    let mut last_content = at;
    while end < lines.len() {
        let l = &lines[end];
        if !l.is_filler() {
            if l.indent() <= base {
                break;
            }
            last_content = end;
        }
        end += 1;
    }
    at + 1..last_content + 1
}

/// The child key line `key:` directly under line `parent` (at the block's
/// first content indentation).
fn child(lines: &[Line<'_>], parent: usize, key: &str) -> Option<(usize, usize)> {
    let r = block(lines, parent);
    let indent = lines[r.clone()].iter().find(|l| !l.is_filler())?.indent();
    for i in r {
        let l = &lines[i];
        if !l.is_filler() && l.indent() == indent && l.key_value(key).is_some() {
            return Some((i, indent));
        }
    }
    None
}

fn ending_of(lines: &[Line<'_>], i: usize) -> &'static str {
    if lines.iter().any(|l| l.ending == "\r\n")
        || lines.get(i).map(|l| l.ending == "\r\n").unwrap_or(false)
    {
        "\r\n"
    } else {
        "\n"
    }
}

fn join(lines: &[String]) -> String {
    lines.concat()
}

fn owned(lines: &[Line<'_>]) -> Vec<String> {
    lines
        .iter()
        .map(|l| format!("{}{}", l.text, l.ending))
        .collect()
}

/// Replaces the first occurrence of `from` after the key's colon in a line.
fn replace_value(line: &Line<'_>, key: &str, from: &str, to: &str) -> Option<String> {
    let colon = line.text.find(&format!("{key}:"))? + key.len() + 1;
    let (head, tail) = line.text.split_at(colon);
    let pos = tail.find(from)?;
    Some(format!(
        "{head}{}{}{}{}",
        &tail[..pos],
        to,
        &tail[pos + from.len()..],
        line.ending
    ))
}

/// Adds (`disable`) or removes the label; returns the new text, or `None`
/// when the document already is in that state.
pub fn toggle(
    text: &str,
    selector: &str,
    label: &Label,
    disable: bool,
) -> Result<Option<String>, String> {
    let before: Value =
        serde_yaml::from_str(text).map_err(|e| format!("manifest does not parse: {e}"))?;
    if is_disabled(&before, selector, label) == disable {
        return Ok(None);
    }
    let lines = split_lines(text);
    let spec = lines
        .iter()
        .position(|l| l.indent() == 0 && l.key_value("spec").is_some())
        .ok_or("no block-style top-level `spec:` found")?;
    if lines[spec].key_value("spec") != Some("") {
        return Err("`spec` is written in flow style; only block style can be edited".into());
    }
    let (sel, sel_indent) =
        child(&lines, spec, selector).ok_or_else(|| format!("no `spec.{selector}` found"))?;
    let sel_value = lines[sel].key_value(selector).unwrap_or("");
    let entry = label.entry();
    let nl = ending_of(&lines, sel);
    let mut out = owned(&lines);

    if disable {
        if sel_value == "{}" {
            out[sel] = replace_value(
                &lines[sel],
                selector,
                "{}",
                &format!("{{matchLabels: {{{entry}}}}}"),
            )
            .ok_or("cannot edit the selector line")?;
        } else if sel_value.starts_with('{') {
            if sel_value.matches("matchLabels: {").count() != 1 {
                return Err(format!(
                    "`{selector}` is a flow map without a single `matchLabels: {{..}}`"
                ));
            }
            let rep = if sel_value.contains("matchLabels: {}") {
                replace_value(
                    &lines[sel],
                    selector,
                    "matchLabels: {}",
                    &format!("matchLabels: {{ {entry} }}"),
                )
            } else {
                replace_value(
                    &lines[sel],
                    selector,
                    "matchLabels: {",
                    &format!("matchLabels: {{{entry}, "),
                )
            };
            out[sel] = rep.ok_or("cannot edit the selector line")?;
        } else if sel_value.is_empty() {
            match child(&lines, sel, "matchLabels") {
                Some((ml, ml_indent)) => {
                    let v = lines[ml].key_value("matchLabels").unwrap_or("");
                    if v.is_empty() || v == "null" || v == "~" {
                        if v == "null" || v == "~" {
                            return Err(
                                "`matchLabels: null` is not edited; write `matchLabels: {}`".into(),
                            );
                        }
                        let r = block(&lines, ml);
                        let indent = lines[r.clone()]
                            .iter()
                            .find(|l| !l.is_filler())
                            .map(|l| l.indent())
                            .unwrap_or(ml_indent + 2);
                        out.insert(ml + 1, format!("{}{entry}{nl}", " ".repeat(indent)));
                    } else if v == "{}" {
                        out[ml] = replace_value(
                            &lines[ml],
                            "matchLabels",
                            "{}",
                            &format!("{{ {entry} }}"),
                        )
                        .ok_or("cannot edit matchLabels")?;
                    } else if v.starts_with('{') {
                        out[ml] =
                            replace_value(&lines[ml], "matchLabels", "{", &format!("{{{entry}, "))
                                .ok_or("cannot edit matchLabels")?;
                    } else {
                        return Err("`matchLabels` has an unsupported form".into());
                    }
                }
                None => {
                    let indent = lines[block(&lines, sel)]
                        .iter()
                        .find(|l| !l.is_filler())
                        .map(|l| l.indent())
                        .unwrap_or(sel_indent + 2);
                    out.insert(
                        sel + 1,
                        format!("{}matchLabels: {{{entry}}}{nl}", " ".repeat(indent)),
                    );
                }
            }
        } else {
            return Err(format!(
                "`{selector}` has an unsupported form: {sel_value:?}"
            ));
        }
    } else {
        // Undo exactly the edit `disable` made (each form is distinct).
        let ours_flow_sel = format!("{{matchLabels: {{{entry}}}}}");
        let spaced = format!("{{ {entry} }}");
        let leading = format!("{{{entry}, ");
        if sel_value == ours_flow_sel {
            out[sel] = replace_value(&lines[sel], selector, &ours_flow_sel, "{}")
                .ok_or("cannot edit the selector line")?;
        } else if sel_value.starts_with('{') {
            let rep = if sel_value.contains(&spaced) {
                replace_value(&lines[sel], selector, &spaced, "{}")
            } else {
                replace_value(&lines[sel], selector, &leading, "{")
            };
            out[sel] = rep.ok_or("the label is not where it can be removed")?;
        } else {
            let (ml, _) =
                child(&lines, sel, "matchLabels").ok_or("no matchLabels holding the label")?;
            let v = lines[ml].key_value("matchLabels").unwrap_or("");
            if v == spaced {
                out[ml] = replace_value(&lines[ml], "matchLabels", &spaced, "{}")
                    .ok_or("cannot edit matchLabels")?;
            } else if v == format!("{{{entry}}}")
                && lines[ml].text.trim_start() == format!("matchLabels: {{{entry}}}")
            {
                // A matchLabels line of our own making: remove it whole.
                out.remove(ml);
            } else if v.starts_with(&leading) {
                out[ml] = replace_value(&lines[ml], "matchLabels", &leading, "{")
                    .ok_or("cannot edit matchLabels")?;
            } else if v.is_empty() {
                let r = block(&lines, ml);
                let i = r
                    .clone()
                    .find(|&i| lines[i].text.trim_start() == entry)
                    .ok_or("the label is not a plain line under matchLabels")?;
                out.remove(i);
            } else {
                return Err(
                    "the label is not in a form this editor wrote; remove it by hand".into(),
                );
            }
        }
    }
    let new_text = join(&out);
    verify(&before, &new_text, selector, label, disable)?;
    Ok(Some(new_text))
}

/// Drops the label (and a matchLabels map left empty) for comparison.
fn without_label(mut v: Value, selector: &str, label: &Label) -> Value {
    if let Some(sel) = v.get_mut("spec").and_then(|s| s.get_mut(selector)) {
        let mut empty = false;
        if let Some(Value::Mapping(ml)) = sel.get_mut("matchLabels") {
            ml.remove(label.key.as_str());
            empty = ml.is_empty();
        }
        if empty {
            if let Value::Mapping(m) = sel {
                m.remove("matchLabels");
            }
        }
    }
    v
}

fn verify(
    before: &Value,
    new_text: &str,
    selector: &str,
    label: &Label,
    disabled: bool,
) -> Result<(), String> {
    let after: Value = serde_yaml::from_str(new_text)
        .map_err(|e| format!("edit produced invalid YAML ({e}); not applied"))?;
    if is_disabled(&after, selector, label) != disabled {
        return Err("edit did not change the label; not applied".into());
    }
    if without_label(after, selector, label) != without_label(before.clone(), selector, label) {
        return Err("edit would change more than the label; not applied".into());
    }
    Ok(())
}

/// The documents of a multi-document YAML text, as byte ranges of their
/// bodies (`---` lines excluded); blank or comment-only documents skipped.
pub fn documents(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    let push = |a: usize, b: usize, out: &mut Vec<std::ops::Range<usize>>| {
        let body = &text[a..b];
        if body.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && t != "..."
        }) {
            out.push(a..b);
        }
    };
    for line in text.split_inclusive('\n') {
        let is_marker = line.starts_with("---")
            && line[3..]
                .chars()
                .next()
                .map(|c| c.is_whitespace())
                .unwrap_or(true);
        if is_marker {
            push(start, pos, &mut out);
            start = pos + line.len();
        }
        pos += line.len();
    }
    push(start, text.len(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label() -> Label {
        Label {
            key: "palisade.dev/disabled-by".into(),
            value: "palisade".into(),
        }
    }

    fn round_trip(text: &str, selector: &str) -> String {
        let off = toggle(text, selector, &label(), true)
            .unwrap()
            .expect("changed");
        let v: Value = serde_yaml::from_str(&off).unwrap();
        assert!(is_disabled(&v, selector, &label()), "{off}");
        assert!(toggle(&off, selector, &label(), true).unwrap().is_none());
        let on = toggle(&off, selector, &label(), false)
            .unwrap()
            .expect("changed");
        assert_eq!(on, text, "restored text differs; disabled form was:\n{off}");
        off
    }

    #[test]
    fn empty_pod_selector() {
        let t = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\nspec:\n  podSelector: {}  # every pod\n  policyTypes: [Ingress]\n";
        let off = round_trip(t, "podSelector");
        assert!(off.contains(
            "podSelector: {matchLabels: {palisade.dev/disabled-by: palisade}}  # every pod"
        ));
    }

    #[test]
    fn block_match_labels() {
        let t = "kind: NetworkPolicy\nspec:\n    podSelector:\n        matchLabels:\n            app: web\n            # tier\n            tier: \"front\"\n    ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              role: client\n";
        let off = round_trip(t, "podSelector");
        assert!(off.contains("        matchLabels:\n            palisade.dev/disabled-by: palisade\n            app: web"));
        // the ingress peer selector is untouched
        assert!(off.contains("              role: client\n"));
    }

    #[test]
    fn only_match_expressions_and_crlf() {
        let t = "kind: NetworkPolicy\r\nspec:\r\n  podSelector:\r\n    matchExpressions:\r\n    - {key: app, operator: In, values: [a]}\r\n";
        let off = round_trip(t, "podSelector");
        assert!(off.contains("  podSelector:\r\n    matchLabels: {palisade.dev/disabled-by: palisade}\r\n    matchExpressions:"));
    }

    #[test]
    fn flow_forms() {
        round_trip(
            "kind: NetworkPolicy\nspec:\n  podSelector:\n    matchLabels: {}\n",
            "podSelector",
        );
        round_trip(
            "kind: NetworkPolicy\nspec:\n  podSelector:\n    matchLabels: {app: a}\n",
            "podSelector",
        );
        round_trip(
            "kind: NetworkPolicy\nspec:\n  podSelector: {matchLabels: {app: a}}\n",
            "podSelector",
        );
        round_trip(
            "kind: NetworkPolicy\nspec:\n  podSelector: {matchLabels: {}}\n",
            "podSelector",
        );
        round_trip("kind: NetworkPolicy\nspec:\n  podSelector:\n    matchLabels: {}  # none\n    matchExpressions: []\n", "podSelector");
    }

    #[test]
    fn cilium_endpoint_selector() {
        let t = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: l7\nspec:\n  endpointSelector:\n    matchLabels:\n      app: api\n  ingress:\n  - fromEndpoints:\n    - matchLabels:\n        app: web\n";
        round_trip(t, "endpointSelector");
        let empty = "kind: CiliumNetworkPolicy\nspec:\n  endpointSelector: {}\n  egress: []\n";
        round_trip(empty, "endpointSelector");
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        let flow = "kind: NetworkPolicy\nspec: {podSelector: {}}\n";
        assert!(toggle(flow, "podSelector", &label(), true).is_err());
        let missing = "kind: NetworkPolicy\nspec:\n  ingress: []\n";
        assert!(toggle(missing, "podSelector", &label(), true).is_err());
        assert!(toggle("a: [", "podSelector", &label(), true).is_err());
    }

    #[test]
    fn splits_documents() {
        let t = "# header\n---\na: 1\n--- # two\nb: 2\n---\n\n";
        let d = documents(t);
        assert_eq!(d.len(), 2);
        assert_eq!(&t[d[0].clone()], "a: 1\n");
        assert_eq!(&t[d[1].clone()], "b: 2\n");
        assert_eq!(documents("x: 1\n").len(), 1);
    }
}
