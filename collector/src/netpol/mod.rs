//! Container network policies (Kubernetes NetworkPolicy and
//! CiliumNetworkPolicy): list, show and toggle enforcement through a
//! backend — a folder of manifests (default) or the Kubernetes API.
//! Disabling merges a label into the policy's pod/endpoint selector so the
//! policy stays deployed but selects no pod; enabling removes it.

pub mod folder;
#[cfg(feature = "kubernetes")]
pub mod kube;
pub mod yaml_edit;

use async_trait::async_trait;
use serde::Serialize;

use crate::error::AppResult;

#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    pub id: String,
    pub environment: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// Where it lives: a file path relative to the folder, or `kubernetes`.
    pub source: String,
    /// `podSelector` or `endpointSelector`.
    pub selector: &'static str,
    pub enforced: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyDoc {
    #[serde(flatten)]
    pub info: PolicyInfo,
    pub yaml: String,
}

#[async_trait]
pub trait NetpolBackend: Send + Sync {
    fn name(&self) -> &'static str;
    async fn list(&self, environment: Option<&str>) -> AppResult<Vec<PolicyInfo>>;
    async fn get(&self, id: &str) -> AppResult<PolicyDoc>;
    /// Sets enforcement; returns the policy and whether anything changed.
    async fn set_enforced(&self, id: &str, enforced: bool) -> AppResult<(PolicyDoc, bool)>;
}
