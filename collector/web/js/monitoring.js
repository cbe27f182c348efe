// Monitoring tab: the Web Application Firewall panel (requests, anomalous
// share, detected vs blocked, the request breakdown over the window) and
// the Container Network Policy panel (packets, dropped share, forwarded and
// dropped rates over the window).

import * as api from './api.js';
import { drawChart } from './chart.js';
import { ago, clear, code, h, note, num, pct, rate } from './dom.js';

/** Above this anomalous share the panel suggests looking at the events. */
const HINT_SHARE = 0.05;

let waf;
let net;
let top;

function stat(label, value, id, sub) {
  return h('div', { class: 'stat' },
    h('div', { class: 'stat-label', text: label }),
    h('div', { class: 'stat-value', id, text: value }),
    sub ? h('div', { class: 'stat-sub', text: sub }) : null);
}

function mount(el) {
  waf = {
    body: h('div', { class: 'panel-body' }),
  };
  net = {
    body: h('div', { class: 'panel-body' }),
  };
  top = { rules: h('div', { id: 'top-rules' }), clients: h('div', { id: 'top-clients' }) };
  clear(el,
    h('div', { class: 'panels' },
      h('section', { class: 'panel', id: 'waf-panel', 'aria-labelledby': 'waf-title' },
        h('h2', { id: 'waf-title', text: 'Web Application Firewall' }), waf.body),
      h('section', { class: 'panel', id: 'net-panel', 'aria-labelledby': 'net-title' },
        h('h2', { id: 'net-title', text: 'Container Network Policy' }), net.body)),
    h('div', { class: 'panels' },
      h('section', { class: 'panel' }, h('h2', { text: 'Top rules' }), top.rules),
      h('section', { class: 'panel' }, h('h2', { text: 'Top clients' }), top.clients)));
  waf.body.append(h('p', { class: 'muted', text: 'Loading…' }));
  net.body.append(h('p', { class: 'muted', text: 'Loading…' }));
}

function errorNote(e) {
  return note('error', 'Could not load this panel', e instanceof api.ApiError ? e.text : String(e));
}

async function refresh(ctx) {
  const params = { ...ctx.envParams(), ...ctx.range() };
  const [summary, instances, netsum, rules, clients] = await Promise.allSettled([
    api.get('/api/v1/waf/summary', params),
    api.get('/api/v1/instances', ctx.envParams()),
    api.get('/api/v1/network/summary', params),
    api.get('/api/v1/top/rules', { ...params, limit: 8 }),
    api.get('/api/v1/top/clients', { ...params, limit: 8 }),
  ]);
  if (rules.status === 'fulfilled') renderTopRules(ctx, rules.value.rules || []);
  else clear(top.rules, errorNote(rules.reason));
  if (clients.status === 'fulfilled') renderTopClients(ctx, clients.value.clients || []);
  else clear(top.clients, errorNote(clients.reason));
  if (summary.status === 'fulfilled' && instances.status === 'fulfilled') {
    renderWaf(ctx, summary.value, instances.value);
  } else {
    clear(waf.body, errorNote(summary.reason || instances.reason));
  }
  if (netsum.status === 'fulfilled') renderNet(netsum.value);
  else clear(net.body, errorNote(netsum.reason));
  const failed = [summary, instances, netsum, rules, clients].find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function renderWaf(ctx, s, inst) {
  const filters = inst.instances || [];
  const parts = [
    h('div', { class: 'stats' },
      stat('Total requests', num(s.total_requests), 'waf-total'),
      stat('Anomalous', pct(s.anomalous_share), 'waf-anomalous-share', `${num(s.anomalous)} requests`),
      stat('Detected', num(s.detected), 'waf-detected', 'logged, let through'),
      stat('Blocked', num(s.blocked), 'waf-blocked', 'refused by a filter')),
  ];
  if (filters.length === 0) {
    parts.push(note('empty', 'No filters connected yet',
      h('p', {}, 'Point a Palisade filter at this collector: set its collector URL to ', code(location.origin),
        ' and its token to the write token (', code('palisade-data/write-token'), '). Requests show up here after the filter\'s first flush (every 5 s).')));
  } else if (s.total_requests === 0) {
    parts.push(note('empty', 'No requests in this window',
      h('p', {}, `${filters.length} filter${filters.length === 1 ? '' : 's'} reported, none in this window${ctx.env ? ` for ${ctx.env}` : ''}. Pick a longer window or another environment.`)));
  }
  if (s.total_requests > 0 && s.anomalous_share >= HINT_SHARE) {
    parts.push(h('div', { class: 'note hint', id: 'waf-hint', role: 'status' },
      h('strong', { text: `${pct(s.anomalous_share)} of requests were anomalous.` }),
      ' That is high: look at the events to tell attacks from false positives. ',
      h('a', { href: '#alerts', text: 'Open the alerts →' })));
  }
  const chart = h('div', { class: 'chart-box', id: 'waf-chart' });
  parts.push(h('h3', { text: `Request breakdown (per ${bucketName(s.bucket_seconds)})` }), chart);
  clear(waf.body, parts);
  const hist = s.history || [];
  drawChart(chart, {
    kind: 'bars',
    label: `Requests per ${bucketName(s.bucket_seconds)}, nominal and anomalous`,
    step: s.bucket_seconds,
    times: hist.map((p) => p.t),
    series: [
      { label: 'Nominal', values: hist.map((p) => p.nominal) },
      { label: 'Anomalous', values: hist.map((p) => p.anomalous) },
    ],
    format: (v) => num(v),
  });
}

function bucketName(seconds) {
  if (seconds === 60) return 'minute';
  if (seconds === 3600) return 'hour';
  if (seconds === 86400) return 'day';
  return `${seconds} s`;
}

function renderNet(s) {
  const sources = Object.keys(s.sources || {});
  const parts = [
    h('div', { class: 'stats' },
      stat('Inbound packets', num(s.inbound_packets), 'net-inbound'),
      stat('Outbound packets', num(s.outbound_packets), 'net-outbound'),
      stat('Dropped', pct(s.dropped_share), 'net-dropped-share', `${num(s.dropped_packets)} packets`),
      stat('Forwarded', num(s.forwarded_packets), 'net-forwarded', `${rate(s.forwarded_per_second)} on average`)),
  ];
  if (sources.length === 0) {
    parts.push(note('empty', 'No packet counters in this window',
      h('p', {}, 'The collector reads packet counters from ', code('/proc/net/dev'), ' and nftables drop rules, or from Cilium Hubble (',
        code('--hubble-metrics-url'), '). If no packet source is configured, start it with ', code('--proc-net-dev'), ', ',
        code('--nft on'), ' or ', code('--hubble-metrics-url'), '; counters appear after the second sample.')));
  } else {
    parts.push(h('p', { class: 'muted' }, `Counted from ${sources.join(', ')} (basis: ${s.basis}). `,
      s.basis === 'hubble' ? 'Forwarded and dropped are Hubble flow verdicts.' : 'Dropped = interface drops + nftables drop rules.'));
  }
  const chart = h('div', { class: 'chart-box', id: 'net-chart' });
  parts.push(h('h3', { text: 'Forwarded and dropped packets per second' }), chart);
  clear(net.body, parts);
  const hist = s.history || [];
  drawChart(chart, {
    kind: 'lines',
    label: 'Forwarded and dropped packets per second',
    step: s.bucket_seconds,
    times: hist.map((p) => p.t),
    series: [
      { label: 'Forwarded', values: hist.map((p) => p.forwarded_per_second) },
      { label: 'Dropped', values: hist.map((p) => p.dropped_per_second) },
    ],
    format: (v) => rate(v),
  });
}

function renderTopRules(ctx, rows) {
  if (rows.length === 0) {
    clear(top.rules, h('p', { class: 'muted', text: 'No rule matched in this window.' }));
    return;
  }
  clear(top.rules, h('table', { class: 'plain' },
    h('thead', {}, h('tr', {}, ['Rule', 'Message', 'Hits'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('td', {}, h('a', { href: '#alerts', text: r.rule_id, title: `Events of rule ${r.rule_id}`,
        onclick: (ev) => { ev.preventDefault(); ctx.go('alerts', { rule: r.rule_id }); } })),
      h('td', { text: r.msg || '' }),
      h('td', { class: 'num', text: num(r.hits) }))))));
}

function renderTopClients(ctx, rows) {
  if (rows.length === 0) {
    clear(top.clients, h('p', { class: 'muted', text: 'No client caused an event in this window.' }));
    return;
  }
  clear(top.clients, h('table', { class: 'plain' },
    h('thead', {}, h('tr', {}, ['Client', 'Events', 'Blocked', 'Last seen'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('td', {}, h('a', { href: '#alerts', text: r.client,
        onclick: (ev) => { ev.preventDefault(); ctx.go('alerts', { client: r.client }); } })),
      h('td', { class: 'num', text: num(r.events) }),
      h('td', { class: 'num', text: num(r.blocked) }),
      h('td', { text: ago(r.last_seen) }))))));
}

export default { mount, refresh };
