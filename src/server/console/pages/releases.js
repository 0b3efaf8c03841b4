// SPDX-License-Identifier: Apache-2.0
// pages/releases.js - releases: upload a signed image by dropping it on the
// page (or choosing it), the list with how many devices run each, and one
// release's details with the devices running it and its campaigns.
import { get, api, del, can } from '../api.js';
import { h, clear, table, fmtNum, fmtTime, fmtBytes, flash, act, link, facts, badge } from '../ui.js';

async function upload(file, name, status) {
  status.textContent = `Uploading ${file.name} (${fmtBytes(file.size)})…`;
  const q = name ? `?name=${encodeURIComponent(name)}` : '';
  try {
    const rel = await api('POST', `/v1/releases${q}`, file);
    status.textContent = `Uploaded ${file.name}: release ${rel.id}, version ${rel.version} for ${rel.hw_id}.`;
    flash(`Release ${rel.id} (${rel.version}) uploaded.`, 'ok');
    return rel;
  } catch (e) {
    status.textContent = `Upload of ${file.name} refused: ${e.message}`;
    status.classList.add('error');
    return null;
  }
}

// Per-slot builds: which slots the release has an image for ("any": one
// image that runs from either slot).
function slots(r) {
  const s = (r.images || []).map((i) => i.link_slot).filter((x) => x);
  return s.length ? s.join(' + ') : 'any';
}

export async function releasesPage(root) {
  const list = h('div');
  const status = h('p', { id: 'upload-status', role: 'status' });
  const nameInput = h('input', { id: 'upload-name', placeholder: 'label (optional, default: the version)' });
  const fileInput = h('input', { type: 'file', id: 'upload-file', hidden: true });
  const zone = h('div', { id: 'dropzone', class: 'dropzone', tabindex: '0' },
    h('strong', null, 'Drop a signed image (ota sign) here'), ' or ',
    h('button', { type: 'button', onclick: () => fileInput.click() }, 'choose a file'));
  const render = async () => {
    const [rs, s] = await Promise.all([get('/v1/releases'), get('/v1/fleet/summary')]);
    const running = new Map(s.by_release.map((x) => [x.release_id, x.devices]));
    clear(list, table(['id', 'name', 'version', 'hardware', 'format', 'slots', 'size', 'uploaded', 'devices running it', ''],
      rs.releases.slice().reverse().map((r) => h('tr', { dataset: { release: r.id } },
        h('td', null, link(`#/releases/${r.id}`, String(r.id))), h('td', null, r.name), h('td', null, r.version),
        h('td', null, r.hw_id), h('td', null, r.format), h('td', null, slots(r)), h('td', { class: 'num' }, fmtBytes(r.size)), h('td', null, fmtTime(r.created_at)),
        h('td', { class: 'num' }, link(`#/devices?release=${r.id}`, fmtNum(running.get(r.id) || 0))),
        h('td', null, can('operator') ? h('button', { type: 'button', class: 'danger small', onclick: (ev) => act(ev.target, async () => {
          if (!confirm(`Delete release ${r.id} (${r.version})?`)) return;
          await del(`/v1/releases/${r.id}`);
          await render();
        }) }, 'Delete') : null))), { id: 'release-table' }));
  };
  const take = async (files) => {
    status.classList.remove('error');
    for (const f of files) await upload(f, nameInput.value.trim(), status);
    await render();
  };
  zone.addEventListener('dragover', (ev) => { ev.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    take([...ev.dataTransfer.files]);
  });
  fileInput.addEventListener('change', () => take([...fileInput.files]));
  root.append(h('h1', null, 'Releases'),
    can('operator') ? h('section', { class: 'card' }, h('h2', null, 'Upload'), nameInput, zone, fileInput, status) : null,
    list);
  await render();
}

// A per-slot release with one image: add the build for the other slot.
function addSlotImage(r, rerender) {
  const other = r.link_slot === 'A' ? 'B' : 'A';
  const status = h('p', { id: 'slot-upload-status', role: 'status' });
  const input = h('input', { type: 'file', id: 'slot-upload-file', hidden: true });
  input.addEventListener('change', async () => {
    const f = input.files[0];
    status.classList.remove('error');
    status.textContent = `Uploading ${f.name} (${fmtBytes(f.size)})…`;
    try {
      await api('POST', `/v1/releases/${r.id}/images`, f);
      flash(`Release ${r.id}: the slot ${other} build added.`, 'ok');
      await rerender();
    } catch (e) {
      status.textContent = `Upload of ${f.name} refused: ${e.message}`;
      status.classList.add('error');
    }
  });
  return h('div', null, h('button', { type: 'button', id: 'slot-upload', onclick: () => input.click() },
    `Add the build linked for slot ${other}`), input, status);
}

export async function releasePage(root, id) {
  const [r, s, cs] = await Promise.all([get(`/v1/releases/${id}`), get('/v1/fleet/summary'), get('/v1/campaigns')]);
  const n = (s.by_release.find((x) => x.release_id === r.id) || { devices: 0 }).devices;
  const rerender = async () => { clear(root); await releasePage(root, id); };
  const images = h('section', { class: 'card', id: 'release-images' }, h('h2', null, 'Images'),
    table(['linked for', 'digest', 'size', 'artifact'], (r.images || []).map((i) => h('tr', { dataset: { slot: i.link_slot || 'any' } },
      h('td', null, i.link_slot ? `slot ${i.link_slot}` : 'any slot'), h('td', { class: 'mono' }, i.digest),
      h('td', { class: 'num' }, fmtBytes(i.size)), h('td', null, link(i.url, 'download'))))),
    r.link_slot ? h('p', { class: 'muted' }, 'A device gets the build linked for the slot its update goes into (the one it does not run from).') : null,
    r.link_slot && r.images.length === 1 && can('operator') ? addSlotImage(r, rerender) : null);
  root.append(h('h1', null, `Release ${r.name}`),
    h('section', { class: 'card', id: 'release-facts' }, facts([
      ['id', String(r.id)], ['version', r.version], ['hardware', r.hw_id], ['format', r.format],
      ['security counter', String(r.security_counter)], ['size', fmtBytes(r.size)],
      ['digest', h('span', { class: 'mono' }, r.digest)], ['uploaded', fmtTime(r.created_at)],
      ['devices running it', link(`#/devices?release=${r.id}`, fmtNum(n))],
      ['artifact', link(r.url, r.url)]])),
    images,
    h('section', { class: 'card' }, h('h2', null, 'Campaigns'),
      table(['campaign', 'state', 'stage'], cs.campaigns.filter((c) => c.release_id === r.id).map((c) => h('tr', null,
        h('td', null, link(`#/campaigns/${c.id}`, c.name)), h('td', null, badge(c.state)), h('td', null, `${c.stage} (${c.stage + 1} of ${c.stages.length})`))))),
    can('operator') ? h('p', null, link(`#/campaigns/new?release=${r.id}`, 'Start a campaign with this release')) : null);
}
