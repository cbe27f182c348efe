// The rule playground's engine: loads the WebAssembly module (the
// collector's rule engine with the CRS built in) and evaluates requests
// with it. Used inside a worker (engine-worker.js) so that compiling the
// rules never freezes the page; it has no DOM dependency, so tests can
// load it in Node as well.

import { wasiImports } from './wasi.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Engine {
  /** @param {BufferSource | Response | Promise<Response>} source */
  static async load(source, log) {
    const wasi = wasiImports(log);
    const imports = { wasi_snapshot_preview1: wasi.imports };
    let instance;
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      ({ instance } = await WebAssembly.instantiate(source, imports));
    } else {
      const resp = await source;
      if (!resp.ok) {
        const text = (await resp.text()).trim();
        throw new Error(text || `the playground module could not be fetched (HTTP ${resp.status})`);
      }
      ({ instance } = await WebAssembly.instantiateStreaming(resp, imports));
    }
    wasi.bind(instance);
    const engine = new Engine(instance);
    const started = performance.now();
    engine.info = engine.#answer(instance.exports.pg_init());
    engine.info.load_ms = Math.round(performance.now() - started);
    return engine;
  }

  constructor(instance) {
    this.x = instance.exports;
  }

  #put(bytes) {
    if (bytes.length === 0) return 0;
    const ptr = this.x.pg_alloc(bytes.length);
    new Uint8Array(this.x.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  #answer(len) {
    const ptr = this.x.pg_output_ptr();
    const text = decoder.decode(new Uint8Array(this.x.memory.buffer, ptr, len));
    const v = JSON.parse(text);
    if (!v.ok) throw new Error(v.error);
    return v;
  }

  /** Evaluates a raw HTTP/1.1 request (string or bytes) under `options`. */
  evaluate(raw, options) {
    const req = typeof raw === 'string' ? encoder.encode(raw) : raw;
    const opts = encoder.encode(JSON.stringify(options));
    const rp = this.#put(req);
    const op = this.#put(opts);
    const started = performance.now();
    const out = this.#answer(this.x.pg_evaluate(rp, req.length, op, opts.length));
    out.elapsed_ms = performance.now() - started;
    return out;
  }
}
