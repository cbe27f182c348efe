//! Query-string parameters: decoding and typed access whose errors name the
//! parameter; time values as Unix seconds or RFC 3339.

use crate::error::{AppError, AppResult};
use crate::store::query::Window;

#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

fn decode(s: &str) -> Option<String> {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

impl Query {
    pub fn parse(q: &str) -> AppResult<Query> {
        let mut pairs = Vec::new();
        for part in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let k = decode(k)
                .ok_or_else(|| AppError::bad("query", "not valid percent-encoded UTF-8"))?;
            let v = decode(v)
                .ok_or_else(|| AppError::bad(k.clone(), "not valid percent-encoded UTF-8"))?;
            if pairs.len() >= 64 {
                return Err(AppError::bad("query", "too many parameters"));
            }
            pairs.push((k, v));
        }
        Ok(Query { pairs })
    }

    /// A non-empty value (the last one given).
    pub fn str(&self, name: &str) -> AppResult<Option<String>> {
        match self.pairs.iter().rev().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, v)) if v.is_empty() => Ok(None),
            Some((_, v)) if v.len() > 4096 => Err(AppError::bad(name, "longer than 4096 bytes")),
            Some((_, v)) => Ok(Some(v.clone())),
        }
    }

    pub fn u64(&self, name: &str) -> AppResult<Option<u64>> {
        match self.str(name)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| AppError::bad(name, format!("not a non-negative integer: {v:?}"))),
        }
    }

    pub fn i64(&self, name: &str) -> AppResult<Option<i64>> {
        match self.str(name)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| AppError::bad(name, format!("not an integer: {v:?}"))),
        }
    }

    pub fn bool(&self, name: &str) -> AppResult<bool> {
        match self.str(name)?.as_deref() {
            None | Some("false") | Some("0") | Some("no") => Ok(false),
            Some("true") | Some("1") | Some("yes") => Ok(true),
            Some(v) => Err(AppError::bad(name, format!("not a boolean: {v:?}"))),
        }
    }

    /// `limit`, defaulting to `default`, at most `max`.
    pub fn limit(&self, default: u32, max: u32) -> AppResult<u32> {
        match self.u64("limit")? {
            None => Ok(default),
            Some(0) => Err(AppError::bad("limit", "must be at least 1")),
            Some(n) if n > max as u64 => Err(AppError::bad("limit", format!("at most {max}"))),
            Some(n) => Ok(n as u32),
        }
    }

    /// A time: Unix seconds (integer or decimal) or RFC 3339.
    pub fn time(&self, name: &str) -> AppResult<Option<f64>> {
        let Some(v) = self.str(name)? else {
            return Ok(None);
        };
        if let Ok(x) = v.parse::<f64>() {
            if x.is_finite() && (0.0..1e11).contains(&x) {
                return Ok(Some(x));
            }
            return Err(AppError::bad(name, "Unix time out of range"));
        }
        match time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339) {
            Ok(t) => Ok(Some(t.unix_timestamp_nanos() as f64 / 1e9)),
            Err(_) => Err(AppError::bad(
                name,
                format!("not a Unix time or RFC 3339 date: {v:?}"),
            )),
        }
    }

    /// `from`/`to` (default: the last hour up to now), checked.
    pub fn window(&self, now: f64) -> AppResult<Window> {
        let to = self.time("to")?.unwrap_or(now);
        let from = self.time("from")?.unwrap_or(to - 3600.0);
        if from >= to {
            return Err(AppError::bad("from", "must be before `to`"));
        }
        if to - from > 3.0 * 366.0 * 86400.0 {
            return Err(AppError::bad("from", "window longer than three years"));
        }
        Ok(Window { from, to })
    }

    /// `environment` (alias `namespace`).
    pub fn environment(&self) -> AppResult<Option<String>> {
        match self.str("environment")? {
            Some(e) => Ok(Some(e)),
            None => self.str("namespace"),
        }
    }

    /// `bucket=minute|hour|day` when given.
    pub fn bucket(&self) -> AppResult<Option<i64>> {
        match self.str("bucket")?.as_deref() {
            None => Ok(None),
            Some("minute") => Ok(Some(60)),
            Some("hour") => Ok(Some(3600)),
            Some("day") => Ok(Some(86400)),
            Some(v) => Err(AppError::bad(
                "bucket",
                format!("must be minute, hour or day, not {v:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_fields() {
        let q =
            Query::parse("from=2025-11-23T10:00:00Z&to=1763900000&limit=x&host=a%2Fb+c").unwrap();
        assert_eq!(q.time("from").unwrap(), Some(1763892000.0));
        assert_eq!(q.str("host").unwrap().as_deref(), Some("a/b c"));
        match q.limit(10, 100) {
            Err(AppError::BadRequest(f)) => assert_eq!(f.field, "limit"),
            other => panic!("{other:?}"),
        }
        let bad = Query::parse("from=yesterday").unwrap();
        assert!(matches!(bad.window(1e9), Err(AppError::BadRequest(f)) if f.field == "from"));
        assert!(Query::parse("a=%ff").is_err());
    }
}
