// Policy tab: the live WAF policy the filters pull (mode, paranoia level,
// thresholds, disabled rules, masks, per-host overrides), which filter runs
// which version, and the change history. Every change is a confirmed PUT
// with the version it was based on, so two editors cannot overwrite each
// other silently (the collector answers 409).

import * as api from './api.js';
import { ago, clear, code, confirmDialog, forget, h, note, num, time, toast, unchanged } from './dom.js';

let el;
let context = null;
let policy = null;
let parts;
let historyCursor = null;
let historyRows = [];

const MODES = [
  { value: 'off', label: 'Off', text: 'Rules do not run.' },
  { value: 'detect', label: 'Detect', text: 'Rules run and events are reported; nothing is refused.' },
  { value: 'block', label: 'Block', text: 'Requests at or above the anomaly threshold are refused with 403.' },
];

function mount(root) {
  el = root;
  parts = {
    mode: h('div', { class: 'panel-body', id: 'policy-mode' }),
    settings: h('div', { class: 'panel-body', id: 'policy-settings' }),
    rules: h('div', { class: 'panel-body', id: 'policy-rules' }),
    filters: h('div', { class: 'panel-body', id: 'policy-filters' }),
    history: h('div', { class: 'panel-body', id: 'policy-history' }),
  };
  clear(el,
    h('div', { class: 'panels' },
      h('section', { class: 'panel' }, h('h2', { text: 'WAF mode' }), parts.mode),
      h('section', { class: 'panel' }, h('h2', { text: 'Paranoia level and thresholds' }), parts.settings)),
    h('section', { class: 'panel' }, h('h2', { text: 'Disabled rules, masks and host overrides' }), parts.rules),
    h('section', { class: 'panel' }, h('h2', { text: 'Filters and the policy version they run' }), parts.filters),
    h('section', { class: 'panel' }, h('h2', { text: 'Change history' }), parts.history));
  for (const p of Object.values(parts)) p.append(h('p', { class: 'muted', text: 'Loading…' }));
}

/** The document as PUT takes it (GET's fields only). */
function doc(p, changes) {
  const d = {
    version: p.version,
    mode: p.mode,
    paranoia_level: p.paranoia_level,
    inbound_threshold: p.inbound_threshold,
    outbound_threshold: p.outbound_threshold,
    disabled_rules: p.disabled_rules,
    disabled_tags: p.disabled_tags,
    masks: p.masks,
    hosts: p.hosts,
  };
  return { ...d, ...changes };
}

async function save(changes, comment) {
  const body = doc(policy, changes);
  if (comment) body.comment = comment;
  try {
    const r = await api.put('/api/v1/policy', body);
    policy = r.policy;
    toast(r.changed.length ? `Saved: policy version ${r.policy.version} (${r.changed.join(', ')}).` : 'Nothing changed.');
    return true;
  } catch (e) {
    const msg = e instanceof api.ApiError && e.status === 409
      ? 'Someone else changed the policy meanwhile; the page now shows the current one. Check it and try again.'
      : (e instanceof api.ApiError ? e.text : String(e));
    toast(msg, 'error');
    return false;
  } finally {
    await refresh().catch(() => {});
  }
}

function renderMode() {
  const group = h('div', { class: 'modes', role: 'radiogroup', 'aria-label': 'WAF mode' },
    MODES.map((m) => h('label', { class: `mode ${m.value}${policy.mode === m.value ? ' current' : ''}` },
      h('input', { type: 'radio', name: 'waf-mode', value: m.value, checked: policy.mode === m.value }),
      h('span', { class: 'mode-name', text: m.label }),
      h('span', { class: 'mode-text', text: m.text }))));
  group.addEventListener('change', async (ev) => {
    const want = ev.target.value;
    const ok = await confirmMode(want);
    if (!ok || !(await save({ mode: want }, ok.comment))) {
      renderMode();
    }
  });
  clear(parts.mode,
    h('p', {}, 'Current mode: ', h('strong', { id: 'current-mode', class: `mode-label ${policy.mode}`, text: policy.mode }),
      ' · policy version ', h('strong', { id: 'policy-version', text: policy.version })),
    group,
    Object.keys(policy.hosts || {}).some((k) => policy.hosts[k].mode)
      ? h('p', { class: 'muted', text: 'Some hosts override the mode; see the host overrides below.' }) : null);
}

function confirmMode(want) {
  if (want === 'block') {
    return confirmDialog({
      title: 'Switch to block mode?',
      body: [
        h('p', { class: 'warn-text' }, h('strong', { text: 'Requests will be refused.' }),
          ` Every filter will answer 403 to requests whose anomaly score reaches ${policy.inbound_threshold} (inbound) or ${policy.outbound_threshold} (outbound), at paranoia level ${policy.paranoia_level}.`),
        h('p', { text: 'False positives then turn into errors for real users. Check the Alerts tab first, and mask or turn off the rules that fire on legitimate traffic.' }),
        h('p', { class: 'muted', text: 'Filters apply the new policy version at their next flush (a few seconds).' }),
      ],
      confirm: 'Switch to block mode',
      danger: true,
      comment: 'why (kept in the change history)',
    });
  }
  return confirmDialog({
    title: `Switch to ${want} mode?`,
    body: h('p', { text: want === 'off'
      ? 'The filters stop running rules: no events, no protection.'
      : 'The filters keep reporting events but let every request through.' }),
    confirm: `Switch to ${want}`,
    danger: want === 'off',
    comment: 'why (optional)',
  });
}

function renderSettings() {
  const pl = h('select', { id: 'pl', name: 'paranoia_level' },
    [1, 2, 3, 4].map((n) => h('option', { value: n, text: `${n}${n === 1 ? ' (default)' : n === 4 ? ' (most rules)' : ''}`, selected: policy.paranoia_level === n })));
  const inb = h('input', { id: 'inbound-threshold', type: 'number', min: 1, max: 10000, value: policy.inbound_threshold, required: true });
  const outb = h('input', { id: 'outbound-threshold', type: 'number', min: 1, max: 10000, value: policy.outbound_threshold, required: true });
  const form = h('form', { class: 'settings' },
    h('label', { for: 'pl', text: 'Paranoia level' }), pl,
    h('label', { for: 'inbound-threshold', text: 'Inbound anomaly threshold' }), inb,
    h('label', { for: 'outbound-threshold', text: 'Outbound anomaly threshold' }), outb,
    h('div', {}, h('button', { type: 'submit', class: 'primary', text: 'Save…' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const want = { paranoia_level: Number(pl.value), inbound_threshold: Number(inb.value), outbound_threshold: Number(outb.value) };
    const diffs = Object.entries(want).filter(([k, v]) => policy[k] !== v);
    if (diffs.length === 0) {
      toast('Nothing changed.');
      return;
    }
    const ok = await confirmDialog({
      title: 'Save the policy?',
      body: h('ul', {}, diffs.map(([k, v]) => h('li', {}, code(k), `: ${policy[k]} → ${v}`))),
      confirm: 'Save',
      comment: 'why (optional)',
    });
    if (ok) await save(want, ok.comment);
  });
  clear(parts.settings,
    h('p', { class: 'muted', text: 'Each matching CRS rule adds to the anomaly score (critical 5, error 4, warning 3, notice 2). Higher paranoia levels run more rules and find more, with more false positives.' }),
    form);
}

function renderRules() {
  const disabled = policy.disabled_rules || [];
  const addId = h('input', { id: 'disable-rule-id', type: 'number', min: 1, placeholder: 'rule id', required: true });
  const addHost = h('input', { id: 'disable-rule-host', placeholder: 'host (optional)' });
  const add = h('form', { class: 'inline-form' }, h('label', {}, 'Turn a rule off ', addId), addHost,
    h('button', { type: 'submit', text: 'Turn off…' }));
  add.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    await ruleSwitch(Number(addId.value), true, addHost.value.trim() || undefined);
  });
  const hosts = Object.entries(policy.hosts || {});
  clear(parts.rules,
    h('h3', { text: 'Disabled rules (all hosts)' }),
    disabled.length
      ? h('ul', { class: 'chips', id: 'disabled-rules' }, disabled.map((id) => h('li', {}, h('span', { text: id }),
        h('button', { type: 'button', class: 'small', 'aria-label': `Turn rule ${id} back on`, text: 'Turn on', onclick: () => ruleSwitch(id, false) }))))
      : h('p', { class: 'muted', id: 'disabled-rules', text: 'No rule is turned off for all hosts.' }),
    (policy.disabled_tags || []).length ? h('p', {}, 'Disabled tags: ', (policy.disabled_tags || []).map((t) => code(t))) : null,
    add,
    h('h3', { text: 'Masks (false positives)' }),
    (policy.masks || []).length
      ? h('table', { class: 'plain', id: 'masks' }, h('thead', {}, h('tr', {}, ['Rule', 'Host', 'Path', ''].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, policy.masks.map((m) => h('tr', {}, h('td', { text: m.rule_id }), h('td', { text: m.authority }), h('td', { text: m.path }),
          h('td', {}, h('button', { type: 'button', class: 'small', text: 'Remove…', onclick: () => removeMask(m) }))))))
      : h('p', { class: 'muted', id: 'masks', text: 'No masks. Mask an alert as a false positive from the Alerts tab.' }),
    h('h3', { text: 'Host overrides' }),
    hosts.length
      ? h('table', { class: 'plain', id: 'hosts' },
        h('thead', {}, h('tr', {}, ['Host', 'Mode', 'Paranoia', 'Thresholds', 'Disabled rules'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, hosts.map(([host, o]) => h('tr', {},
          h('td', { text: host }), h('td', { text: o.mode || '(global)' }), h('td', { text: o.paranoia_level ?? '(global)' }),
          h('td', { text: o.inbound_threshold === undefined && o.outbound_threshold === undefined
            ? '(global)' : `${o.inbound_threshold ?? '(global)'} in / ${o.outbound_threshold ?? '(global)'} out` }),
          h('td', {}, (o.disabled_rules || []).map((id) => h('span', { class: 'chip' }, `${id} `,
            h('button', { type: 'button', class: 'small', 'aria-label': `Turn rule ${id} back on for ${host}`, text: 'turn on', onclick: () => ruleSwitch(id, false, host) }))))))))
      : h('p', { class: 'muted', text: 'No host overrides.' }));
}

async function ruleSwitch(id, off, host) {
  if (!Number.isInteger(id) || id <= 0) {
    toast('A rule id is a positive number.', 'error');
    return;
  }
  const where = host ? `for ${host}` : 'for every host';
  const ok = await confirmDialog({
    title: `Turn rule ${id} ${off ? 'off' : 'on'} ${where}?`,
    body: h('p', { text: off ? 'While it is off the filters skip the rule: it neither scores nor reports.' : 'The filters run the rule again.' }),
    confirm: off ? 'Turn off' : 'Turn on',
    danger: off,
    comment: 'why (optional)',
  });
  if (!ok) return;
  const body = {};
  if (host) body.host = host;
  if (ok.comment) body.comment = ok.comment;
  try {
    const r = await api.post(`/api/v1/rules/${id}/${off ? 'disable' : 'enable'}`, body);
    toast(`Rule ${id} ${off ? 'off' : 'on'} ${where}; policy version ${r.policy.version}.`);
  } catch (e) {
    toast(e instanceof api.ApiError ? e.text : String(e), 'error');
  }
  await refresh().catch(() => {});
}

async function removeMask(m) {
  const ok = await confirmDialog({
    title: `Remove the mask of rule ${m.rule_id}?`,
    body: h('p', {}, 'Events of rule ', code(String(m.rule_id)), ' on ', code(m.authority), ' ', code(m.path), ' are reported again.'),
    confirm: 'Remove mask',
    comment: 'why (optional)',
  });
  if (!ok) return;
  const masks = policy.masks.filter((x) => !(x.rule_id === m.rule_id && x.authority === m.authority && x.path === m.path));
  await save({ masks }, ok.comment);
}

function renderFilters(inst) {
  const list = inst.instances || [];
  if (list.length === 0) {
    clear(parts.filters, note('empty', 'No filters connected yet',
      h('p', {}, 'Filters appear here after their first telemetry batch. Each reports the policy version it runs.')));
    return;
  }
  const behind = list.filter((i) => !i.current).length;
  clear(parts.filters,
    h('p', {}, `Current policy version ${inst.policy_version}. `, behind
      ? h('strong', { class: 'warn-text', text: `${behind} filter${behind === 1 ? '' : 's'} still run${behind === 1 ? 's' : ''} an older version.` })
      : 'Every filter runs it.'),
    h('table', { class: 'plain', id: 'instances' },
      h('thead', {}, h('tr', {}, ['Filter', 'Environment', 'Policy version', 'Since', 'Last seen', 'Batches', 'Dropped events'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, list.map((i) => h('tr', { 'data-instance': i.instance },
        h('td', { text: i.instance }), h('td', { text: i.environment }),
        h('td', {}, h('span', { class: 'version', text: i.policy_version }), ' ',
          h('span', { class: `badge ${i.current ? 'ok' : 'warn'}`, text: i.current ? 'current' : 'behind' })),
        h('td', { text: time(i.version_since) }), h('td', { text: ago(i.last_seen) }),
        h('td', { class: 'num', text: num(i.batches) }), h('td', { class: 'num', text: num(i.dropped_events) }))))));
}

async function loadHistory(append) {
  const r = await api.get('/api/v1/policy/history', { limit: 20, cursor: append ? historyCursor : undefined });
  if (!append && historyRows.length <= r.entries.length && unchanged('policy.history', r)) return;
  if (append) forget('policy.history');
  historyRows = append ? historyRows.concat(r.entries) : r.entries;
  historyCursor = r.next_cursor;
  clear(parts.history,
    h('table', { class: 'plain', id: 'history' },
      h('thead', {}, h('tr', {}, ['Version', 'When', 'Who', 'Action', 'Changed', 'Comment'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, historyRows.map((e) => h('tr', {},
        h('td', { class: 'num', text: e.version }), h('td', { text: time(e.at) }), h('td', { text: e.who }),
        h('td', { text: e.action }), h('td', { text: (e.changes || []).join(', ') || '–' }), h('td', { text: e.comment || '' }))))),
    historyCursor ? h('button', { type: 'button', text: 'Older changes', onclick: () => loadHistory(true) }) : null);
}

async function refresh() {
  const [p, inst] = await Promise.all([
    api.get('/api/v1/policy'),
    api.get('/api/v1/instances', context ? context.envParams() : {}),
  ]).catch((e) => {
    for (const part of Object.values(parts)) clear(part, note('error', 'Could not load the policy', e instanceof api.ApiError ? e.text : String(e)));
    for (const k of ['policy', 'policy.instances', 'policy.history']) forget(k);
    throw e;
  });
  policy = p;
  if (!unchanged('policy', p)) {
    renderMode();
    renderSettings();
    renderRules();
  }
  if (!unchanged('policy.instances', inst)) renderFilters(inst);
  await loadHistory(false);
}

export default {
  mount,
  refresh: (ctx) => {
    context = ctx;
    return refresh();
  },
};
