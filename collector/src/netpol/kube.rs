//! The Kubernetes API backend: NetworkPolicy (networking.k8s.io/v1),
//! CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2),
//! reached with the in-cluster service account or a kubeconfig (token or
//! client certificate; exec plugins are not supported). Toggling sends a
//! JSON Patch guarded by a `test` of the resourceVersion. When the selector
//! had no `matchLabels`, an annotation records that Palisade created it, so
//! enabling removes exactly what disabling added.
//!
//! Ids are `<namespace>/<kind>/<name>` with kind in lower case
//! (`cluster/ciliumclusterwidenetworkpolicy/<name>` for the cluster-wide one).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use super::yaml_edit::{self, Label};
use super::{NetpolBackend, PolicyDoc, PolicyInfo};
use crate::error::{AppError, AppResult};

const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Marks a `matchLabels` map (and possibly the annotations map) that
/// Palisade created when disabling.
const CREATED: &str = "palisade.dev/created-match-labels";
const MAX_RESPONSE: usize = 64 << 20;

#[derive(Clone, Copy)]
struct Kind {
    kind: &'static str,
    lower: &'static str,
    /// API path prefix and resource plural.
    group: &'static str,
    plural: &'static str,
    namespaced: bool,
}

const KINDS: [Kind; 3] = [
    Kind {
        kind: "NetworkPolicy",
        lower: "networkpolicy",
        group: "/apis/networking.k8s.io/v1",
        plural: "networkpolicies",
        namespaced: true,
    },
    Kind {
        kind: "CiliumNetworkPolicy",
        lower: "ciliumnetworkpolicy",
        group: "/apis/cilium.io/v2",
        plural: "ciliumnetworkpolicies",
        namespaced: true,
    },
    Kind {
        kind: "CiliumClusterwideNetworkPolicy",
        lower: "ciliumclusterwidenetworkpolicy",
        group: "/apis/cilium.io/v2",
        plural: "ciliumclusterwidenetworkpolicies",
        namespaced: false,
    },
];

/// The pseudo-environment of cluster-wide policies.
const CLUSTER: &str = "cluster";

enum Credential {
    None,
    Token(String),
    TokenFile(PathBuf),
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct Kube {
    client: HttpsClient,
    server: String,
    cred: Credential,
    namespaces: Vec<String>,
    label: Label,
    lock: Arc<tokio::sync::Mutex<()>>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn b64(field: &str, s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| format!("kubeconfig {field} is not base64: {e}"))
}

/// Connection settings gathered from a kubeconfig or the service account.
struct Target {
    server: String,
    ca_pem: Option<Vec<u8>>,
    client_cert: Option<(Vec<u8>, Vec<u8>)>,
    cred: Credential,
}

fn in_cluster() -> Option<Result<Target, String>> {
    let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
    let token = Path::new(SA_DIR).join("token");
    if !token.exists() {
        return None;
    }
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    Some(read(&Path::new(SA_DIR).join("ca.crt")).map(|ca| Target {
        server: format!("https://{host}:{port}"),
        ca_pem: Some(ca),
        client_cert: None,
        cred: Credential::TokenFile(token),
    }))
}

fn named<'a>(
    v: &'a serde_yaml::Value,
    list: &str,
    name: &str,
    inner: &str,
) -> Result<&'a serde_yaml::Value, String> {
    v.get(list)
        .and_then(|l| l.as_sequence())
        .and_then(|l| {
            l.iter()
                .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(name))
        })
        .and_then(|e| e.get(inner))
        .ok_or_else(|| format!("kubeconfig has no {list} entry named {name:?}"))
}

fn from_kubeconfig(path: &Path, context: Option<&str>) -> Result<Target, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
    let v: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let rel = |p: &str| {
        if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            base.join(p)
        }
    };
    let ctx_name = match context {
        Some(c) => c.to_string(),
        None => v
            .get("current-context")
            .and_then(|c| c.as_str())
            .ok_or("kubeconfig has no current-context")?
            .to_string(),
    };
    let ctx = named(&v, "contexts", &ctx_name, "context")?;
    let s = |m: &serde_yaml::Value, k: &str| m.get(k).and_then(|x| x.as_str()).map(String::from);
    let cluster = named(
        &v,
        "clusters",
        &s(ctx, "cluster").ok_or("context has no cluster")?,
        "cluster",
    )?;
    let server = s(cluster, "server").ok_or("cluster has no server")?;
    if cluster
        .get("insecure-skip-tls-verify")
        .and_then(|x| x.as_bool())
        == Some(true)
    {
        return Err("insecure-skip-tls-verify is not supported; give the cluster's CA".into());
    }
    let ca_pem = match (
        s(cluster, "certificate-authority-data"),
        s(cluster, "certificate-authority"),
    ) {
        (Some(d), _) => Some(b64("certificate-authority-data", &d)?),
        (None, Some(p)) => Some(read(&rel(&p))?),
        (None, None) => None,
    };
    let user = match s(ctx, "user") {
        Some(u) => named(&v, "users", &u, "user")?.clone(),
        None => serde_yaml::Value::Null,
    };
    if user.get("exec").is_some() || user.get("auth-provider").is_some() {
        return Err("kubeconfig users with exec or auth-provider plugins are not supported; use a token or client certificate".into());
    }
    let cred = match (s(&user, "token"), s(&user, "tokenFile")) {
        (Some(t), _) => Credential::Token(t),
        (None, Some(f)) => Credential::TokenFile(rel(&f)),
        (None, None) => Credential::None,
    };
    let cert = match (
        s(&user, "client-certificate-data"),
        s(&user, "client-certificate"),
    ) {
        (Some(d), _) => Some(b64("client-certificate-data", &d)?),
        (None, Some(p)) => Some(read(&rel(&p))?),
        _ => None,
    };
    let key = match (s(&user, "client-key-data"), s(&user, "client-key")) {
        (Some(d), _) => Some(b64("client-key-data", &d)?),
        (None, Some(p)) => Some(read(&rel(&p))?),
        _ => None,
    };
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            return Err(
                "kubeconfig user has a client certificate without a key (or the reverse)".into(),
            )
        }
    };
    Ok(Target {
        server: server.trim_end_matches('/').to_string(),
        ca_pem,
        client_cert,
        cred,
    })
}

fn tls_config(t: &Target) -> Result<rustls::ClientConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    match &t.ca_pem {
        Some(pem) => {
            for c in CertificateDer::pem_slice_iter(pem) {
                let c = c.map_err(|e| format!("cluster CA: {e}"))?;
                roots.add(c).map_err(|e| format!("cluster CA: {e}"))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots);
    match &t.client_cert {
        Some((cert, key)) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("client key: {e}"))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("client certificate: {e}"))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

impl Kube {
    /// Connects with `kubeconfig`, else in-cluster, else `$KUBECONFIG` or
    /// `~/.kube/config`. `namespaces` limits listing (empty: all).
    pub fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        namespaces: Vec<String>,
        label: Label,
    ) -> Result<Kube, String> {
        let target = match kubeconfig {
            Some(p) => from_kubeconfig(p, context)?,
            None => match in_cluster() {
                Some(t) => t?,
                None => {
                    let p = std::env::var("KUBECONFIG")
                        .ok()
                        .and_then(|v| v.split(':').next().map(PathBuf::from))
                        .or_else(|| {
                            std::env::var("HOME")
                                .ok()
                                .map(|h| Path::new(&h).join(".kube/config"))
                        })
                        .ok_or("no kubeconfig and not running in a cluster")?;
                    from_kubeconfig(&p, context)?
                }
            },
        };
        let tls = tls_config(&target)?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Kube {
            client,
            server: target.server,
            cred: target.cred,
            namespaces,
            label,
            lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    fn bearer(&self) -> AppResult<Option<String>> {
        match &self.cred {
            Credential::None => Ok(None),
            Credential::Token(t) => Ok(Some(t.clone())),
            // Re-read: projected service-account tokens rotate.
            Credential::TokenFile(p) => std::fs::read_to_string(p)
                .map(|t| Some(t.trim().to_string()))
                .map_err(|e| {
                    AppError::BadGateway(format!("cannot read token {}: {e}", p.display()))
                }),
        }
    }

    /// Sends a request; returns status and parsed JSON body.
    async fn call(
        &self,
        method: hyper::Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Value>,
    ) -> AppResult<(u16, Value)> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.server, path))
            .header("accept", "application/json");
        if let Some(t) = self.bearer()? {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = req
            .body(Full::new(bytes))
            .map_err(|e| AppError::Internal(format!("request: {e}")))?;
        let fut = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| AppError::BadGateway(format!("Kubernetes API: {e}")))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| AppError::BadGateway(format!("Kubernetes API body: {e}")))?
                .to_bytes();
            Ok::<_, AppError>((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .map_err(|_| AppError::BadGateway("Kubernetes API timed out".into()))?
    }

    fn upstream_error(status: u16, body: &Value, what: &str) -> AppError {
        let msg = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match status {
            404 => AppError::NotFound(format!("{what}: not found")),
            409 | 422 => {
                AppError::Conflict(format!("{what}: changed meanwhile or rejected: {msg}"))
            }
            401 | 403 => AppError::BadGateway(format!(
                "{what}: the Kubernetes API refused our credentials ({status}): {msg}"
            )),
            _ => AppError::BadGateway(format!("{what}: Kubernetes API answered {status}: {msg}")),
        }
    }

    fn info(&self, k: &Kind, obj: &Value) -> Option<PolicyInfo> {
        let name = obj.pointer("/metadata/name")?.as_str()?.to_string();
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(String::from);
        let env = if k.namespaced {
            ns.clone()?
        } else {
            CLUSTER.to_string()
        };
        let selector = yaml_edit::selector_for(k.kind)?;
        let y: serde_yaml::Value = serde_yaml::to_value(obj).ok()?;
        Some(PolicyInfo {
            id: format!("{env}/{}/{name}", k.lower),
            environment: env,
            kind: k.kind.to_string(),
            name,
            namespace: ns,
            source: "kubernetes".into(),
            selector,
            enforced: !yaml_edit::is_disabled(&y, selector, &self.label),
        })
    }

    fn parse_id(id: &str) -> AppResult<(String, Kind, String)> {
        let parts: Vec<&str> = id.split('/').collect();
        let [env, kind, name] = parts.as_slice() else {
            return Err(AppError::NotFound(format!(
                "no network policy {id:?} (ids are namespace/kind/name)"
            )));
        };
        let k = KINDS.iter().find(|k| k.lower == *kind).copied();
        match k {
            Some(k) if valid_name(env) && valid_name(name) && (k.namespaced || *env == CLUSTER) => {
                Ok((env.to_string(), k, name.to_string()))
            }
            _ => Err(AppError::NotFound(format!("no network policy {id:?}"))),
        }
    }

    fn object_path(env: &str, k: &Kind, name: &str) -> String {
        if k.namespaced {
            format!("{}/namespaces/{env}/{}/{name}", k.group, k.plural)
        } else {
            format!("{}/{}/{name}", k.group, k.plural)
        }
    }

    async fn fetch(&self, id: &str) -> AppResult<(Kind, Value)> {
        let (env, k, name) = Self::parse_id(id)?;
        let (st, obj) = self
            .call(
                hyper::Method::GET,
                &Self::object_path(&env, &k, &name),
                None,
                None,
            )
            .await?;
        if st != 200 {
            return Err(Self::upstream_error(st, &obj, id));
        }
        Ok((k, obj))
    }

    fn doc(&self, k: &Kind, mut obj: Value) -> AppResult<PolicyDoc> {
        if let Some(m) = obj.pointer_mut("/metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        let info = self.info(k, &obj).ok_or_else(|| {
            AppError::BadGateway("unexpected object from the Kubernetes API".into())
        })?;
        let yaml =
            serde_yaml::to_string(&obj).map_err(|e| AppError::Internal(format!("yaml: {e}")))?;
        Ok(PolicyDoc { info, yaml })
    }

    /// The JSON Patch that sets enforcement on `obj` (None: nothing to do).
    fn patch(&self, obj: &Value, selector: &str, enforced: bool) -> AppResult<Option<Value>> {
        let y: serde_yaml::Value =
            serde_yaml::to_value(obj).map_err(|e| AppError::Internal(e.to_string()))?;
        if yaml_edit::is_disabled(&y, selector, &self.label) != enforced {
            return Ok(None);
        }
        let rv = obj
            .pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(Value::Null);
        let sel_path = format!("/spec/{selector}");
        if obj.pointer(&sel_path).map(Value::is_object) != Some(true) {
            return Err(AppError::Unprocessable(format!(
                "the policy has no spec.{selector} object"
            )));
        }
        let key = escape_pointer(&self.label.key);
        let created_key = format!("/metadata/annotations/{}", escape_pointer(CREATED));
        let mut ops = vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv})];
        let has_labels = obj
            .pointer(&format!("{sel_path}/matchLabels"))
            .map(Value::is_object)
            == Some(true);
        let annotations = obj
            .pointer("/metadata/annotations")
            .and_then(Value::as_object);
        if !enforced {
            if has_labels {
                ops.push(json!({"op": "add", "path": format!("{sel_path}/matchLabels/{key}"), "value": self.label.value}));
            } else {
                ops.push(json!({"op": "add", "path": format!("{sel_path}/matchLabels"), "value": {self.label.key.clone(): self.label.value}}));
                match annotations {
                    Some(_) => ops.push(json!({"op": "add", "path": created_key, "value": "labels"})),
                    None => ops.push(json!({"op": "add", "path": "/metadata/annotations", "value": {CREATED: "labels,annotations"}})),
                }
            }
        } else {
            let marker = annotations
                .and_then(|a| a.get(CREATED))
                .and_then(Value::as_str);
            match marker {
                Some(m) => {
                    ops.push(json!({"op": "remove", "path": format!("{sel_path}/matchLabels")}));
                    let only_ours = annotations.map(|a| a.len() == 1).unwrap_or(false);
                    if m.contains("annotations") && only_ours {
                        ops.push(json!({"op": "remove", "path": "/metadata/annotations"}));
                    } else {
                        ops.push(json!({"op": "remove", "path": created_key}));
                    }
                }
                None => ops
                    .push(json!({"op": "remove", "path": format!("{sel_path}/matchLabels/{key}")})),
            }
        }
        Ok(Some(Value::Array(ops)))
    }
}

#[async_trait]
impl NetpolBackend for Kube {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    async fn list(&self, environment: Option<&str>) -> AppResult<Vec<PolicyInfo>> {
        let scopes: Vec<Option<String>> = match environment {
            Some(e) => vec![Some(e.to_string())],
            None if self.namespaces.is_empty() => vec![None],
            None => self
                .namespaces
                .iter()
                .cloned()
                .map(Some)
                .chain([Some(CLUSTER.to_string())])
                .collect(),
        };
        let mut out = Vec::new();
        for scope in &scopes {
            for k in &KINDS {
                let path = match (scope.as_deref(), k.namespaced) {
                    (Some(CLUSTER), false) | (None, false) => format!("{}/{}", k.group, k.plural),
                    (Some(CLUSTER), true) | (Some(_), false) => continue,
                    (Some(ns), true) => {
                        if !valid_name(ns) {
                            return Err(AppError::bad("environment", "not a namespace name"));
                        }
                        format!("{}/namespaces/{ns}/{}", k.group, k.plural)
                    }
                    (None, true) => format!("{}/{}", k.group, k.plural),
                };
                let (st, body) = self.call(hyper::Method::GET, &path, None, None).await?;
                if st == 404 && k.group.contains("cilium") {
                    continue; // Cilium's CRDs are not installed
                }
                if st != 200 {
                    return Err(Self::upstream_error(st, &body, &path));
                }
                for item in body
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(i) = self.info(k, item) {
                        out.push(i);
                    }
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn get(&self, id: &str) -> AppResult<PolicyDoc> {
        let (k, obj) = self.fetch(id).await?;
        self.doc(&k, obj)
    }

    async fn set_enforced(&self, id: &str, enforced: bool) -> AppResult<(PolicyDoc, bool)> {
        let _guard = self.lock.lock().await;
        let (k, obj) = self.fetch(id).await?;
        let selector = yaml_edit::selector_for(k.kind).unwrap_or("podSelector");
        let Some(patch) = self.patch(&obj, selector, enforced)? else {
            return Ok((self.doc(&k, obj)?, false));
        };
        let (env, _, name) = Self::parse_id(id)?;
        let (st, new) = self
            .call(
                hyper::Method::PATCH,
                &Self::object_path(&env, &k, &name),
                Some("application/json-patch+json"),
                Some(patch),
            )
            .await?;
        if st != 200 {
            return Err(Self::upstream_error(st, &new, id));
        }
        Ok((self.doc(&k, new)?, true))
    }
}
