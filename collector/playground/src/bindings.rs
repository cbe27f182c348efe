//! The JavaScript interface of the WebAssembly module (wasm32 only), made
//! with wasm-bindgen; `make playground` generates the ES-module glue.
//!
//! ```js
//! const engine = new PlaygroundEngine();          // compiles the CRS; throws on failure
//! const info = JSON.parse(engine.info());         // {crs_version, rules_per_phase, warnings}
//! const out = JSON.parse(engine.evaluate(rawBytes, JSON.stringify(options)));
//! ```
//!
//! `evaluate` takes the raw HTTP/1.1 request as bytes and the [`Options`] as
//! JSON; it returns the [`Evaluation`](crate::Evaluation) as JSON (verdict,
//! scores, thresholds, every matched rule with id, message, data, variable,
//! and the error-log lines), or throws an `Error` saying what is wrong with
//! the request or the options. JSON strings rather than JS objects keep the
//! answer exactly what the native tests and `palisade rules eval` see.

use wasm_bindgen::prelude::*;

use crate::{Options, Playground};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(msg: &str);
}

/// Runs when the glue instantiates the module (and again on the glue's
/// `__wbg_reset_state`): sends a panic's message to the console before the
/// module traps, so a bug shows more than "unreachable executed".
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("palisade playground: {info}"));
    }));
}

/// The rule engine with the embedded CRS, compiled once.
#[wasm_bindgen]
pub struct PlaygroundEngine {
    pg: Playground,
}

#[wasm_bindgen]
impl PlaygroundEngine {
    /// Compiles the base configuration and the embedded CRS.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<PlaygroundEngine, JsError> {
        let pg = Playground::load()
            .map_err(|e| JsError::new(&format!("the rules did not load: {e}")))?;
        Ok(PlaygroundEngine { pg })
    }

    /// What was loaded, as JSON: `crs_version`, `rules_per_phase`, `warnings`.
    pub fn info(&self) -> Result<String, JsError> {
        serde_json::to_string(self.pg.info())
            .map_err(|e| JsError::new(&format!("cannot encode the rule set's description: {e}")))
    }

    /// Evaluates `raw` (an HTTP/1.1 request as sent) under `options` (JSON);
    /// returns the outcome as JSON.
    pub fn evaluate(&self, raw: &[u8], options: &str) -> Result<String, JsError> {
        let options = Options::from_json(options.as_bytes()).map_err(|e| JsError::new(&e))?;
        let outcome = self
            .pg
            .evaluate(raw, &options)
            .map_err(|e| JsError::new(&e))?;
        serde_json::to_string(&outcome)
            .map_err(|e| JsError::new(&format!("cannot encode the outcome: {e}")))
    }
}
