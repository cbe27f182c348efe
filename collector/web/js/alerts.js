// Alerts tab: the security events of the window, filterable, each with its
// evidence; "mask as false positive", "turn this rule off" (both confirmed
// and recorded as policy changes) and "open in the playground".

import * as api from './api.js';
import { clear, code, confirmDialog, forget, h, note, time, toast, unchanged } from './dom.js';

const LIMIT = 50;
let form;
let list;
let more;
let cursor = null;
let rows = [];
let open = new Set();
let context;

const FIELDS = [
  ['rule', 'Rule id', '942100'],
  ['host', 'Host', 'shop.example.com'],
  ['client', 'Client', '203.0.113.9'],
  ['path', 'Path', '/search'],
];

function mount(el, ctx) {
  context = ctx;
  form = h('form', { class: 'filters', id: 'alert-filters', role: 'search', 'aria-label': 'Filter events' },
    FIELDS.map(([name, label, ph]) => h('label', {}, label, h('input', { name, placeholder: ph, autocomplete: 'off' }))),
    h('label', {}, 'Action', h('select', { name: 'action' },
      h('option', { value: '', text: 'any' }), h('option', { value: 'detected', text: 'detected' }), h('option', { value: 'blocked', text: 'blocked' }))),
    h('label', {}, 'Severity at least', h('select', { name: 'severity' },
      ['', 'critical', 'error', 'warning', 'notice'].map((s) => h('option', { value: s, text: s || 'any' })))),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'include_masked' }), ' Show masked'),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary', text: 'Apply filters' }),
      h('button', { type: 'reset', text: 'Clear' })));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  form.addEventListener('reset', () => setTimeout(load, 0));
  list = h('div', { id: 'alert-list' }, h('p', { class: 'muted', text: 'Loading…' }));
  more = h('button', { type: 'button', id: 'alerts-more', hidden: true, text: 'Load older events', onclick: () => load(true) });
  clear(el, h('section', { class: 'panel' },
    h('h2', { text: 'Alerts' }),
    h('p', { class: 'muted', text: 'Security events in the selected window and environment, newest first. Expand one to see its evidence.' }),
    form, list, more));
}

function filters(ctx) {
  const fd = new FormData(form);
  const p = { ...ctx.envParams(), ...ctx.range(), limit: LIMIT };
  for (const [k, v] of fd.entries()) {
    if (k === 'include_masked') p.include_masked = 'true';
    else if (String(v).trim()) p[k] = String(v).trim();
  }
  return p;
}

async function load(append = false) {
  const params = filters(context);
  if (append && cursor) params.cursor = cursor;
  let data;
  try {
    data = await api.get('/api/v1/events', params);
  } catch (e) {
    clear(list, note('error', 'Could not load the events', e instanceof api.ApiError ? e.text : String(e)));
    more.hidden = true;
    forget('alerts');
    throw e;
  }
  if (!append && rows.length <= data.events.length && unchanged('alerts', { params: { ...params, from: 0, to: 0 }, data })) return;
  rows = append ? rows.concat(data.events) : data.events;
  cursor = data.next_cursor;
  more.hidden = !cursor;
  if (append) forget('alerts');
  render();
}

function render() {
  if (rows.length === 0) {
    const filtered = [...new FormData(form).values()].some((v) => String(v).trim());
    clear(list, note('empty', 'No events in this window',
      h('p', {}, filtered
        ? 'Nothing matches these filters. Clear them, or pick a longer window.'
        : 'No request scored in this window. Events appear when a filter sees a request that CRS rules match; try the rule playground to see what would.')));
    return;
  }
  const table = h('table', { class: 'events', id: 'events-table' },
    h('thead', {}, h('tr', {},
      ['', 'Time', 'Host', 'Request', 'Client', 'Score', 'Action', 'Rules'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, rows.flatMap((ev) => rowFor(ev))));
  clear(list, h('p', { class: 'muted', text: `${rows.length} event${rows.length === 1 ? '' : 's'}${cursor ? ' (more below)' : ''}` }), table);
}

function rowFor(ev) {
  const detailsId = `event-${ev.id}-details`;
  const expanded = open.has(ev.id);
  const toggle = h('button', {
    type: 'button', class: 'expander', 'aria-expanded': expanded ? 'true' : 'false', 'aria-controls': detailsId,
    'aria-label': `Details of event ${ev.id}`, text: expanded ? '▾' : '▸',
  });
  const tr = h('tr', { class: `event ${ev.action}${ev.masked ? ' masked' : ''}`, 'data-id': ev.id },
    h('td', {}, toggle),
    h('td', { text: time(ev.time) }),
    h('td', { text: ev.authority }),
    h('td', { class: 'req' }, h('span', { class: 'method', text: ev.method }), ' ', ev.path),
    h('td', { text: ev.client }),
    h('td', { class: 'num', text: ev.inbound_score }),
    h('td', {}, h('span', { class: `badge ${ev.action}`, text: ev.action }), ev.masked ? h('span', { class: 'badge masked', text: 'masked' }) : null),
    h('td', { text: (ev.rule_ids || []).join(', ') }));
  const detail = h('tr', { class: 'details', id: detailsId, hidden: !expanded }, h('td', { colspan: 8 }, h('p', { class: 'muted', text: 'Loading…' })));
  const flip = () => {
    const now = !open.has(ev.id);
    if (now) open.add(ev.id); else open.delete(ev.id);
    toggle.setAttribute('aria-expanded', now ? 'true' : 'false');
    toggle.textContent = now ? '▾' : '▸';
    detail.hidden = !now;
    if (now) showDetails(ev, detail.firstChild);
  };
  toggle.addEventListener('click', flip);
  tr.addEventListener('click', (e) => { if (e.target === tr || e.target.tagName === 'TD') flip(); });
  if (expanded) showDetails(ev, detail.firstChild);
  return [tr, detail];
}

async function showDetails(ev, cell) {
  let d;
  try {
    d = await api.get(`/api/v1/events/${ev.id}`);
  } catch (e) {
    clear(cell, note('error', 'Could not load the evidence', e instanceof api.ApiError ? e.text : String(e)));
    return;
  }
  const facts = [
    ['Request line', code(d.request_line)],
    ['Host', d.authority], ['Client', d.client], ['Environment', d.environment], ['Filter', d.instance],
    ['Inbound score', d.inbound_score], ['Outbound score', d.outbound_score],
    ['Action', `${d.action}${d.status ? ` (status ${d.status})` : ''}`],
    ['Policy version', d.policy_version], ['Event id', d.event_id],
  ];
  const rules = h('table', { class: 'evidence' },
    h('thead', {}, h('tr', {}, ['Rule', 'Message', 'Matched data', 'Variable', 'Severity', ''].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, (d.rules || []).map((r) => h('tr', {},
      h('td', { class: 'num', text: r.id }),
      h('td', { text: r.msg }),
      h('td', { class: 'data' }, r.data, r.value ? h('div', { class: 'muted' }, 'value: ', code(r.value)) : null),
      h('td', { text: r.variable }),
      h('td', { text: r.severity }),
      h('td', {}, h('button', { type: 'button', class: 'small', text: 'Turn rule off…', onclick: () => ruleOff(d, r) }))))));
  clear(cell,
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)])),
    rules,
    h('div', { class: 'row-actions' },
      d.masked
        ? h('button', { type: 'button', text: 'Unmask…', onclick: () => mask(d, true) })
        : h('button', { type: 'button', class: 'mask', text: 'Mask as false positive…', onclick: () => mask(d, false) }),
      h('button', { type: 'button', class: 'to-playground', text: 'Open in playground', onclick: () => toPlayground(d) })));
}

async function mask(d, unmask) {
  const ids = (d.rules || []).map((r) => r.id).join(', ');
  const ok = await confirmDialog({
    title: unmask ? `Unmask event ${d.id}?` : `Mask event ${d.id} as a false positive?`,
    body: unmask
      ? h('p', {}, `Rules ${ids} are reported again for `, code(d.authority), ' ', code(d.path), '. This is a policy change (a new version, in the change history).')
      : [h('p', {}, 'Rules ', h('strong', { text: ids }), ' will be masked for host ', code(d.authority), ' and path ', code(d.path), '.'),
        h('p', {}, 'The filters stop reporting such events and stored events of the same rules, host and path are hidden. The rules still score, so in block mode the request is still refused: turn a rule off to change that.'),
        h('p', { class: 'muted', text: 'This creates a new policy version and is recorded in the change history.' })],
    confirm: unmask ? 'Unmask' : 'Mask as false positive',
    comment: 'why (optional)',
  });
  if (!ok) return;
  try {
    const r = await api.post(`/api/v1/events/${d.id}/${unmask ? 'unmask' : 'mask'}`, ok.comment ? { comment: ok.comment } : {});
    toast(`${unmask ? 'Unmasked' : 'Masked'} event ${d.id}; policy version ${r.policy_version}.`);
    open.delete(d.id);
    forget('alerts');
    await load();
  } catch (e) {
    toast(e instanceof api.ApiError ? e.text : String(e), 'error');
  }
}

async function ruleOff(d, r) {
  const ok = await confirmDialog({
    title: `Turn rule ${r.id} off?`,
    body: [h('p', {}, h('strong', { text: `${r.id}` }), ` ${r.msg}`),
      h('p', { text: 'While it is off the filters skip the rule entirely: it neither scores nor reports. Turn it back on in the Policy tab.' })],
    choicesLabel: 'Where',
    choices: [
      { value: 'host', label: `Only for ${d.authority}` },
      { value: 'all', label: 'For every host' },
    ],
    confirm: 'Turn rule off',
    danger: true,
    comment: 'why (optional)',
  });
  if (!ok) return;
  const body = {};
  if (ok.choice === 'host') body.host = d.authority;
  if (ok.comment) body.comment = ok.comment;
  try {
    const res = await api.post(`/api/v1/rules/${r.id}/disable`, body);
    toast(`Rule ${r.id} is off ${body.host ? `for ${body.host}` : 'everywhere'}; policy version ${res.policy.version}.`);
  } catch (e) {
    toast(e instanceof api.ApiError ? e.text : String(e), 'error');
  }
}

function toPlayground(d) {
  const m = /^(\S+)\s+(\S+)/.exec(d.request_line || '');
  context.go('playground', {
    method: m ? m[1] : d.method,
    url: m ? m[2] : d.path,
    host: d.authority,
    source: `event ${d.id}`,
  });
}

async function refresh(ctx) {
  context = ctx;
  // Open details stay open across refreshes.
  await load(false);
}

function show(ctx, params) {
  context = ctx;
  if (!params) return;
  form.reset();
  for (const k of ['rule', 'host', 'client', 'path']) {
    if (params[k] !== undefined) form.elements[k].value = String(params[k]);
  }
}

export default { mount, refresh, show };
