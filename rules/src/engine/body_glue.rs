//! Runs the request body processor named by REQBODY_PROCESSOR and stores what
//! it finds in the transaction data (ARGS_POST, FILES, MULTIPART_*, XML).

use super::data::{Kv, TxData};
use super::Config;
use crate::body::{json, multipart, urlencoded, xml, Limits};
use crate::variables::Scalar;

fn limits(config: &Config) -> Limits {
    Limits { json_max_depth: config.json_depth_limit, max_args: config.arguments_limit, ..Limits::default() }
}

fn flag(data: &mut TxData, s: Scalar, on: bool) {
    data.set_scalar(s, if on { b"1".to_vec() } else { b"0".to_vec() });
}

/// Parses `body` with `processor` (URLENCODED, JSON, XML, MULTIPART).
/// Returns the error message for REQBODY_ERROR_MSG on failure.
pub(super) fn run(
    processor: Option<&[u8]>,
    body: &[u8],
    content_type: &[u8],
    config: &Config,
    data: &mut TxData,
) -> Result<(), String> {
    let Some(processor) = processor else { return Ok(()) };
    match processor {
        b"URLENCODED" => {
            data.args_post = urlencoded::parse(body, config.argument_separator)
                .into_iter()
                .map(|(k, v)| Kv { key: k.into_owned(), value: v.into_owned() })
                .collect();
            Ok(())
        }
        b"JSON" => {
            if body.is_empty() {
                return Ok(());
            }
            match json::parse(body, &limits(config)) {
                Ok(args) => {
                    data.args_post = args.into_iter().map(|(k, v)| Kv { key: k, value: v }).collect();
                    Ok(())
                }
                Err(e) => {
                    data.args_post = e.partial_args.into_iter().map(|(k, v)| Kv { key: k, value: v }).collect();
                    Err(e.message)
                }
            }
        }
        b"XML" => match xml::parse(body, &limits(config)) {
            Ok(doc) => {
                data.xml_text = vec![doc.root_content().to_vec()];
                data.xml_attributes = doc.attribute_values().map(|v| Kv::new(b"".to_vec(), v.to_vec())).collect();
                data.xml = Some(doc);
                Ok(())
            }
            Err(e) => Err(e),
        },
        b"MULTIPART" => {
            let m = multipart::parse(body, content_type, &limits(config));
            data.args_post = m.args.iter().map(|(k, v)| Kv::new(k.clone(), v.clone())).collect();
            data.files = m.files.iter().map(|f| Kv::new(f.name.clone(), f.filename.clone())).collect();
            data.files_sizes = m.files.iter().map(|f| Kv::new(f.name.clone(), f.size().to_string().into_bytes())).collect();
            data.multipart_part_headers = m.part_headers.iter().map(|(k, v)| Kv::new(k.clone(), v.clone())).collect();
            data.multipart_name = m.names.iter().map(|n| Kv::new(n.clone(), n.clone())).collect();
            data.multipart_filename = m.filenames.iter().map(|n| Kv::new(n.clone(), n.clone())).collect();
            data.set_scalar(Scalar::FilesCombinedSize, m.files_combined_size().to_string().into_bytes());
            let f = &m.flags;
            flag(data, Scalar::MultipartBoundaryQuoted, f.boundary_quoted);
            flag(data, Scalar::MultipartBoundaryWhitespace, f.boundary_whitespace);
            flag(data, Scalar::MultipartDataBefore, f.data_before);
            flag(data, Scalar::MultipartDataAfter, f.data_after);
            flag(data, Scalar::MultipartHeaderFolding, f.header_folding);
            flag(data, Scalar::MultipartLfLine, f.lf_line);
            flag(data, Scalar::MultipartCrlfLfLines, f.crlf_lf_lines());
            flag(data, Scalar::MultipartMissingSemicolon, f.missing_semicolon);
            flag(data, Scalar::MultipartInvalidQuoting, f.invalid_quoting);
            flag(data, Scalar::MultipartInvalidPart, f.invalid_part);
            flag(data, Scalar::MultipartInvalidHeaderFolding, f.invalid_header_folding);
            flag(data, Scalar::MultipartFileLimitExceeded, f.file_limit_exceeded);
            data.set_scalar(Scalar::MultipartUnmatchedBoundary, f.unmatched_boundary.to_string().into_bytes());
            flag(data, Scalar::MultipartStrictError, m.strict_error());
            match m.error {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        other => Err(format!("Unknown request body processor: {}", String::from_utf8_lossy(other))),
    }
}
