//! The plugin configurations shipped in envoy/ are valid for the filter.

use palisade_filter::config::{parse, PluginConfig};

fn yaml(path: &str) -> serde_yaml::Value {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Every `configuration.value` string under `node`.
fn configurations(node: &serde_yaml::Value, out: &mut Vec<String>) {
    match node {
        serde_yaml::Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("configuration") {
                    if let Some(s) = v.get("value").and_then(|s| s.as_str()) {
                        out.push(s.to_string());
                    }
                }
                configurations(v, out);
            }
        }
        serde_yaml::Value::Sequence(s) => s.iter().for_each(|v| configurations(v, out)),
        _ => {}
    }
}

#[test]
fn envoy_yaml_configurations_parse() {
    let mut found = Vec::new();
    configurations(&yaml("envoy/envoy.yaml"), &mut found);
    assert_eq!(
        found.len(),
        2,
        "expected the service and the filter configuration"
    );
    let parsed: Vec<PluginConfig> = found
        .iter()
        .map(|c| parse(c.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{c}")))
        .collect();
    let Some(PluginConfig::Service(svc)) = parsed
        .iter()
        .find(|p| matches!(p, PluginConfig::Service(_)))
    else {
        panic!("no service configuration")
    };
    assert_eq!(svc.cluster, "palisade_collector");
    let Some(PluginConfig::Filter(f)) =
        parsed.iter().find(|p| matches!(p, PluginConfig::Filter(_)))
    else {
        panic!("no filter configuration")
    };
    assert_eq!(f.policy.mode, palisade_filter::policy::Mode::Detect);
    assert_eq!(f.policy.paranoia_level, 1);
}

#[test]
fn istio_plugin_config_parses() {
    let doc = yaml("envoy/istio-wasmplugin.yaml");
    let pc = doc
        .get("spec")
        .and_then(|s| s.get("pluginConfig"))
        .expect("spec.pluginConfig");
    let json = serde_json::to_vec(pc).expect("YAML to JSON");
    match parse(&json) {
        Ok(PluginConfig::Filter(f)) => assert!(!f.request_body.hold_headers),
        other => panic!("{other:?}"),
    }
}
