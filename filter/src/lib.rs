//! Palisade proxy-wasm filter.
