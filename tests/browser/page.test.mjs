// The Threat Monitoring page in headless Chromium against the real
// collector, with telemetry posted through the ingest API and packet
// counters from a file the collector samples. Screenshots of every tab go to
// tests/artifacts/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { batch, browser, Collector, event, NETPOL_DENY, parseNum, RULE, screenshotPath } from './harness.mjs';

let c;
let b;
let page;
const pageErrors = [];

async function fill() {
  const shop = 'shop.example.com';
  await c.api('POST', '/api/v1/telemetry', batch({
    instance: 'envoy-1',
    environment: 'production',
    counters: [
      { authority: shop, outcome: 'pass', count: 120 },
      { authority: shop, outcome: 'detected', count: 6 },
      { authority: shop, outcome: 'blocked', count: 2 },
    ],
    events: [
      event({ id: 'e-sqli-1', ago: 300, host: shop, client: '203.0.113.9', path: '/search', query: "?q=1'%20OR%201=1--", score: 5, rules: [RULE.sqli] }),
      event({ id: 'e-sqli-2', ago: 240, host: shop, client: '203.0.113.9', path: '/search', query: "?q=1'%20OR%201=1--", score: 10, action: 'blocked', rules: [RULE.sqli] }),
      event({ id: 'e-xss', ago: 200, host: shop, client: '198.51.100.7', path: '/search', query: '?q=%3Cscript%3Ealert(1)%3C/script%3E', score: 5, rules: [RULE.xss] }),
      event({ id: 'e-scan', ago: 120, host: shop, client: '192.0.2.44', path: '/', score: 5, rules: [RULE.scanner] }),
    ],
  }));
  await c.api('POST', '/api/v1/telemetry', batch({
    instance: 'envoy-2',
    environment: 'staging',
    counters: [
      { authority: 'api.example.com', outcome: 'pass', count: 40 },
      { authority: 'api.example.com', outcome: 'detected', count: 1 },
    ],
    events: [
      event({ id: 'e-api', ago: 90, host: 'api.example.com', client: '192.0.2.10', path: '/v1/items', query: "?id=1'%20OR%201=1--", score: 5, rules: [RULE.sqli] }),
    ],
  }));
  // Packets: the first sample is the baseline; these are the traffic.
  await waitFor(async () => (await c.get('/api/v1/network/summary')).history.length > 0);
  await new Promise((r) => setTimeout(r, 800));
  c.packets({ rx: 2500, rxDrop: 40, tx: 1200 });
  await waitFor(async () => (await c.get('/api/v1/network/summary')).inbound_packets === 2500);
}

async function waitFor(check, seconds = 15) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${seconds} s: ${check}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function open(hash) {
  await page.goto(`${c.url}/${hash}`);
  await page.waitForFunction(() => document.getElementById('updated').textContent.startsWith('Updated'));
}

async function shot(name) {
  // Toasts from earlier steps would cover part of the picture.
  await page.evaluate(() => document.getElementById('toasts')?.replaceChildren());
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
}

const text = (sel) => page.locator(sel).first().innerText();
const windowParams = () => {
  const to = Math.floor(Date.now() / 1000);
  return `from=${to - 3600}&to=${to}`;
};

describe('Threat Monitoring page', () => {
  before(async () => {
    c = await Collector.start();
    await fill();
    b = await browser();
    page = await b.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    if (b) await b.close();
    if (c) await c.stop();
  });

  test('monitoring: the numbers on the page are the API\'s, and the charts render', async () => {
    await open('#monitoring');
    const waf = await c.get(`/api/v1/waf/summary?${windowParams()}`);
    assert.equal(waf.total_requests, 169);
    assert.equal(parseNum(await text('#waf-total')), waf.total_requests);
    assert.equal(parseNum(await text('#waf-detected')), waf.detected);
    assert.equal(parseNum(await text('#waf-blocked')), waf.blocked);
    assert.equal(await text('#waf-anomalous-share'), `${(waf.anomalous_share * 100).toFixed(1)}%`);
    // 9 of 169 anomalous: above the hint's 5%.
    assert.match(await text('#waf-hint'), /anomalous/);

    const net = await c.get(`/api/v1/network/summary?${windowParams()}`);
    assert.equal(net.inbound_packets, 2500);
    assert.equal(parseNum(await text('#net-inbound')), net.inbound_packets);
    assert.equal(parseNum(await text('#net-outbound')), net.outbound_packets);
    assert.match(await page.locator('#net-panel .stat', { hasText: 'Dropped' }).innerText(), new RegExp(`${net.dropped_packets} packets`));

    // One bar per non-empty series value per bucket; one line per series
    // with a point per bucket.
    const bars = waf.history.reduce((n, p) => n + (p.nominal > 0) + (p.anomalous > 0), 0);
    assert.ok(bars > 0);
    assert.equal(await page.locator('#waf-chart svg.chart .plot rect').count(), bars);
    const lines = page.locator('#net-chart svg.chart polyline');
    assert.equal(await lines.count(), 2);
    const points = (await lines.first().getAttribute('points')).trim().split(/\s+/).length;
    assert.equal(points, net.history.length);
    // Top rules come from the rule-hit counters.
    const topRules = await c.get(`/api/v1/top/rules?${windowParams()}&limit=8`);
    const first = page.locator('#top-rules tbody tr').first();
    assert.match(await first.innerText(), new RegExp(`${topRules.rules[0].rule_id}\\s+.*\\s+${topRules.rules[0].hits}`));
    assert.equal(await page.locator('#top-rules tbody tr').count(), topRules.rules.length);
    await shot('monitoring');

    // The environment picker scopes the numbers.
    await page.selectOption('#env', 'production');
    await page.waitForFunction(() => document.getElementById('waf-total').textContent === '128');
    const prod = await c.get(`/api/v1/waf/summary?environment=production&${windowParams()}`);
    assert.equal(parseNum(await text('#waf-total')), prod.total_requests);
    await page.selectOption('#env', '');
    await page.waitForFunction(() => document.getElementById('waf-total').textContent === '169');
  });

  test('alerts: evidence is shown, filters work, and masking removes the alert', async () => {
    await open('#alerts');
    await page.waitForSelector('#events-table');
    const all = await c.get(`/api/v1/events?${windowParams()}`);
    assert.equal(all.events.length, 5);
    assert.equal(await page.locator('tr.event').count(), all.events.length);

    const xss = all.events.find((e) => e.rule_ids.includes(941100));
    const row = page.locator(`tr.event[data-id="${xss.id}"]`);
    await row.locator('button.expander').click();
    const details = page.locator(`#event-${xss.id}-details`);
    await details.getByText('XSS Attack Detected via libinjection').waitFor();
    assert.match(await details.innerText(), /Matched Data: XSS data found within ARGS:q/);
    assert.match(await details.innerText(), /198\.51\.100\.7/);
    await shot('alerts');

    await details.getByRole('button', { name: 'Mask as false positive…' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByText(`Mask event ${xss.id} as a false positive?`).waitFor();
    await dlg.locator('input[name=comment]').fill('search box test payloads');
    await dlg.getByRole('button', { name: 'Mask as false positive' }).click();
    // No token yet: the page asks for it and retries.
    await page.locator('#token-input').fill(c.token);
    await page.locator('#token-remember').check();
    await page.locator('#token-save').click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await page.locator('tr.event').count(), all.events.length - 1);
    const after = await c.get(`/api/v1/events?${windowParams()}`);
    assert.ok(!after.events.some((e) => e.id === xss.id));
    const policy = await c.get('/api/v1/policy');
    assert.deepEqual(policy.masks, [{ rule_id: 941100, authority: 'shop.example.com', path: '/search' }]);
    const hist = await c.get('/api/v1/policy/history?limit=1');
    assert.equal(hist.entries[0].comment, 'search box test payloads');

    // Filter by rule.
    await page.locator('#alert-filters input[name=rule]').fill('942100');
    await page.locator('#alert-filters button[type=submit]').click();
    const sqli = await c.get(`/api/v1/events?rule=942100&${windowParams()}`);
    await page.waitForFunction((n) => document.querySelectorAll('tr.event').length === n, sqli.events.length);
    for (const r of await page.locator('tr.event').all()) assert.match(await r.innerText(), /942100/);
  });

  test('network policies: toggling enforcement changes the manifest\'s selector', async () => {
    await open('#network');
    const id = 'production/shop-ingress.yaml';
    const card = page.locator(`article[data-id="${id}"]`);
    const yaml = card.locator('pre.yaml');
    await yaml.getByText('kind: NetworkPolicy').waitFor();
    assert.equal((await yaml.innerText()).trim(), NETPOL_DENY.trim());
    assert.equal(await page.locator('article.netpol').count(), 2);

    await card.locator('input.switch').click();
    await page.locator('#apply-bar').getByText('1 pending change').waitFor();
    await page.locator('#apply-changes').click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByText('stop enforcing').waitFor();
    await dlg.getByRole('button', { name: 'Apply changes' }).click();
    await yaml.getByText('palisade.dev/disabled-by: palisade').waitFor();
    const shown = await yaml.innerText();
    // The label sits in spec.podSelector.matchLabels, beside app: shop.
    const selector = shown.slice(shown.indexOf('  podSelector:'), shown.indexOf('  policyTypes:'));
    assert.match(selector, /matchLabels:[\s\S]*app: shop/);
    assert.match(selector, /palisade\.dev\/disabled-by: palisade/);
    const api = await c.get(`/api/v1/network-policies/${id}`);
    assert.equal(api.enforced, false);
    assert.equal(shown.trim(), api.yaml.trim());
    assert.equal(await card.locator('mark').count(), 1);
    await shot('network');

    // And back: the file is what it was.
    await card.locator('input.switch').click();
    await page.locator('#apply-changes').click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Apply changes' }).click();
    await page.waitForFunction((sel) => !document.querySelector(sel).textContent.includes('disabled-by'), `article[data-id="${id}"] pre.yaml`);
    assert.equal(readFileSync(join(c.data, 'network-policies', id), 'utf8'), NETPOL_DENY);
    const history = await c.get('/api/v1/network-policies/history');
    assert.equal(history.entries.length, 2);
  });

  test('policy: block mode asks for confirmation, and the filter then runs the new version', async () => {
    await open('#policy');
    await page.locator('#current-mode').getByText('detect').waitFor();
    const before = await c.get('/api/v1/policy');
    const row = page.locator('#instances tr[data-instance="envoy-1"]');
    await row.waitFor();
    assert.match(await row.innerText(), /behind/); // the mask made version 2; envoy-1 reported 1

    // Cancel first: nothing changes.
    await page.locator('label.mode.block').click();
    let dlg = page.locator('dialog[open]');
    await dlg.getByText('Switch to block mode?').waitFor();
    assert.match(await dlg.innerText(), /Requests will be refused/);
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'detached' });
    assert.equal((await c.get('/api/v1/policy')).version, before.version);
    assert.equal(await page.locator('input[name=waf-mode]:checked').getAttribute('value'), 'detect');

    await page.locator('label.mode.block').click();
    dlg = page.locator('dialog[open]');
    await dlg.locator('input[name=comment]').fill('go live');
    await dlg.getByRole('button', { name: 'Switch to block mode' }).click();
    await page.locator('#current-mode').getByText('block').waitFor();
    const now = await c.get('/api/v1/policy');
    assert.equal(now.mode, 'block');
    assert.equal(now.version, before.version + 1);
    assert.equal(await text('#policy-version'), String(now.version));

    // The filter's next flush: the acknowledgement carries the policy, and
    // the batch after it reports running that version.
    const ack = await c.api('POST', '/api/v1/telemetry', batch({ instance: 'envoy-1', environment: 'production', policyVersion: 1 }));
    assert.equal(ack.policy.version, now.version);
    await c.api('POST', '/api/v1/telemetry', batch({ instance: 'envoy-1', environment: 'production', policyVersion: ack.policy.version }));
    await page.locator('#refresh').click();
    await page.waitForFunction((v) => {
      const r = document.querySelector('#instances tr[data-instance="envoy-1"]');
      return r && r.querySelector('.version').textContent === String(v) && r.textContent.includes('current');
    }, now.version);
    const inst = await c.get('/api/v1/instances');
    assert.equal(inst.instances.find((i) => i.instance === 'envoy-1').policy_version, now.version);
    assert.match(await page.locator('#history').innerText(), /go live/);
    await shot('policy');
  });

  test('playground: the engine in the page flags SQL injection and passes a benign request', async () => {
    await open('#playground');
    await page.locator('#engine-ready').waitFor({ timeout: 90000 });
    await page.locator('#pg-url').fill("?id=1' OR 1=1--");
    await page.locator('#pg-evaluate').click();
    await page.locator('#pg-verdict').waitFor();
    assert.equal(await page.locator('#pg-rules tr[data-rule="942100"]').count(), 1);
    assert.match(await page.locator('#pg-verdict').getAttribute('class'), /blocked/);
    assert.ok(parseNum((await text('#pg-inbound')).split(' ')[0]) >= 5);
    assert.match(await page.locator('#pg-preview').textContent(), /GET \/\?id=1'%20OR%201=1-- HTTP\/1\.1/);
    await shot('playground');

    await page.locator('#pg-url').fill('/products?page=2&sort=price');
    await page.locator('#pg-evaluate').click();
    await page.waitForFunction(() => document.getElementById('pg-verdict')?.classList.contains('pass'));
    assert.equal(await page.locator('#pg-rules tr').count(), 0);
    assert.match(await text('#pg-inbound'), /^0 /);

    // A parse error is shown, not swallowed.
    await page.locator('input[name=pg-input][value=raw]').check();
    await page.locator('#pg-raw').fill('GET / HTTP/1.1\n\n');
    await page.locator('#pg-evaluate').click();
    await page.locator('#pg-error').getByText('Host').waitFor();
  });

  test('alerts → playground: one click loads the alert\'s request and evaluates it', async () => {
    await open('#alerts');
    await page.locator('#alert-filters button[type=reset]').click();
    const ev = (await c.get(`/api/v1/events?rule=942100&host=shop.example.com&${windowParams()}`)).events[0];
    await page.locator(`tr.event[data-id="${ev.id}"] button.expander`).click();
    await page.locator(`#event-${ev.id}-details`).getByRole('button', { name: 'Open in playground' }).click();
    await page.locator('#pg-from').getByText(`Loaded from event ${ev.id}`).waitFor();
    assert.equal(await page.locator('#pg-url').inputValue(), "/search?q=1'%20OR%201=1--");
    assert.equal(await page.locator('#pg-host').inputValue(), 'shop.example.com');
    await page.locator('#engine-ready').waitFor({ timeout: 90000 });
    await page.locator('#pg-rules tr[data-rule="942100"]').waitFor();
  });

  test('no script errors on the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
