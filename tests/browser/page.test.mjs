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

/** Requests posted by fill(), by environment. */
const posted = { production: 0, staging: 0 };

async function fill() {
  const shop = 'shop.example.com';
  // Earlier traffic: a batch every 5 minutes over the last 50 minutes
  // (counters are booked at the batch's send time).
  for (let k = 10; k >= 1; k--) {
    const pass = 20 + ((k * 7) % 13);
    const detected = 1 + (k % 3);
    await c.api('POST', '/api/v1/telemetry', batch({
      instance: 'envoy-1',
      environment: 'production',
      ago: k * 300,
      counters: [
        { authority: shop, outcome: 'pass', count: pass },
        { authority: shop, outcome: 'detected', count: detected },
      ],
    }));
    posted.production += pass + detected;
  }
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
  posted.production += 128;
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
  posted.staging += 41;
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
const fmt = (n) => new Intl.NumberFormat('en').format(n);
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
    assert.equal(waf.total_requests, posted.production + posted.staging);
    assert.equal(parseNum(await text('#waf-total')), waf.total_requests);
    assert.equal(parseNum(await text('#waf-detected')), waf.detected);
    assert.equal(parseNum(await text('#waf-blocked')), waf.blocked);
    assert.equal(await text('#waf-anomalous-share'), `${(waf.anomalous_share * 100).toFixed(1)}%`);
    // Above 5% anomalous: the hint points at the events.
    assert.ok(waf.anomalous_share > 0.05);
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
    await page.waitForFunction((n) => document.getElementById('waf-total').textContent === n, fmt(posted.production));
    const prod = await c.get(`/api/v1/waf/summary?environment=production&${windowParams()}`);
    assert.equal(parseNum(await text('#waf-total')), prod.total_requests);
    await page.selectOption('#env', '');
    await page.waitForFunction((n) => document.getElementById('waf-total').textContent === n, fmt(posted.production + posted.staging));
  });

  test('monitoring refreshes on its own and says when', async () => {
    await page.goto(`${c.url}/?refresh=2#monitoring`);
    await page.waitForFunction(() => document.getElementById('updated').textContent.startsWith('Updated'));
    const before = parseNum(await text('#waf-total'));
    await c.api('POST', '/api/v1/telemetry', batch({
      instance: 'envoy-2', environment: 'staging', counters: [{ authority: 'api.example.com', outcome: 'pass', count: 7 }],
    }));
    posted.staging += 7;
    await page.waitForFunction((n) => document.getElementById('waf-total').textContent === n, fmt(before + 7), { timeout: 10000 });
    assert.match(await text('#updated'), /^Updated \d\d:\d\d:\d\d$/);
  });

  test('alerts: evidence is shown, filters work, and masking removes the alert', async () => {
    await open('#alerts');
    await page.waitForSelector('#events-table');
    const all = await c.get(`/api/v1/events?${windowParams()}`);
    assert.equal(all.events.length, 5);
    assert.equal(await page.locator('tr.event').count(), all.events.length);

    const xss = all.events.find((e) => e.rule_ids.includes(941100));
    const row = page.locator(`tr.event[data-id="${xss.id}"]`);
    // With the keyboard: focus the row's expander, Enter opens it.
    await row.locator('button.expander').focus();
    await page.keyboard.press('Enter');
    assert.equal(await row.locator('button.expander').getAttribute('aria-expanded'), 'true');
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

    // Turn the scanner rule off for its host only.
    const scan = all.events.find((e) => e.rule_ids.includes(913100));
    await page.locator(`tr.event[data-id="${scan.id}"] button.expander`).click();
    const scanDetails = page.locator(`#event-${scan.id}-details`);
    await scanDetails.getByRole('button', { name: 'Turn rule off…' }).click();
    const off = page.locator('dialog[open]');
    await off.getByText('Turn rule 913100 off?').waitFor();
    assert.equal(await off.locator('input[name=choice]:checked').getAttribute('value'), 'host');
    await off.getByRole('button', { name: 'Turn rule off' }).click();
    await off.waitFor({ state: 'detached' });
    await waitFor(async () => (await c.get('/api/v1/policy')).hosts['shop.example.com']?.disabled_rules?.includes(913100));
    assert.deepEqual((await c.get('/api/v1/policy')).disabled_rules, []);

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

    // Cancel first (Escape, as a keyboard user would): nothing changes.
    await page.locator('label.mode.block').click();
    let dlg = page.locator('dialog[open]');
    await dlg.getByText('Switch to block mode?').waitFor();
    assert.match(await dlg.innerText(), /Requests will be refused/);
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    assert.equal((await c.get('/api/v1/policy')).version, before.version);
    // The radio group is re-rendered once the dialog's promise settles.
    await page.locator('input[name=waf-mode][value=detect]:checked').waitFor();
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

    // A refresh leaves a half-edited form alone.
    await page.locator('#inbound-threshold').fill('7');
    await page.locator('#refresh').click();
    await page.waitForFunction(() => document.getElementById('updated').textContent.startsWith('Updated'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.locator('#inbound-threshold').inputValue(), '7');
    await page.locator('#inbound-threshold').fill(String(now.inbound_threshold));
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

describe('a collector nobody has reported to, with a read token', () => {
  let c2;
  let b2;
  let p2;
  const errors = [];

  before(async () => {
    c2 = await Collector.start({ empty: true, env: { PALISADE_READ_TOKEN: 'read-secret-for-the-page-test' } });
    b2 = await browser();
    p2 = await b2.context.newPage();
    p2.on('pageerror', (e) => errors.push(e.message));
  });

  after(async () => {
    if (b2) await b2.close();
    if (c2) await c2.stop();
  });

  test('asks once for the token, then explains the empty panels', async () => {
    await p2.goto(`${c2.url}/#monitoring`);
    await p2.locator('#token-input').waitFor();
    assert.equal(await p2.locator('dialog[open]').count(), 1);
    await p2.locator('#token-input').fill('read-secret-for-the-page-test');
    await p2.locator('#token-save').click();
    await p2.locator('#waf-panel').getByText('No filters connected yet').waitFor();
    await p2.locator('#net-panel').getByText('No packet counters in this window').waitFor();
    assert.equal(await p2.locator('#waf-total').innerText(), '0');
    await p2.evaluate(() => document.getElementById('toasts')?.replaceChildren());
    await p2.screenshot({ path: screenshotPath('empty-monitoring'), fullPage: true });

    await p2.goto(`${c2.url}/#alerts`);
    await p2.locator('#alert-list').getByText('No events in this window').waitFor();
    await p2.goto(`${c2.url}/#network`);
    await p2.locator('#netpol-list').getByText('No network policies found').waitFor();
    await p2.goto(`${c2.url}/#policy`);
    await p2.locator('#policy-filters').getByText('No filters connected yet').waitFor();
  });

  test('an API error is a readable message, not a blank panel', async () => {
    // A write with the read token: the collector's 403 is shown.
    await p2.goto(`${c2.url}/#policy`);
    await p2.locator('#current-mode').waitFor();
    await p2.locator('#disable-rule-id').fill('920350');
    await p2.locator('#policy-rules button[type=submit]').click();
    await p2.locator('dialog[open]').getByRole('button', { name: 'Turn off' }).click();
    // The page offers the token dialog for a write token; cancel it.
    await p2.locator('#token-input').waitFor();
    await p2.locator('dialog[open]').getByRole('button', { name: 'Cancel' }).click();
    await p2.locator('.toast.error').getByText('HTTP 403').waitFor();

    // The collector goes away: the page says so.
    await c2.stop();
    await p2.locator('#refresh').click();
    await p2.locator('#banner').getByText('not reachable').waitFor();
    assert.match(await p2.locator('#updated').innerText(), /Update failed/);
    await p2.screenshot({ path: screenshotPath('collector-gone'), fullPage: true });
    assert.deepEqual(errors, []);
  });
});
