// SPDX-License-Identifier: Apache-2.0
// api.js - the console's only way to the server: fetch() on the JSON API of
// the same origin with the session cookie, the X-CSRF-Token header on every
// state change, and one error shape (ApiError) for every failure.

export const session = { name: null, role: null, csrf: null };

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

// Called when the server answers 401: the session is gone (app.js shows the login).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(method, path, body, opts = {}) {
  const headers = {};
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const r = await fetch(path, { method, headers, body: payload, credentials: 'same-origin',
                                cache: 'no-store' });
  if (r.status === 204) return null;
  let data = null;
  const text = await r.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = { raw: text }; }
  }
  if (!r.ok) {
    const err = (data && data.error) || {};
    const code = typeof err === 'string' ? err : err.code;
    const message = typeof err === 'string' ? (data.message || err) : err.message;
    if (r.status === 401 && !opts.noAuthRedirect) onUnauthorized();
    throw new ApiError(r.status, code, message, data);
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

export async function login(token) {
  const s = await api('POST', '/v1/session', { token }, { noAuthRedirect: true });
  Object.assign(session, { name: s.name, role: s.role, csrf: s.csrf });
  return s;
}

export async function resume() {
  const s = await api('GET', '/v1/session', undefined, { noAuthRedirect: true });
  Object.assign(session, { name: s.name, role: s.role, csrf: s.csrf });
  return s;
}

export async function logout() {
  try { await api('DELETE', '/v1/session', undefined, { noAuthRedirect: true }); }
  finally { Object.assign(session, { name: null, role: null, csrf: null }); }
}

const RANK = { viewer: 1, operator: 2, admin: 3 };
// True when the logged-in role is at least `role`.
export function can(role) { return (RANK[session.role] || 0) >= RANK[role]; }
