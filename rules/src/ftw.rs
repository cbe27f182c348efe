//! The go-ftw test format (CRS regression tests in YAML): loading, turning a
//! stage into raw request bytes, and judging a stage's outcome.
