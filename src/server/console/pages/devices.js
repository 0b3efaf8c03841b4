// SPDX-License-Identifier: Apache-2.0
// pages/devices.js - the device list (server-side filters and keyset
// paging over GET /v1/fleet/devices, the total counted by the server) and
// one device's page: inventory, the offer its next check-in would get,
// its campaigns and its report timeline.
import { get } from '../api.js';
import { h, clear, table, fmtNum, fmtAgo, fmtTime, badge, link, facts } from '../ui.js';

const FILTERS = ['q', 'version', 'hw_id', 'tag', 'seen', 'result', 'release'];

function hashParams() {
  return new URLSearchParams(location.hash.split('?')[1] || '');
}

export async function devicesPage(root) {
  const params = hashParams();
  const cursors = [''];
  let total = 0;
  const field = (name, label, attrs = {}) => h('label', null, label, h('input', { name, value: params.get(name) || '', ...attrs }));
  const select = (name, label, options) => h('label', null, label,
    h('select', { name }, options.map(([v, t]) => h('option', { value: v, selected: (params.get(name) || '') === v }, t))));
  const form = h('form', { class: 'filters', id: 'device-filters' },
    field('q', 'id starts with', { placeholder: 'dev-' }), field('version', 'version'), field('hw_id', 'hardware'),
    field('tag', 'tag'),
    select('seen', 'seen', [['', 'any'], ['online', 'online'], ['silent', 'silent'], ['never', 'never']]),
    select('result', 'last result', [['', 'any'], ['success', 'success'], ['failure', 'failure'], ['rolled-back', 'rolled back']]),
    params.get('release') ? h('input', { type: 'hidden', name: 'release', value: params.get('release') }) : null,
    h('button', { type: 'submit' }, 'Filter'));
  const summary = h('p', { id: 'device-total', class: 'muted' });
  const body = h('div');
  const pager = h('div', { class: 'pager' });
  root.append(h('h1', null, 'Devices'), params.get('release') ? h('p', null, `Devices running release ${params.get('release')}`) : null,
    form, summary, body, pager);

  const query = () => {
    const p = new URLSearchParams();
    for (const k of FILTERS) {
      const v = params.get(k);
      if (v) p.set(k, v);
    }
    return p;
  };
  const load = async (page) => {
    const p = query();
    p.set('limit', '50');
    if (cursors[page]) p.set('after', cursors[page]);
    const r = await get(`/v1/fleet/devices?${p}`);
    if (r.next_after) cursors[page + 1] = r.next_after;
    if (r.total !== undefined) total = r.total; // counted with the first page
    summary.textContent = `${fmtNum(total)} matching devices · page ${page + 1} of ${Math.max(1, Math.ceil(total / 50))}`;
    const now = Date.now() / 1000;
    clear(body, table(['id', 'hardware', 'version', 'tags', 'slot', 'runs from', 'last result', 'last seen'],
      r.devices.map((d) => h('tr', null,
        h('td', null, link(`#/devices/${encodeURIComponent(d.id)}`, d.id)), h('td', null, d.hw_id),
        h('td', null, d.current_version || '–'), h('td', null, d.tags.join(', ')), h('td', null, d.slot_state || '–'),
        h('td', null, d.running_slot ? `slot ${d.running_slot}` : '–'),
        h('td', { class: 'mono clip' }, d.last_result || '–'), h('td', { title: fmtTime(d.last_seen) }, fmtAgo(d.last_seen, now)))),
      { id: 'device-table' }));
    clear(pager,
      page > 0 ? h('button', { type: 'button', id: 'page-prev', onclick: () => load(page - 1) }, '← Previous') : null,
      r.next_after ? h('button', { type: 'button', id: 'page-next', onclick: () => load(page + 1) }, 'Next →') : null);
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    location.hash = `#/devices${p.toString() ? `?${p}` : ''}`;
  });
  await load(0);
}

export async function devicePage(root, id) {
  const enc = encodeURIComponent(id);
  const [v, reps] = await Promise.all([get(`/v1/fleet/devices/${enc}`), get(`/v1/devices/${enc}/reports?limit=1000`)]);
  const d = v.device;
  const offer = v.offer;
  const REASONS = { offered: 'offered now', runs_release: 'already runs this release', finished: 'finished with this campaign',
                    not_in_stage_yet: 'matches, not placed in the current stage yet',
                    no_image_for_slot: 'no image of the release for the slot its update goes into (see last result)' };
  root.append(
    h('h1', null, `Device ${d.id}`),
    h('div', { class: 'grid2' },
      h('section', { class: 'card', id: 'device-inventory' }, h('h2', null, 'Inventory'), facts([
        ['hardware', d.hw_id], ['tags', d.tags.join(', ') || '–'], ['version', d.current_version || '–'],
        ['image digest', h('span', { class: 'mono' }, d.current_digest || '–')], ['slot state', d.slot_state || '–'],
        ['running slot', d.running_slot || 'not reported'],
        ['last result', h('span', { class: 'mono' }, d.last_result || '–')], ['last seen', `${fmtTime(d.last_seen)} (${fmtAgo(d.last_seen)})`],
        ['registered', fmtTime(d.created_at)]])),
      h('section', { class: 'card', id: 'device-offer' }, h('h2', null, 'Current offer'),
        offer ? facts([['campaign', link(`#/campaigns/${offer.campaign_id}`, offer.campaign_name)],
                       ['release', link(`#/releases/${offer.release_id}`, offer.version)],
                       ['stage', String(offer.stage)], ['status', REASONS[offer.reason] || offer.reason],
                       ...(offer.link_slot ? [['image', `the build linked for slot ${offer.link_slot}`]] : [])])
              : h('p', { class: 'muted' }, 'No active campaign targets this device.'))),
    h('section', { class: 'card', id: 'device-campaigns' }, h('h2', null, 'Campaigns'),
      table(['campaign', 'release', 'device state', 'campaign state', 'updated'], v.campaigns.map((c) => h('tr', null,
        h('td', null, link(`#/campaigns/${c.campaign_id}`, `#${c.campaign_id}`)), h('td', null, link(`#/releases/${c.release_id}`, `#${c.release_id}`)),
        h('td', null, badge(c.state)), h('td', null, badge(c.campaign_state)), h('td', null, fmtTime(c.updated_at)))))),
    h('section', { class: 'card', id: 'device-reports' }, h('h2', null, 'Report timeline'),
      h('ol', { class: 'timeline' }, reps.reports.slice().reverse().map((r) => h('li', null,
        h('span', { class: 'when' }, fmtTime(r.created_at)), ' ', badge(r.state),
        r.campaign_id ? [' campaign ', link(`#/campaigns/${r.campaign_id}`, `#${r.campaign_id}`)] : null,
        r.code ? ` code ${r.code}` : null, r.detail ? h('span', { class: 'mono' }, ` ${r.detail}`) : null))),
      reps.reports.length ? null : h('p', { class: 'muted' }, 'No reports yet.'),
      reps.next_after ? h('p', { class: 'muted' }, 'Showing the first 1000 reports.') : null));
}
