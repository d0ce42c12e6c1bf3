// The lead queue: filters (status, category, score, dates, city, free text),
// order by score or time, counts by status, keyboard navigation
// (j/k move, Enter opens, e escalates, d dismisses, x selects, / searches).

import { api } from './api.js';
import { h, mount, formatTime, formatScore } from './dom.js';
import { handleError } from './ui.js';
import { STATUSES, statusBadge, quickReview } from './review.js';
import { exportDialog } from './export.js';
import { categoryChip } from './categories.js';

const FILTER_KEYS = ['status', 'category', 'min_score', 'since', 'until', 'city', 'q', 'order', 'flagged'];

const state = {
  filters: { order: 'score' },
  leads: [],
  counts: {},
  nextCursor: '',
  selected: 0,
  checked: new Set(),
  loading: false,
};

export function filtersFromQuery(search) {
  const params = new URLSearchParams(search || '');
  const filters = { order: 'score' };
  for (const key of FILTER_KEYS) {
    const v = params.get(key);
    if (v) filters[key] = v;
  }
  return filters;
}

function filtersToQuery(filters) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) params.set(key, filters[key]);
  return params.toString();
}

function sameFilters(a, b) {
  return FILTER_KEYS.every((k) => (a[k] || '') === (b[k] || ''));
}

/** renderQueue(root, ctx, filters): ctx = {rules, navigate}. */
export async function renderQueue(root, ctx, filters) {
  const changed = !sameFilters(filters, state.filters) || state.leads.length === 0;
  state.filters = filters;
  // Leads of other filters are never shown under these: the list stays
  // empty ("Loading…") until this query answers.
  if (changed) state.leads = [];
  const view = h('section', { class: 'queue', 'aria-label': 'Lead queue' });
  mount(root, view);
  const redraw = () => drawQueue(view, ctx);
  state.redraw = redraw;
  redraw();
  if (changed) await load(ctx, false);
  else await load(ctx, false, true);
}

async function load(ctx, append, keepSelection = false) {
  state.loading = true;
  const params = { ...state.filters, limit: 50 };
  if (append) params.cursor = state.nextCursor;
  try {
    const reply = await api.leads(params);
    const leads = reply.leads || [];
    state.leads = append ? state.leads.concat(leads) : leads;
    state.counts = reply.counts || {};
    state.nextCursor = reply.next_cursor || '';
    if (!append && !keepSelection) {
      state.selected = 0;
      state.checked.clear();
    }
    state.selected = Math.min(state.selected, Math.max(0, state.leads.length - 1));
  } catch (err) {
    handleError(err);
  } finally {
    state.loading = false;
    if (state.redraw) state.redraw();
  }
}

function applyFilters(ctx, patch) {
  const next = { ...state.filters, ...patch };
  for (const k of Object.keys(next)) if (!next[k]) delete next[k];
  if (!next.order) next.order = 'score';
  ctx.navigate(`#/leads?${filtersToQuery(next)}`);
}

function filterForm(ctx) {
  const f = state.filters;
  const field = (name, attrs) => h('input', { name, autocomplete: 'off', value: f[name] || '', ...attrs });
  const status = h('select', { name: 'status' },
    h('option', { value: '' }, 'any status'),
    STATUSES.map(([id, label]) => h('option', { value: id, selected: f.status === id }, label)));
  const category = h('select', { name: 'category' },
    h('option', { value: '' }, 'any category'),
    ctx.rules.categories.map((c) => h('option', { value: c.id, selected: f.category === c.id }, c.title || c.id)));
  const order = h('select', { name: 'order' },
    h('option', { value: 'score', selected: f.order !== 'time' }, 'highest score first'),
    h('option', { value: 'time', selected: f.order === 'time' }, 'newest first'));
  const form = h('form', { class: 'filters', role: 'search' },
    h('label', null, 'Search ', field('q', { type: 'search', placeholder: 'words in the ad', id: 'filter-q' })),
    h('label', null, 'Status ', status),
    h('label', null, 'Category ', category),
    h('label', null, 'Min score ', field('min_score', { type: 'number', min: 0, step: 0.05, class: 'narrow' })),
    h('label', null, 'From ', field('since', { type: 'date' })),
    h('label', null, 'To ', field('until', { type: 'date' })),
    h('label', null, 'City ', field('city', { type: 'text', placeholder: 'any', class: 'mid' })),
    h('label', null, 'Order ', order),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'flagged', value: 'false', checked: f.flagged === 'false' }), ' also below threshold'),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    h('button', { type: 'button', onclick: () => ctx.navigate('#/leads') }, 'Clear'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const patch = {};
    for (const key of FILTER_KEYS) patch[key] = String(data.get(key) || '').trim();
    applyFilters(ctx, patch);
  });
  for (const sel of [status, category, order, form.elements.flagged]) sel.addEventListener('change', () => form.requestSubmit());
  return form;
}

function countsBar(ctx) {
  const total = STATUSES.reduce((n, [id]) => n + (Number(state.counts[id]) || 0), 0);
  const chip = (id, label, n) => h('button', {
    type: 'button', class: ['count', state.filters.status === id || (!id && !state.filters.status) ? 'active' : ''],
    dataset: { status: id || 'all' },
    onclick: () => applyFilters(ctx, { status: id }),
  }, `${label} `, h('span', { class: 'n' }, String(n)));
  return h('nav', { class: 'counts', 'aria-label': 'Counts by status' },
    chip('', 'All', total),
    STATUSES.map(([id, label]) => chip(id, label, Number(state.counts[id]) || 0)));
}

function row(ctx, lead, index) {
  const checkbox = h('input', {
    type: 'checkbox', 'aria-label': `select ${lead.ad_id}`, checked: state.checked.has(lead.ad_id),
    onclick: (ev) => ev.stopPropagation(),
    onchange: (ev) => {
      if (ev.target.checked) state.checked.add(lead.ad_id);
      else state.checked.delete(lead.ad_id);
      state.redraw();
    },
  });
  const score = Number(lead.score) || 0;
  const tr = h('tr', {
    class: ['lead', index === state.selected ? 'selected' : ''],
    dataset: { id: lead.ad_id, index },
    'aria-selected': index === state.selected ? 'true' : 'false',
    onclick: () => { state.selected = index; openSelected(ctx); },
  },
  h('td', null, checkbox),
  h('td', { class: 'score' }, h('span', { class: 'score-bar', style: { '--w': `${Math.min(100, score * 50)}%` } }), formatScore(lead.score)),
  h('td', null, statusBadge(lead.status)),
  h('td', { class: 'cats' }, (lead.categories || []).map((c) => categoryChip(ctx.rules, c))),
  h('td', null, String(lead.city || '')),
  h('td', { class: 'time' }, formatTime(lead.posted_at)),
  h('td', null, String(lead.assignee || '')),
  h('td', { class: 'snippet' }, String(lead.snippet || '')));
  return tr;
}

function drawQueue(view, ctx) {
  const selection = state.checked.size
    ? [...state.checked]
    : state.leads.map((l) => l.ad_id);
  const exportLabel = state.checked.size ? `Export ${state.checked.size} selected` : `Export ${state.leads.length} listed`;
  const table = h('table', { class: 'leads' },
    h('thead', null, h('tr', null,
      h('th', null, ''), h('th', null, 'Score'), h('th', null, 'Status'), h('th', null, 'Indicators'),
      h('th', null, 'City'), h('th', null, 'Posted'), h('th', null, 'Assignee'), h('th', null, 'Text'))),
    h('tbody', null, state.leads.map((lead, i) => row(ctx, lead, i))));
  mount(view,
    filterForm(ctx),
    countsBar(ctx),
    h('div', { class: 'queue-actions' },
      h('span', { class: 'muted' },
        state.loading ? 'Loading…' : `${state.leads.length} lead${state.leads.length === 1 ? '' : 's'} shown`,
        ' · keys: j/k move, Enter open, e escalate, d dismiss, x select, / search'),
      h('button', {
        type: 'button', id: 'export-selection', disabled: selection.length === 0,
        onclick: () => exportDialog({ what: `${selection.length} ad(s) from the queue.`, params: { ids: selection.join(',') } }),
      }, exportLabel)),
    state.leads.length || state.loading ? table : h('p', { class: 'empty' }, 'No leads match these filters.'),
    state.nextCursor ? h('button', { type: 'button', class: 'more', onclick: () => load(ctx, true) }, 'Load more') : null);
  const selectedRow = view.querySelector('tr.lead.selected');
  if (selectedRow && selectedRow.scrollIntoView) selectedRow.scrollIntoView({ block: 'nearest' });
}

function openSelected(ctx) {
  const lead = state.leads[state.selected];
  if (lead) ctx.navigate(`#/ad/${encodeURIComponent(lead.ad_id)}`);
}

function afterQuickReview(ctx) {
  return () => load(ctx, false, true);
}

/** Keyboard handling while the queue is shown; returns true if used. */
export function queueKey(ev, ctx) {
  const lead = state.leads[state.selected];
  switch (ev.key) {
    case 'j':
      state.selected = Math.min(state.leads.length - 1, state.selected + 1);
      state.redraw();
      return true;
    case 'k':
      state.selected = Math.max(0, state.selected - 1);
      state.redraw();
      return true;
    case 'Enter':
      openSelected(ctx);
      return true;
    case 'e':
      if (lead) quickReview(lead.ad_id, 'escalated', afterQuickReview(ctx));
      return true;
    case 'd':
      if (lead) quickReview(lead.ad_id, 'dismissed', afterQuickReview(ctx));
      return true;
    case 'x':
      if (lead) {
        if (state.checked.has(lead.ad_id)) state.checked.delete(lead.ad_id);
        else state.checked.add(lead.ad_id);
        state.redraw();
      }
      return true;
    case '/': {
      const q = document.getElementById('filter-q');
      if (q) q.focus();
      return true;
    }
    default:
      return false;
  }
}
