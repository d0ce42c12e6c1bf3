// vigil review UI: sign-in, routing and keyboard. Views live in queue.js,
// ad_view.js and entity_view.js; all data comes from the /v1 API (api.js).
// Nothing from the API is ever inserted as HTML (dom.js).
//
// Routes: #/leads?filters, #/ad/<id>, #/entity/<type>/<value>.

import { api, getToken, setToken } from './api.js';
import { h, mount } from './dom.js';
import { handleError, setUnauthorizedHandler, dialogOpen } from './ui.js';
import { indexRules } from './categories.js';
import { renderQueue, filtersFromQuery, queueKey } from './queue.js';
import { renderAd } from './ad_view.js';
import { renderEntity } from './entity_view.js';

const root = document.getElementById('app');
const userBox = document.getElementById('user');

const ctx = {
  me: null,
  rules: indexRules(null),
  view: '',
  lastQueueHash: '#/leads',
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  queueHref() {
    return ctx.lastQueueHash;
  },
};

function signIn(message) {
  setToken('');
  ctx.me = null;
  ctx.view = 'signin';
  mount(userBox);
  const token = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-label': 'Investigator token' });
  const error = h('p', { class: 'form-message', role: 'alert' }, message || '');
  const form = h('form', { class: 'signin', id: 'signin' },
    h('h2', null, 'Sign in'),
    h('p', null, 'Paste the investigator token you were given (vigil tokens create). It is kept only in this tab and forgotten when the tab closes.'),
    h('label', null, 'Token ', token),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setToken(token.value.trim());
    try {
      await start();
    } catch (err) {
      setToken('');
      error.textContent = err.status === 401 ? 'This token is not valid. Check it and try again.' : `Cannot sign in: ${err.message}`;
    }
  });
  mount(root, form);
  token.focus();
}

setUnauthorizedHandler((message) => signIn(message));

async function start() {
  const me = await api.me();
  ctx.me = me;
  mount(userBox,
    h('span', { class: 'who', id: 'who' }, `${me.user} (${me.role})`),
    h('button', { type: 'button', id: 'signout', onclick: () => signIn('Signed out.') }, 'Sign out'));
  if (me.role === 'ingest') {
    mount(root, h('p', { class: 'empty' }, 'Your role cannot use the review UI: it needs an investigator or admin token.'));
    return;
  }
  try {
    ctx.rules = indexRules(await api.rules());
  } catch (err) {
    handleError(err);
  }
  await route();
}

async function route() {
  if (!ctx.me) return;
  const hash = location.hash || '#/leads';
  const [path, search = ''] = hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === 'ad' && parts[1]) {
    ctx.view = 'ad';
    await renderAd(root, ctx, parts[1]);
  } else if (parts[0] === 'entity' && parts[1] && parts.length >= 3) {
    ctx.view = 'entity';
    await renderEntity(root, ctx, parts[1], parts.slice(2).join('/'));
  } else {
    ctx.view = 'queue';
    ctx.lastQueueHash = `#/leads${search ? `?${search}` : ''}`;
    await renderQueue(root, ctx, filtersFromQuery(search));
  }
  document.body.dataset.view = ctx.view;
}

window.addEventListener('hashchange', () => {
  route().catch(handleError);
});

document.addEventListener('keydown', (ev) => {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || dialogOpen()) return;
  const t = ev.target;
  if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
  if (t && ['A', 'BUTTON', 'MARK', 'SUMMARY'].includes(t.tagName) && ev.key === 'Enter') return;
  let used = false;
  if (ctx.view === 'queue') used = queueKey(ev, ctx);
  else if ((ctx.view === 'ad' || ctx.view === 'entity') && (ev.key === 'Escape' || ev.key === 'u')) {
    ctx.navigate(ctx.queueHref());
    used = true;
  }
  if (used) ev.preventDefault();
});

if (getToken()) {
  start().catch((err) => signIn(err.status === 401 ? 'Your sign-in is no longer valid: sign in again.' : err.message));
} else {
  signIn();
}
