// The /v1 API client (docs/api.md). The token lives in sessionStorage (gone
// when the tab closes) and travels as `Authorization: Bearer`.

const TOKEN_KEY = 'vigil.token';

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

async function request(method, path, { params, body, raw } = {}) {
  const headers = { Authorization: `Bearer ${getToken()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (err) {
    throw new ApiError(0, null, `vigild cannot be reached (${err.message})`);
  }
  if (!res.ok) {
    let payload = null;
    try {
      payload = await res.json();
    } catch {
      payload = null;
    }
    const detail = payload && typeof payload.error === 'string' ? payload.error : res.statusText;
    throw new ApiError(res.status, payload, detail || `HTTP ${res.status}`);
  }
  if (raw) return res;
  return res.json();
}

const enc = encodeURIComponent;

export const api = {
  me: () => request('GET', '/v1/me'),
  rules: () => request('GET', '/v1/rules'),
  leads: (params) => request('GET', '/v1/leads', { params }),
  ad: (id) => request('GET', `/v1/ads/${enc(id)}`),
  review: (id, body) => request('POST', `/v1/leads/${enc(id)}/review`, { body }),
  entity: (type, value) => request('GET', `/v1/entities/${enc(type)}/${enc(value)}`),
  exportBundle: (params) => request('GET', '/v1/export', { params, raw: true }),
};
