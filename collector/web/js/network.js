// Network policies tab: the container network policies per environment,
// each with its manifest (read-only) and an enforcement toggle. Toggles
// are collected as pending changes and applied together after a
// confirmation; the manifests are then shown as the backend left them, with
// the lines the change added marked.

import * as api from './api.js';
import { clear, code, confirmDialog, forget, h, note, time, toast, unchanged } from './dom.js';

let context;
let body;
let applyBar;
let historyBox;
let backend = '';
let policies = [];
const pending = new Map(); // id -> wanted `enforced`
const yaml = new Map(); // id -> manifest text as last fetched
const added = new Map(); // id -> Set of line numbers added by the last change

const path = (id) => `/api/v1/network-policies/${id.split('/').map(encodeURIComponent).join('/')}`;

function mount(el, ctx) {
  context = ctx;
  body = h('div', { id: 'netpol-list' }, h('p', { class: 'muted', text: 'Loading…' }));
  applyBar = h('div', { class: 'apply-bar', id: 'apply-bar', hidden: true });
  historyBox = h('div', { id: 'netpol-history' });
  clear(el,
    h('section', { class: 'panel' },
      h('h2', { text: 'Network policies' }),
      h('p', { class: 'muted' }, 'Turning enforcement off adds a label to the policy\'s pod selector so it selects no pod; the policy stays deployed and turning it back on restores the manifest exactly. Nothing changes until you apply.'),
      applyBar, body),
    h('section', { class: 'panel' }, h('h2', { text: 'Enforcement changes' }), historyBox));
}

function renderApplyBar() {
  applyBar.hidden = pending.size === 0;
  if (pending.size === 0) return;
  clear(applyBar,
    h('span', { text: `${pending.size} pending change${pending.size === 1 ? '' : 's'}` }),
    h('button', { type: 'button', class: 'primary', id: 'apply-changes', text: 'Apply changes…', onclick: apply }),
    h('button', { type: 'button', text: 'Discard', onclick: () => { pending.clear(); render(); } }));
}

function render() {
  renderApplyBar();
  if (policies.length === 0) {
    clear(body, note('empty', 'No network policies found',
      h('p', {}, backend === 'kubernetes'
        ? 'The Kubernetes backend found no NetworkPolicy or CiliumNetworkPolicy in the namespaces it watches.'
        : h('span', {}, 'Put NetworkPolicy or CiliumNetworkPolicy manifests in the collector\'s network-policy folder, one sub-folder per environment (by default ',
          code('palisade-data/network-policies/<environment>/*.yaml'), ').'))));
    return;
  }
  const byEnv = new Map();
  for (const p of policies) {
    if (!byEnv.has(p.environment)) byEnv.set(p.environment, []);
    byEnv.get(p.environment).push(p);
  }
  clear(body, [...byEnv.entries()].map(([env, list]) => h('div', { class: 'env-group' },
    h('h3', { text: `Environment ${env}` }),
    list.map(card))));
}

function card(p) {
  const want = pending.has(p.id) ? pending.get(p.id) : p.enforced;
  const idAttr = `np-${p.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const toggle = h('input', {
    type: 'checkbox', role: 'switch', id: `${idAttr}-toggle`, class: 'switch', checked: want,
    'aria-describedby': `${idAttr}-state`,
  });
  toggle.addEventListener('change', () => {
    if (toggle.checked === p.enforced) pending.delete(p.id);
    else pending.set(p.id, toggle.checked);
    render();
  });
  const lines = (yaml.get(p.id) ?? '').split('\n');
  const marks = added.get(p.id) || new Set();
  const pre = h('pre', { class: 'yaml', id: `${idAttr}-yaml`, tabindex: 0, 'aria-label': `Manifest of ${p.name}` },
    yaml.has(p.id)
      ? lines.map((l, i) => (marks.has(i) ? h('mark', { text: `${l}\n` }) : `${l}\n`))
      : 'Loading…');
  return h('article', { class: `netpol${pending.has(p.id) ? ' pending' : ''}`, 'data-id': p.id, id: idAttr },
    h('header', {},
      h('div', {},
        h('strong', { class: 'np-name', text: p.name }), ' ',
        h('span', { class: 'muted', text: `${p.kind}${p.namespace ? ` · namespace ${p.namespace}` : ''} · ${p.source}` })),
      h('label', { class: 'switch-label', for: `${idAttr}-toggle` }, toggle,
        h('span', { id: `${idAttr}-state`, text: want ? ' Enforced' : ' Not enforced' }),
        pending.has(p.id) ? h('span', { class: 'badge warn', text: 'pending' }) : null)),
    h('p', { class: 'muted' }, 'Selector: ', code(p.selector || '–')),
    h('details', { open: true }, h('summary', { text: 'Manifest (read-only)' }), pre));
}

async function fetchYaml(ids) {
  await Promise.all(ids.map(async (id) => {
    try {
      const d = await api.get(path(id));
      const before = yaml.get(id);
      if (before !== undefined && before !== d.yaml) {
        const old = new Set(before.split('\n'));
        added.set(id, new Set(d.yaml.split('\n').map((l, i) => (old.has(l) ? -1 : i)).filter((i) => i >= 0)));
      }
      yaml.set(id, d.yaml);
    } catch (e) {
      yaml.set(id, `# could not load the manifest: ${e instanceof api.ApiError ? e.text : e}`);
    }
  }));
}

async function apply() {
  const changes = [...pending.entries()].map(([id, enforced]) => ({ id, enforced, p: policies.find((x) => x.id === id) }));
  const ok = await confirmDialog({
    title: `Apply ${changes.length} network-policy change${changes.length === 1 ? '' : 's'}?`,
    body: [h('ul', {}, changes.map((c) => h('li', {}, h('strong', { text: c.p ? c.p.name : c.id }), ` (${c.p ? c.p.environment : ''}): `,
      c.enforced ? 'enforce again' : h('span', { class: 'warn-text', text: 'stop enforcing: the pods it selected lose its protection' })))),
    h('p', { class: 'muted', text: 'Each change is recorded with your token\'s name.' })],
    confirm: 'Apply changes',
    danger: changes.some((c) => !c.enforced),
  });
  if (!ok) return;
  const failures = [];
  for (const c of changes) {
    try {
      await api.put(`${path(c.id)}/enforcement`, { enforced: c.enforced });
      pending.delete(c.id);
    } catch (e) {
      failures.push(`${c.p ? c.p.name : c.id}: ${e instanceof api.ApiError ? e.text : e}`);
    }
  }
  if (failures.length) toast(`Not applied: ${failures.join('; ')}`, 'error');
  else toast(`Applied ${changes.length} change${changes.length === 1 ? '' : 's'}.`);
  await refresh(context).catch(() => {});
}

async function loadHistory() {
  try {
    const r = await api.get('/api/v1/network-policies/history');
    const rows = (r.entries || []).slice(0, 30);
    clear(historyBox, rows.length
      ? h('table', { class: 'plain' }, h('thead', {}, h('tr', {}, ['When', 'Who', 'Policy', 'Change'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, rows.map((e) => h('tr', {}, h('td', { text: time(e.at) }), h('td', { text: e.who }), h('td', { text: e.policy_id }),
          h('td', { text: e.enforced ? 'enforced' : 'not enforced' })))))
      : h('p', { class: 'muted', text: 'No enforcement changes yet.' }));
  } catch (e) {
    clear(historyBox, note('error', 'Could not load the history', e instanceof api.ApiError ? e.text : String(e)));
  }
}

async function refresh(ctx) {
  context = ctx;
  let r;
  try {
    r = await api.get('/api/v1/network-policies', ctx.envParams());
  } catch (e) {
    clear(body, note('error', 'Could not load the network policies', e instanceof api.ApiError ? e.text : String(e)));
    forget('netpol');
    throw e;
  }
  backend = r.backend;
  policies = r.policies || [];
  for (const id of [...pending.keys()]) {
    const p = policies.find((x) => x.id === id);
    if (!p || p.enforced === pending.get(id)) pending.delete(id);
  }
  await fetchYaml(policies.map((p) => p.id));
  if (!unchanged('netpol', { policies, yaml: [...yaml.entries()], pending: [...pending.entries()] })) render();
  await loadHistory();
}

export default { mount, refresh };
