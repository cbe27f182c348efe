//! The Envoy configuration `palisade up` runs: the repository's
//! `envoy/envoy.yaml`, embedded at build time, with the few values that
//! differ per run filled in (ports, the module's absolute path, the
//! collector's write token, the starting mode, the instance name).
//! Everything else — the filter's CRS configuration, limits, metrics tags —
//! is exactly what ships in `envoy/envoy.yaml`.

use std::path::Path;

use serde_json::Value;

/// The shipped configuration (see its header for what each part does).
pub const SHIPPED: &str = include_str!("../../../envoy/envoy.yaml");

/// Loopback ports of the four listeners `up` wires together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// Envoy's listener: the protected app.
    pub app: u16,
    /// The demo upstream behind it.
    pub upstream: u16,
    /// Envoy's admin interface (metrics).
    pub admin: u16,
    /// The collector (API, page, telemetry).
    pub collector: u16,
}

impl Default for Ports {
    /// The ports `envoy/envoy.yaml` ships with.
    fn default() -> Ports {
        Ports {
            app: 8080,
            upstream: 8081,
            admin: 9901,
            collector: 9090,
        }
    }
}

/// What is filled in.
pub struct Params<'a> {
    pub ports: Ports,
    pub wasm: &'a Path,
    pub token: &'a str,
    /// `detect` or `block`: the filter's mode until the first policy pull.
    pub mode: &'a str,
    pub instance: &'a str,
}

/// Renders the shipped configuration with `p` filled in, as JSON (which
/// Envoy reads like YAML).
pub fn render(p: &Params) -> Result<Value, String> {
    render_from(SHIPPED, p)
}

fn render_from(yaml: &str, p: &Params) -> Result<Value, String> {
    let mut cfg: Value =
        serde_yaml::from_str(yaml).map_err(|e| format!("envoy/envoy.yaml: {e}"))?;
    set_port(
        cfg.pointer_mut("/admin/address/socket_address"),
        p.ports.admin,
        "admin",
    )?;
    let resources = cfg
        .get_mut("static_resources")
        .ok_or("envoy/envoy.yaml: no static_resources")?;
    let listener = named(resources, "listeners", "palisade_ingress")?;
    set_port(
        listener.pointer_mut("/address/socket_address"),
        p.ports.app,
        "listener palisade_ingress",
    )?;
    for (cluster, port) in [
        ("app", p.ports.upstream),
        ("palisade_collector", p.ports.collector),
    ] {
        let c = named(resources, "clusters", cluster)?;
        let mut n = 0;
        if let Some(endpoints) = c
            .pointer_mut("/load_assignment/endpoints")
            .and_then(Value::as_array_mut)
        {
            for group in endpoints {
                if let Some(lbs) = group.get_mut("lb_endpoints").and_then(Value::as_array_mut) {
                    for lb in lbs {
                        set_port(
                            lb.pointer_mut("/endpoint/address/socket_address"),
                            port,
                            cluster,
                        )?;
                        n += 1;
                    }
                }
            }
        }
        if n == 0 {
            return Err(format!(
                "envoy/envoy.yaml: cluster {cluster} has no endpoint"
            ));
        }
    }

    let mut wasm_configs = Vec::new();
    collect_wasm_configs(&mut cfg, &mut wasm_configs);
    let (mut filters, mut services) = (0, 0);
    for wc in wasm_configs {
        let code = wc
            .pointer_mut("/vm_config/code/local")
            .and_then(Value::as_object_mut)
            .ok_or("envoy/envoy.yaml: a wasm vm_config without code.local")?;
        code.insert(
            "filename".into(),
            Value::String(p.wasm.display().to_string()),
        );
        let slot = wc
            .pointer_mut("/configuration/value")
            .ok_or("envoy/envoy.yaml: a wasm config without configuration.value")?;
        let text = slot
            .as_str()
            .ok_or("envoy/envoy.yaml: configuration.value is not a string")?;
        let mut plugin: Value = serde_json::from_str(text)
            .map_err(|e| format!("envoy/envoy.yaml: plugin configuration: {e}"))?;
        if plugin.get("role").and_then(Value::as_str) == Some("service") {
            let c = plugin
                .get_mut("collector")
                .and_then(Value::as_object_mut)
                .ok_or("envoy/envoy.yaml: the service configuration has no collector")?;
            c.insert("token".into(), Value::String(p.token.to_string()));
            c.insert("instance".into(), Value::String(p.instance.to_string()));
            services += 1;
        } else {
            let f = plugin
                .as_object_mut()
                .ok_or("envoy/envoy.yaml: the filter configuration is not an object")?;
            f.insert("mode".into(), Value::String(p.mode.to_string()));
            filters += 1;
        }
        *slot = Value::String(plugin.to_string());
    }
    if filters == 0 || services != 1 {
        return Err(format!(
            "envoy/envoy.yaml: expected the filter and one telemetry service, found {filters} filter(s) and {services} service(s)"
        ));
    }
    Ok(cfg)
}

fn set_port(addr: Option<&mut Value>, port: u16, what: &str) -> Result<(), String> {
    let obj = addr
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("envoy/envoy.yaml: {what} has no socket_address"))?;
    obj.insert("port_value".into(), Value::from(port));
    Ok(())
}

fn named<'v>(resources: &'v mut Value, list: &str, name: &str) -> Result<&'v mut Value, String> {
    resources
        .get_mut(list)
        .and_then(Value::as_array_mut)
        .and_then(|l| {
            l.iter_mut()
                .find(|x| x.get("name").and_then(Value::as_str) == Some(name))
        })
        .ok_or_else(|| format!("envoy/envoy.yaml: no {list} entry named {name}"))
}

/// Every object holding a `vm_config` (the wasm filter's and the service's
/// `config`), depth-first. The configuration is a few levels deep; the
/// depth bound only guards against a pathological file.
fn collect_wasm_configs<'v>(v: &'v mut Value, out: &mut Vec<&'v mut Value>) {
    fn walk<'v>(v: &'v mut Value, out: &mut Vec<&'v mut Value>, depth: usize) {
        if depth > 64 {
            return;
        }
        if v.get("vm_config").is_some() {
            out.push(v);
            return;
        }
        match v {
            Value::Object(m) => m.values_mut().for_each(|x| walk(x, out, depth + 1)),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, out, depth + 1)),
            _ => {}
        }
    }
    walk(v, out, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(ports: Ports, wasm: &'a Path, mode: &'a str) -> Params<'a> {
        Params {
            ports,
            wasm,
            token: "s3cret",
            mode,
            instance: "palisade-up",
        }
    }

    fn plugin(cfg: &Value, service: bool) -> Value {
        let mut configs = Vec::new();
        let mut c = cfg.clone();
        collect_wasm_configs(&mut c, &mut configs);
        configs
            .iter()
            .map(|wc| {
                serde_json::from_str::<Value>(wc["configuration"]["value"].as_str().unwrap())
                    .unwrap()
            })
            .find(|p| (p["role"] == "service") == service)
            .unwrap()
    }

    #[test]
    fn shipped_config_renders_with_every_value_filled_in() {
        let ports = Ports {
            app: 18080,
            upstream: 18081,
            admin: 19901,
            collector: 19090,
        };
        let wasm = Path::new("/abs/palisade_filter.wasm");
        let cfg = render(&params(ports, wasm, "block")).unwrap();
        assert_eq!(
            cfg["admin"]["address"]["socket_address"]["port_value"],
            19901
        );
        let text = cfg.to_string();
        for p in ["18080", "18081", "19090"] {
            assert!(
                text.contains(&format!("\"port_value\":{p}")),
                "port {p} missing"
            );
        }
        for p in ["8080", "8081", "9901", "9090"] {
            assert!(
                !text.contains(&format!("\"port_value\":{p}")),
                "shipped port {p} left"
            );
        }
        assert_eq!(text.matches("/abs/palisade_filter.wasm").count(), 2);
        let service = plugin(&cfg, true);
        assert_eq!(service["collector"]["token"], "s3cret");
        assert_eq!(service["collector"]["instance"], "palisade-up");
        let filter = plugin(&cfg, false);
        assert_eq!(filter["mode"], "block");
        // Everything else is as shipped.
        assert_eq!(filter["paranoia_level"], 1);
        let rules: Vec<&str> = filter["rules"].as_array().expect("rules list").iter().filter_map(|r| r.as_str()).collect();
        assert_eq!(rules.last(), Some(&"Include @crs/*.conf"), "{rules:?}");
    }

    #[test]
    fn defaults_are_the_shipped_ports() {
        let wasm = Path::new("/w.wasm");
        let shipped: Value = serde_yaml::from_str(SHIPPED).unwrap();
        let cfg = render(&params(Ports::default(), wasm, "detect")).unwrap();
        assert_eq!(cfg["admin"], shipped["admin"]);
        assert_eq!(
            cfg["static_resources"]["clusters"],
            shipped["static_resources"]["clusters"]
        );
    }

    #[test]
    fn a_changed_layout_is_reported_not_guessed() {
        let wasm = Path::new("/w.wasm");
        let p = params(Ports::default(), wasm, "detect");
        for (yaml, needle) in [
            ("admin: 1", "admin has no socket_address"),
            (
                "admin: {address: {socket_address: {}}}\nstatic_resources: {listeners: [], clusters: []}",
                "no listeners entry named palisade_ingress",
            ),
            ("[", "envoy/envoy.yaml"),
        ] {
            let e = render_from(yaml, &p).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
        let no_service = SHIPPED.replace("\"role\": \"service\",", "");
        let e = render_from(&no_service, &p).unwrap_err();
        assert!(e.contains("found 2 filter(s) and 0 service(s)"), "{e}");
    }
}
