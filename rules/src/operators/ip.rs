//! `@ipMatch`, `@ipMatchFromFile` and `@ipMatchF`: the input is an IPv4 or IPv6
//! address inside one of the listed addresses or CIDR networks.
//!
//! The input is read strictly (dotted quad without leading zeros, or RFC 4291
//! text), as `inet_pton` does; an input that is no address never matches. IPv4
//! entries only match IPv4 input and IPv6 entries IPv6 input (`::ffff:10.0.0.1`
//! is not `10.0.0.1`), as in ModSecurity. Lists are comma-separated; files hold one
//! list per line. This reader is a little more permissive than ModSecurity's, which
//! rejects white space around entries, `#` comment lines and a `/0` prefix.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::DataFiles;

#[derive(Default)]
pub(crate) struct IpSet {
    /// Networks grouped by prefix length: (length, masked network addresses).
    v4: Vec<(u8, HashSet<u32>)>,
    v6: Vec<(u8, HashSet<u128>)>,
}

impl IpSet {
    pub(crate) fn from_list(list: &str) -> Result<IpSet, String> {
        let mut set = IpSet::default();
        set.add_list(list)?;
        Ok(set)
    }

    pub(crate) fn from_files(arg: &str, files: &dyn DataFiles) -> Result<IpSet, String> {
        let mut set = IpSet::default();
        let name = arg.trim();
        if name.is_empty() {
            return Err("no data file named".into());
        }
        if name.starts_with("https://") || name.starts_with("http://") {
            return Err(format!("remote data file {name} is not supported"));
        }
        let data = files.read(name).map_err(|e| format!("cannot read data file {name}: {e}"))?;
        let text = String::from_utf8_lossy(&data);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            set.add_list(line).map_err(|e| format!("{name} line {}: {e}", n + 1))?;
        }
        Ok(set)
    }

    fn add_list(&mut self, list: &str) -> Result<(), String> {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            self.add(entry).map_err(|e| format!("bad address '{entry}': {e}"))?;
        }
        Ok(())
    }

    fn add(&mut self, entry: &str) -> Result<(), String> {
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let prefix_len = |max: u8| -> Result<u8, String> {
            match prefix {
                None => Ok(max),
                Some(p) => match p.parse::<u8>() {
                    Ok(v) if v <= max && p.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
                    _ => Err(format!("prefix length must be a number from 0 to {max}")),
                },
            }
        };
        if addr.contains(':') {
            let ip: Ipv6Addr = addr.parse().map_err(|_| "not an IPv6 address".to_string())?;
            let len = prefix_len(128)?;
            let net = u128::from(ip) & mask128(len);
            insert(&mut self.v6, len, net);
        } else {
            let ip: Ipv4Addr = addr.parse().map_err(|_| "not an IPv4 address".to_string())?;
            let len = prefix_len(32)?;
            let net = u32::from(ip) & mask32(len);
            insert(&mut self.v4, len, net);
        }
        Ok(())
    }

    pub(crate) fn contains(&self, input: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(input) else { return false };
        if text.contains(':') {
            let Ok(ip) = text.parse::<Ipv6Addr>() else { return false };
            let ip = u128::from(ip);
            self.v6.iter().any(|(len, nets)| nets.contains(&(ip & mask128(*len))))
        } else {
            let Ok(ip) = text.parse::<Ipv4Addr>() else { return false };
            let ip = u32::from(ip);
            self.v4.iter().any(|(len, nets)| nets.contains(&(ip & mask32(*len))))
        }
    }
}

fn insert<T: std::hash::Hash + Eq>(groups: &mut Vec<(u8, HashSet<T>)>, len: u8, net: T) {
    match groups.iter_mut().find(|(l, _)| *l == len) {
        Some((_, nets)) => {
            nets.insert(net);
        }
        None => {
            groups.push((len, HashSet::from([net])));
            // Most specific first: exact addresses are the common case.
            groups.sort_by_key(|g| std::cmp::Reverse(g.0));
        }
    }
}

fn mask32(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
}

fn mask128(len: u8) -> u128 {
    if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_matching() {
        let s = IpSet::from_list("192.168.0.0/16,10.0.0.1,::1,2001:db8::/32").unwrap();
        for ip in ["192.168.5.5", "10.0.0.1", "::1", "2001:db8:1::5", "0:0:0:0:0:0:0:1"] {
            assert!(s.contains(ip.as_bytes()), "{ip}");
        }
        for ip in ["10.0.0.2", "2001:db9::1", " 10.0.0.1", "010.0.0.1", "::ffff:10.0.0.1", "", "x", "10.0.0.1/32"] {
            assert!(!s.contains(ip.as_bytes()), "{ip}");
        }
        assert!(IpSet::from_list("1.2.3.4/24").unwrap().contains(b"1.2.3.9"));
        let all = IpSet::from_list("0.0.0.0/0, ::/0").unwrap();
        assert!(all.contains(b"8.8.8.8") && all.contains(b"fe80::1"));
        assert!(!s.contains(&[0xff, b'1']));
    }

    #[test]
    fn bad_entries() {
        for bad in ["1.2.3.4/33", "1.2.3", "1.2.3.4/x", "::1/129", "abc", "1.2.3.4/1.0"] {
            let e = IpSet::from_list(bad).err().unwrap_or_default();
            assert!(e.contains(bad.split('/').next().unwrap_or(bad)), "{bad}: {e}");
        }
    }

    #[test]
    fn files() {
        struct F;
        impl DataFiles for F {
            fn read(&self, _: &str) -> Result<Vec<u8>, String> {
                Ok(b"# blocked\n10.0.0.0/8\r\n\n192.168.1.1, 192.168.1.2\n".to_vec())
            }
        }
        let s = IpSet::from_files("ips.txt", &F).unwrap();
        assert!(s.contains(b"10.9.9.9") && s.contains(b"192.168.1.2"));
        assert!(!s.contains(b"192.168.1.3"));
    }
}
