// Time-series charts in plain SVG: stacked bars (request breakdown) and
// lines (packet rates), with axes, a legend and a hover/focus read-out.
// Colours come from the stylesheet (classes s0, s1, ...).

import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const M = { top: 12, right: 12, bottom: 26, left: 56 };

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Round numbers for the y axis: [0, step, 2*step, ...] covering max. */
export function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
  const ticks = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Label intervals a reader expects: 5 min, 15 min, 1 h, 6 h, 1 day, a week. */
const INTERVALS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** Indexes of the buckets that get a time label: on round times, at most `max`. */
export function labelled(times, step, max) {
  const n = times.length;
  const span = n * step;
  const iv = INTERVALS.find((v) => v >= step && v % step === 0 && span / v <= max);
  const out = [];
  if (iv) for (let i = 0; i < n; i++) if (times[i] % iv === 0) out.push(i);
  if (out.length >= 2 || n < 2) return out.length ? out : (n ? [0] : []);
  const every = Math.max(1, Math.ceil(n / max));
  for (let i = 0; i < n; i += every) out.push(i);
  return [...new Set(out)].sort((a, b) => a - b);
}

function timeLabel(t, step, span) {
  const d = new Date(t * 1000);
  const hm = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  const day = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
  if (step >= 86400) return day;
  if (span > 86400 * 1.5) return `${day} ${hm}`;
  return hm;
}

/**
 * Draws into `box` (and again whenever it is resized).
 * spec: {kind: 'bars'|'lines', times: number[], step: seconds,
 *        series: [{label, values: number[]}], format: v => string, label: string}
 */
export function drawChart(box, spec) {
  if (box._chartObserver) box._chartObserver.disconnect();
  const render = () => paint(box, spec);
  render();
  if (typeof ResizeObserver !== 'undefined') {
    let last = box.clientWidth;
    box._chartObserver = new ResizeObserver(() => {
      if (Math.abs(box.clientWidth - last) > 4) {
        last = box.clientWidth;
        render();
      }
    });
    box._chartObserver.observe(box);
  }
}

function paint(box, spec) {
  const { times, series, step } = spec;
  const fmt = spec.format || String;
  const width = Math.max(280, box.clientWidth || 600);
  const height = spec.height || 200;
  const iw = width - M.left - M.right;
  const ih = height - M.top - M.bottom;
  const n = times.length;
  const stacked = spec.kind === 'bars';
  const totals = times.map((_, i) => (stacked
    ? series.reduce((a, se) => a + (se.values[i] || 0), 0)
    : Math.max(...series.map((se) => se.values[i] || 0))));
  const ticks = niceTicks(Math.max(0, ...totals));
  const top = ticks[ticks.length - 1] || 1;
  const y = (v) => M.top + ih - (v / top) * ih;
  const slot = n > 0 ? iw / n : iw;
  const x = (i) => M.left + i * slot;

  const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart', 'aria-label': spec.label });
  svg.append(s('title', {}, spec.label));
  const grid = s('g', { class: 'grid' });
  for (const t of ticks) {
    grid.append(s('line', { x1: M.left, x2: width - M.right, y1: y(t), y2: y(t) }));
    grid.append(s('text', { x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, fmt(t)));
  }
  svg.append(grid);

  const xa = s('g', { class: 'axis' });
  const span = n * step;
  for (const i of labelled(times, step, Math.max(2, Math.floor(iw / 90)))) {
    xa.append(s('text', { x: x(i) + slot / 2, y: height - 8, 'text-anchor': 'middle' }, timeLabel(times[i], step, span)));
  }
  xa.append(s('line', { x1: M.left, x2: width - M.right, y1: M.top + ih, y2: M.top + ih }));
  svg.append(xa);

  const plot = s('g', { class: 'plot' });
  if (stacked) {
    const bw = Math.max(1, slot * 0.8);
    series.forEach((se, k) => {
      const g = s('g', { class: `series s${k}` });
      for (let i = 0; i < n; i++) {
        const below = series.slice(0, k).reduce((a, o) => a + (o.values[i] || 0), 0);
        const v = se.values[i] || 0;
        if (v <= 0) continue;
        const y1 = y(below + v);
        const hgt = Math.max(1, y(below) - y1);
        g.append(s('rect', { x: x(i) + (slot - bw) / 2, y: y1, width: bw, height: hgt }));
      }
      plot.append(g);
    });
  } else {
    series.forEach((se, k) => {
      const pts = se.values.map((v, i) => `${(x(i) + slot / 2).toFixed(1)},${y(v || 0).toFixed(1)}`);
      const g = s('g', { class: `series s${k}` });
      if (pts.length > 0) {
        g.append(s('polyline', { points: pts.join(' '), fill: 'none' }));
        if (pts.length <= 31) {
          se.values.forEach((v, i) => g.append(s('circle', { cx: x(i) + slot / 2, cy: y(v || 0), r: 2 })));
        }
      }
      plot.append(g);
    });
  }
  svg.append(plot);

  // Read-out: a cursor line and a box with the bucket's values.
  const cursor = s('line', { class: 'cursor', y1: M.top, y2: M.top + ih, visibility: 'hidden' });
  svg.append(cursor);
  const tip = h('div', { class: 'tip', hidden: true });
  const show = (i) => {
    if (i < 0 || i >= n) return hide();
    const cx = x(i) + slot / 2;
    cursor.setAttribute('x1', cx);
    cursor.setAttribute('x2', cx);
    cursor.setAttribute('visibility', 'visible');
    tip.replaceChildren(
      h('div', { class: 'tip-time', text: new Date(times[i] * 1000).toLocaleString('en-GB') }),
      ...series.map((se, k) => h('div', {}, h('span', { class: `swatch s${k}` }), ` ${se.label}: ${fmt(se.values[i] || 0)}`)));
    tip.hidden = false;
    const left = Math.min(Math.max(0, cx + 10), width - 190);
    tip.style.left = `${left}px`;
    tip.style.top = `${M.top}px`;
  };
  const hide = () => {
    cursor.setAttribute('visibility', 'hidden');
    tip.hidden = true;
  };
  svg.addEventListener('mousemove', (ev) => {
    const r = svg.getBoundingClientRect();
    show(Math.floor((ev.clientX - r.left - M.left) / slot));
  });
  svg.addEventListener('mouseleave', hide);

  const legend = h('div', { class: 'legend' },
    series.map((se, k) => h('span', {}, h('span', { class: `swatch s${k}` }), ` ${se.label}`)));
  box.replaceChildren(h('div', { class: 'chart-wrap' }, svg, tip), legend);
  if (n === 0) box.append(h('p', { class: 'muted', text: 'No buckets in this window.' }));
}
