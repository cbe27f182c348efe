// The page's shell: tabs (from the URL hash), the environment and time
// window pickers, the token button, and the refresh loop that keeps the
// visible tab current.

import * as api from './api.js';
import { clear, h, time } from './dom.js';
import monitoring from './monitoring.js';
import alerts from './alerts.js';
import policy from './policy.js';
import network from './network.js';
import playground from './playground.js';

/** Seconds between refreshes: 30, or `?refresh=N` in the page's URL (2 to 3600). */
const REFRESH_SECONDS = (() => {
  const n = Number(new URLSearchParams(location.search).get('refresh'));
  return Number.isFinite(n) && n >= 2 && n <= 3600 ? n : 30;
})();
const VIEWS = { monitoring, alerts, policy, network, playground };

const state = {
  env: localStorage.getItem('palisade.env') || '',
  window: Number(localStorage.getItem('palisade.window')) || 3600,
  tab: 'monitoring',
  mounted: new Set(),
  timer: null,
  busy: false,
  again: false,
};

/** What every view gets. */
export const ctx = {
  get env() { return state.env; },
  get windowSeconds() { return state.window; },
  /** The current window as API parameters. */
  range() {
    const to = Math.floor(Date.now() / 1000);
    return { from: to - state.window, to };
  },
  envParams() {
    return state.env ? { environment: state.env } : {};
  },
  /** Switches tab; `params` go to the view's `show(params)`. */
  go(tab, params) {
    pendingParams = params;
    if (location.hash === `#${tab}`) route();
    else location.hash = tab;
  },
  refresh: () => refresh(true),
  setUpdated,
};

let pendingParams = null;

function setUpdated(ok, detail) {
  const el = document.getElementById('updated');
  el.classList.toggle('stale', !ok);
  el.textContent = `${ok ? 'Updated' : 'Update failed'} ${time(Date.now() / 1000, false)}`;
  el.title = ok ? '' : detail;
}

function banner(message) {
  const b = document.getElementById('banner');
  b.hidden = !message;
  clear(b, message || '');
}

async function loadEnvironments() {
  const envs = new Set();
  const [inst, pols] = await Promise.allSettled([api.get('/api/v1/instances'), api.get('/api/v1/network-policies')]);
  if (inst.status === 'fulfilled') for (const i of inst.value.instances || []) envs.add(i.environment);
  if (pols.status === 'fulfilled') for (const p of pols.value.policies || []) envs.add(p.environment);
  if (state.env) envs.add(state.env);
  const sel = document.getElementById('env');
  const want = [''].concat([...envs].sort());
  const have = [...sel.options].map((o) => o.value);
  if (want.join('\n') !== have.join('\n')) {
    clear(sel, want.map((e) => h('option', { value: e, text: e || 'All environments' })));
  }
  sel.value = state.env;
  const failed = [inst, pols].find((r) => r.status === 'rejected');
  if (failed && failed.reason instanceof api.ApiError && failed.reason.status === 0) throw failed.reason;
}

async function refresh(manual = false) {
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  const btn = document.getElementById('refresh');
  btn.disabled = true;
  try {
    await loadEnvironments();
    const view = VIEWS[state.tab];
    if (view.refresh) await view.refresh(ctx, { manual });
    banner(null);
    setUpdated(true);
  } catch (e) {
    const msg = e instanceof api.ApiError ? e.text : String(e && e.message ? e.message : e);
    setUpdated(false, msg);
    banner(e instanceof api.ApiError && e.status === 0
      ? `The collector is not reachable: ${msg}`
      : `Part of the page could not be updated: ${msg}`);
  } finally {
    state.busy = false;
    btn.disabled = false;
    if (state.again) {
      state.again = false;
      refresh();
    }
  }
}

function route() {
  const tab = (location.hash || '#monitoring').slice(1).split('?')[0];
  state.tab = VIEWS[tab] ? tab : 'monitoring';
  for (const name of Object.keys(VIEWS)) {
    const link = document.getElementById(`tab-${name}`);
    const panel = document.getElementById(`view-${name}`);
    const on = name === state.tab;
    link.setAttribute('aria-selected', on ? 'true' : 'false');
    link.classList.toggle('active', on);
    panel.hidden = !on;
  }
  const view = VIEWS[state.tab];
  const panel = document.getElementById(`view-${state.tab}`);
  if (!state.mounted.has(state.tab)) {
    view.mount(panel, ctx);
    state.mounted.add(state.tab);
  }
  if (view.show) view.show(ctx, pendingParams);
  pendingParams = null;
  refresh();
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_SECONDS * 1000);
}

function start() {
  const env = document.getElementById('env');
  const win = document.getElementById('window');
  win.value = String(state.window);
  if (!win.value) {
    state.window = 3600;
    win.value = '3600';
  }
  env.addEventListener('change', () => {
    state.env = env.value;
    localStorage.setItem('palisade.env', state.env);
    refresh(true);
  });
  win.addEventListener('change', () => {
    state.window = Number(win.value);
    localStorage.setItem('palisade.window', String(state.window));
    refresh(true);
  });
  document.getElementById('refresh').addEventListener('click', () => { refresh(true); schedule(); });
  document.getElementById('token-button').addEventListener('click', async () => {
    if (await api.askToken()) refresh(true);
  });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
  // Arrow keys move between tabs when one has focus.
  document.querySelector('.tabs').addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
    const tabs = [...document.querySelectorAll('.tabs [role=tab]')];
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    const next = tabs[(i + (ev.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  });
  window.addEventListener('hashchange', route);
  route();
  schedule();
}

start();
