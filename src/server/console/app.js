// SPDX-License-Identifier: Apache-2.0
// app.js - the console's entry point: the session (login with a token,
// resume from the cookie, log out), the hash router (#/overview,
// #/devices/ID, #/campaigns/new, ...) and the page lifecycle (each page may
// return a cleanup function, e.g. to stop its live refresh).
import { session, login, logout, resume, setUnauthorizedHandler, can } from './api.js';
import { h, clear, flash } from './ui.js';
import { overviewPage } from './pages/overview.js';
import { devicesPage, devicePage } from './pages/devices.js';
import { releasesPage, releasePage } from './pages/releases.js';
import { campaignsPage, campaignPage, campaignNewPage } from './pages/campaigns.js';
import { tokensPage } from './pages/tokens.js';

const main = document.getElementById('main');
let cleanup = null;

const ROUTES = [
  [/^\/overview$/, overviewPage, 'overview'],
  [/^\/devices$/, devicesPage, 'devices'],
  [/^\/devices\/(.+)$/, devicePage, 'devices'],
  [/^\/releases$/, releasesPage, 'releases'],
  [/^\/releases\/(\d+)$/, releasePage, 'releases'],
  [/^\/campaigns$/, campaignsPage, 'campaigns'],
  [/^\/campaigns\/new$/, campaignNewPage, 'campaigns'],
  [/^\/campaigns\/(\d+)$/, campaignPage, 'campaigns'],
  [/^\/tokens$/, tokensPage, 'tokens'],
];

function showChrome(on) {
  document.getElementById('nav').hidden = !on;
  document.getElementById('logout').hidden = !on;
  document.getElementById('who').textContent = on ? `${session.name} (${session.role})` : '';
  for (const a of document.querySelectorAll('#nav a[data-page="tokens"]')) a.hidden = !can('admin');
}

function loginPage() {
  showChrome(false);
  if (cleanup) { cleanup(); cleanup = null; }
  const input = h('input', { type: 'password', id: 'login-token', name: 'token', autocomplete: 'off',
                             placeholder: 'otaa_… or a named token', required: true });
  const err = h('p', { class: 'error', id: 'login-error', hidden: true });
  const form = h('form', { id: 'login-form', class: 'card login' },
    h('h1', null, 'Log in'),
    h('p', { class: 'muted' }, 'Paste an API token (viewer, operator or admin). It is sent once; the console keeps a session cookie.'),
    h('label', { for: 'login-token' }, 'Token'), input, err,
    h('button', { type: 'submit', id: 'login-submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    try {
      await login(input.value.trim());
      input.value = '';
      if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
      else route();
    } catch (e) {
      err.textContent = e.status === 401 ? 'Unknown or revoked token.' : e.message;
      err.hidden = false;
    }
  });
  clear(main, form);
  input.focus();
}

async function route() {
  if (!session.role) { loginPage(); return; }
  showChrome(true);
  const path = (location.hash || '#/overview').slice(1).split('?')[0];
  if (cleanup) { cleanup(); cleanup = null; }
  for (const [re, page, nav] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === nav);
    const root = h('div', { class: 'page', id: `page-${nav}` });
    clear(main, root);
    try {
      const c = await page(root, ...m.slice(1).map(decodeURIComponent));
      // For bench/console: the moment this page's data is on screen.
      performance.mark(`ota:ready:${nav}`);
      if (typeof c === 'function') {
        if (root.isConnected) cleanup = c; else c();
      }
    } catch (e) {
      if (e.status !== 401) root.append(h('p', { class: 'error' }, `Could not load this page: ${e.message}`));
    }
    return;
  }
  location.hash = '#/overview';
}

setUnauthorizedHandler(() => {
  Object.assign(session, { name: null, role: null, csrf: null });
  flash('Your session ended: log in again.');
  loginPage();
});

document.getElementById('logout').addEventListener('click', async () => {
  await logout();
  loginPage();
});
window.addEventListener('hashchange', route);

resume().then(route, () => loginPage());
