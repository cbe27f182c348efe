//! Interface counters from `/proc/net/dev` (rx/tx packets and drops).

use std::path::PathBuf;

use async_trait::async_trait;

use super::PacketSource;
use crate::store::net::Reading;

pub struct ProcNetDev {
    pub path: PathBuf,
    pub boot_id_path: PathBuf,
    pub exclude: Vec<String>,
    pub namespace: String,
}

/// Parses the file's text; lines that do not parse are skipped.
pub fn parse(text: &str, exclude: &[String], namespace: &str) -> Vec<Reading> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.contains('|') || exclude.iter().any(|e| e == name) {
            continue;
        }
        let nums: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if nums.len() < 16 {
            continue;
        }
        // rx: bytes packets errs drop fifo frame compressed multicast
        // tx: bytes packets errs drop fifo colls carrier compressed
        out.push(Reading {
            series: name.to_string(),
            namespace: namespace.to_string(),
            inbound: nums[1],
            outbound: nums[9],
            forwarded: 0,
            dropped: nums[3].saturating_add(nums[11]),
        });
    }
    out
}

#[async_trait]
impl PacketSource for ProcNetDev {
    fn name(&self) -> &'static str {
        "procnetdev"
    }

    fn boot_id(&self) -> String {
        std::fs::read_to_string(&self.boot_id_path)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    async fn sample(&mut self) -> Result<Vec<Reading>, String> {
        let text = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
        Ok(parse(&text, &self.exclude, &self.namespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  123456     789    0    0    0     0          0         0   123456     789    0    0    0     0       0          0
  eth0:99999999 1000    0    3    0     0          0         0  5555     200    0    2    0     0       0          0
  bad: 1 2 3
";

    #[test]
    fn parses_interfaces() {
        let r = parse(SAMPLE, &["lo".to_string()], "prod");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].series, "eth0");
        assert_eq!((r[0].inbound, r[0].outbound, r[0].dropped), (1000, 200, 5));
        assert_eq!(r[0].namespace, "prod");
    }
}
