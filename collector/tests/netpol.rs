//! Network-policy toggles on real YAML files through the API (folder backend).

mod common;

use std::path::Path;

use common::*;
use serde_json::json;

const DENY_ALL: &str = "# Default deny for the shop namespace.\n\
apiVersion: networking.k8s.io/v1\n\
kind: NetworkPolicy\n\
metadata:\n  name: default-deny\n  namespace: shop\n  annotations:\n    owner: \"team-shop\"   # paged at night\n\
spec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n";

const API_ONLY: &str = "apiVersion: networking.k8s.io/v1\n\
kind: NetworkPolicy\n\
metadata:\n    name: api-from-web\n\
spec:\n    podSelector:\n        matchLabels:\n            app: api\n\n            tier: 'backend'\n    ingress:\n    -   from:\n        -   podSelector:\n                matchLabels:\n                    app: web\n        ports:\n        -   port: 8080\n";

const CILIUM: &str = "apiVersion: cilium.io/v2\r\n\
kind: CiliumNetworkPolicy\r\n\
metadata:\r\n  name: l7-api\r\n\
spec:\r\n  description: \"only GET /public\"\r\n  endpointSelector:\r\n    matchLabels:\r\n      app: api\r\n  ingress:\r\n  - fromEndpoints:\r\n    - matchLabels:\r\n        app: web\r\n    toPorts:\r\n    - ports:\r\n      - port: \"80\"\r\n        protocol: TCP\r\n      rules:\r\n        http:\r\n        - method: GET\r\n          path: \"/public\"\r\n";

const MULTI: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-a-policy\ndata:\n  a: b\n---\n\
apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: cluster-wide\nspec:\n  endpointSelector: {}\n  ingress: []\n\
---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: expr\nspec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: In, values: [a, b]}\n";

fn put(s: &Server, id: &str, enforced: bool) -> (u16, serde_json::Value) {
    s.send(
        "PUT",
        &format!("/api/v1/network-policies/{id}/enforcement"),
        &json!({ "enforced": enforced }),
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn toggle_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let np = data.join("network-policies");
    std::fs::create_dir_all(np.join("production")).unwrap();
    std::fs::create_dir_all(np.join("staging")).unwrap();
    let files = [
        (np.join("production/deny.yaml"), DENY_ALL),
        (np.join("production/api.yml"), API_ONLY),
        (np.join("staging/cilium.yaml"), CILIUM),
        (np.join("staging/bundle.yaml"), MULTI),
    ];
    for (p, t) in &files {
        std::fs::write(p, t).unwrap();
    }
    std::fs::write(np.join("production/notes.txt"), "not yaml").unwrap();
    let s = Server::start(&data, Opts::default());

    let (st, list) = s.get("/api/v1/network-policies");
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["backend"], "folder");
    let ids: Vec<&str> = list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "production/api.yml",
            "production/deny.yaml",
            "staging/bundle.yaml:1",
            "staging/bundle.yaml:2",
            "staging/cilium.yaml"
        ]
    );
    assert!(list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["enforced"] == true));
    let (_, staging) = s.get("/api/v1/network-policies?environment=staging");
    assert_eq!(staging["policies"].as_array().unwrap().len(), 3);
    assert_eq!(staging["policies"][2]["selector"], "endpointSelector");
    assert_eq!(staging["policies"][2]["kind"], "CiliumNetworkPolicy");

    let (st, show) = s.get("/api/v1/network-policies/production/deny.yaml");
    assert_eq!(st, 200);
    assert_eq!(show["yaml"], DENY_ALL);
    assert_eq!(show["namespace"], "shop");
    let (_, show) = s.get("/api/v1/network-policies/staging%2Fbundle.yaml:2");
    assert_eq!(show["name"], "expr");

    for (id, file, original) in [
        ("production/deny.yaml", &files[0].0, DENY_ALL),
        ("production/api.yml", &files[1].0, API_ONLY),
        ("staging/cilium.yaml", &files[2].0, CILIUM),
        ("staging/bundle.yaml:1", &files[3].0, MULTI),
        ("staging/bundle.yaml:2", &files[3].0, MULTI),
    ] {
        let (st, r) = put(&s, id, false);
        assert_eq!(st, 200, "{id}: {r}");
        assert_eq!(r["changed"], true);
        assert_eq!(r["policy"]["enforced"], false);
        let disabled = read(file);
        assert_ne!(disabled, original);
        assert!(
            disabled.contains("palisade.dev/disabled-by: palisade"),
            "{disabled}"
        );
        // the selector now carries the label, as a YAML parser sees it
        let doc = r["policy"]["yaml"].as_str().unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(doc).unwrap();
        let sel = r["policy"]["selector"].as_str().unwrap();
        assert_eq!(
            v["spec"][sel]["matchLabels"]["palisade.dev/disabled-by"].as_str(),
            Some("palisade"),
            "{doc}"
        );
        // idempotent
        let (_, again) = put(&s, id, false);
        assert_eq!(again["changed"], false);
        let (_, listed) = s.get(&format!("/api/v1/network-policies/{id}"));
        assert_eq!(listed["enforced"], false);
        let (st, r) = put(&s, id, true);
        assert_eq!(st, 200);
        assert_eq!(r["changed"], true);
        assert_eq!(read(file), original, "{id} did not come back byte for byte");
    }
    // peer selectors in ingress rules were never touched: checked by equality above.

    let (_, h) = s.get("/api/v1/network-policies/history");
    let entries = h["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 10);
    assert_eq!(entries[0]["who"], "write");
    assert_eq!(entries[0]["policy_id"], "staging/bundle.yaml:2");
    assert_eq!(entries[0]["enforced"], true);
    assert_eq!(entries[1]["enforced"], false);

    // errors
    assert_eq!(put(&s, "production/nope.yaml", false).0, 404);
    assert_eq!(put(&s, "../../etc/passwd", false).0, 404);
    assert_eq!(
        s.get("/api/v1/network-policies/production/notes.txt").0,
        404
    );
    let (st, e) = s.send(
        "PUT",
        "/api/v1/network-policies/production/deny.yaml/enforcement",
        &json!({"enforced": "no"}),
    );
    assert_eq!((st, e["error"]["field"].as_str()), (400, Some("enforced")));
    let (st, _) = request(
        s.addr,
        "PUT",
        "/api/v1/network-policies/production/deny.yaml/enforcement",
        None,
        Some(b"{\"enforced\":false}"),
    );
    assert_eq!(st, 401);
    assert_eq!(read(&files[0].0), DENY_ALL);
}

#[test]
fn refuses_manifests_it_cannot_edit_safely() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = data.join("network-policies/prod");
    std::fs::create_dir_all(&env).unwrap();
    let flow = "kind: NetworkPolicy\nmetadata: {name: flow}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
    std::fs::write(env.join("flow.yaml"), flow).unwrap();
    let s = Server::start(&data, Opts::default());
    let (st, e) = put(&s, "prod/flow.yaml", false);
    assert_eq!(st, 422, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("flow style"));
    assert_eq!(
        std::fs::read_to_string(env.join("flow.yaml")).unwrap(),
        flow
    );
}
