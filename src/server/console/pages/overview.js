// SPDX-License-Identifier: Apache-2.0
// pages/overview.js - the fleet at a glance: device totals (online, silent,
// never seen), devices by version, hardware and tag, last results, the most
// common failures and the campaigns running now. All counts are the
// server's aggregates (GET /v1/fleet/summary), never computed from pages;
// and the latest entries of the audit log (who changed what).
import { get } from '../api.js';
import { h, fmtNum, fmtAgo, fmtTime, badge, link, table } from '../ui.js';
import { bars } from '../chart.js';

const q = (k, v) => `#/devices?${new URLSearchParams({ [k]: v })}`;

function stat(id, label, value, href) {
  const num = h('div', { class: 'stat-num', id }, fmtNum(value));
  return h('div', { class: 'stat card' }, href ? h('a', { href }, num) : num, h('div', { class: 'stat-label' }, label));
}

export async function overviewPage(root) {
  const render = async () => {
    const [s, cs, audit] = await Promise.all([get('/v1/fleet/summary'), get('/v1/campaigns'),
      get('/v1/audit?order=newest&limit=10')]);
    // The list has no counts: the (few) running campaigns' statuses do.
    const active = await Promise.all((cs.campaigns || [])
      .filter((c) => c.state === 'active' || c.state === 'paused' || c.state === 'halted')
      .slice(-10).reverse().map((c) => get(`/v1/campaigns/${c.id}`)));
    const r = s.last_results;
    root.replaceChildren(
      h('h1', null, 'Fleet overview'),
      h('div', { class: 'stats' },
        stat('ov-devices', 'devices', s.devices, '#/devices'),
        stat('ov-online', `online (seen in the last ${Math.round(s.silent_after / 60)} min)`, s.online, q('seen', 'online')),
        stat('ov-silent', 'silent', s.silent, q('seen', 'silent')),
        stat('ov-never', 'never seen', s.never_seen, q('seen', 'never'))),
      h('div', { class: 'grid3' },
        h('section', { class: 'card', id: 'ov-by-version' }, h('h2', null, 'By version'),
          bars(s.by_version.map((x) => ({ label: x.version || '(unknown)', value: x.devices, href: q('version', x.version) })), s.devices)),
        h('section', { class: 'card', id: 'ov-by-hw' }, h('h2', null, 'By hardware'),
          bars(s.by_hw_id.map((x) => ({ label: x.hw_id, value: x.devices, href: q('hw_id', x.hw_id) })), s.devices)),
        h('section', { class: 'card', id: 'ov-by-tag' }, h('h2', null, 'By tag'),
          bars(s.by_tag.map((x) => ({ label: x.tag, value: x.devices, href: q('tag', x.tag) }))
            .concat(s.untagged ? [{ label: '(no tags)', value: s.untagged }] : []), s.devices))),
      h('div', { class: 'grid2' },
        h('section', { class: 'card', id: 'ov-results' }, h('h2', null, 'Last results'),
          bars([['success', r.success], ['failure', r.failure], ['rolled-back', r['rolled-back']],
                ['in progress', r['in-progress']], ['other', r.other], ['none yet', r.none]]
            .map(([label, value]) => ({ label, value, href: ['success', 'failure', 'rolled-back'].includes(label) ? q('result', label) : undefined })), s.devices),
          s.top_failures.length ? [h('h3', null, 'Most common failures'),
            table(['last result', 'devices'], s.top_failures.map((f) => h('tr', null, h('td', { class: 'mono' }, f.last_result), h('td', { class: 'num' }, fmtNum(f.devices)))))] : null),
        h('section', { class: 'card', id: 'ov-campaigns' }, h('h2', null, 'Campaigns'),
          table(['campaign', 'state', 'stage', 'failure ratio'], active.map((c) => h('tr', null,
            h('td', null, link(`#/campaigns/${c.id}`, c.name)), h('td', null, badge(c.state)),
            h('td', null, `${c.stage} (${c.stage + 1} of ${c.stages.length}, ${c.stage_percent}%)`),
            h('td', { class: 'num' }, c.failure_ratio === undefined ? '–' : `${(c.failure_ratio * 100).toFixed(1)}%`)))),
          h('p', null, link('#/campaigns', 'All campaigns')))),
      h('section', { class: 'card', id: 'ov-activity' }, h('h2', null, 'Recent activity'),
        table(['when', 'who', 'what', 'status'], audit.entries.map((e) => h('tr', null,
          h('td', { title: fmtTime(e.at) }, fmtAgo(e.at, s.now)), h('td', null, `${e.actor} (${e.role})`),
          h('td', { class: 'mono' }, e.target.startsWith('/v1/') ? `${e.action.split(' ')[0]} ${e.target}` : e.action),
          h('td', { class: e.status >= 400 ? 'num error' : 'num' }, String(e.status)))))));
  };
  await render();
  const timer = setInterval(() => render().catch(() => {}), 15000);
  return () => clearInterval(timer);
}
