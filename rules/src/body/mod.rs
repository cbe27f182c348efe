//! Request body processors: URLENCODED, JSON, XML and MULTIPART.
//!
//! Each turns the raw body into the data the variables expose (ARGS_POST,
//! FILES, XML, MULTIPART_* flags, ...). They never panic: malformed input comes
//! back as an error message, which the engine puts in REQBODY_ERROR(_MSG).
//! Depth, argument-count and size limits are enforced here.
pub mod urlencoded;
