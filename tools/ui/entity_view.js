// Everything that shares one phone, email, handle or URL: the ads, the
// cities, and a timeline of ads per day per city.

import { api } from './api.js';
import { h, mount, formatTime, formatScore } from './dom.js';
import { handleError } from './ui.js';
import { statusBadge } from './review.js';
import { exportDialog } from './export.js';
import { timelineChart } from './timeline.js';

export async function renderEntity(root, ctx, type, value) {
  mount(root, h('p', { class: 'loading' }, `Loading ${type} ${value}…`));
  let data;
  try {
    data = await api.entity(type, value);
  } catch (err) {
    handleError(err);
    mount(root, h('p', { class: 'empty' }, `Could not load ${type} ${value}.`), h('a', { href: ctx.queueHref() }, 'Back to the queue'));
    return;
  }
  const stats = data.stats || {};
  const ads = data.ads || [];
  const cities = stats.cities || [];
  mount(root, h('article', { class: 'entity-view', dataset: { type, value } },
    h('nav', { class: 'crumbs' }, h('a', { href: ctx.queueHref() }, '← Queue'), ` / ${type}`),
    h('header', null,
      h('h2', null, `${type} `, h('code', { class: 'entity-value' }, String(data.value ?? value))),
      h('div', { class: 'facts' },
        h('span', { class: 'stat-ads' }, `${stats.ads ?? ads.length} ads`),
        h('span', { class: 'stat-cities' }, `${cities.length} cit${cities.length === 1 ? 'y' : 'ies'}: ${cities.join(', ')}`),
        h('span', null, `first seen ${formatTime(stats.first_seen)}`),
        h('span', null, `last seen ${formatTime(stats.last_seen)}`),
        h('button', {
          type: 'button', id: 'export-entity',
          onclick: () => exportDialog({ what: `All ${ads.length} ads sharing ${type} ${data.value ?? value}.`, params: { entity: `${type}:${data.value ?? value}` } }),
        }, 'Export these ads'))),
    h('p', { class: 'weak-signal' },
      'A shared contact links ads; it does not prove one advertiser. Numbers get pasted, reused and misappropriated, and a circuit of cities is a pattern to check, not evidence on its own.'),
    h('section', { class: 'timeline-panel' },
      h('h3', null, 'Ads per day per city'),
      h('div', { class: 'timeline-wrap' }, timelineChart(data.timeline))),
    h('section', null,
      h('h3', null, 'Ads'),
      h('table', { class: 'entity-ads' },
        h('thead', null, h('tr', null, h('th', null, 'Ad'), h('th', null, 'Posted'), h('th', null, 'City'), h('th', null, 'Score'), h('th', null, 'Status'))),
        h('tbody', null, ads.map((a) => h('tr', { dataset: { id: a.ad_id } },
          h('td', null, h('a', { href: `#/ad/${encodeURIComponent(a.ad_id)}` }, String(a.ad_id))),
          h('td', null, formatTime(a.posted_at)),
          h('td', null, String(a.city || '')),
          h('td', null, formatScore(a.score)),
          h('td', null, statusBadge(a.status)))))))));
}
