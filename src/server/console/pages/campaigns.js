// SPDX-License-Identifier: Apache-2.0
// pages/campaigns.js - campaigns: the list; creation with the stage editor
// and a live preview of how many devices each stage places (dry run); one
// campaign live (refreshed every few seconds): state, halt reason,
// warnings, per-stage progress, the failure ratio over time against the
// stage's limit, its devices, and the operator's controls (pause, resume,
// advance, abort, edit the stages of a paused campaign).
import { get, post, patch, api, can } from '../api.js';
import { h, clear, table, fmtNum, fmtTime, fmtDuration, badge, act, link, facts, flash } from '../ui.js';
import { ratioChart, stack } from '../chart.js';
import { stageEditor } from './stages.js';

const pct = (x) => `${(x * 100).toFixed(1)}%`;

export async function campaignsPage(root) {
  const [cs, rs] = await Promise.all([get('/v1/campaigns'), get('/v1/releases')]);
  const rel = new Map(rs.releases.map((r) => [r.id, r]));
  // The list has no counts: the statuses of the newest 20 campaigns do.
  const newest = cs.campaigns.slice(-20);
  const full = new Map((await Promise.all(newest.map((c) => get(`/v1/campaigns/${c.id}`)))).map((c) => [c.id, c]));
  cs.campaigns = cs.campaigns.map((c) => full.get(c.id) || c);
  root.append(h('h1', null, 'Campaigns'),
    can('operator') ? h('p', null, h('a', { href: '#/campaigns/new', class: 'button', id: 'campaign-new' }, 'New campaign')) : null,
    table(['id', 'name', 'release', 'state', 'stage', 'finished', 'failure ratio', 'created'],
      cs.campaigns.slice().reverse().map((c) => h('tr', null,
        h('td', null, String(c.id)), h('td', null, link(`#/campaigns/${c.id}`, c.name)),
        h('td', null, rel.has(c.release_id) ? link(`#/releases/${c.release_id}`, rel.get(c.release_id).version) : `#${c.release_id}`),
        h('td', null, badge(c.state), c.warnings && c.warnings.length ? h('span', { class: 'warning', title: c.warnings.map((w) => w.message).join('\n') }, ' ⚠') : null),
        h('td', null, `${c.stage} (${c.stage + 1} of ${c.stages.length})${c.rollout_complete ? ' (complete)' : ''}`),
        h('td', { class: 'num' }, fmtNum(c.finished)),
        h('td', { class: 'num' }, c.failure_ratio === undefined ? '–' : pct(c.failure_ratio)),
        h('td', null, fmtTime(c.created_at)))), { id: 'campaign-table' }));
}

// The shape checks of the server's stage validation, so that values being
// typed are not sent for a preview; the server still decides.
function stagesProblem(stages) {
  let prev = 0;
  for (const [i, st] of stages.entries()) {
    if (!(st.percent > prev && st.percent <= 100)) return `stage ${i}: percent must be above the previous stage's (${prev}) and at most 100`;
    if (!Number.isInteger(st.soak_seconds) || st.soak_seconds < 0) return `stage ${i}: soak seconds must be a whole number ≥ 0`;
    if (!Number.isInteger(st.min_finished) || st.min_finished < 0) return `stage ${i}: min finished must be a whole number ≥ 0`;
    if (st.max_failure_ratio !== undefined && !(st.max_failure_ratio >= 0 && st.max_failure_ratio <= 1)) return `stage ${i}: max failure ratio must be between 0 and 1`;
    prev = st.percent;
  }
  return null;
}

function previewer(editor, body, out) {
  let timer = null, seq = 0;
  const run = async () => {
    const n = ++seq;
    const bad = stagesProblem(body().stages);
    if (bad) { // half-typed values: say so here rather than ask the server
      out.textContent = `Preview: ${bad}`;
      out.classList.add('error');
      editor.show(null, []);
      return;
    }
    try {
      const p = await api('POST', '/v1/campaigns?dry_run=1', body());
      if (n !== seq) return;
      out.textContent = `${fmtNum(p.matching_devices)} matching devices (registered, matching the filter, not already running the release).`;
      out.classList.remove('error');
      editor.show(p, p.warnings);
    } catch (e) {
      if (n !== seq) return;
      out.textContent = `Preview: ${e.message}`;
      out.classList.add('error');
      editor.show(null, []);
    }
  };
  return () => { clearTimeout(timer); timer = setTimeout(run, 250); };
}

export async function campaignNewPage(root) {
  const rs = await get('/v1/releases');
  const want = new URLSearchParams(location.hash.split('?')[1] || '').get('release');
  const name = h('input', { id: 'c-name', required: true, placeholder: 'spring-rollout' });
  const release = h('select', { id: 'c-release' }, rs.releases.slice().reverse().map((r) =>
    h('option', { value: String(r.id), selected: String(r.id) === want }, `${r.id}: ${r.name} (${r.version}, ${r.hw_id})`)));
  const tags = h('input', { id: 'c-tags', placeholder: 'eu, beta' });
  const minv = h('input', { id: 'c-min-version', placeholder: '1.0.0' });
  const maxv = h('input', { id: 'c-max-version', placeholder: '2.0.0' });
  const out = h('p', { id: 'preview-summary', class: 'muted' });
  let refresh = () => {};
  const editor = stageEditor({ onChange: () => refresh() });
  const body = () => {
    const filter = {};
    const t = tags.value.split(/[,\s]+/).filter(Boolean);
    if (t.length) filter.tags = t;
    if (minv.value.trim()) filter.min_version = minv.value.trim();
    if (maxv.value.trim()) filter.max_version = maxv.value.trim();
    return { name: name.value.trim() || 'preview', release_id: Number(release.value), filter, stages: editor.value() };
  };
  refresh = previewer(editor, body, out);
  for (const x of [release, tags, minv, maxv]) x.addEventListener('input', refresh);
  release.addEventListener('change', refresh);
  const create = h('button', { type: 'submit', id: 'c-create' }, 'Create campaign');
  const form = h('form', { id: 'campaign-form', class: 'card' },
    h('div', { class: 'form-grid' },
      h('label', null, 'Name', name), h('label', null, 'Release', release),
      h('label', null, 'Tags (all required)', tags), h('label', null, 'Min version (inclusive)', minv),
      h('label', null, 'Max version (exclusive)', maxv)),
    h('h2', null, 'Stages'), editor.el, out, create);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(create, async () => {
      const c = await post('/v1/campaigns', body());
      if (c.warnings && c.warnings.length) flash(`Campaign created with ${c.warnings.length} warning(s): ${c.warnings[0].message}`, 'warn');
      else flash(`Campaign ${c.id} created.`, 'ok');
      location.hash = `#/campaigns/${c.id}`;
    });
  });
  if (!rs.releases.length) root.append(h('p', { class: 'error' }, 'Upload a release first.'));
  root.append(h('h1', null, 'New campaign'), form);
  refresh();
}

const STATES = [['success', 'seg-success'], ['failure', 'seg-failure'], ['rolled-back', 'seg-rolled'],
                ['installed-rebooting', 'seg-progress'], ['installing', 'seg-progress'], ['downloading', 'seg-progress'], ['offered', 'seg-offered']];

// A stage's health gates (docs/api.md), as text.
function gatesText(st) {
  return (st.health_gates || []).map((g) => `${g.metric} ≤ ${g.max_ratio}× control`).join(', ');
}

function stageTable(c) {
  const gates = c.stages.some((st) => (st.health_gates || []).length);
  return table(['stage', 'percent', 'soak', 'min finished', 'max failure ratio', gates ? 'health gates' : null, 'devices (first offered here)', 'progress'].filter(Boolean),
    c.stages.map((st, i) => {
      const k = (c.counts_by_stage || [])[i] || {};
      const total = Object.values(k).reduce((a, b) => a + b, 0);
      const cur = i === c.stage;
      return h('tr', { class: cur ? 'current' : i < c.stage ? 'done' : 'todo', dataset: { stage: i } },
        h('td', null, `${i}${cur ? ' ◀' : ''}`), h('td', { class: 'num' }, `${st.percent}%`), h('td', null, fmtDuration(st.soak_seconds)),
        h('td', { class: 'num' }, String(st.min_finished)), h('td', { class: 'num' }, String(st.max_failure_ratio)),
        gates ? h('td', null, gatesText(st) || '–') : null,
        h('td', { class: 'num stage-count' }, fmtNum(total), total ? ` (${fmtNum(k.success || 0)} ok, ${fmtNum((k.failure || 0) + (k['rolled-back'] || 0))} failed)` : ''),
        h('td', null, stack(STATES.map(([s, cls]) => ({ value: k[s] || 0, cls, title: s })), total)));
    }), { id: 'stage-progress' });
}

export async function campaignPage(root, id) {
  const head = h('div'), chartBox = h('section', { class: 'card', id: 'campaign-chart' });
  const stagesBox = h('section', { class: 'card' }), devBox = h('section', { class: 'card', id: 'campaign-devices' });
  const editBox = h('div');
  let editing = false, devState = '';
  root.append(head, stagesBox, chartBox, devBox, editBox);
  const rs = await get('/v1/releases');
  const rel = new Map(rs.releases.map((r) => [r.id, r]));

  const action = (name, label, cls, confirmText) => h('button', { type: 'button', id: `c-${name}`, class: cls || '', onclick: (ev) => act(ev.target, async () => {
    if (confirmText && !confirm(confirmText)) return;
    await post(`/v1/campaigns/${id}/${name}`);
    flash(`Campaign ${label.toLowerCase()}: done.`, 'ok');
    await render();
  }) }, label);

  const openEditor = (c) => {
    editing = true;
    const out = h('p', { class: 'muted', id: 'preview-summary' });
    let refresh = () => {};
    const editor = stageEditor({ stages: c.stages, locked: c.stage + 1, onChange: () => refresh() });
    const body = () => ({ name: c.name, release_id: c.release_id, filter: { tags: c.filter.tags, min_version: c.filter.min_version || undefined, max_version: c.filter.max_version || undefined }, stages: editor.value() });
    refresh = previewer(editor, body, out);
    const save = h('button', { type: 'button', id: 'c-save-stages', onclick: (ev) => act(ev.target, async () => {
      await patch(`/v1/campaigns/${id}`, { stages: editor.value() });
      flash('Stages saved: resume the campaign to go on.', 'ok');
      editing = false;
      clear(editBox);
      await render();
    }) }, 'Save stages');
    clear(editBox, h('section', { class: 'card', id: 'stage-edit' }, h('h2', null, 'Edit the stages not started yet'),
      editor.el, out, save, ' ', h('button', { type: 'button', onclick: () => { editing = false; clear(editBox); } }, 'Cancel')));
    refresh();
  };

  const render = async () => {
    const [c, tl, devs] = await Promise.all([get(`/v1/campaigns/${id}`), get(`/v1/fleet/campaigns/${id}/timeline?points=60`),
      get(`/v1/campaigns/${id}/devices?limit=50${devState ? `&state=${devState}` : ''}`)]);
    const r = rel.get(c.release_id);
    const st = c.stages[c.stage];
    const ops = can('operator');
    clear(head,
      h('h1', null, `Campaign ${c.name} `, h('span', { id: 'campaign-state' }, badge(c.state)), c.rollout_complete ? h('span', { class: 'badge badge-complete' }, 'rollout complete') : null),
      c.halt_reason ? h('div', { class: 'halt', id: 'halt-reason' }, h('strong', null, 'Halted: '), c.halt_reason) : null,
      c.warnings.length ? h('ul', { class: 'warnings', id: 'campaign-warnings' }, c.warnings.map((w) => h('li', { class: 'warning' }, `⚠ ${w.message}`))) : null,
      h('div', { class: 'grid2' },
        h('section', { class: 'card' }, facts([
          ['release', r ? link(`#/releases/${r.id}`, `${r.name} (${r.version})`) : `#${c.release_id}`],
          ['filter', [c.filter.hw_id ? `hardware ${c.filter.hw_id}` : 'any hardware', c.filter.tags.length ? `, tags ${c.filter.tags.join(', ')}` : '',
            c.filter.min_version ? `, version ≥ ${c.filter.min_version}` : '', c.filter.max_version ? `, version < ${c.filter.max_version}` : ''].join('')],
          ['stage', h('span', { id: 'campaign-stage' }, `${c.stage} (${c.stage + 1} of ${c.stages.length}, ${c.stage_percent}%)`)],
          ['stage started', fmtTime(c.stage_started_at)],
          c.next_stage_in_seconds !== undefined ? ['next stage', c.next_stage_in_seconds > 0 ? `soaks ${fmtDuration(c.next_stage_in_seconds)} more` : 'soak done'] : null,
          c.finished_needed !== undefined ? ['finished needed', String(c.finished_needed)] : null,
          ['created', fmtTime(c.created_at)]])),
        h('section', { class: 'card' }, facts([
          ['finished', h('span', { id: 'campaign-finished' }, fmtNum(c.finished))], ['failed', fmtNum(c.failed)],
          ['in progress', fmtNum(c.in_progress)],
          ['failure ratio', h('span', { id: 'campaign-ratio' }, `${pct(c.failure_ratio)} (limit ${pct(st.max_failure_ratio)})`)]]),
        ops ? h('div', { class: 'actions', id: 'campaign-actions' },
          c.state === 'active' ? action('pause', 'Pause') : null,
          c.state === 'paused' ? action('resume', 'Resume') : null,
          (c.state === 'active' || c.state === 'paused') && !c.rollout_complete ? action('advance', c.stage + 1 < c.stages.length ? 'Advance to next stage' : 'Complete rollout', '', 'Start the next stage now, whatever its soak time and gate?') : null,
          c.state === 'paused' && !editing ? h('button', { type: 'button', id: 'c-edit', onclick: () => openEditor(c) }, 'Edit stages') : null,
          c.state !== 'aborted' ? action('abort', 'Abort', 'danger', 'Abort this campaign for good?') : null) : null)));
    clear(stagesBox, h('h2', null, 'Stages'), stageTable(c));
    clear(chartBox, h('h2', null, 'Failure ratio over time'),
      ratioChart(tl.points.map((p) => ({ t: p.t, y: p.failure_ratio })), { limit: st.max_failure_ratio }),
      h('p', { class: 'muted' }, `Cumulative over the campaign, in ${fmtDuration(tl.bucket_seconds)} steps; ${fmtNum(tl.points.length ? tl.points[tl.points.length - 1].finished : 0)} finished devices.`));
    const sel = h('select', { id: 'campaign-device-state', onchange: () => { devState = sel.value; render(); } },
      ['', 'offered', 'downloading', 'installing', 'installed-rebooting', 'success', 'failure', 'rolled-back'].map((s) => h('option', { value: s, selected: s === devState }, s || 'any state')));
    clear(devBox, h('h2', null, 'Devices ', sel),
      table(['device', 'state', 'stage', 'updated'], devs.devices.map((d) => h('tr', null,
        h('td', null, link(`#/devices/${encodeURIComponent(d.device_id)}`, d.device_id)), h('td', null, badge(d.state)),
        h('td', null, String(d.stage)), h('td', null, fmtTime(d.updated_at))))),
      devs.next_after ? h('p', { class: 'muted' }, 'First 50 shown.') : null);
  };
  await render();
  const timer = setInterval(() => { if (!document.hidden) render().catch(() => {}); }, 3000);
  return () => clearInterval(timer);
}
