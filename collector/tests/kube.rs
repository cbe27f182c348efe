//! The Kubernetes backend against a fake API server (plain HTTP on
//! loopback, objects in memory, JSON Patch applied like the real one). This
//! checks the requests, patches and exact restore; it does not check TLS or
//! a real cluster's admission behaviour.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{json, Value};

type Objects = Arc<Mutex<BTreeMap<String, Value>>>;

fn unescape(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

fn apply(doc: &mut Value, ops: &Value) -> Result<(), String> {
    for op in ops.as_array().ok_or("patch is not an array")? {
        let path = op["path"].as_str().ok_or("no path")?;
        let parts: Vec<String> = path.split('/').skip(1).map(unescape).collect();
        let (last, parents) = parts.split_last().ok_or("empty path")?;
        let mut cur = &mut *doc;
        for p in parents {
            cur = cur.get_mut(p.as_str()).ok_or(format!("missing {p}"))?;
        }
        match op["op"].as_str() {
            Some("test") => {
                if cur.get(last.as_str()) != Some(&op["value"]) {
                    return Err("test failed".into());
                }
            }
            Some("add") => {
                cur.as_object_mut()
                    .ok_or("not an object")?
                    .insert(last.clone(), op["value"].clone());
            }
            Some("remove") => {
                cur.as_object_mut()
                    .ok_or("not an object")?
                    .remove(last.as_str())
                    .ok_or(format!("nothing at {path}"))?;
            }
            other => return Err(format!("unsupported op {other:?}")),
        }
    }
    Ok(())
}

fn fake_api(
    objects: Objects,
    token: &'static str,
    patches: Arc<Mutex<Vec<Value>>>,
) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            let head_end = loop {
                if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break 0,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            };
            if head_end == 0 {
                continue;
            }
            let head = String::from_utf8_lossy(&got[..head_end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while got.len() < head_end + len {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let body = &got[head_end..];
            let mut words = head.split_whitespace();
            let (method, path) = (
                words.next().unwrap_or(""),
                words.next().unwrap_or("").to_string(),
            );
            let authorized = head
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("authorization: Bearer {token}")));
            let (status, reply) = if !authorized {
                (401, json!({"kind": "Status", "message": "Unauthorized"}))
            } else {
                let mut objs = objects.lock().unwrap();
                match method {
                    "GET" if objs.contains_key(&path) => (200, objs[&path].clone()),
                    "GET" if path.ends_with("policies") => {
                        // a collection: everything below it (namespaced or all namespaces)
                        let plural = path.rsplit('/').next().unwrap_or("").to_string();
                        let group = if path.starts_with("/apis/cilium.io/v2") {
                            "/apis/cilium.io/v2"
                        } else {
                            "/apis/networking.k8s.io/v1"
                        };
                        let items: Vec<Value> = objs
                            .iter()
                            .filter(|(k, _)| {
                                k.starts_with(group)
                                    && k.rsplit_once('/')
                                        .map(|(p, _)| p.ends_with(&format!("/{plural}")))
                                        .unwrap_or(false)
                                    && (k.starts_with(&format!("{path}/"))
                                        || path == format!("{group}/{plural}"))
                            })
                            .map(|(_, v)| v.clone())
                            .collect();
                        (200, json!({"kind": "List", "items": items}))
                    }
                    "PATCH" if objs.contains_key(&path) => {
                        let ops: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                        patches.lock().unwrap().push(ops.clone());
                        let mut obj = objs[&path].clone();
                        match apply(&mut obj, &ops) {
                            Ok(()) => {
                                let rv: i64 = obj["metadata"]["resourceVersion"]
                                    .as_str()
                                    .unwrap_or("0")
                                    .parse()
                                    .unwrap_or(0);
                                obj["metadata"]["resourceVersion"] = json!((rv + 1).to_string());
                                objs.insert(path.clone(), obj.clone());
                                (200, obj)
                            }
                            Err(e) => (422, json!({"kind": "Status", "message": e})),
                        }
                    }
                    _ => (404, json!({"kind": "Status", "message": "not found"})),
                }
            };
            let text = reply.to_string();
            let _ = write!(s, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len());
        }
    });
    addr
}

#[test]
fn kubernetes_backend_toggles_and_restores_exactly() {
    let np = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": "shop", "resourceVersion": "10",
                     "managedFields": [{"manager": "kubectl"}]},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}});
    let cnp = json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
        "metadata": {"name": "l7", "namespace": "shop", "resourceVersion": "20", "annotations": {"team": "api"}},
        "spec": {"endpointSelector": {"matchLabels": {"app": "api"}},
                 "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "web"}}]}]}});
    let np_path = "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/default-deny";
    let cnp_path = "/apis/cilium.io/v2/namespaces/shop/ciliumnetworkpolicies/l7";
    let objects: Objects = Arc::new(Mutex::new(BTreeMap::from([
        (np_path.to_string(), np.clone()),
        (cnp_path.to_string(), cnp.clone()),
    ])));
    let patches = Arc::new(Mutex::new(Vec::new()));
    let addr = fake_api(objects.clone(), "kube-token", patches.clone());

    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
             contexts:\n- name: test\n  context: {{cluster: fake, user: bot}}\nusers:\n- name: bot\n  user:\n    token: kube-token\n"
        ),
    )
    .unwrap();
    let mut opts = Opts::default();
    opts.args.extend([
        "--netpol-backend".into(),
        "kubernetes".into(),
        "--kubeconfig".into(),
        kc.display().to_string(),
    ]);
    let s = Server::start(&dir.path().join("data"), opts);

    let (st, list) = s.get("/api/v1/network-policies");
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["backend"], "kubernetes");
    let ids: Vec<&str> = list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "shop/ciliumnetworkpolicy/l7",
            "shop/networkpolicy/default-deny"
        ]
    );
    let (_, shop) = s.get("/api/v1/network-policies?environment=shop");
    assert_eq!(shop["policies"].as_array().unwrap().len(), 2);

    let (st, show) = s.get("/api/v1/network-policies/shop/networkpolicy/default-deny");
    assert_eq!(st, 200);
    assert!(
        show["yaml"].as_str().unwrap().contains("podSelector: {}"),
        "{show}"
    );
    assert!(!show["yaml"].as_str().unwrap().contains("managedFields"));

    for (id, path, original, sel) in [
        (
            "shop/networkpolicy/default-deny",
            np_path,
            &np,
            "podSelector",
        ),
        (
            "shop/ciliumnetworkpolicy/l7",
            cnp_path,
            &cnp,
            "endpointSelector",
        ),
    ] {
        let (st, r) = s.send(
            "PUT",
            &format!("/api/v1/network-policies/{id}/enforcement"),
            &json!({"enforced": false}),
        );
        assert_eq!(st, 200, "{r}");
        assert_eq!(r["changed"], true);
        assert_eq!(r["policy"]["enforced"], false);
        let stored = objects.lock().unwrap()[path].clone();
        assert_eq!(
            stored["spec"][sel]["matchLabels"]["palisade.dev/disabled-by"],
            "palisade"
        );
        let (_, again) = s.send(
            "PUT",
            &format!("/api/v1/network-policies/{id}/enforcement"),
            &json!({"enforced": false}),
        );
        assert_eq!(again["changed"], false);
        let (st, _) = s.send(
            "PUT",
            &format!("/api/v1/network-policies/{id}/enforcement"),
            &json!({"enforced": true}),
        );
        assert_eq!(st, 200);
        let mut back = objects.lock().unwrap()[path].clone();
        back["metadata"]["resourceVersion"] = original["metadata"]["resourceVersion"].clone();
        assert_eq!(&back, original, "{id} not restored exactly");
    }
    // every patch is guarded by the resourceVersion
    assert!(patches
        .lock()
        .unwrap()
        .iter()
        .all(|p| p[0]["op"] == "test" && p[0]["path"] == "/metadata/resourceVersion"));
    assert_eq!(
        s.get("/api/v1/network-policies/shop/networkpolicy/missing")
            .0,
        404
    );
    assert_eq!(s.get("/api/v1/network-policies/bad/id").0, 404);
}
