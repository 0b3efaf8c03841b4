// SPDX-License-Identifier: Apache-2.0
// chart.js - the console's charts, drawn as SVG by this file (no library):
// a line chart of a ratio over time with a limit line, horizontal bars for
// counts, and a stacked bar for a stage's device states. Colours come from
// CSS classes (style.css), never inline styles (strict CSP).

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// points: [{t, y}] with t in seconds; y in [0, 1]. limit: a horizontal line.
export function ratioChart(points, { limit, width = 640, height = 220, label = 'failure ratio' } = {}) {
  const padL = 44, padR = 12, padT = 12, padB = 28;
  const w = width - padL - padR, hgt = height - padT - padB;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label });
  const t0 = points.length ? points[0].t : 0, t1 = points.length ? points[points.length - 1].t : 1;
  let yMax = Math.max(0.05, ...points.map((p) => p.y), limit || 0);
  yMax = Math.min(1, Math.ceil(yMax * 20) / 20);
  const x = (t) => padL + (t1 === t0 ? w : ((t - t0) / (t1 - t0)) * w);
  const y = (v) => padT + hgt - (v / yMax) * hgt;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg.append(s('line', { x1: padL, x2: padL + w, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: padL - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, `${Math.round(v * 1000) / 10}%`));
  }
  const fmt = (t) => new Date(t * 1000).toISOString().slice(11, 16);
  svg.append(s('text', { x: padL, y: height - 8, class: 'axis' }, fmt(t0)));
  svg.append(s('text', { x: padL + w, y: height - 8, class: 'axis', 'text-anchor': 'end' }, fmt(t1)));
  if (limit !== undefined && limit !== null) {
    svg.append(s('line', { x1: padL, x2: padL + w, y1: y(limit), y2: y(limit), class: 'limit' }));
    svg.append(s('text', { x: padL + w - 4, y: y(limit) - 4, class: 'axis limit-label', 'text-anchor': 'end' },
      `limit ${Math.round(limit * 1000) / 10}%`));
  }
  if (points.length) {
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, class: 'line' }));
    const last = points[points.length - 1];
    svg.append(s('circle', { cx: x(last.t), cy: y(last.y), r: 3, class: 'dot' }));
  }
  return svg;
}

// items: [{label, value, href?}] as horizontal bars scaled to total.
export function bars(items, total, { width = 360 } = {}) {
  const rowH = 22, labelW = 130, numW = 70;
  const barW = width - labelW - numW;
  const hgt = Math.max(rowH, items.length * rowH);
  const svg = s('svg', { viewBox: `0 0 ${width} ${hgt}`, width, height: hgt, class: 'bars', role: 'img' });
  items.forEach((it, i) => {
    const yy = i * rowH;
    const frac = total ? it.value / total : 0;
    const label = s('text', { x: 0, y: yy + 15, class: 'bar-label' }, it.label.length > 18 ? `${it.label.slice(0, 17)}…` : it.label);
    const g = it.href ? s('a', { href: it.href }, label) : label;
    svg.append(g);
    svg.append(s('rect', { x: labelW, y: yy + 4, width: barW, height: rowH - 8, class: 'bar-bg' }));
    svg.append(s('rect', { x: labelW, y: yy + 4, width: Math.max(frac > 0 ? 1 : 0, frac * barW), height: rowH - 8, class: 'bar' }));
    svg.append(s('text', { x: width, y: yy + 15, class: 'bar-num', 'text-anchor': 'end' }, Number(it.value).toLocaleString('en-US')));
  });
  return svg;
}

// segments: [{value, cls, title}] stacked over `total` (a stage's devices).
export function stack(segments, total, { width = 240, height = 14 } = {}) {
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'stack', role: 'img' });
  svg.append(s('rect', { x: 0, y: 0, width, height, class: 'bar-bg' }));
  let x0 = 0;
  for (const seg of segments) {
    if (!seg.value || !total) continue;
    const w = (seg.value / total) * width;
    svg.append(s('rect', { x: x0, y: 0, width: w, height, class: seg.cls }, s('title', null, `${seg.title}: ${seg.value}`)));
    x0 += w;
  }
  return svg;
}
