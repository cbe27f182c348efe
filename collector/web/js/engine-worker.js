// The playground's worker: compiles the rules once, then evaluates the
// requests the page posts. Messages in: {id, raw, options}; out:
// {type: 'ready', info} | {type: 'failed', error} | {id, result} | {id, error}.

import { Engine } from './engine.js';

const MODULE = '/ui/playground.wasm';
let engine = null;

async function load() {
  engine = await Engine.load(fetch(MODULE), (line) => console.warn(`playground: ${line}`));
  return engine.info;
}

let ready = load().then(
  (info) => postMessage({ type: 'ready', info }),
  (e) => postMessage({ type: 'failed', error: e && e.message ? e.message : String(e) }),
);

onmessage = async (ev) => {
  const { id, raw, options } = ev.data;
  await ready;
  if (!engine) {
    postMessage({ id, error: 'the rule engine is not loaded' });
    return;
  }
  try {
    postMessage({ id, result: engine.evaluate(raw, options) });
  } catch (e) {
    const trapped = e instanceof WebAssembly.RuntimeError;
    postMessage({ id, error: trapped ? `the engine stopped on this input (${e.message}); it has been restarted` : e.message });
    if (trapped) {
      // A trap leaves the instance unusable: start a fresh one.
      engine = null;
      ready = load().catch(() => {});
    }
  }
};
