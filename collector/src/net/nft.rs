//! nftables drop counters: rules with a `counter` and a `drop` (or `reject`)
//! verdict, read from `nft -j list ruleset` (the command is configurable,
//! e.g. to prefix `ip netns exec NAME`).

use async_trait::async_trait;
use serde_json::Value;

use super::PacketSource;
use crate::store::net::Reading;

pub struct Nft {
    pub command: Vec<String>,
    pub namespace: String,
}

/// Whether the nft command runs at all (for `nft = auto`).
pub async fn available(command: &[String]) -> bool {
    let Some((prog, _)) = command.split_first() else {
        return false;
    };
    let mut cmd = tokio::process::Command::new(prog);
    // Ask the same binary for its version; with a wrapper (ip netns exec ..)
    // run the whole command, which must then succeed.
    if command.len() == 4 && command[1..] == ["-j", "list", "ruleset"] {
        cmd.arg("--version");
    } else {
        cmd.args(&command[1..]);
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    matches!(tokio::time::timeout(std::time::Duration::from_secs(5), cmd.status()).await, Ok(Ok(s)) if s.success())
}

/// Extracts the drop-rule counters from the JSON ruleset.
pub fn parse(json: &[u8], namespace: &str) -> Result<Vec<Reading>, String> {
    let v: Value =
        serde_json::from_slice(json).map_err(|e| format!("nft output is not JSON: {e}"))?;
    let items = v
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or("nft output has no \"nftables\" array")?;
    let mut out = Vec::new();
    for item in items {
        let Some(rule) = item.get("rule") else {
            continue;
        };
        let Some(exprs) = rule.get("expr").and_then(Value::as_array) else {
            continue;
        };
        let drops = exprs
            .iter()
            .any(|e| e.get("drop").is_some() || e.get("reject").is_some());
        if !drops {
            continue;
        }
        let packets = exprs
            .iter()
            .filter_map(|e| e.get("counter"))
            .filter_map(|c| c.get("packets"))
            .filter_map(Value::as_u64)
            .next();
        let Some(packets) = packets else { continue };
        let s = |k: &str| {
            rule.get(k)
                .map(|x| x.to_string().trim_matches('"').to_string())
                .unwrap_or_default()
        };
        out.push(Reading {
            series: format!(
                "{}/{}/{}/{}",
                s("family"),
                s("table"),
                s("chain"),
                s("handle")
            ),
            namespace: namespace.to_string(),
            inbound: 0,
            outbound: 0,
            forwarded: 0,
            dropped: packets,
        });
    }
    Ok(out)
}

#[async_trait]
impl PacketSource for Nft {
    fn name(&self) -> &'static str {
        "nftables"
    }

    async fn sample(&mut self) -> Result<Vec<Reading>, String> {
        let (prog, args) = self.command.split_first().ok_or("empty nft command")?;
        let run = tokio::process::Command::new(prog)
            .args(args)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(std::time::Duration::from_secs(10), run)
            .await
            .map_err(|_| "nft timed out".to_string())?
            .map_err(|e| format!("cannot run {prog}: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("{prog} failed ({}): {}", out.status, err.trim()));
        }
        parse(&out.stdout, &self.namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_counted_drop_rules() {
        let json = br#"{"nftables":[{"metainfo":{"json_schema_version":1}},
          {"table":{"family":"inet","name":"f","handle":1}},
          {"rule":{"family":"inet","table":"f","chain":"input","handle":3,
            "expr":[{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":9999}},
                    {"counter":{"packets":7,"bytes":300}},{"drop":null}]}},
          {"rule":{"family":"inet","table":"f","chain":"input","handle":4,
            "expr":[{"counter":{"packets":9,"bytes":1}},{"accept":null}]}},
          {"rule":{"family":"inet","table":"f","chain":"input","handle":5,"expr":[{"drop":null}]}}]}"#;
        let r = parse(json, "default").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].series, "inet/f/input/3");
        assert_eq!(r[0].dropped, 7);
        assert!(parse(b"nope", "d").is_err());
    }
}
