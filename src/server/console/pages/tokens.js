// SPDX-License-Identifier: Apache-2.0
// pages/tokens.js - named API tokens (admin): the list (never the tokens
// themselves), create one with a role (its token is shown once, here),
// revoke one.
import { get, post, del, can } from '../api.js';
import { h, clear, table, fmtTime, badge, act, flash } from '../ui.js';

export async function tokensPage(root) {
  if (!can('admin')) {
    root.append(h('h1', null, 'Tokens'), h('p', { class: 'error' }, 'Only admins manage tokens.'));
    return;
  }
  const list = h('div');
  const shown = h('div', { id: 'token-created' });
  const name = h('input', { id: 't-name', required: true, placeholder: 'ci-pipeline' });
  const role = h('select', { id: 't-role' }, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r }, r)));
  const create = h('button', { type: 'submit', id: 't-create' }, 'Create token');
  const form = h('form', { class: 'card inline', id: 'token-form' }, h('label', null, 'Name', name), h('label', null, 'Role', role), create);
  const render = async () => {
    const r = await get('/v1/tokens');
    const tokens = Array.isArray(r) ? r : r.tokens || [];
    clear(list, table(['id', 'name', 'role', 'created', 'by', ''], tokens.map((t) => h('tr', { dataset: { token: t.id } },
      h('td', null, String(t.id)), h('td', null, t.name), h('td', null, badge(t.role)), h('td', null, fmtTime(t.created_at)),
      h('td', null, t.created_by || ''),
      h('td', null, h('button', { type: 'button', class: 'danger small', onclick: (ev) => act(ev.target, async () => {
        if (!confirm(`Revoke token ${t.name}? Whoever uses it is locked out at once.`)) return;
        await del(`/v1/tokens/${t.id}`);
        flash(`Token ${t.name} revoked.`, 'ok');
        await render();
      }) }, 'Revoke')))), { id: 'token-table' }));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(create, async () => {
      const t = await post('/v1/tokens', { name: name.value.trim(), role: role.value });
      name.value = '';
      clear(shown, h('div', { class: 'card secret' }, h('p', null, `Token for ${t.name} (${t.role}) — copy it now, it is not shown again:`),
        h('code', { id: 'token-value' }, t.token)));
      await render();
    });
  });
  root.append(h('h1', null, 'Tokens'), form, shown, list);
  await render();
}
