//! The error type every handler and store call returns, and its mapping to
//! an HTTP status and a JSON body naming the offending field.

use crate::wire::FieldError;

#[derive(Debug)]
pub enum AppError {
    /// 400: a malformed or invalid body or parameter.
    BadRequest(FieldError),
    /// 401: missing or unknown token.
    Unauthorized(String),
    /// 403: a token without the needed role.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 405.
    MethodNotAllowed(String),
    /// 409: e.g. a policy update against a stale version.
    Conflict(String),
    /// 413: body over the limit.
    TooLarge(usize),
    /// 415: not JSON.
    UnsupportedMediaType(String),
    /// 422: understood, but cannot be applied (e.g. a manifest we cannot toggle).
    Unprocessable(String),
    /// 502: an upstream (Kubernetes API) failed.
    BadGateway(String),
    /// 503: the store is shutting down or overloaded.
    Unavailable(String),
    /// 500.
    Internal(String),
}

impl AppError {
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::BadRequest(FieldError::new(field, message))
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::MethodNotAllowed(_) => 405,
            AppError::Conflict(_) => 409,
            AppError::TooLarge(_) => 413,
            AppError::UnsupportedMediaType(_) => 415,
            AppError::Unprocessable(_) => 422,
            AppError::BadGateway(_) => 502,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// `{"error": {"status": .., "code": .., "message": .., "field": ..}}`
    pub fn to_json(&self) -> serde_json::Value {
        let (code, message, field) = match self {
            AppError::BadRequest(f) => ("invalid", f.message.clone(), Some(f.field.clone())),
            AppError::Unauthorized(m) => ("unauthorized", m.clone(), None),
            AppError::Forbidden(m) => ("forbidden", m.clone(), None),
            AppError::NotFound(m) => ("not_found", m.clone(), None),
            AppError::MethodNotAllowed(m) => ("method_not_allowed", m.clone(), None),
            AppError::Conflict(m) => ("conflict", m.clone(), None),
            AppError::TooLarge(n) => (
                "too_large",
                format!("body larger than {n} bytes"),
                Some("body".into()),
            ),
            AppError::UnsupportedMediaType(m) => (
                "unsupported_media_type",
                m.clone(),
                Some("content-type".into()),
            ),
            AppError::Unprocessable(m) => ("unprocessable", m.clone(), None),
            AppError::BadGateway(m) => ("bad_gateway", m.clone(), None),
            AppError::Unavailable(m) => ("unavailable", m.clone(), None),
            AppError::Internal(m) => ("internal", m.clone(), None),
        };
        let mut e = serde_json::json!({"status": self.status(), "code": code, "message": message});
        if let Some(f) = field {
            e["field"] = serde_json::Value::String(f);
        }
        serde_json::json!({ "error": e })
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.status(),
            self.to_json()["error"]["message"].as_str().unwrap_or("")
        )
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::BadRequest(e)
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        AppError::Internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
