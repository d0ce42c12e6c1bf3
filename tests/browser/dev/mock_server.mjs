// DEV AID ONLY: a tiny stand-in for vigild, used while developing the review
// UI before the real daemon existed. It is NOT used by tests/browser/run.sh
// or any real test: those start build/bin/vigild. Its "scanner" is a handful
// of crude regular expressions with the response shapes of docs/api.md.
//
//   node tests/browser/dev/mock_server.mjs --port 8099 --ui tools/ui
// Tokens: dev-investigator (ana), dev-investigator-2 (ben), dev-ingest, dev-admin.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? acc.concat([[a.slice(2), all[i + 1]]]) : acc), []));
const port = Number(args.port || 8099);
const uiDir = path.resolve(args.ui || 'tools/ui');
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";
const TOKENS = {
  'dev-investigator': { user: 'ana', role: 'investigator' },
  'dev-investigator-2': { user: 'ben', role: 'investigator' },
  'dev-ingest': { user: 'feeder', role: 'ingest' },
  'dev-admin': { user: 'root', role: 'admin' },
};
const CATS = [
  ['youth', 'Youth language', '#c0392b'], ['obscured_contact', 'Obscured contact', '#7d3c98'],
  ['foreign', 'Nationality or ethnicity', '#2874a6'], ['trust_assurance', 'Trust assurance', '#b7950b'],
  ['movement', 'Movement', '#17a589'], ['multiple_providers', 'Multiple providers', '#e67e22'],
  ['third_person', 'Third-person ad', '#5d6d7e'], ['restricted', 'Restricted movement or control', '#873600'],
  ['risky_services', 'Risky services or non-market prices', '#d81b60'], ['recruitment', 'Recruitment', '#1e8449'],
].map(([id, title, color]) => ({ id, title, description: `${title} (mock)`, color }));
const RULES = [
  ['youth.teen', 'Teen', 'youth', 0.45, 'supported', /\bteens?\b/giu],
  ['youth.fresh', 'Fresh / young', 'youth', 0.25, 'supported', /\b(fresh|young|petite)\b/giu],
  ['trust.real', '100% real', 'trust_assurance', 0.2, 'supported', /\b(100% real|real pics|not a cop|legit)\b/giu],
  ['movement.new_in_town', 'New in town', 'movement', 0.1, 'contested', /\b(new in town|just arrived|on tour|leaving soon)\b/giu],
  ['foreign.exotic', 'Exotic / nationality', 'foreign', 0.2, 'supported', /\b(exotic|asian|latina|thai)\b/giu],
  ['restricted.incall_only', 'Incall only', 'restricted', 0.15, 'lore', /\b(incall only|24\/7)\b/giu],
].map(([id, title, category, weight, evidence, re]) => ({ id, title, category, weight, evidence, re, description: `${title}: mock rule.`, references: ['Mock reference (dev aid)'] }));

const ads = new Map(); // id -> {ad, findings, review}
const enc = new TextEncoder();
const bytePos = (text, idx) => enc.encode(text.slice(0, idx)).length;

function scan(text) {
  const hits = [];
  for (const r of RULES) {
    for (const m of text.matchAll(r.re)) {
      hits.push({ rule: r.id, category: r.category, start: bytePos(text, m.index), end: bytePos(text, m.index + m[0].length), match: m[0], normalized: m[0].toLowerCase(), evidence: r.evidence, weight: r.weight, title: r.title, description: r.description, references: r.references });
    }
  }
  const entities = [];
  const changes = [];
  for (const m of text.matchAll(/[0-9Oo][0-9Oo\s.\-()]{8,16}[0-9Oo]/gu)) {
    const raw = m[0];
    const digits = raw.replace(/[Oo]/g, '0').replace(/\D/g, '');
    if (digits.length !== 10 || !/\d/.test(raw)) continue;
    const obf = /[Oo]/.test(raw);
    const start = bytePos(text, m.index); const end = bytePos(text, m.index + raw.length);
    entities.push({ type: 'phone', value: `+1${digits}`, obfuscated: obf, start, end });
    if (obf) {
      hits.push({ rule: 'obscured.letters_for_digits', category: 'obscured_contact', start, end, match: raw, normalized: digits, evidence: 'supported', weight: 0.35, title: 'Letters for digits', description: 'Phone with O for 0 (mock).', references: ['Mock reference'] });
      for (const o of raw.matchAll(/[Oo]/g)) {
        const s = bytePos(text, m.index + o.index);
        changes.push({ start: s, end: s + 1, original: o[0], read_as: '0' });
      }
    }
  }
  for (const m of text.matchAll(/[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]+/giu)) entities.push({ type: 'email', value: m[0].toLowerCase(), obfuscated: false, start: bytePos(text, m.index), end: bytePos(text, m.index + m[0].length) });
  const score = Math.round(hits.reduce((a, h) => a + h.weight, 0) * 100) / 100;
  return { score, flagged: score >= 0.5, categories: [...new Set(hits.map((h) => h.category))], pack_version: 'core@1.0.0', hits, entities, changes };
}

function linkedCount(e, selfId) {
  let n = 0;
  for (const [id, rec] of ads) if (id !== selfId && rec.findings.entities.some((x) => x.type === e.type && x.value === e.value)) n++;
  return n;
}

function send(res, status, body, headers = {}) {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Security-Policy': CSP, ...headers });
  res.end(data);
}

function leadSummary(rec) {
  return { ad_id: rec.ad.id, score: rec.findings.score, flagged: rec.findings.flagged, categories: rec.findings.categories, status: rec.review.status, assignee: rec.review.assignee, posted_at: rec.ad.posted_at, city: rec.ad.city, pack_version: 'core@1.0.0', snippet: rec.ad.text.slice(0, 160) };
}

function parseDate(v) {
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  return Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  if (p === '/healthz') return send(res, 200, { status: 'ok', pack: 'core@1.0.0' });
  if (!p.startsWith('/v1/') && req.method === 'GET') {
    const file = path.join(uiDir, p === '/' ? 'index.html' : path.normalize(p).replace(/^\/+/, ''));
    if (!file.startsWith(uiDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) return send(res, 404, { error: 'not found' });
    const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }[path.extname(file)] || 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8`, 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' });
    return res.end(fs.readFileSync(file));
  }
  const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  const who = auth && TOKENS[auth[1]];
  if (!who) return send(res, 401, { error: 'missing or unknown token' });
  const need = (...roles) => roles.includes(who.role) || who.role === 'admin';
  let m;
  if (p === '/v1/me') return send(res, 200, who);
  if (p === '/v1/ads' && req.method === 'POST') {
    if (!need('ingest')) return send(res, 403, { error: 'role' });
    const lines = (await body(req)).split('\n');
    const out = { accepted: 0, new: 0, duplicates: 0, flagged: 0, errors: [], pack: 'core@1.0.0' };
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let ad;
      try { ad = JSON.parse(line); } catch { out.errors.push({ line: i + 1, error: 'bad json' }); return; }
      if (typeof ad.text !== 'string') { out.errors.push({ line: i + 1, error: 'missing "text"' }); return; }
      out.accepted++;
      if (ads.has(ad.id)) { out.duplicates++; return; }
      out.new++;
      const findings = scan(ad.text);
      if (findings.flagged) out.flagged++;
      ads.set(ad.id, { ad: { ...ad, metadata: {}, version: 1, versions: 1 }, findings, review: { status: 'new', assignee: '', version: 0, history: [] } });
    });
    return send(res, 200, out);
  }
  if (!need('investigator')) return send(res, 403, { error: 'your role cannot do this' });
  if (p === '/v1/rules') return send(res, 200, { pack: 'core@1.0.0', name: 'core', version: '1.0.0', threshold: 0.5, categories: CATS, rules: RULES.map(({ re, ...r }) => ({ ...r, status: 'stable', patterns: [String(re)] })) });
  if (p === '/v1/leads') {
    const q = url.searchParams;
    let list = [...ads.values()];
    if (q.get('flagged') !== 'false') list = list.filter((r) => r.findings.flagged);
    if (q.get('category')) list = list.filter((r) => r.findings.categories.includes(q.get('category')));
    if (q.get('min_score')) list = list.filter((r) => r.findings.score >= Number(q.get('min_score')));
    if (q.get('city')) list = list.filter((r) => (r.ad.city || '').toLowerCase() === q.get('city').toLowerCase());
    if (q.get('q')) list = list.filter((r) => r.ad.text.toLowerCase().includes(q.get('q').toLowerCase()));
    if (q.get('since')) list = list.filter((r) => Date.parse(r.ad.posted_at) >= parseDate(q.get('since')));
    if (q.get('until')) list = list.filter((r) => Date.parse(r.ad.posted_at) <= parseDate(q.get('until')) + (q.get('until').length === 10 ? 86399999 : 0));
    const counts = { new: 0, in_review: 0, escalated: 0, dismissed: 0, needs_info: 0 };
    for (const r of list) counts[r.review.status]++;
    if (q.get('status')) list = list.filter((r) => r.review.status === q.get('status'));
    list.sort(q.get('order') === 'time' ? (a, b) => String(b.ad.posted_at).localeCompare(a.ad.posted_at) : (a, b) => b.findings.score - a.findings.score || a.ad.id.localeCompare(b.ad.id));
    const limit = Math.min(500, Number(q.get('limit') || 50));
    const offset = Number(q.get('cursor') || 0);
    const page = list.slice(offset, offset + limit);
    return send(res, 200, { leads: page.map(leadSummary), next_cursor: offset + limit < list.length ? String(offset + limit) : '', counts });
  }
  if ((m = /^\/v1\/ads\/([^/]+)$/.exec(p)) && req.method === 'GET') {
    const rec = ads.get(decodeURIComponent(m[1]));
    if (!rec) return send(res, 404, { error: 'no such ad' });
    const findings = { ...rec.findings, entities: rec.findings.entities.map((e) => ({ ...e, linked_ads: linkedCount(e, rec.ad.id) })) };
    return send(res, 200, { ad: rec.ad, findings, review: rec.review });
  }
  if ((m = /^\/v1\/leads\/([^/]+)\/review$/.exec(p)) && req.method === 'POST') {
    const rec = ads.get(decodeURIComponent(m[1]));
    if (!rec) return send(res, 404, { error: 'no such ad' });
    const b = JSON.parse(await body(req) || '{}');
    if (b.expected_version !== undefined && b.expected_version !== rec.review.version) return send(res, 409, { error: `conflict: version is ${rec.review.version}`, review: rec.review });
    const entry = { time: new Date().toISOString(), user: who.user, status: b.status, assignee: b.assignee, note: b.note };
    rec.review = { status: b.status || rec.review.status, assignee: b.assignee ?? rec.review.assignee, version: rec.review.version + 1, history: [...rec.review.history, entry] };
    return send(res, 200, { review: rec.review });
  }
  if ((m = /^\/v1\/entities\/([^/]+)\/([^/]+)$/.exec(p))) {
    const type = decodeURIComponent(m[1]); const value = decodeURIComponent(m[2]);
    const list = [...ads.values()].filter((r) => r.findings.entities.some((e) => e.type === type && e.value === value)).sort((a, b) => String(a.ad.posted_at).localeCompare(b.ad.posted_at));
    if (!list.length) return send(res, 404, { error: 'unknown entity' });
    const tl = new Map();
    for (const r of list) { const k = `${String(r.ad.posted_at).slice(0, 10)}|${r.ad.city}`; tl.set(k, (tl.get(k) || 0) + 1); }
    return send(res, 200, { type, value, stats: { ads: list.length, cities: [...new Set(list.map((r) => r.ad.city))], first_seen: list[0].ad.posted_at, last_seen: list.at(-1).ad.posted_at }, ads: list.map((r) => ({ ad_id: r.ad.id, posted_at: r.ad.posted_at, city: r.ad.city, score: r.findings.score, status: r.review.status })), timeline: [...tl].map(([k, n]) => ({ day: k.split('|')[0], city: k.split('|')[1], ads: n })) });
  }
  if (p === '/v1/export') {
    const q = url.searchParams;
    let list = [...ads.values()];
    if (q.get('ids')) { const ids = new Set(q.get('ids').split(',')); list = list.filter((r) => ids.has(r.ad.id)); }
    if (q.get('entity')) { const [t, ...v] = q.get('entity').split(':'); list = list.filter((r) => r.findings.entities.some((e) => e.type === t && e.value === v.join(':'))); }
    if (q.get('status')) list = list.filter((r) => r.review.status === q.get('status'));
    const csv = q.get('format') === 'csv';
    const text = csv ? `id,city,posted_at,score\n${list.map((r) => [r.ad.id, r.ad.city, r.ad.posted_at, r.findings.score].join(',')).join('\n')}\n` : list.map((r) => JSON.stringify({ ad: r.ad, findings: r.findings, review: r.review })).join('\n') + '\n';
    res.writeHead(200, { 'Content-Type': csv ? 'text/csv' : 'application/x-ndjson', 'Content-Disposition': `attachment; filename="vigil-export.${csv ? 'csv' : 'jsonl'}"`, 'Content-Security-Policy': CSP });
    return res.end(text);
  }
  return send(res, 404, { error: `no route ${req.method} ${p}` });
});
server.listen(port, '127.0.0.1', () => console.log(`mock vigild (dev aid) on http://127.0.0.1:${port}`));
