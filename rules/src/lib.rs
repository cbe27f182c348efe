//! `palisade-rules`: a SecLang rule engine with ModSecurity v3 semantics, built to
//! run the OWASP Core Rule Set unmodified.
//!
//! The modules follow SecLang's own concepts:
//!
//! | module            | owns                                                            |
//! |-------------------|-----------------------------------------------------------------|
//! | [`parser`]        | reading configuration text into directives and rules            |
//! | [`variables`]     | variable names, selectors (`ARGS:foo`, `!`, `&`) and collections |
//! | [`transformations`] | the `t:` functions (`urlDecodeUni`, `lowercase`, ...)         |
//! | [`operators`]     | the `@` operators (`@rx`, `@pm`, `@detectSQLi`, ...)            |
//! | [`actions`]       | rule actions: metadata, flow, disruptive, `setvar`, `ctl`       |
//! | [`body`]          | request body processors: URLENCODED, JSON, XML, MULTIPART       |
//! | [`libinjection`]  | SQL injection and XSS detection behind `@detectSQLi/@detectXSS` |
//! | [`engine`]        | the compiled rule set and the per-request transaction           |
//! | [`scoring`]       | reading CRS's anomaly scores and verdict out of a transaction   |
//! | [`audit`]         | the JSON audit record and the one-line error-log form           |
//! | [`http`]          | parsing a raw HTTP/1.1 request, for offline evaluation          |

pub mod actions;
pub mod audit;
pub mod body;
pub mod crs;
pub mod engine;
pub mod http;
pub mod libinjection;
pub mod macros;
pub mod offline;
pub mod operators;
pub mod parser;
pub mod scoring;
pub mod transformations;
pub mod variables;

#[cfg(not(target_arch = "wasm32"))]
pub mod ftw;


pub use engine::{Intervention, RuleSet, Transaction};
