// The collector's JSON API as the page uses it: the bearer token, readable
// errors, and a retry after the user supplies a token when one is needed.

import { h } from './dom.js';

const KEY = 'palisade.token';

export function token() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || '';
}

function setToken(value, remember) {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  if (!value) return;
  (remember ? localStorage : sessionStorage).setItem(KEY, value);
}

/** An API failure with the collector's own explanation. */
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
  /** One line for the page. */
  get text() {
    if (this.status === 0) return this.message;
    return `${this.message} (HTTP ${this.status}${this.field ? `, field ${this.field}` : ''})`;
  }
}

async function once(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, `The collector did not answer (${e.message}). Is it still running?`);
  }
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = data && data.error;
    const msg = (err && err.message) || text.trim().slice(0, 200) || resp.statusText || 'request failed';
    throw new ApiError(resp.status, msg, err && err.field);
  }
  if (data === null) throw new ApiError(resp.status, `the collector's answer to ${path} is not JSON`);
  return data;
}

/** Calls the API; on 401/403 asks for a token once and tries again. */
export async function call(method, path, body) {
  try {
    return await once(method, path, body);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      const why = e.status === 403
        ? 'This action needs a write token; the current token may only read.'
        : (method === 'GET' ? 'This collector needs a token to read.' : 'This action needs the write token.');
      if (await askToken(why)) return once(method, path, body);
    }
    throw e;
  }
}

export const get = (path, params) => call('GET', withQuery(path, params));
export const post = (path, body) => call('POST', path, body ?? {});
export const put = (path, body) => call('PUT', path, body);

export function withQuery(path, params) {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

let asking = null;

/**
 * The token dialog; resolves true when a token was saved. Calls made while
 * it is open share it (a page load fires several requests at once).
 */
export function askToken(reason) {
  if (!asking) asking = tokenDialog(reason).finally(() => { asking = null; });
  return asking;
}

function tokenDialog(reason) {
  return new Promise((resolve) => {
    const input = h('input', { type: 'password', id: 'token-input', autocomplete: 'off', value: token(), spellcheck: 'false' });
    const remember = h('input', { type: 'checkbox', id: 'token-remember', checked: !!localStorage.getItem(KEY) });
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'token-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'token-title', text: 'Collector token' }),
        reason ? h('p', { class: 'warn-text', text: reason }) : null,
        h('p', {}, 'Paste the collector\'s write token (by default in ', h('code', { text: 'palisade-data/write-token' }),
          ') or a read token. It is sent only to this collector, as ', h('code', { text: 'Authorization: Bearer' }), '.'),
        h('label', { for: 'token-input', text: 'Token' }), input,
        h('label', { class: 'inline' }, remember, ' Remember on this browser'),
        h('div', { class: 'dlg-actions' },
          h('button', { type: 'button', id: 'token-clear', text: 'Forget token', onclick: () => { setToken(''); input.value = ''; } }),
          h('button', { type: 'button', text: 'Cancel', onclick: () => dlg.close() }),
          h('button', { type: 'submit', class: 'primary', id: 'token-save', text: 'Save' }))));
    let saved = false;
    dlg.addEventListener('submit', () => {
      setToken(input.value.trim(), remember.checked);
      saved = !!input.value.trim();
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(saved); });
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  });
}
