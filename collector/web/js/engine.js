// The rule playground's engine: the collector's rule engine with the CRS
// built in, compiled to WebAssembly with wasm-bindgen (collector/playground,
// `make playground`), driven through the generated glue. engine-worker.js
// runs it in a worker so that compiling the rules never freezes the page.
// It touches no DOM: Node can load it too, given the glue's URL and the
// module's bytes.

const encoder = new TextEncoder();

/** Where the collector serves the glue (an ES module) and the module. */
export const GLUE_URL = '/ui/playground-bindings.js';
export const MODULE_URL = '/ui/playground.wasm';

export class Engine {
  /**
   * Fetches and compiles the module, instantiates it through the glue and
   * compiles the CRS rules.
   * @param {object} [o]
   * @param {string | URL} [o.glue] URL of the wasm-bindgen glue
   * @param {BufferSource | WebAssembly.Module | Response | Promise<Response>} [o.module]
   */
  static async load({ glue = GLUE_URL, module = fetch(MODULE_URL) } = {}) {
    let source = await module;
    if (typeof Response === 'function' && source instanceof Response) {
      if (!source.ok) {
        const text = (await source.text()).trim();
        throw new Error(text || `the playground module could not be fetched (HTTP ${source.status})`);
      }
      source = await WebAssembly.compileStreaming(source);
    } else if (!(source instanceof WebAssembly.Module)) {
      source = await WebAssembly.compile(source);
    }
    const bindings = await import(glue);
    await bindings.default({ module_or_path: source });
    return new Engine(bindings);
  }

  constructor(bindings) {
    this.bindings = bindings;
    this.#start();
  }

  #start() {
    const started = performance.now();
    this.inner = new this.bindings.PlaygroundEngine();
    this.info = JSON.parse(this.inner.info());
    this.info.load_ms = Math.round(performance.now() - started);
  }

  /**
   * After a trap the instance is unusable: make a fresh one from the same
   * compiled module (the glue's reset function) and compile the rules again.
   */
  restart() {
    this.inner = null;
    this.bindings.__wbg_reset_state();
    this.#start();
  }

  /**
   * Evaluates a raw HTTP/1.1 request (string or bytes) under `options`
   * ({paranoia_level, mode, inbound_threshold, outbound_threshold,
   * disabled_rules}); throws an Error saying what is wrong with either.
   */
  evaluate(raw, options = {}) {
    const req = typeof raw === 'string' ? encoder.encode(raw) : raw;
    const started = performance.now();
    const out = JSON.parse(this.inner.evaluate(req, JSON.stringify(options)));
    out.elapsed_ms = performance.now() - started;
    return out;
  }
}
