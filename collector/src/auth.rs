//! Bearer tokens: checking a request's token against the configured ones,
//! and generating the write token on a first start without configuration.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{Role, Token};

/// What a request's `Authorization` header proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No token given (or none needed).
    Anonymous,
    /// A known token: its name and role.
    Token { name: String, role: Role },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No or malformed credentials: 401.
    Missing,
    /// A token that is not known: 401.
    Wrong,
    /// A known token without the needed role: 403.
    Forbidden,
}

#[derive(Debug, Clone)]
pub struct Auth {
    tokens: Vec<Token>,
    read_open: bool,
}

/// Compares in time independent of where the first difference is.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

impl Auth {
    pub fn new(tokens: Vec<Token>) -> Auth {
        let read_open = !tokens.iter().any(|t| t.role == Role::Read);
        Auth { tokens, read_open }
    }

    pub fn reads_are_open(&self) -> bool {
        self.read_open
    }

    fn lookup(&self, header: Option<&str>) -> Result<Option<&Token>, Denied> {
        let Some(h) = header else { return Ok(None) };
        let h = h.trim();
        let secret = match h.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => return Err(Denied::Missing),
        };
        let mut found = None;
        for t in &self.tokens {
            if ct_eq(t.secret.as_bytes(), secret.as_bytes()) && found.is_none() {
                found = Some(t);
            }
        }
        found.map(Some).ok_or(Denied::Wrong)
    }

    /// Checks a request needing `need`, given its Authorization header.
    pub fn check(&self, header: Option<&str>, need: Role) -> Result<Caller, Denied> {
        let token = self.lookup(header)?;
        match (need, token) {
            (_, Some(t)) => {
                // A write token may also read.
                if need == Role::Write && t.role != Role::Write {
                    return Err(Denied::Forbidden);
                }
                Ok(Caller::Token {
                    name: t.name.clone(),
                    role: t.role,
                })
            }
            (Role::Read, None) if self.read_open => Ok(Caller::Anonymous),
            _ => Err(Denied::Missing),
        }
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> Result<String, String> {
    use base64::Engine;
    let mut buf = [0u8; 32];
    getrandom::getrandom(&mut buf).map_err(|e| format!("no randomness for a token: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// The generated write token's file in the data directory.
pub fn generated_token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("write-token")
}

/// Loads the generated write token, creating it (mode 0600) when absent.
/// Returns the token and whether it was created now.
pub fn ensure_generated_token(data_dir: &Path) -> Result<(Token, bool), String> {
    let path = generated_token_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => {
            return Ok((
                Token {
                    name: "generated".into(),
                    role: Role::Write,
                    secret: s.trim().to_string(),
                },
                false,
            ));
        }
        Ok(_) => {
            return Err(format!(
                "{} is empty; delete it to generate a new token",
                path.display()
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let secret = random_token()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(secret.as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((
        Token {
            name: "generated".into(),
            role: Role::Write,
            secret,
        },
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(name: &str, role: Role, s: &str) -> Token {
        Token {
            name: name.into(),
            role,
            secret: s.into(),
        }
    }

    #[test]
    fn roles_and_open_reads() {
        let a = Auth::new(vec![tok("ops", Role::Write, "w1")]);
        assert_eq!(a.check(None, Role::Read), Ok(Caller::Anonymous));
        assert_eq!(a.check(None, Role::Write), Err(Denied::Missing));
        assert_eq!(
            a.check(Some("Bearer nope"), Role::Write),
            Err(Denied::Wrong)
        );
        assert_eq!(a.check(Some("Basic w1"), Role::Write), Err(Denied::Missing));
        assert_eq!(
            a.check(Some("Bearer w1"), Role::Write),
            Ok(Caller::Token {
                name: "ops".into(),
                role: Role::Write
            })
        );
        let b = Auth::new(vec![
            tok("ops", Role::Write, "w1"),
            tok("ro", Role::Read, "r1"),
        ]);
        assert_eq!(b.check(None, Role::Read), Err(Denied::Missing));
        assert!(b.check(Some("bearer r1"), Role::Read).is_ok());
        assert!(b.check(Some("Bearer w1"), Role::Read).is_ok());
        assert_eq!(
            b.check(Some("Bearer r1"), Role::Write),
            Err(Denied::Forbidden)
        );
    }

    #[test]
    fn generated_token_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let (t1, created) = ensure_generated_token(dir.path()).unwrap();
        assert!(created);
        assert!(t1.secret.len() >= 40);
        let (t2, created2) = ensure_generated_token(dir.path()).unwrap();
        assert!(!created2);
        assert_eq!(t1.secret, t2.secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(generated_token_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
