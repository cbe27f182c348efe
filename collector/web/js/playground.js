// Rule playground tab: compose or paste an HTTP request, pick the paranoia
// level, and see which CRS rules fire, the anomaly score and the verdict.
// The engine is the collector's own, compiled to WebAssembly and run in a
// worker in this browser: the request never leaves the page.

import * as api from './api.js';
import { clear, h, note } from './dom.js';

const MAX_BYTES = 1 << 20;
const EXAMPLES = {
  sqli: { label: 'SQL injection', method: 'GET', url: "/?id=1' OR 1=1--", body: '' },
  xss: { label: 'Cross-site scripting', method: 'GET', url: '/search?q=<script>alert(1)</script>', body: '' },
  json: { label: 'SQL injection in JSON', method: 'POST', url: '/api/login', body: '{"user": "admin\' OR \'1\'=\'1", "password": "x"}', type: 'application/json' },
  benign: { label: 'Benign request', method: 'GET', url: '/products?page=2&sort=price', body: '' },
};
const DEFAULT_HEADERS = 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) Palisade-playground\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\nAccept-Language: en';

let worker = null;
let engineState = { status: 'idle' };
let seq = 0;
const waiting = new Map();
let f; // form controls
let statusBox;
let resultBox;
let fromBox;

function startWorker() {
  if (worker) return;
  engineState = { status: 'loading' };
  renderStatus();
  worker = new Worker('/ui/js/engine-worker.js', { type: 'module' });
  worker.onmessage = (ev) => {
    const m = ev.data;
    if (m.type === 'ready') {
      engineState = { status: 'ready', info: m.info };
      renderStatus();
    } else if (m.type === 'failed') {
      engineState = { status: 'failed', error: m.error };
      renderStatus();
      for (const [, w] of waiting) w.reject(new Error(m.error));
      waiting.clear();
    } else if (waiting.has(m.id)) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error) w.reject(new Error(m.error));
      else w.resolve(m.result);
    }
  };
  worker.onerror = (ev) => {
    engineState = { status: 'failed', error: ev.message || 'the worker failed to start' };
    renderStatus();
  };
}

function evaluate(raw, options) {
  return new Promise((resolve, reject) => {
    const id = ++seq;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, raw, options });
  });
}

function renderStatus() {
  if (!statusBox) return;
  const s = engineState;
  if (s.status === 'ready') {
    const n = s.info.rules_per_phase.reduce((a, b) => a + b, 0);
    clear(statusBox, h('span', { class: 'badge ok', id: 'engine-ready', text: 'engine ready' }),
      ` OWASP CRS ${s.info.crs_version}, ${n} rules, compiled in ${(s.info.load_ms / 1000).toFixed(1)} s. It runs in this browser: nothing you type is sent anywhere.`);
  } else if (s.status === 'failed') {
    clear(statusBox, note('error', 'The rule engine could not start', h('p', { text: s.error })));
  } else {
    clear(statusBox, h('span', { class: 'badge', text: 'loading' }), ' Loading the rule engine and compiling the CRS rules (a few seconds)…');
  }
}

function mount(el) {
  f = {
    mode: h('div', { class: 'seg', role: 'radiogroup', 'aria-label': 'How to enter the request' },
      h('label', {}, h('input', { type: 'radio', name: 'pg-input', value: 'compose', checked: true }), ' Compose'),
      h('label', {}, h('input', { type: 'radio', name: 'pg-input', value: 'raw' }), ' Raw HTTP')),
    method: h('select', { id: 'pg-method' }, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => h('option', { value: m, text: m }))),
    url: h('input', { id: 'pg-url', value: '/', spellcheck: 'false', autocomplete: 'off', placeholder: "/search?q=1' OR 1=1--" }),
    host: h('input', { id: 'pg-host', value: 'example.com', spellcheck: 'false', autocomplete: 'off' }),
    headers: h('textarea', { id: 'pg-headers', rows: 4, spellcheck: 'false', value: DEFAULT_HEADERS }),
    body: h('textarea', { id: 'pg-body', rows: 4, spellcheck: 'false', placeholder: 'request body (optional)' }),
    raw: h('textarea', { id: 'pg-raw', rows: 12, spellcheck: 'false', placeholder: 'GET / HTTP/1.1\nHost: example.com\n\n' }),
    pl: h('select', { id: 'pg-pl' }, [1, 2, 3, 4].map((n) => h('option', { value: n, text: String(n) }))),
    engineMode: h('select', { id: 'pg-mode' }, h('option', { value: 'block', text: 'block' }), h('option', { value: 'detect', text: 'detect' })),
    threshold: h('input', { id: 'pg-threshold', type: 'number', min: 1, max: 10000, value: 5 }),
    preview: h('pre', { class: 'raw-preview', id: 'pg-preview' }),
  };
  const compose = h('div', { class: 'compose', id: 'pg-compose' },
    h('div', { class: 'reqline' },
      h('label', { for: 'pg-method', text: 'Method' }), f.method,
      h('label', { for: 'pg-url', text: 'URL' }), f.url),
    h('label', { for: 'pg-host', text: 'Host' }), f.host,
    h('label', { for: 'pg-headers', text: 'Headers (one per line)' }), f.headers,
    h('label', { for: 'pg-body', text: 'Body' }), f.body);
  const rawBox = h('div', { class: 'rawbox', id: 'pg-rawbox', hidden: true },
    h('label', { for: 'pg-raw', text: 'The request as sent (line ends may be LF or CRLF)' }), f.raw);
  f.mode.addEventListener('change', () => {
    const raw = f.mode.querySelector('input:checked').value === 'raw';
    if (raw && !f.raw.value.trim()) f.raw.value = build().replace(/\r\n/g, '\n');
    rawBox.hidden = !raw;
    compose.hidden = raw;
    updatePreview();
  });
  for (const c of [f.method, f.url, f.host, f.headers, f.body, f.raw]) c.addEventListener('input', updatePreview);
  const form = h('form', { id: 'pg-form', class: 'pg-form' },
    h('div', { class: 'examples' }, 'Examples: ', Object.entries(EXAMPLES).map(([k, ex]) =>
      h('button', { type: 'button', class: 'small', 'data-example': k, text: ex.label, onclick: () => { loadExample(ex); run(); } }))),
    f.mode, compose, rawBox,
    h('div', { class: 'options' },
      h('label', { for: 'pg-pl', text: 'Paranoia level' }), f.pl,
      h('label', { for: 'pg-mode', text: 'Mode' }), f.engineMode,
      h('label', { for: 'pg-threshold', text: 'Inbound threshold' }), f.threshold),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', id: 'pg-evaluate', text: 'Evaluate' }),
      h('span', { class: 'muted', text: ' Ctrl+Enter evaluates from any field.' })),
    h('details', {}, h('summary', { text: 'The request that will be evaluated' }), f.preview));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); }
  });
  statusBox = h('div', { class: 'engine-status', id: 'engine-status', 'aria-live': 'polite' });
  resultBox = h('div', { class: 'pg-result', id: 'pg-result', 'aria-live': 'polite' },
    h('p', { class: 'muted', text: 'Evaluate a request to see which rules fire.' }));
  fromBox = h('div', { id: 'pg-from' });
  clear(el, h('section', { class: 'panel' },
    h('h2', { text: 'Rule playground' }), statusBox,
    h('div', { class: 'pg-grid' }, h('div', {}, fromBox, form), resultBox)));
  updatePreview();
  renderStatus();
  startWorker();
  prefillFromPolicy();
}

function loadExample(ex) {
  f.mode.querySelector('input[value=compose]').click();
  f.method.value = ex.method;
  f.url.value = ex.url;
  f.body.value = ex.body;
  let headers = DEFAULT_HEADERS;
  if (ex.type) headers += `\nContent-Type: ${ex.type}`;
  f.headers.value = headers;
  clear(fromBox);
  updatePreview();
}

/** Percent-encodes what cannot stand in a request target as typed. */
export function encodeTarget(url) {
  let t = url.trim();
  if (t === '') t = '/';
  if (t.startsWith('?')) t = `/${t}`;
  else if (!t.startsWith('/') && t !== '*' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) t = `/${t}`;
  const enc = new TextEncoder();
  let out = '';
  for (const ch of t) {
    const c = ch.codePointAt(0);
    if (c > 0x20 && c < 0x7f && !'"<>\\^`{|}#'.includes(ch)) out += ch;
    else for (const b of enc.encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The raw request from the compose fields. */
function build() {
  let target = f.url.value;
  let host = f.host.value.trim();
  const abs = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target.trim());
  if (abs) {
    if (!host || host === 'example.com') host = abs[1];
    target = abs[2] || '/';
  }
  const body = f.body.value;
  const lines = [`${f.method.value} ${encodeTarget(target)} HTTP/1.1`, `Host: ${host || 'example.com'}`];
  let hasLength = false;
  for (const line of f.headers.value.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const name = line.split(':')[0].trim().toLowerCase();
    if (name === 'host') continue;
    if (name === 'content-length' || name === 'transfer-encoding') hasLength = true;
    lines.push(line.trim());
  }
  const bodyBytes = new TextEncoder().encode(body);
  if (bodyBytes.length > 0 && !hasLength) lines.push(`Content-Length: ${bodyBytes.length}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function rawRequest() {
  const raw = f.mode.querySelector('input:checked').value === 'raw';
  if (!raw) return build();
  // Pasted requests: LF line ends in the head become CRLF; the body is kept.
  const text = f.raw.value.replace(/^\s*\n/, '');
  const split = /\r?\n\r?\n/.exec(text);
  if (!split) return `${text.replace(/\r?\n/g, '\r\n').replace(/\s*$/, '')}\r\n\r\n`;
  const head = text.slice(0, split.index).replace(/\r?\n/g, '\r\n');
  return `${head}\r\n\r\n${text.slice(split.index + split[0].length)}`;
}

function updatePreview() {
  f.preview.textContent = rawRequest().replace(/\r\n/g, '↵\n');
}

async function run() {
  await prefillFromPolicy();
  const raw = rawRequest();
  updatePreview();
  if (new TextEncoder().encode(raw).length > MAX_BYTES) {
    clear(resultBox, note('error', 'Too large', h('p', { text: 'The playground evaluates requests up to 1 MiB.' })));
    return;
  }
  if (engineState.status === 'failed') {
    clear(resultBox, note('error', 'The rule engine is not available', h('p', { text: engineState.error })));
    return;
  }
  const options = {
    paranoia_level: Number(f.pl.value),
    mode: f.engineMode.value,
    inbound_threshold: Number(f.threshold.value) || undefined,
  };
  clear(resultBox, h('p', { class: 'muted', text: engineState.status === 'ready' ? 'Evaluating…' : 'Waiting for the engine to load…' }));
  try {
    const r = await evaluate(raw, options);
    renderResult(r);
  } catch (e) {
    clear(resultBox, note('error', 'The request could not be evaluated', h('p', { id: 'pg-error', text: e.message })));
  }
}

const VERDICT = {
  pass: ['Pass', 'No rule scored: the request would go through.'],
  detected: ['Detected', 'Rules matched; the request would be logged but let through.'],
  blocked: ['Blocked', 'The request would be refused.'],
};

function severityName(n) {
  return ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'][n] || '';
}

/** CRS's own evaluation and reporting rules (949xxx, 959xxx, 980xxx). */
const isEvaluation = (id) => (id >= 949000 && id < 950000) || (id >= 959000 && id < 960000) || (id >= 980000 && id < 981000);

function renderResult(r) {
  const logged = r.matched.filter((m) => m.id !== 0 && m.logged);
  const scoring = logged.filter((m) => !isEvaluation(m.id));
  const evaluation = logged.filter((m) => isEvaluation(m.id));
  const all = h('input', { type: 'checkbox', id: 'pg-all' });
  const table = (list) => h('table', { class: 'plain rules', id: 'pg-rules' },
    h('thead', {}, h('tr', {}, ['Rule', 'Message', 'Matched data', 'Severity', 'Paranoia'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, list.map((m) => h('tr', { 'data-rule': m.id, class: m.logged ? '' : 'quiet' },
      h('td', { class: 'num', text: m.id }),
      h('td', { text: m.msg || '(no message)' }),
      h('td', { class: 'data' }, m.data || (m.variable ? `${m.variable}` : '')),
      h('td', { text: severityName(m.severity) }),
      h('td', { text: (m.tags || []).find((t) => t.startsWith('paranoia-level/'))?.slice(15) || '' })))));
  const tableBox = h('div', {}, scoring.length ? table(scoring) : h('p', { class: 'muted', text: 'No detection rule matched.' }));
  all.addEventListener('change', () => {
    const list = all.checked ? r.matched : scoring;
    clear(tableBox, list.length ? table(list) : h('p', { class: 'muted', text: 'No rule matched.' }));
  });
  const [label, text] = VERDICT[r.verdict] || [r.verdict, ''];
  const status = r.intervention ? ` with status ${r.intervention.status} (rule ${r.intervention.rule_id})` : '';
  clear(resultBox,
    h('div', { class: `verdict ${r.verdict}`, id: 'pg-verdict' },
      h('span', { class: 'verdict-label', text: label }),
      h('span', {}, text.replace('refused.', `refused${status}.`))),
    h('dl', { class: 'scores' },
      h('dt', { text: 'Inbound anomaly score' }), h('dd', { id: 'pg-inbound', text: `${r.inbound_score} (threshold ${r.inbound_threshold ?? '–'})` }),
      h('dt', { text: 'Outbound anomaly score' }), h('dd', { text: `${r.outbound_score} (threshold ${r.outbound_threshold ?? '–'})` }),
      h('dt', { text: 'Paranoia level' }), h('dd', { text: r.paranoia_level }),
      h('dt', { text: 'Evaluated in' }), h('dd', { text: `${r.elapsed_ms.toFixed(1)} ms, in this browser` })),
    h('h3', { text: `Detection rules that matched (${scoring.length})` }),
    h('label', { class: 'inline' }, all, ` Show every matched rule (${r.matched.length}, including CRS's own bookkeeping)`),
    tableBox,
    evaluation.length ? h('div', { class: 'evaluation' }, h('h3', { text: 'CRS evaluation' }),
      h('ul', {}, evaluation.map((m) => h('li', {}, h('strong', { text: m.id }), ` ${m.msg}`)))) : null,
    r.log.length ? h('details', {}, h('summary', { text: 'Error-log lines' }), h('pre', { class: 'log', text: r.log.join('\n') })) : null);
}

let prefilling = null;

function prefillFromPolicy() {
  if (!prefilling) prefilling = prefill();
  return prefilling;
}

async function prefill() {
  try {
    const p = await api.get('/api/v1/policy');
    f.pl.value = String(p.paranoia_level);
    f.threshold.value = String(p.inbound_threshold);
  } catch {
    // The defaults (PL 1, threshold 5) stay.
  }
}

function show(ctx, params) {
  if (!params) return;
  loadExample({ method: params.method || 'GET', url: params.url || '/', body: '' });
  f.host.value = params.host || 'example.com';
  clear(fromBox, note('info', `Loaded from ${params.source}`,
    h('p', {}, 'Events store the request line and host, not the headers or body: add them if they mattered. Default browser-like headers are filled in.')));
  updatePreview();
  run();
}

export default { mount, refresh: prefillFromPolicy, show };
