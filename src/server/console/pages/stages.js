// SPDX-License-Identifier: Apache-2.0
// pages/stages.js - the stage editor of the campaign pages: one row per
// stage (cumulative percent, soak, min_finished, max_failure_ratio; blank
// inherits the previous stage's), rows added and removed, started stages
// shown read-only, and beside each row the preview's expected devices and
// warning (POST /v1/campaigns?dry_run=1, asked by the caller).
import { h, clear, fmtNum } from '../ui.js';

const DEFAULT = [
  { percent: 1, soak_seconds: 3600, min_finished: 20, max_failure_ratio: 0.05 },
  { percent: 10, soak_seconds: 14400, min_finished: 200 },
  { percent: 100, soak_seconds: 0, min_finished: 0 },
];

export function stageEditor({ stages = DEFAULT, locked = 0, onChange = () => {} } = {}) {
  const rows = [];
  const tbody = h('tbody');
  const el = h('div', { class: 'stage-editor' },
    h('table', { id: 'stage-table' },
      h('thead', null, h('tr', null, ['#', 'percent (cumulative)', 'soak seconds', 'min finished', 'max failure ratio', 'expected devices', ''].map((x) => h('th', null, x)))),
      tbody));
  const addBtn = h('button', { type: 'button', id: 'stage-add', onclick: () => { addRow({ percent: 100 }); changed(); } }, '+ Add stage');
  el.append(addBtn);

  function changed() {
    rows.forEach((r, i) => { r.num.textContent = String(i); });
    addBtn.disabled = rows.length >= 16;
    onChange();
  }

  function addRow(st, ro = false) {
    const input = (name, v, attrs) => h('input', { name, type: 'number', value: v === undefined || v === null ? '' : String(v), disabled: ro, ...attrs });
    const r = {
      orig: st,
      num: h('td'),
      percent: input('percent', st.percent, { min: '0.01', max: '100', step: 'any', required: true }),
      soak: input('soak_seconds', st.soak_seconds ?? 0, { min: '0', step: '1' }),
      minf: input('min_finished', st.min_finished ?? 0, { min: '0', step: '1' }),
      ratio: input('max_failure_ratio', st.max_failure_ratio, { min: '0', max: '1', step: 'any', placeholder: 'inherit' }),
      expected: h('td', { class: 'num expected' }),
      warn: h('div', { class: 'warning-text' }),
    };
    r.tr = h('tr', { class: ro ? 'locked' : '' }, r.num, h('td', null, r.percent), h('td', null, r.soak), h('td', null, r.minf),
      h('td', null, r.ratio), r.expected,
      h('td', null, ro ? h('span', { class: 'muted' }, 'started') : h('button', { type: 'button', class: 'small', onclick: () => {
        const i = rows.indexOf(r);
        if (rows.length > 1) { rows.splice(i, 1); r.tr.remove(); r.warnRow.remove(); changed(); }
      } }, 'Remove')));
    r.warnRow = h('tr', { class: 'warn-row' }, h('td'), h('td', { colspan: 6 }, r.warn));
    for (const x of [r.percent, r.soak, r.minf, r.ratio]) x.addEventListener('input', onChange);
    rows.push(r);
    tbody.append(r.tr, r.warnRow);
  }

  stages.forEach((st, i) => addRow(st, i < locked));
  changed();

  return {
    el,
    value() {
      return rows.map((r) => {
        // Fields this editor does not show (e.g. health_gates) are kept as they were.
        const st = { ...r.orig, percent: Number(r.percent.value), soak_seconds: Number(r.soak.value || 0), min_finished: Number(r.minf.value || 0) };
        delete st.max_failure_ratio;
        if (r.ratio.value !== '') st.max_failure_ratio = Number(r.ratio.value);
        return st;
      });
    },
    // preview: the dry-run answer (or null); warnings: [{stage, message}].
    show(preview, warnings) {
      rows.forEach((r, i) => {
        const p = preview && preview.stages[i];
        r.expected.textContent = p ? fmtNum(p.expected_devices) : '–';
        const w = (warnings || []).filter((x) => x.stage === i);
        clear(r.warn, w.map((x) => h('span', { class: 'warning' }, `⚠ ${x.message}`)));
        r.warnRow.hidden = !w.length;
        r.ratio.placeholder = p ? `inherit (${p.max_failure_ratio})` : 'inherit';
      });
    },
  };
}
