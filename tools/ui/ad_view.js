// One ad: the original text with each hit highlighted in its category's
// colour, what normalisation read differently, every hit explained (rule,
// description, evidence, weight, references), the entities with how many
// other ads share them, and the review panel.

import { api } from './api.js';
import { h, mount, formatTime, formatScore } from './dom.js';
import { handleError } from './ui.js';
import { segmentText, byteSlice } from './text.js';
import { categoryChip, categoryColor, categoryTitle, evidenceBadge, EVIDENCE } from './categories.js';
import { reviewForm, historyList, statusBadge } from './review.js';

function strongestHit(hits) {
  return hits.reduce((a, b) => ((Number(b.weight) || 0) > (Number(a.weight) || 0) ? b : a));
}

function highlightedText(ctx, ad, findings, onPick) {
  const hits = (findings.hits || []).map((hit, i) => ({ ...hit, kind: 'hit', index: i }));
  const changes = (findings.changes || []).map((c, i) => ({ ...c, kind: 'change', index: i }));
  const segments = segmentText(String(ad.text || ''), [...hits, ...changes]);
  const box = h('div', { class: 'ad-text', lang: '', dir: 'auto' });
  for (const seg of segments) {
    const segHits = seg.spans.filter((sp) => sp.kind === 'hit');
    const segChanges = seg.spans.filter((sp) => sp.kind === 'change');
    if (segHits.length === 0 && segChanges.length === 0) {
      box.append(document.createTextNode(seg.text));
      continue;
    }
    const tips = [];
    let node;
    if (segHits.length) {
      const top = strongestHit(segHits);
      for (const hit of segHits) tips.push(`${hit.title || hit.rule} (${categoryTitle(ctx.rules, hit.category)}, ${hit.evidence || '?'}, weight ${hit.weight})`);
      node = h('mark', {
        class: ['hit', segHits.length > 1 ? 'multi' : ''],
        dataset: { hits: segHits.map((x) => x.index).join(' '), category: top.category },
        style: { '--cat': categoryColor(ctx.rules, top.category) },
        tabIndex: 0,
        onclick: () => onPick(segHits.map((x) => x.index)),
        onkeydown: (ev) => { if (ev.key === 'Enter') { ev.stopPropagation(); onPick(segHits.map((x) => x.index)); } },
      }, seg.text);
    } else {
      node = h('span', { class: 'plain' }, seg.text);
    }
    if (segChanges.length) {
      node.classList.add('changed');
      for (const c of segChanges) tips.push(`read as “${c.read_as}”`);
    }
    node.title = tips.join('\n');
    box.append(node);
  }
  return box;
}

function changesList(ad, findings) {
  const changes = findings.changes || [];
  if (changes.length === 0) return null;
  return h('section', { class: 'changes' },
    h('h3', null, 'Where the text was read differently'),
    h('p', { class: 'muted' }, 'Look-alike characters, number words and separators are undone before matching. Each row shows what the ad says and what the scanner read.'),
    h('ul', null, changes.map((c) => h('li', { class: 'change' },
      h('q', { class: 'original' }, String(c.original ?? byteSlice(ad.text, c.start, c.end))),
      ' read as ',
      h('q', { class: 'read-as' }, String(c.read_as ?? ''))))));
}

function hitCard(ctx, ad, hit, index) {
  const rule = ctx.rules.byRule.get(hit.rule) || {};
  const category = ctx.rules.byCategory.get(hit.category) || {};
  const original = byteSlice(String(ad.text || ''), hit.start, hit.end);
  const readAs = hit.normalized && hit.normalized.toLowerCase() !== original.toLowerCase() ? hit.normalized : '';
  const refs = hit.references || rule.references || [];
  return h('li', {
    class: 'hit-card', id: `hit-${index}`, dataset: { index, rule: hit.rule },
    style: { '--cat': categoryColor(ctx.rules, hit.category) },
  },
  h('div', { class: 'hit-head' },
    h('strong', { class: 'hit-title' }, String(hit.title || rule.title || hit.rule)),
    ' ', categoryChip(ctx.rules, hit.category),
    ' ', evidenceBadge(hit.evidence || rule.evidence, typeof hit.weight === 'number' ? hit.weight : rule.weight)),
  h('div', { class: 'hit-match' }, 'Matched ', h('q', null, original || String(hit.match || '')),
    readAs ? h('span', { class: 'read-as-note' }, ' read as ', h('q', null, readAs)) : null),
  h('p', { class: 'hit-desc' }, String(hit.description || rule.description || '')),
  category.combination_only ? h('p', { class: 'muted' }, 'This category counts only in combination with others.') : null,
  refs.length ? h('details', { class: 'refs' }, h('summary', null, `References (${refs.length})`),
    h('ul', null, refs.map((r) => h('li', null, String(r))))) : h('p', { class: 'muted' }, 'No references given.'),
  h('p', { class: 'rule-id muted' }, `rule ${hit.rule}`));
}

function entityTable(ctx, findings) {
  const entities = findings.entities || [];
  if (entities.length === 0) return h('p', { class: 'muted' }, 'No phones, emails, handles or links found.');
  const linkable = new Set(['phone', 'email', 'handle', 'url']);
  return h('table', { class: 'entities' },
    h('thead', null, h('tr', null, h('th', null, 'Type'), h('th', null, 'Value'), h('th', null, 'Written'), h('th', null, 'Other ads sharing it'))),
    h('tbody', null, entities.map((e) => {
      const value = String(e.value ?? '');
      const extra = [e.platform, e.unit, e.duration].filter(Boolean).join(' · ');
      return h('tr', { class: 'entity', dataset: { type: e.type, value } },
        h('td', null, String(e.type)),
        h('td', null,
          linkable.has(e.type)
            ? h('a', { href: `#/entity/${encodeURIComponent(e.type)}/${encodeURIComponent(value)}`, class: 'entity-link' }, value)
            : value,
          extra ? h('span', { class: 'muted' }, ` (${extra})`) : null),
        h('td', null, e.obfuscated ? h('span', { class: 'obfuscated' }, 'obscured, decoded') : 'plain'),
        h('td', { class: 'linked' }, linkable.has(e.type) ? String(e.linked_ads ?? 0) : '–'));
    })));
}

export async function renderAd(root, ctx, id) {
  mount(root, h('p', { class: 'loading' }, `Loading ${id}…`));
  let data;
  try {
    data = await api.ad(id);
  } catch (err) {
    handleError(err);
    mount(root, h('p', { class: 'empty' }, `Could not load ${id}.`), h('a', { href: '#/leads' }, 'Back to the queue'));
    return;
  }
  drawAd(root, ctx, id, data);
}

function drawAd(root, ctx, id, data, draft) {
  const ad = data.ad || {};
  const findings = data.findings || {};
  const hits = findings.hits || [];
  const review = data.review || { status: 'new', version: 0, history: [] };
  const hitList = h('ol', { class: 'hits' }, hits.map((hit, i) => hitCard(ctx, ad, hit, i)));
  const pick = (indices) => {
    for (const card of hitList.querySelectorAll('.hit-card')) card.classList.toggle('picked', indices.includes(Number(card.dataset.index)));
    const first = hitList.querySelector('.hit-card.picked');
    if (first && first.scrollIntoView) first.scrollIntoView({ block: 'nearest' });
  };
  const categories = [...new Set(hits.map((x) => x.category))];
  const reload = async (nextDraft) => {
    try {
      const fresh = await api.ad(id);
      drawAd(root, ctx, id, fresh, nextDraft);
    } catch (err) {
      handleError(err);
    }
  };
  const form = reviewForm({ adId: id, review, draft, onSaved: () => reload(), onReload: (d) => reload(d) });

  mount(root, h('article', { class: 'ad-view', dataset: { id } },
    h('nav', { class: 'crumbs' }, h('a', { href: ctx.queueHref() }, '← Queue'), ` / ad ${id}`),
    h('header', { class: 'ad-head' },
      h('h2', null, `Ad ${id}`),
      h('div', { class: 'facts' },
        h('span', { class: 'score-big', title: 'from the indicator weights' }, `score ${formatScore(findings.score)}`),
        findings.network
          ? h('span', { class: 'network', title: 'A phone in this ad was seen in several cities within a window; the score is the text score boosted by that linking signal. Linking is not proof of one advertiser.' },
            `text ${formatScore(findings.base_score)} + network boost`)
          : null,
        findings.flagged ? h('span', { class: 'flagged' }, 'flagged for review') : h('span', { class: 'muted' }, 'below threshold'),
        statusBadge(review.status),
        h('span', null, String(ad.city || 'no city')),
        h('span', null, formatTime(ad.posted_at)),
        ad.source ? h('span', null, String(ad.source)) : null,
        h('span', { class: 'muted', title: 'The rule pack whose scan produced these findings. A rescan whose pack finds exactly the same leaves them, and this label, as they were.' },
          `pack ${findings.pack_version || ctx.rules.pack}`,
          findings.unchanged_by
            ? ` · ${findings.unchanged_by.pack} found the same (rescan of ${formatTime(findings.unchanged_by.finished_at)})`
            : '')),
      ad.url ? h('p', { class: 'url muted' }, 'Source address (not opened): ', h('code', null, String(ad.url))) : null),
    h('p', { class: 'weak-signal' },
      `${hits.length} indicator${hits.length === 1 ? '' : 's'} in ${categories.length} categor${categories.length === 1 ? 'y' : 'ies'}. `,
      'Indicators are weak signals, not proof: a flag is a reason for a person to look. Check each highlight against the whole ad.'),
    h('div', { class: 'ad-grid' },
      h('div', { class: 'ad-main' },
        h('section', { class: 'text-panel' },
          h('h3', null, 'Original text'),
          h('div', { class: 'legend' }, categories.map((c) => categoryChip(ctx.rules, c))),
          highlightedText(ctx, ad, findings, pick)),
        changesList(ad, findings),
        h('section', null, h('h3', null, `Indicators (${hits.length})`),
          hits.length ? hitList : h('p', { class: 'muted' }, 'No indicator matched.'),
          h('details', { class: 'evidence-help' }, h('summary', null, 'What the evidence labels mean'),
            h('ul', null, Object.entries(EVIDENCE).map(([k, v]) => h('li', null, h('strong', null, k), ': ', v))))),
        h('section', null, h('h3', null, 'Entities'), entityTable(ctx, findings))),
      h('aside', { class: 'ad-side' },
        h('section', { class: 'review-panel' }, h('h3', null, 'Review'), form),
        h('section', null, h('h3', null, 'History'), historyList(review))))));
}
