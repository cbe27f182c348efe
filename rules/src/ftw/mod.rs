//! The go-ftw test format (the CRS regression tests, in YAML): the model,
//! loading a suite, rendering a stage into the bytes go-ftw sends, the
//! backend those tests expect behind the WAF, and judging a stage's outcome
//! the way go-ftw does.
//!
//! Nothing here depends on the rule engine: the conformance runner plugs the
//! engine in as an [`runner::Executor`], and an end-to-end harness can plug
//! in a socket to a real proxy instead.
//!
//! | module     | owns                                                          |
//! |------------|---------------------------------------------------------------|
//! | [`model`]  | serde types for test files and platform override files       |
//! | [`render`] | a stage's input to raw request bytes, byte for byte as go-ftw |
//! | [`albedo`] | the CRS test backend (`/reflect` and the empty 200)          |
//! | [`judge`]  | a stage's outcome against its expected output                 |
//! | [`runner`] | loading, overrides, running files in parallel, totals        |

pub mod albedo;
pub mod judge;
pub mod model;
pub mod render;
pub mod runner;

pub use judge::{judge, StageOutcome, Verdict};
pub use model::{Input, Output, OverridesFile, Stage, Test, TestFile, TestOverride};
pub use render::render;
