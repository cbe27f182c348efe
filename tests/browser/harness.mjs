// Test harness for the Threat Monitoring page: a real collector on a
// loopback port with its own data folder, packet counters from a file the
// test writes, network-policy manifests in its folder, telemetry posted
// through the ingest API, and headless Debian Chromium driven by
// playwright-core.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
export const artifacts = join(repo, 'tests/artifacts');

export function collectorBinary() {
  const candidates = [
    process.env.PALISADE_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'release/palisade'),
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug/palisade'),
    join(repo, 'target/release/palisade'),
    join(repo, 'target/debug/palisade'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no collector binary (looked at ${candidates.join(', ')}); build it or set PALISADE_BIN`);
  return found;
}

/** /proc/net/dev text with one interface besides lo. */
export function procNetDev(rx, rxDrop, tx, txDrop) {
  return 'Inter-|   Receive                                                |  Transmit\n'
    + ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n'
    + '    lo: 100 9 0 0 0 0 0 0 100 9 0 0 0 0 0 0\n'
    + `  eth0: ${rx * 100} ${rx} 0 ${rxDrop} 0 0 0 0 ${tx * 100} ${tx} 0 ${txDrop} 0 0 0 0\n`;
}

export function writeAtomic(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

export const NETPOL_DENY = `# Production: only the shop's front end may reach the shop pods.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: shop-ingress
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: shop
  policyTypes:
    - Ingress
  ingress:
    - from:
        - podSelector:
            matchLabels:
              role: frontend
`;

export const NETPOL_CILIUM = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api-l7
  namespace: api
spec:
  endpointSelector:
    matchLabels:
      app: api
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: web
`;

export class Collector {
  /**
   * opts.empty: no packet source and no network policies (a collector
   * nothing has reported to yet); opts.env: extra environment variables.
   */
  static async start(opts = {}) {
    const c = new Collector();
    c.dir = mkdtempSync(join(tmpdir(), 'palisade-page-'));
    c.data = join(c.dir, 'data');
    if (!opts.empty) {
      mkdirSync(join(c.data, 'network-policies/production'), { recursive: true });
      mkdirSync(join(c.data, 'network-policies/staging'), { recursive: true });
      writeFileSync(join(c.data, 'network-policies/production/shop-ingress.yaml'), NETPOL_DENY);
      writeFileSync(join(c.data, 'network-policies/staging/api-l7.yaml'), NETPOL_CILIUM);
    }
    c.dev = join(c.dir, 'net-dev');
    c.counters = { rx: 10000, rxDrop: 0, tx: 4000, txDrop: 0 };
    writeAtomic(c.dev, procNetDev(10000, 0, 4000, 0));
    const boot = join(c.dir, 'boot-id');
    writeFileSync(boot, 'boot-1\n');
    const config = join(c.dir, 'collector.toml');
    writeFileSync(config, `[network]\ninterval_seconds = 0.5\nboot_id_path = ${JSON.stringify(boot)}\n`);
    const bin = collectorBinary();
    const env = { ...process.env, ...(opts.env || {}) };
    c.proc = spawn(bin, ['collector', '--data', c.data, '--listen', '127.0.0.1:0', '--config', config,
      '--environment', 'production', '--proc-net-dev', opts.empty ? 'off' : c.dev, '--nft', 'off'],
    { stdio: ['ignore', 'pipe', 'pipe'], env });
    c.log = '';
    c.proc.stderr.on('data', (d) => { c.log += d; });
    c.url = await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`collector did not start within 20 s:\n${c.log}`)), 20000);
      let out = '';
      c.proc.stdout.on('data', (d) => {
        out += d;
        c.log += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]);
        }
      });
      c.proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`collector exited (${code}):\n${c.log}`)); });
    });
    c.token = readFileSync(join(c.data, 'write-token'), 'utf8').trim();
    return c;
  }

  async api(method, path, body, token = this.token) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  }

  get(path) {
    return this.api('GET', path);
  }

  /** Moves the packet counters on; the sampler picks them up within 0.5 s. */
  packets({ rx = 0, rxDrop = 0, tx = 0, txDrop = 0 }) {
    const k = this.counters;
    k.rx += rx;
    k.rxDrop += rxDrop;
    k.tx += tx;
    k.txDrop += txDrop;
    writeAtomic(this.dev, procNetDev(k.rx, k.rxDrop, k.tx, k.txDrop));
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => { this.proc.kill('SIGKILL'); r(); }, 5000);
        this.proc.on('exit', () => { clearTimeout(t); r(); });
      });
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

let seq = 0;
/** One telemetry batch, as a filter sends it. */
export function batch({ instance, environment, policyVersion = 1, counters = [], events = [], ruleHits, ago = 0 }) {
  seq += 1;
  const hits = ruleHits || Object.entries(events.flatMap((e) => e.rules.map((r) => r.id))
    .reduce((m, id) => ({ ...m, [id]: (m[id] || 0) + 1 }), {})).map(([id, count]) => ({ rule_id: Number(id), count }));
  return {
    batch_id: `${instance}:${process.pid}:${seq}`,
    instance,
    environment,
    policy_version: policyVersion,
    sent_at: Date.now() / 1000 - ago,
    counters,
    rule_hits: hits,
    events,
  };
}

export function event({ id, ago = 60, host, client, method = 'GET', path, query = '', score, action = 'detected', rules }) {
  return {
    id,
    time: Date.now() / 1000 - ago,
    authority: host,
    client,
    method,
    path,
    request_line: `${method} ${path}${query} HTTP/1.1`,
    inbound_score: score,
    outbound_score: 0,
    action,
    status: action === 'blocked' ? 403 : 200,
    policy_version: 1,
    rules,
  };
}

export const RULE = {
  sqli: {
    id: 942100, msg: 'SQL Injection Attack Detected via libinjection', severity: 'CRITICAL',
    data: "Matched Data: s&1c found within ARGS:q: 1' OR 1=1--", tags: ['attack-sqli', 'paranoia-level/1'],
    variable: 'ARGS:q', value: "1' OR 1=1--",
  },
  xss: {
    id: 941100, msg: 'XSS Attack Detected via libinjection', severity: 'CRITICAL',
    data: 'Matched Data: XSS data found within ARGS:q: <script>alert(1)</script>', tags: ['attack-xss', 'paranoia-level/1'],
    variable: 'ARGS:q', value: '<script>alert(1)</script>',
  },
  scanner: {
    id: 913100, msg: 'Found User-Agent associated with security scanner', severity: 'CRITICAL',
    data: 'Matched Data: nikto found within REQUEST_HEADERS:User-Agent: nikto', tags: ['attack-reputation-scanner', 'paranoia-level/1'],
    variable: 'REQUEST_HEADERS:User-Agent', value: 'nikto',
  },
};

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Debian Chromium with a fresh profile folder. */
export async function browser() {
  const profile = mkdtempSync(join(tmpdir(), 'palisade-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 900 },
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

export function screenshotPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, `${name}.png`);
}

/** "12,345" or "12%" → number */
export const parseNum = (s) => Number(String(s).replace(/[,%\s]/g, ''));
