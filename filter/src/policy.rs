//! The policy the filter runs: mode, paranoia level, thresholds, disabled
//! rules and tags, per-host overrides and alert masks (collector/WIRE.md), and
//! its resolution into the engine's per-transaction [`Overrides`].
//!
//! The static configuration is policy version 0; the collector's policy,
//! published by the service through shared data, replaces it as a whole.

use std::collections::{BTreeMap, HashMap};

use palisade_rules::engine::{EngineMode, Overrides};
use serde::{Deserialize, Serialize};

/// What the filter does with a request the rules flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No inspection at all.
    Off,
    /// Inspect and record, never block (DetectionOnly).
    Detect,
    /// Inspect and enforce (SecRuleEngine On).
    Block,
}

impl Mode {
    pub fn engine_mode(self) -> EngineMode {
        match self {
            Mode::Off => EngineMode::Off,
            Mode::Detect => EngineMode::DetectionOnly,
            Mode::Block => EngineMode::On,
        }
    }
}

/// Per-host fields; each one present overrides the global field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paranoia_level: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_threshold: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_threshold: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_rules: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_tags: Option<Vec<String>>,
}

/// An alert marked as a false positive: events whose rules are all masked
/// for this authority and path are not reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mask {
    pub rule_id: u32,
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// The policy document, as the collector sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub version: u64,
    pub mode: Mode,
    pub paranoia_level: u8,
    pub inbound_threshold: i64,
    pub outbound_threshold: i64,
    #[serde(default)]
    pub disabled_rules: Vec<u32>,
    #[serde(default)]
    pub disabled_tags: Vec<String>,
    #[serde(default)]
    pub masks: Vec<Mask>,
    #[serde(default)]
    pub hosts: BTreeMap<String, HostPolicy>,
}

impl Policy {
    /// Parses a policy and checks its values; the error says which field.
    pub fn from_json(bytes: &[u8]) -> Result<Policy, String> {
        let p: Policy = serde_json::from_slice(bytes).map_err(|e| format!("policy: {e}"))?;
        p.check()?;
        Ok(p)
    }

    /// Checks value ranges (serde checks only the shape).
    pub fn check(&self) -> Result<(), String> {
        let pl_ok = |pl: u8| (1..=4).contains(&pl);
        if !pl_ok(self.paranoia_level) {
            return Err(format!(
                "policy: paranoia_level {} is not 1 to 4",
                self.paranoia_level
            ));
        }
        if self.inbound_threshold < 1 || self.outbound_threshold < 1 {
            return Err("policy: thresholds must be at least 1".into());
        }
        for (host, h) in &self.hosts {
            if h.paranoia_level.is_some_and(|pl| !pl_ok(pl)) {
                return Err(format!("policy: hosts.{host}.paranoia_level is not 1 to 4"));
            }
            if h.inbound_threshold.is_some_and(|t| t < 1)
                || h.outbound_threshold.is_some_and(|t| t < 1)
            {
                return Err(format!(
                    "policy: hosts.{host}: thresholds must be at least 1"
                ));
            }
        }
        Ok(())
    }
}

/// What one transaction runs with: the mode and the engine overrides.
#[derive(Clone, Debug)]
pub struct Effective {
    pub mode: Mode,
    pub overrides: Overrides,
}

/// A policy resolved once per version, so a transaction only looks up its host.
pub struct ActivePolicy {
    pub version: u64,
    global: Effective,
    hosts: HashMap<String, Effective>,
    /// rule id → masks for that rule.
    masks: HashMap<u32, Vec<Mask>>,
}

fn effective(
    mode: Mode,
    pl: u8,
    inbound: i64,
    outbound: i64,
    rules: &[u32],
    tags: &[String],
) -> Effective {
    Effective {
        mode,
        overrides: Overrides {
            engine_mode: Some(mode.engine_mode()),
            paranoia_level: Some(pl),
            inbound_threshold: Some(inbound),
            outbound_threshold: Some(outbound),
            disabled_rule_ids: rules.to_vec(),
            disabled_tags: tags.to_vec(),
        },
    }
}

impl ActivePolicy {
    pub fn new(p: &Policy) -> ActivePolicy {
        let global = effective(
            p.mode,
            p.paranoia_level,
            p.inbound_threshold,
            p.outbound_threshold,
            &p.disabled_rules,
            &p.disabled_tags,
        );
        let hosts = p
            .hosts
            .iter()
            .map(|(host, h)| {
                let e = effective(
                    h.mode.unwrap_or(p.mode),
                    h.paranoia_level.unwrap_or(p.paranoia_level),
                    h.inbound_threshold.unwrap_or(p.inbound_threshold),
                    h.outbound_threshold.unwrap_or(p.outbound_threshold),
                    h.disabled_rules.as_deref().unwrap_or(&p.disabled_rules),
                    h.disabled_tags.as_deref().unwrap_or(&p.disabled_tags),
                );
                (crate::config::normalize_authority(host), e)
            })
            .collect();
        let mut masks: HashMap<u32, Vec<Mask>> = HashMap::new();
        for m in &p.masks {
            masks.entry(m.rule_id).or_default().push(m.clone());
        }
        ActivePolicy {
            version: p.version,
            global,
            hosts,
            masks,
        }
    }

    /// The settings for a (normalized) authority.
    pub fn for_authority(&self, authority: &str) -> &Effective {
        self.hosts.get(authority).unwrap_or(&self.global)
    }

    /// Whether a matched rule is masked for this authority and path (a mask
    /// without authority or path applies to every one).
    pub fn is_masked(&self, rule_id: u32, authority: &str, path: &str) -> bool {
        self.masks.get(&rule_id).is_some_and(|ms| {
            ms.iter().any(|m| {
                m.authority
                    .as_deref()
                    .is_none_or(|a| crate::config::normalize_authority(a) == authority)
                    && m.path.as_deref().is_none_or(|p| p == path)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE_EXAMPLE: &str = r#"{
      "version": 4, "mode": "detect", "paranoia_level": 1,
      "inbound_threshold": 5, "outbound_threshold": 4,
      "disabled_rules": [920350], "disabled_tags": [],
      "masks": [{"rule_id": 942100, "authority": "shop.example.com", "path": "/search"}],
      "hosts": {"admin.example.com": {"mode": "block", "paranoia_level": 2,
                "inbound_threshold": 5, "disabled_rules": [942430]}}
    }"#;

    #[test]
    fn resolves_hosts_over_global() {
        let p = Policy::from_json(WIRE_EXAMPLE.as_bytes()).expect("example parses");
        let a = ActivePolicy::new(&p);
        assert_eq!(a.version, 4);
        let g = a.for_authority("shop.example.com");
        assert_eq!(g.mode, Mode::Detect);
        assert_eq!(g.overrides.engine_mode, Some(EngineMode::DetectionOnly));
        assert_eq!(g.overrides.disabled_rule_ids, vec![920350]);
        let h = a.for_authority("admin.example.com");
        assert_eq!(h.mode, Mode::Block);
        assert_eq!(h.overrides.engine_mode, Some(EngineMode::On));
        assert_eq!(h.overrides.paranoia_level, Some(2));
        assert_eq!(h.overrides.outbound_threshold, Some(4));
        assert_eq!(h.overrides.disabled_rule_ids, vec![942430]);
    }

    #[test]
    fn masks_match_authority_and_path() {
        let p = Policy::from_json(WIRE_EXAMPLE.as_bytes()).expect("example parses");
        let a = ActivePolicy::new(&p);
        assert!(a.is_masked(942100, "shop.example.com", "/search"));
        assert!(!a.is_masked(942100, "shop.example.com", "/other"));
        assert!(!a.is_masked(942100, "admin.example.com", "/search"));
        assert!(!a.is_masked(942101, "shop.example.com", "/search"));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(Policy::from_json(br#"{"version":1,"mode":"block","paranoia_level":9,"inbound_threshold":5,"outbound_threshold":4}"#)
            .unwrap_err()
            .contains("paranoia_level"));
        assert!(Policy::from_json(br#"{"version":1,"mode":"loud"}"#).is_err());
        assert!(Policy::from_json(b"garbage").is_err());
    }
}
