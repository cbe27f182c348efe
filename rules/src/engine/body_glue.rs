//! Runs the request body processor named by REQBODY_PROCESSOR and stores what
//! it finds in the transaction data.

use super::data::{Kv, TxData};
use super::Config;
use crate::body;
use crate::variables::Scalar;

/// Parses `body` with `processor` (URLENCODED, JSON, XML, MULTIPART).
/// Returns the error message for REQBODY_ERROR_MSG on failure.
pub(super) fn run(processor: Option<&[u8]>, body: &[u8], content_type: &[u8], config: &Config, data: &mut TxData) -> Result<(), String> {
    let Some(processor) = processor else { return Ok(()) };
    match processor {
        b"URLENCODED" => {
            data.args_post = body::urlencoded::parse(body, config.argument_separator)
                .into_iter()
                .map(|(k, v)| Kv { key: k, value: v })
                .collect();
            Ok(())
        }
        b"JSON" => {
            if body.is_empty() {
                return Ok(());
            }
            let _ = (content_type, Scalar::ReqbodyProcessor);
            Err("JSON body processor not wired yet".into())
        }
        b"XML" => Err("XML body processor not wired yet".into()),
        b"MULTIPART" => Err("multipart body processor not wired yet".into()),
        other => Err(format!("Unknown request body processor: {}", String::from_utf8_lossy(other))),
    }
}
