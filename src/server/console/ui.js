// SPDX-License-Identifier: Apache-2.0
// ui.js - small DOM helpers shared by the pages: element builder (no HTML
// strings, so nothing the server returns is ever parsed as markup), tables,
// times, numbers, the flash message, and a badge per state.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function table(headers, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
    h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: headers.length, class: 'muted' }, 'none'))));
}

export const fmtNum = (n) => (n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US'));

export function fmtTime(t) {
  if (!t) return 'never';
  return new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtAgo(t, now) {
  if (!t) return 'never';
  const s = Math.max(0, (now || Date.now() / 1000) - t);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function fmtDuration(s) {
  if (!s) return '0 s';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

export const fmtBytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

export function badge(state) {
  return h('span', { class: `badge badge-${String(state).replace(/[^a-z-]/g, '')}` }, state);
}

let flashTimer = null;
export function flash(message, kind = 'error') {
  const el = document.getElementById('flash');
  el.className = `flash flash-${kind}`;
  el.textContent = message;
  el.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { el.hidden = true; }, kind === 'error' ? 10000 : 4000);
}

// Run an async action from a button: disabled while it runs, errors flashed.
export async function act(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    flash(e.message || String(e));
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function link(href, text, attrs = {}) { return h('a', { href, ...attrs }, text); }

// A <dl> of label/value pairs.
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}
