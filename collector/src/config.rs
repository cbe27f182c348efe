//! The collector's configuration: command-line flags and environment
//! variables (`CollectorArgs`, via clap) over an optional TOML file over
//! embedded defaults, resolved into one [`Config`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::wire::BatchLimits;

/// Flags of `palisade collector`; each one can also be set by its variable.
#[derive(Debug, Clone, Default, Args)]
pub struct CollectorArgs {
    /// Data directory (SQLite file, generated token, network-policy folder).
    #[arg(long, env = "PALISADE_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "PALISADE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// TOML configuration file.
    #[arg(long, env = "PALISADE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment this node's packet counters belong to.
    #[arg(long, env = "PALISADE_ENVIRONMENT")]
    pub environment: Option<String>,
    /// File holding the write token (the token itself: PALISADE_WRITE_TOKEN).
    #[arg(long, env = "PALISADE_WRITE_TOKEN_FILE", value_name = "FILE")]
    pub write_token_file: Option<PathBuf>,
    /// File holding the read token (the token itself: PALISADE_READ_TOKEN).
    #[arg(long, env = "PALISADE_READ_TOKEN_FILE", value_name = "FILE")]
    pub read_token_file: Option<PathBuf>,
    /// Days raw security events are kept.
    #[arg(long, env = "PALISADE_RETENTION_RAW_DAYS")]
    pub retention_raw_days: Option<f64>,
    /// Days minute buckets are kept.
    #[arg(long, env = "PALISADE_RETENTION_MINUTE_DAYS")]
    pub retention_minute_days: Option<f64>,
    /// Days hour buckets are kept.
    #[arg(long, env = "PALISADE_RETENTION_HOUR_DAYS")]
    pub retention_hour_days: Option<f64>,
    /// Days day buckets are kept.
    #[arg(long, env = "PALISADE_RETENTION_DAY_DAYS")]
    pub retention_day_days: Option<f64>,
    /// Seconds between retention sweeps.
    #[arg(long, env = "PALISADE_RETENTION_INTERVAL")]
    pub retention_interval: Option<f64>,
    /// Seconds between packet-counter samples.
    #[arg(long, env = "PALISADE_SAMPLE_INTERVAL")]
    pub sample_interval: Option<f64>,
    /// Path of the interface counters file (default /proc/net/dev; "off" disables).
    #[arg(long, env = "PALISADE_PROC_NET_DEV", value_name = "PATH")]
    pub proc_net_dev: Option<String>,
    /// nftables drop counters: auto (when nft is present), on or off.
    #[arg(long, env = "PALISADE_NFT")]
    pub nft: Option<String>,
    /// Command printing the ruleset as JSON (default "nft -j list ruleset").
    #[arg(long, env = "PALISADE_NFT_COMMAND")]
    pub nft_command: Option<String>,
    /// Prometheus endpoint with Cilium Hubble metrics (http://host:port/metrics).
    #[arg(long, env = "PALISADE_HUBBLE_METRICS_URL", value_name = "URL")]
    pub hubble_metrics_url: Option<String>,
    /// Network-policy backend: folder or kubernetes.
    #[arg(long, env = "PALISADE_NETPOL_BACKEND")]
    pub netpol_backend: Option<String>,
    /// Folder of network-policy manifests, one sub-folder per environment.
    #[arg(long, env = "PALISADE_NETPOL_DIR", value_name = "DIR")]
    pub netpol_dir: Option<PathBuf>,
    /// Kubeconfig for the kubernetes backend (default: in-cluster, then KUBECONFIG).
    #[arg(long, env = "PALISADE_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// SQLite synchronous level: normal (survives a process crash) or full
    /// (also survives power loss, slower).
    #[arg(long, env = "PALISADE_SYNC")]
    pub sync: Option<String>,
    /// Largest accepted telemetry body, in bytes.
    #[arg(long, env = "PALISADE_MAX_TELEMETRY_BYTES")]
    pub max_telemetry_bytes: Option<usize>,
}

/// The TOML file; every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    environment: Option<String>,
    sync: Option<String>,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    retention: FileRetention,
    #[serde(default)]
    tokens: Vec<FileToken>,
    #[serde(default)]
    network: FileNetwork,
    #[serde(default)]
    network_policies: FileNetpol,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    telemetry_body_bytes: Option<usize>,
    body_bytes: Option<usize>,
    max_events_per_batch: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetention {
    raw_events_days: Option<f64>,
    minute_days: Option<f64>,
    hour_days: Option<f64>,
    day_days: Option<f64>,
    batch_ids_days: Option<f64>,
    interval_seconds: Option<f64>,
}

/// A named token: `token`, `token_file` or `token_env` gives its value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToken {
    name: String,
    role: Role,
    token: Option<String>,
    token_file: Option<PathBuf>,
    token_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNetwork {
    interval_seconds: Option<f64>,
    proc_net_dev: Option<String>,
    boot_id_path: Option<String>,
    exclude_interfaces: Option<Vec<String>>,
    nft: Option<String>,
    nft_command: Option<Vec<String>>,
    hubble_metrics_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNetpol {
    backend: Option<String>,
    dir: Option<PathBuf>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    namespaces: Option<Vec<String>>,
    label_key: Option<String>,
    label_value: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Read,
    Write,
}

/// A token with its name (the "who" of the audit trail).
#[derive(Clone)]
pub struct Token {
    pub name: String,
    pub role: Role,
    pub secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub telemetry_body_bytes: usize,
    pub body_bytes: usize,
    pub batch: BatchLimits,
}

/// Retention, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub raw_events: f64,
    pub minute: f64,
    pub hour: f64,
    pub day: f64,
    pub batch_ids: f64,
    pub interval: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NftMode {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone)]
pub struct NetworkConfig {
    pub interval: f64,
    pub proc_net_dev: Option<PathBuf>,
    pub boot_id_path: PathBuf,
    pub exclude_interfaces: Vec<String>,
    pub nft: NftMode,
    pub nft_command: Vec<String>,
    pub hubble_metrics_url: Option<String>,
}

#[derive(Debug, Clone)]
pub enum NetpolBackendConfig {
    Folder {
        dir: PathBuf,
    },
    Kubernetes {
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
        namespaces: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct NetpolConfig {
    pub backend: NetpolBackendConfig,
    pub label_key: String,
    pub label_value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    Normal,
    Full,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub environment: String,
    pub sync: Sync,
    pub limits: Limits,
    pub retention: Retention,
    /// Tokens from the file and the environment; when no write token is
    /// configured one is generated in the data directory at start.
    pub tokens: Vec<Token>,
    pub network: NetworkConfig,
    pub netpol: NetpolConfig,
}

const DAY: f64 = 86_400.0;

fn read_secret(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    let t = text.trim().to_string();
    if t.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(t)
}

fn positive(name: &str, v: f64) -> Result<f64, String> {
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("{name} must be a positive number, got {v}"));
    }
    Ok(v)
}

/// Resolves flags and environment (in `args`), the config file and defaults.
/// `env` looks up the token variables (injected for testing).
pub fn resolve(
    args: &CollectorArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, String> {
    let file: FileConfig = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read config {}: {e}", p.display()))?;
            toml::from_str(&text).map_err(|e| format!("config {}: {e}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let data_dir = args
        .data
        .clone()
        .or(file.data)
        .unwrap_or_else(|| PathBuf::from("palisade-data"));
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9090)));
    let environment = args
        .environment
        .clone()
        .or(file.environment)
        .unwrap_or_else(|| "default".into());
    let sync = match args.sync.clone().or(file.sync).as_deref() {
        None | Some("normal") => Sync::Normal,
        Some("full") => Sync::Full,
        Some(other) => return Err(format!("sync must be normal or full, got {other:?}")),
    };

    let limits = Limits {
        telemetry_body_bytes: args
            .max_telemetry_bytes
            .or(file.limits.telemetry_body_bytes)
            .unwrap_or(8 << 20),
        body_bytes: file.limits.body_bytes.unwrap_or(1 << 20),
        batch: BatchLimits {
            max_events: file
                .limits
                .max_events_per_batch
                .unwrap_or(BatchLimits::default().max_events),
            ..BatchLimits::default()
        },
    };

    let r = &file.retention;
    let retention = Retention {
        raw_events: positive(
            "retention raw_events_days",
            args.retention_raw_days.or(r.raw_events_days).unwrap_or(7.0),
        )? * DAY,
        minute: positive(
            "retention minute_days",
            args.retention_minute_days.or(r.minute_days).unwrap_or(7.0),
        )? * DAY,
        hour: positive(
            "retention hour_days",
            args.retention_hour_days.or(r.hour_days).unwrap_or(90.0),
        )? * DAY,
        day: positive(
            "retention day_days",
            args.retention_day_days.or(r.day_days).unwrap_or(730.0),
        )? * DAY,
        batch_ids: positive("retention batch_ids_days", r.batch_ids_days.unwrap_or(7.0))? * DAY,
        interval: positive(
            "retention interval_seconds",
            args.retention_interval
                .or(r.interval_seconds)
                .unwrap_or(3600.0),
        )?,
    };

    let mut tokens = Vec::new();
    for t in file.tokens {
        let secret = match (t.token, t.token_file, t.token_env) {
            (Some(s), None, None) => s,
            (None, Some(p), None) => read_secret(&p)?,
            (None, None, Some(var)) => {
                env(&var).ok_or_else(|| format!("token {:?}: variable {var} is not set", t.name))?
            }
            _ => {
                return Err(format!(
                    "token {:?}: give exactly one of token, token_file, token_env",
                    t.name
                ))
            }
        };
        if secret.trim().is_empty() {
            return Err(format!("token {:?} is empty", t.name));
        }
        tokens.push(Token {
            name: t.name,
            role: t.role,
            secret: secret.trim().to_string(),
        });
    }
    for (role, name, var, path) in [
        (
            Role::Write,
            "write",
            "PALISADE_WRITE_TOKEN",
            &args.write_token_file,
        ),
        (
            Role::Read,
            "read",
            "PALISADE_READ_TOKEN",
            &args.read_token_file,
        ),
    ] {
        let secret = match (env(var).filter(|s| !s.trim().is_empty()), path) {
            (Some(s), _) => Some(s.trim().to_string()),
            (None, Some(p)) => Some(read_secret(p)?),
            (None, None) => None,
        };
        if let Some(secret) = secret {
            tokens.push(Token {
                name: name.into(),
                role,
                secret,
            });
        }
    }

    let n = &file.network;
    let proc_net_dev = match args
        .proc_net_dev
        .clone()
        .or(n.proc_net_dev.clone())
        .as_deref()
    {
        Some("off") => None,
        Some(p) => Some(PathBuf::from(p)),
        None => Some(PathBuf::from("/proc/net/dev")),
    };
    let nft = match args.nft.clone().or(n.nft.clone()).as_deref() {
        None | Some("auto") => NftMode::Auto,
        Some("on") => NftMode::On,
        Some("off") => NftMode::Off,
        Some(o) => return Err(format!("nft must be auto, on or off, got {o:?}")),
    };
    let nft_command = match (&args.nft_command, &n.nft_command) {
        (Some(s), _) => s.split_whitespace().map(String::from).collect(),
        (None, Some(v)) => v.clone(),
        (None, None) => vec!["nft".into(), "-j".into(), "list".into(), "ruleset".into()],
    };
    if nft_command.is_empty() {
        return Err("nft_command must not be empty".into());
    }
    let hubble_metrics_url = args
        .hubble_metrics_url
        .clone()
        .or(n.hubble_metrics_url.clone())
        .filter(|s| !s.is_empty());
    if let Some(u) = &hubble_metrics_url {
        if !u.starts_with("http://") {
            return Err(format!(
                "hubble metrics url must start with http://, got {u:?}"
            ));
        }
    }
    let network = NetworkConfig {
        interval: positive(
            "sample interval",
            args.sample_interval.or(n.interval_seconds).unwrap_or(10.0),
        )?,
        proc_net_dev,
        boot_id_path: PathBuf::from(
            n.boot_id_path
                .clone()
                .unwrap_or_else(|| "/proc/sys/kernel/random/boot_id".into()),
        ),
        exclude_interfaces: n
            .exclude_interfaces
            .clone()
            .unwrap_or_else(|| vec!["lo".into()]),
        nft,
        nft_command,
        hubble_metrics_url,
    };

    let p = file.network_policies;
    let backend = match args.netpol_backend.clone().or(p.backend).as_deref() {
        None | Some("folder") => NetpolBackendConfig::Folder {
            dir: args
                .netpol_dir
                .clone()
                .or(p.dir)
                .unwrap_or_else(|| data_dir.join("network-policies")),
        },
        Some("kubernetes") => NetpolBackendConfig::Kubernetes {
            kubeconfig: args.kubeconfig.clone().or(p.kubeconfig),
            context: p.context,
            namespaces: p.namespaces.unwrap_or_default(),
        },
        Some(o) => {
            return Err(format!(
                "network-policy backend must be folder or kubernetes, got {o:?}"
            ))
        }
    };
    let netpol = NetpolConfig {
        backend,
        label_key: p
            .label_key
            .unwrap_or_else(|| "palisade.dev/disabled-by".into()),
        label_value: p.label_value.unwrap_or_else(|| "palisade".into()),
    };

    Ok(Config {
        data_dir,
        listen,
        environment,
        sync,
        limits,
        retention,
        tokens,
        network,
        netpol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_anything() {
        let c = resolve(&CollectorArgs::default(), &|_| None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9090");
        assert!(c.tokens.is_empty());
        assert_eq!(c.retention.raw_events, 7.0 * DAY);
        assert!(matches!(
            c.netpol.backend,
            NetpolBackendConfig::Folder { .. }
        ));
    }

    #[test]
    fn file_and_env_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(
            &cfg,
            "listen = \"127.0.0.1:1234\"\n[retention]\nraw_events_days = 2\n[[tokens]]\nname = \"ops\"\nrole = \"write\"\ntoken = \"s1\"\n",
        )
        .unwrap();
        let args = CollectorArgs {
            config: Some(cfg.clone()),
            retention_raw_days: Some(1.0),
            ..Default::default()
        };
        let c = resolve(&args, &|k| {
            (k == "PALISADE_READ_TOKEN").then(|| "r".to_string())
        })
        .unwrap();
        assert_eq!(c.listen.port(), 1234);
        assert_eq!(c.retention.raw_events, DAY);
        assert_eq!(c.tokens.len(), 2);
        assert_eq!(c.tokens[0].name, "ops");
        assert_eq!(c.tokens[1].role, Role::Read);
        std::fs::write(&cfg, "bogus = 1\n").unwrap();
        assert!(resolve(&args, &|_| None).unwrap_err().contains("bogus"));
    }
}
