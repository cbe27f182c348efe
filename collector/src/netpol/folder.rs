//! The folder backend: `<dir>/<environment>/*.yaml|*.yml`, one or more
//! documents per file. Ids are `<environment>/<file>` (or
//! `<environment>/<file>:<n>` for the n-th document of a multi-document
//! file). Ids are resolved by listing, never joined into paths, and files
//! are rewritten atomically (temp file + rename).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde_yaml::Value;

use super::yaml_edit::{self, Label};
use super::{NetpolBackend, PolicyDoc, PolicyInfo};
use crate::error::{AppError, AppResult};

/// Manifest files larger than this are skipped.
const MAX_FILE: u64 = 1 << 20;

pub struct Folder {
    dir: PathBuf,
    label: Label,
    lock: Arc<tokio::sync::Mutex<()>>,
}

struct Found {
    info: PolicyInfo,
    path: PathBuf,
    text: String,
    range: std::ops::Range<usize>,
}

fn visible_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

fn scan(dir: &Path, label: &Label, only_env: Option<&str>) -> AppResult<Vec<Found>> {
    let mut out = Vec::new();
    let envs = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(AppError::Internal(format!(
                "cannot list {}: {e}",
                dir.display()
            )))
        }
    };
    let mut env_names: Vec<String> = envs
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| visible_name(n))
        .collect();
    env_names.sort();
    for env in env_names {
        if only_env.is_some_and(|o| o != env) {
            continue;
        }
        let edir = dir.join(&env);
        let Ok(files) = std::fs::read_dir(&edir) else {
            continue;
        };
        let mut names: Vec<String> = files
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter(|e| e.metadata().map(|m| m.len() <= MAX_FILE).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| visible_name(n) && (n.ends_with(".yaml") || n.ends_with(".yml")))
            .collect();
        names.sort();
        for file in names {
            let path = edir.join(&file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let docs = yaml_edit::documents(&text);
            let multi = docs.len() > 1;
            for (i, range) in docs.into_iter().enumerate() {
                let Ok(v) = serde_yaml::from_str::<Value>(&text[range.clone()]) else {
                    continue;
                };
                let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
                let Some(selector) = yaml_edit::selector_for(kind) else {
                    continue;
                };
                let meta = v.get("metadata");
                let name = meta
                    .and_then(|m| m.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let namespace = meta
                    .and_then(|m| m.get("namespace"))
                    .and_then(Value::as_str)
                    .map(String::from);
                let id = if multi {
                    format!("{env}/{file}:{i}")
                } else {
                    format!("{env}/{file}")
                };
                out.push(Found {
                    info: PolicyInfo {
                        id,
                        environment: env.clone(),
                        kind: kind.to_string(),
                        name,
                        namespace,
                        source: format!("{env}/{file}"),
                        selector,
                        enforced: !yaml_edit::is_disabled(&v, selector, label),
                    },
                    path: path.clone(),
                    text: text.clone(),
                    range,
                });
            }
        }
    }
    Ok(out)
}

fn find(dir: &Path, label: &Label, id: &str) -> AppResult<Found> {
    let env = id.split('/').next().unwrap_or("");
    if !visible_name(env) {
        return Err(AppError::NotFound(format!("no network policy {id:?}")));
    }
    scan(dir, label, Some(env))?
        .into_iter()
        .find(|f| f.info.id == id)
        .ok_or_else(|| AppError::NotFound(format!("no network policy {id:?}")))
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("policy");
    let tmp = path.with_file_name(format!(".{name}.palisade-tmp"));
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    if let Ok(f) = std::fs::File::open(&tmp) {
        let _ = f.sync_all();
    }
    std::fs::rename(&tmp, path)
}

impl Folder {
    pub fn new(dir: PathBuf, label: Label) -> Folder {
        Folder {
            dir,
            label,
            lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path, &Label) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let dir = self.dir.clone();
        let label = self.label.clone();
        tokio::task::spawn_blocking(move || f(&dir, &label))
            .await
            .map_err(|e| AppError::Internal(format!("folder task: {e}")))?
    }
}

#[async_trait]
impl NetpolBackend for Folder {
    fn name(&self) -> &'static str {
        "folder"
    }

    async fn list(&self, environment: Option<&str>) -> AppResult<Vec<PolicyInfo>> {
        let env = environment.map(String::from);
        self.blocking(move |dir, label| {
            Ok(scan(dir, label, env.as_deref())?
                .into_iter()
                .map(|f| f.info)
                .collect())
        })
        .await
    }

    async fn get(&self, id: &str) -> AppResult<PolicyDoc> {
        let id = id.to_string();
        self.blocking(move |dir, label| {
            let f = find(dir, label, &id)?;
            Ok(PolicyDoc {
                yaml: f.text[f.range.clone()].to_string(),
                info: f.info,
            })
        })
        .await
    }

    async fn set_enforced(&self, id: &str, enforced: bool) -> AppResult<(PolicyDoc, bool)> {
        let _guard = self.lock.lock().await;
        let id = id.to_string();
        self.blocking(move |dir, label| {
            let mut f = find(dir, label, &id)?;
            let doc = &f.text[f.range.clone()];
            let edited = yaml_edit::toggle(doc, f.info.selector, label, !enforced)
                .map_err(|e| AppError::Unprocessable(format!("{}: {e}", f.info.id)))?;
            let Some(new_doc) = edited else {
                return Ok((
                    PolicyDoc {
                        yaml: doc.to_string(),
                        info: f.info,
                    },
                    false,
                ));
            };
            let mut text = String::with_capacity(f.text.len() + 64);
            text.push_str(&f.text[..f.range.start]);
            text.push_str(&new_doc);
            text.push_str(&f.text[f.range.end..]);
            write_atomically(&f.path, &text).map_err(|e| {
                AppError::Internal(format!("cannot write {}: {e}", f.path.display()))
            })?;
            f.info.enforced = enforced;
            Ok((
                PolicyDoc {
                    yaml: new_doc,
                    info: f.info,
                },
                true,
            ))
        })
        .await
    }
}
