// The playground's worker: compiles the rules once, then evaluates the
// requests the page posts. Messages in: {id, raw, options}; out:
// {type: 'ready', info} | {type: 'failed', error} | {id, result} | {id, error}.

import { Engine } from './engine.js';

let engine = null;
let broken = 'the rule engine is not loaded';

const ready = Engine.load().then(
  (e) => {
    engine = e;
    postMessage({ type: 'ready', info: e.info });
  },
  (e) => {
    broken = e && e.message ? e.message : String(e);
    postMessage({ type: 'failed', error: broken });
  },
);

onmessage = async (ev) => {
  const { id, raw, options } = ev.data;
  await ready;
  if (!engine) {
    postMessage({ id, error: broken });
    return;
  }
  try {
    postMessage({ id, result: engine.evaluate(raw, options) });
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) {
      postMessage({ id, error: e && e.message ? e.message : String(e) });
      return;
    }
    // A trap (an engine bug) leaves the instance unusable: start a fresh one.
    try {
      engine.restart();
      postMessage({ id, error: `the engine stopped on this input (${e.message}); it has been restarted` });
    } catch (again) {
      engine = null;
      broken = `the engine stopped on this input (${e.message}) and could not be restarted: ${again.message}`;
      postMessage({ id, error: broken });
    }
  }
};
