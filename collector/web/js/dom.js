// Small DOM helpers: element building, formatting, and the modal dialogs
// (confirmation, token) every tab uses.

/**
 * h('div', {class: 'x', onclick: fn, 'aria-label': 'y'}, child, 'text', [more])
 * Text is always set as text, never parsed as HTML.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden' || k === 'open') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const numberFmt = new Intl.NumberFormat('en');
export const num = (n) => (n === undefined || n === null ? '–' : numberFmt.format(n));

export function pct(share) {
  if (!Number.isFinite(share)) return '–';
  const p = share * 100;
  if (p === 0) return '0%';
  if (p < 0.1) return '<0.1%';
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

export function rate(perSecond) {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond === 0) return '0/s';
  if (perSecond < 0.01) return `${perSecond.toExponential(1)}/s`;
  return `${perSecond < 10 ? perSecond.toFixed(2) : numberFmt.format(Math.round(perSecond))}/s`;
}

export function time(unixSeconds, withDate = true) {
  if (!unixSeconds) return '–';
  const d = new Date(unixSeconds * 1000);
  const t = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (!withDate) return t;
  return `${d.toLocaleDateString('en-CA')} ${t}`;
}

export function ago(unixSeconds) {
  if (!unixSeconds) return 'never';
  const s = Math.max(0, Date.now() / 1000 - unixSeconds);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A panel-level message: kind is 'empty', 'error' or 'info'. */
export function note(kind, title, ...body) {
  return h('div', { class: `note ${kind}`, role: kind === 'error' ? 'alert' : null },
    h('strong', { text: title }), body.length ? h('div', {}, ...body) : null);
}

export const code = (text) => h('code', { text });

/**
 * A modal confirmation. Resolves to null when cancelled, else to
 * {comment} (the optional comment field's text).
 * opts: {title, body: Node|string|[], confirm: 'label', danger: bool,
 *        comment: 'placeholder' | undefined, choices: [{value,label}] }
 */
export function confirmDialog(opts) {
  return new Promise((resolve) => {
    const comment = opts.comment !== undefined
      ? h('input', { type: 'text', name: 'comment', placeholder: opts.comment, 'aria-label': 'Comment for the audit trail' })
      : null;
    const choices = opts.choices
      ? h('fieldset', { class: 'choices' }, h('legend', { text: opts.choicesLabel || 'Scope' }),
        opts.choices.map((c, i) => h('label', {},
          h('input', { type: 'radio', name: 'choice', value: c.value, checked: i === 0 }), ' ', c.label)))
      : null;
    const ok = h('button', { type: 'submit', class: opts.danger ? 'danger' : 'primary', value: 'ok', text: opts.confirm || 'Confirm' });
    const cancel = h('button', { type: 'button', text: 'Cancel' });
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'dlg-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dlg-title', text: opts.title }),
        h('div', { class: 'dlg-body' }, opts.body),
        choices,
        comment ? h('label', { class: 'comment' }, 'Comment (kept in the audit trail) ', comment) : null,
        h('div', { class: 'dlg-actions' }, cancel, ok)));
    let result = null;
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('submit', () => {
      const picked = choices ? choices.querySelector('input:checked')?.value : undefined;
      result = { comment: comment ? comment.value.trim() : '', choice: picked };
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    (opts.danger ? cancel : ok).focus();
  });
}

/** Shows a short message that goes away by itself. */
export function toast(text, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const t = h('div', { class: `toast ${kind}`, text });
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4000);
}

const seen = new Map();
/**
 * True when `value` is what was last passed for `key`: background refreshes
 * use it to leave unchanged parts of the page alone (focus, open details,
 * half-typed input).
 */
export function unchanged(key, value) {
  const text = JSON.stringify(value);
  if (seen.get(key) === text) return true;
  seen.set(key, text);
  return false;
}

/** Forgets what `unchanged` remembered for `key` (forces the next render). */
export function forget(key) {
  seen.delete(key);
}
