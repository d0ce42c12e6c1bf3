// Category colours and evidence labels from the rule pack (/v1/rules).

import { h, safeColor } from './dom.js';

export const EVIDENCE = {
  supported: 'Supported: a significant predictor in a study against case outcomes (still a weak signal on its own).',
  contested: 'Contested: studies disagree or found the opposite; useful mostly for linking.',
  lore: 'Practitioner lore: believed by practitioners, not validated against case outcomes.',
};

export function indexRules(rulesReply) {
  const categories = (rulesReply && rulesReply.categories) || [];
  const byCategory = new Map(categories.map((c) => [c.id, c]));
  const byRule = new Map(((rulesReply && rulesReply.rules) || []).map((r) => [r.id, r]));
  return {
    pack: (rulesReply && rulesReply.pack) || '',
    threshold: rulesReply && rulesReply.threshold,
    categories,
    byCategory,
    byRule,
  };
}

// Not a rule category: the store's linking signal (docs/scoring.md, "The
// network signal"): a phone of the ad was seen in several cities.
const NETWORK = { id: 'network', title: 'Network (phone in several cities)', color: '#34495e' };

function lookup(rules, id) {
  return rules.byCategory.get(id) || (id === NETWORK.id ? NETWORK : null);
}

export function categoryColor(rules, id) {
  const c = lookup(rules, id);
  return safeColor(c && c.color);
}

export function categoryTitle(rules, id) {
  const c = lookup(rules, id);
  return (c && c.title) || String(id);
}

export function categoryChip(rules, id) {
  return h('span', {
    class: 'chip', dataset: { category: id }, title: categoryTitle(rules, id),
    style: { '--cat': categoryColor(rules, id) },
  }, categoryTitle(rules, id));
}

export function evidenceBadge(evidence, weight) {
  const ev = ['supported', 'contested', 'lore'].includes(evidence) ? evidence : 'unknown';
  return h('span', { class: ['evidence', `evidence-${ev}`], title: EVIDENCE[ev] || 'Evidence status not given.' },
    ev === 'unknown' ? 'evidence not stated' : ev === 'lore' ? 'practitioner lore' : ev,
    typeof weight === 'number' ? ` · weight ${weight.toFixed(2)}` : '');
}
