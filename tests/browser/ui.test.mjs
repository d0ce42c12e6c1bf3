// Browser tests of the review UI against a running vigild (run.sh starts it
// over a generated store plus fixtures.mjs). node:test runs them in order;
// each test opens its own page and leaves a screenshot under build/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE, TOKENS, launch, cleanupProfiles, watch, shot, signIn, apiGet } from './harness.mjs';
import { CIRCUIT_PHONE, CIRCUIT_CITIES, CIRCUIT_IDS, HOSTILE_IDS } from './fixtures.mjs';

const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tools/ui');
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  cleanupProfiles();
});

async function newPage() {
  const page = await browser.newPage();
  const seen = watch(page);
  return { page, seen };
}

function assertClean(seen, where) {
  assert.deepEqual(seen.errors, [], `page errors in ${where}`);
  assert.deepEqual(seen.csp, [], `CSP violations in ${where} (something tried to run or style inline)`);
  assert.deepEqual(seen.dialogs, [], `unexpected alert/confirm in ${where}`);
}

async function openAd(page, id) {
  await page.goto(`${BASE}/#/ad/${encodeURIComponent(id)}`);
  await page.waitForSelector(`article.ad-view[data-id="${id}"] .ad-text`);
}

test('the UI is served with a strict CSP and contains no inline script or HTML sinks', async () => {
  const res = await fetch(`${BASE}/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy') || '';
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /object-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline <script> in index.html');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'inline event handler in index.html');
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'inline style attribute in index.html');
  assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1)/i, 'external URL (CDN) in index.html');
  for (const file of fs.readdirSync(UI_DIR).filter((f) => f.endsWith('.js'))) {
    const src = fs.readFileSync(path.join(UI_DIR, file), 'utf8');
    assert.doesNotMatch(src, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function/, `HTML sink in ${file}`);
    assert.doesNotMatch(src, /from\s+['"]https?:|import\(['"]https?:/, `remote import in ${file}`);
  }
});

test('sign in: a bad token is refused, a good one is kept in sessionStorage only', async () => {
  const { page, seen } = await newPage();
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#token');
  await shot(page, '01-signin');
  await page.fill('#token', 'not-a-real-token');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#signin .form-message:has-text("not valid")');
  await page.fill('#token', TOKENS.ana);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#who');
  assert.match(await page.textContent('#who'), /investigator/);
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('vigil.token'), l: JSON.stringify(localStorage) }));
  assert.equal(stored.s, TOKENS.ana);
  assert.doesNotMatch(stored.l, new RegExp(TOKENS.ana.replace(/[^A-Za-z0-9]/g, '.')));
  // The weak-signal note is always on screen.
  assert.match(await page.textContent('#weak-signals'), /weak signals, not proof/);
  await page.waitForSelector('table.leads tr.lead');
  await shot(page, '02-queue');
  assertClean(seen, 'sign-in');
  await page.close();
});

test('401 asks to sign in again; a role without review rights is told so', async () => {
  const { page } = await newPage();
  await page.goto(`${BASE}/`);
  await page.evaluate(() => sessionStorage.setItem('vigil.token', 'expired-token'));
  await page.reload();
  await page.waitForSelector('#signin .form-message:has-text("sign in again")');
  await signIn(page, TOKENS.ingest);
  await page.waitForSelector('main:has-text("Your role cannot")');
  await page.close();
});

test('queue: counts by status, filters by city, text and category, order by time', async () => {
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  await page.waitForSelector('table.leads tr.lead');
  const counts = await apiGet('/v1/leads?limit=1');
  const newCount = await page.textContent('.counts [data-status="new"] .n');
  assert.equal(Number(newCount), counts.counts.new);

  // City filter: every row is in Reno.
  await page.fill('input[name=city]', 'Reno');
  await page.click('.filters button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('city=Reno'));
  // The old rows stay until the filtered page arrives (slow under ASan):
  // wait for the table to be replaced, not merely present.
  await page.waitForFunction(() => {
    const tds = [...document.querySelectorAll('table.leads tr.lead td:nth-child(5)')];
    return tds.length > 0 && tds.every((t) => t.textContent === 'Reno');
  });
  const cities = await page.$$eval('table.leads tr.lead td:nth-child(5)', (tds) => tds.map((t) => t.textContent));
  assert.ok(cities.length > 0);
  assert.ok(cities.every((c) => c === 'Reno'), `cities: ${cities}`);

  // Free text narrows to the circuit fixture's phrase.
  await page.fill('input[name=q]', 'no games');
  await page.click('.filters button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('q=no'));
  const api = await apiGet('/v1/leads?city=Reno&q=no%20games');
  const expected = api.leads.map((l) => l.ad_id);
  // Wait for the narrowed page to replace the previous rows, then compare.
  await page
    .waitForFunction(
      (want) => {
        const got = [...document.querySelectorAll('table.leads tr.lead')].map((r) => r.dataset.id);
        return got.length === want.length && got.every((id, i) => id === want[i]);
      },
      expected,
      { timeout: 15000 },
    )
    .catch(() => {});
  const ids = await page.$$eval('table.leads tr.lead', (rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual(ids, expected);
  await shot(page, '03-queue-filtered');

  // Category select reloads at once; every row carries that category.
  await page.click('.filters button:has-text("Clear")');
  await page.waitForFunction(() => !location.hash.includes('city='));
  await page.selectOption('select[name=category]', 'youth');
  await page.waitForFunction(() => location.hash.includes('category=youth'));
  await page
    .waitForFunction(() => {
      const rows = [...document.querySelectorAll('table.leads tr.lead td.cats')];
      return rows.length > 0 && rows.every((t) => t.querySelector('.chip[data-category="youth"]'));
    }, null, { timeout: 15000 })
    .catch(() => {});
  const cats = await page.$$eval('table.leads tr.lead td.cats', (tds) => tds.map((t) => [...t.querySelectorAll('.chip')].map((c) => c.dataset.category)));
  assert.ok(cats.every((c) => c.includes('youth')));

  // Order by time: posted dates descending.
  await page.selectOption('select[name=order]', 'time');
  await page.waitForFunction(() => location.hash.includes('order=time'));
  const order = await apiGet('/v1/leads?category=youth&order=time');
  const wantOrder = order.leads.map((l) => l.ad_id);
  await page
    .waitForFunction(
      (want) => {
        const got = [...document.querySelectorAll('table.leads tr.lead')].map((r) => r.dataset.id);
        return got.length === want.length && got.every((id, i) => id === want[i]);
      },
      wantOrder,
      { timeout: 15000 },
    )
    .catch(() => {});
  const shown = await page.$$eval('table.leads tr.lead', (rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual(shown, order.leads.map((l) => l.ad_id));
  assertClean(seen, 'queue');
  await page.close();
});

test('keyboard: j/k move, Enter opens, d dismisses with a note', async () => {
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  await page.waitForSelector('table.leads tr.lead.selected[data-index="0"]');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.waitForSelector('tr.lead.selected[data-index="2"]');
  await page.keyboard.press('k');
  await page.waitForSelector('tr.lead.selected[data-index="1"]');
  const id = await page.getAttribute('tr.lead.selected', 'data-id');

  await page.keyboard.press('d');
  await page.waitForSelector('dialog.review-dialog[open]');
  assert.equal(await page.inputValue('dialog.review-dialog select[name=status]'), 'dismissed');
  await page.fill('dialog.review-dialog textarea', 'Keyboard test: ordinary ad, nothing to follow.');
  await page.click('dialog.review-dialog button[type=submit]');
  await page.waitForSelector('dialog.review-dialog', { state: 'detached' });
  await page.waitForSelector(`tr.lead[data-id="${id}"] .status-dismissed`);
  const review = (await apiGet(`/v1/ads/${encodeURIComponent(id)}`)).review;
  assert.equal(review.status, 'dismissed');
  assert.equal(review.history.at(-1).note, 'Keyboard test: ordinary ad, nothing to follow.');

  await page.keyboard.press('Enter');
  await page.waitForSelector(`article.ad-view[data-id="${id}"]`);
  await page.keyboard.press('u');
  await page.waitForSelector('table.leads');
  assertClean(seen, 'keyboard');
  await page.close();
});

/** For each hit, the text of the marks carrying it, joined. */
async function markedTextByHit(page) {
  return page.$$eval('.ad-text mark.hit', (marks) => {
    const out = {};
    for (const m of marks) for (const i of m.dataset.hits.split(' ')) out[i] = (out[i] || '') + m.textContent;
    return out;
  });
}

test('ad view: highlights sit on the right characters (UTF-8 byte offsets), hits explain themselves', async () => {
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  let checkedHits = 0;
  for (const id of CIRCUIT_IDS) {
    const data = await apiGet(`/v1/ads/${encodeURIComponent(id)}`);
    await openAd(page, id);
    const marked = await markedTextByHit(page);
    const bytes = Buffer.from(data.ad.text, 'utf8');
    data.findings.hits.forEach((hit, i) => {
      const expected = bytes.subarray(hit.start, hit.end).toString('utf8');
      assert.equal(marked[i], expected, `${id} hit ${i} (${hit.rule})`);
      checkedHits++;
    });
    // Colours come from the pack's categories.
    const colours = await page.$$eval('.ad-text mark.hit', (ms) => ms.map((m) => m.style.getPropertyValue('--cat')));
    assert.ok(colours.every((c) => /^#[0-9a-f]{3,6}$/i.test(c)), `colours ${colours}`);
    // Every hit shows title, evidence status and weight.
    const cards = await page.$$eval('.hit-card', (cs) => cs.map((c) => ({
      title: c.querySelector('.hit-title').textContent, evidence: c.querySelector('.evidence').textContent,
    })));
    assert.equal(cards.length, data.findings.hits.length);
    data.findings.hits.forEach((hit, i) => {
      assert.match(cards[i].evidence, new RegExp(hit.evidence === 'lore' ? 'lore' : hit.evidence));
      assert.match(cards[i].evidence, new RegExp(`weight ${Number(hit.weight).toFixed(2)}`));
    });
    // Where normalisation read something else, the UI says so.
    for (const c of data.findings.changes || []) {
      const found = await page.$$eval('.changes li', (lis, want) => lis.some((li) => li.querySelector('.original').textContent === want.o && li.querySelector('.read-as').textContent === want.r), { o: c.original, r: c.read_as });
      assert.ok(found, `change ${c.original} -> ${c.read_as} shown in ${id}`);
    }
    // Entities with how many other ads share them.
    for (const e of data.findings.entities || []) {
      if (!['phone', 'email', 'handle', 'url'].includes(e.type)) continue;
      const linked = await page.$eval(`tr.entity[data-type="${e.type}"][data-value="${e.value}"] td.linked`, (td) => td.textContent);
      assert.equal(Number(linked), e.linked_ads);
    }
    if (id === 'ui-circuit-3') await shot(page, '04-ad-obscured-phone');
    if (id === 'ui-circuit-2') await shot(page, '04-ad-multibyte');
  }
  assert.ok(checkedHits >= CIRCUIT_IDS.length, `only ${checkedHits} hits checked`);
  // The obscured phone in ui-circuit-3 links to the others.
  await openAd(page, 'ui-circuit-3');
  const phone = await page.$(`tr.entity[data-type="phone"][data-value="${CIRCUIT_PHONE}"]`);
  assert.ok(phone, 'ui-circuit-3 lists the circuit phone');
  assert.ok(Number(await phone.$eval('td.linked', (td) => td.textContent)) >= CIRCUIT_IDS.length - 1);
  assert.match(await page.textContent('.weak-signal'), /weak signals, not proof/);
  // Clicking a highlight picks its explanation.
  await page.click('.ad-text mark.hit >> nth=0');
  await page.waitForSelector('.hit-card.picked');
  assertClean(seen, 'ad view');
  await page.close();
});

test('hostile ad text is shown as text and nothing in it runs', async () => {
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  for (const id of HOSTILE_IDS) {
    const data = await apiGet(`/v1/ads/${encodeURIComponent(id)}`);
    await openAd(page, id);
    const text = await page.textContent('.ad-text');
    assert.equal(text, data.ad.text, `${id} shown verbatim`);
    const injected = await page.$$eval('main script, main img, main svg:not(.timeline), main iframe, .ad-text a, .ad-text *[onerror], .ad-text *[onload], .ad-text *[onmouseover]', (els) => els.map((e) => e.outerHTML));
    assert.deepEqual(injected, [], `elements created from ${id}`);
    await page.hover('.ad-text');
    assert.equal(await page.evaluate(() => window.__pwned), undefined, `${id} ran script`);
    if (id === 'ui-hostile-img') await shot(page, '09-hostile-ad');
  }
  // Hostile snippets in the queue, too.
  await page.goto(`${BASE}/#/leads?q=pwned&flagged=false`);
  await page.waitForSelector('table.leads tr.lead');
  const listed = await page.$$eval('tr.lead', (rows) => rows.map((r) => r.dataset.id));
  for (const id of HOSTILE_IDS) assert.ok(listed.includes(id), `${id} in the queue with q=pwned`);
  assert.ok(await page.isChecked('input[name=flagged]'));
  await page.hover('td.snippet >> nth=0');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$$eval('td.snippet *', (els) => els.length), 0);
  assertClean(seen, 'hostile ads');
  await page.close();
});

test('review: escalate with a note from the ad view; the history shows who and why', async () => {
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  await openAd(page, 'ui-circuit-3');
  const before = (await apiGet('/v1/ads/ui-circuit-3')).review;
  await page.selectOption('.review-panel select[name=status]', 'escalated');
  await page.fill('.review-panel input[name=assignee]', 'ana');
  await page.fill('.review-panel textarea', 'Same phone as the Reno ads, written 7O2; circuit across four cities.');
  await page.click('.review-panel button[type=submit]');
  await page.waitForSelector('.history-entry:has-text("written 7O2")');
  await page.waitForSelector('.ad-head .status-escalated');
  const after = (await apiGet('/v1/ads/ui-circuit-3')).review;
  assert.equal(after.status, 'escalated');
  assert.equal(after.assignee, 'ana');
  assert.equal(after.version, (before.version ?? 0) + 1);
  assert.match(await page.textContent('.history-entry >> nth=0'), /ana/);
  await shot(page, '05-escalated');
  await page.goto(`${BASE}/#/leads?status=escalated`);
  await page.waitForSelector('tr.lead[data-id="ui-circuit-3"]');
  assertClean(seen, 'review');
  await page.close();
});

test('review conflict: the second investigator sees the first one\'s change instead of overwriting', async () => {
  const a = await newPage();
  await signIn(a.page, TOKENS.ana);
  // ben in his own browser profile (his own sessionStorage).
  const benBrowser = await launch();
  const benPage = await benBrowser.newPage();
  await signIn(benPage, TOKENS.ben);
  await openAd(a.page, 'ui-circuit-4');
  await openAd(benPage, 'ui-circuit-4');
  await benPage.selectOption('.review-panel select[name=status]', 'in_review');
  await benPage.fill('.review-panel textarea', 'ben: checking the Sacramento listing first');
  await benPage.click('.review-panel button[type=submit]');
  await benPage.waitForSelector('.history-entry:has-text("Sacramento listing")');

  await a.page.selectOption('.review-panel select[name=status]', 'escalated');
  await a.page.fill('.review-panel textarea', 'ana: escalating the circuit');
  await a.page.click('.review-panel button[type=submit]');
  await a.page.waitForSelector('dialog.conflict-dialog[open]');
  const dialogText = await a.page.textContent('dialog.conflict-dialog');
  assert.match(dialogText, /ben/);
  assert.match(dialogText, /checking the Sacramento listing first/);
  assert.match(dialogText, /ana: escalating the circuit/);
  await shot(a.page, '06-conflict');
  let review = (await apiGet('/v1/ads/ui-circuit-4')).review;
  assert.equal(review.status, 'in_review', 'ben\'s change was not overwritten');

  await a.page.click('dialog.conflict-dialog button[data-action=reload]');
  await a.page.waitForSelector('.history-entry:has-text("Sacramento listing")');
  assert.equal(await a.page.inputValue('.review-panel textarea'), 'ana: escalating the circuit', 'draft kept');
  await a.page.click('.review-panel button[type=submit]');
  await a.page.waitForSelector('.ad-head .status-escalated');
  review = (await apiGet('/v1/ads/ui-circuit-4')).review;
  assert.equal(review.status, 'escalated');
  assert.equal(review.history.at(-1).user, 'ana');
  assertClean(a.seen, 'conflict');
  await benBrowser.close();
  await a.page.close();
});

async function readDownload(download) {
  const file = await download.path();
  return fs.readFileSync(file, 'utf8');
}

test('entity: pivot from an ad to every ad sharing the phone, with cities and a timeline; export JSONL', async () => {
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  await openAd(page, 'ui-circuit-1');
  await page.click(`tr.entity[data-type="phone"][data-value="${CIRCUIT_PHONE}"] a.entity-link`);
  await page.waitForSelector('article.entity-view svg.timeline');
  const data = await apiGet(`/v1/entities/phone/${encodeURIComponent(CIRCUIT_PHONE)}`);
  const cityText = await page.textContent('.stat-cities');
  // vigild may fold city names to lower case for linking.
  for (const city of CIRCUIT_CITIES) assert.ok(cityText.toLowerCase().includes(city.toLowerCase()), `city ${city} in ${cityText}`);
  const rows = await page.$$eval('table.entity-ads tbody tr', (trs) => trs.map((t) => t.dataset.id));
  assert.deepEqual(rows, data.ads.map((x) => x.ad_id));
  for (const id of CIRCUIT_IDS) assert.ok(rows.includes(id), `${id} listed`);
  const dots = await page.$$eval('svg.timeline circle.dot', (cs) => cs.map((c) => ({ city: c.dataset.city, day: c.dataset.day, ads: Number(c.dataset.ads) })));
  assert.equal(dots.length, data.timeline.length);
  for (const t of data.timeline) assert.ok(dots.some((d) => d.city === t.city && d.day === t.day.slice(0, 10) && d.ads === t.ads), `dot ${t.day} ${t.city}`);
  const cityRows = await page.$$eval('svg.timeline text.city', (ts) => ts.map((t) => t.textContent));
  assert.deepEqual([...cityRows].sort(), [...new Set(data.timeline.map((t) => t.city))].sort());
  await shot(page, '07-entity-timeline');

  await page.click('#export-entity');
  await page.waitForSelector('dialog.export-dialog[open]');
  // A purpose is required.
  await page.click('dialog.export-dialog button[data-action=export]');
  await page.waitForSelector('dialog.export-dialog .form-message:has-text("why")');
  await page.fill('dialog.export-dialog input[name=purpose]', 'case 2026-UI-001');
  await shot(page, '08-export-dialog');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('dialog.export-dialog button[data-action=export]'),
  ]);
  const body = await readDownload(download);
  const lines = body.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, data.ads.length);
  for (const line of lines) JSON.parse(line);
  for (const id of CIRCUIT_IDS) assert.ok(body.includes(id), `${id} in export`);
  assertClean(seen, 'entity');
  await page.close();
});

test('export the current selection from the queue as CSV', async () => {
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  await page.waitForSelector('table.leads tr.lead');
  await page.keyboard.press('x');
  await page.keyboard.press('j');
  await page.keyboard.press('x');
  const picked = await page.$$eval('tr.lead', (rows) => rows.filter((r) => r.querySelector('input[type=checkbox]').checked).map((r) => r.dataset.id));
  assert.equal(picked.length, 2);
  assert.match(await page.textContent('#export-selection'), /Export 2 selected/);
  await page.click('#export-selection');
  await page.waitForSelector('dialog.export-dialog[open]');
  await page.check('dialog.export-dialog input[value=csv]');
  await page.fill('dialog.export-dialog input[name=purpose]', 'case 2026-UI-002');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('dialog.export-dialog button[data-action=export]'),
  ]);
  const body = await readDownload(download);
  for (const id of picked) assert.ok(body.includes(id), `${id} in CSV`);
  assert.ok(!body.trimStart().startsWith('{'), 'CSV, not JSON');
  await shot(page, '10-queue-selection');
  assertClean(seen, 'export');
  await page.close();
});

test('an ad view says which later pack found the same findings', async () => {
  // run.sh rescanned the store with the same rules labelled 9.9.9.
  const { page, seen } = await newPage();
  await signIn(page, TOKENS.ana);
  await openAd(page, CIRCUIT_IDS[0]);
  const facts = await page.textContent(`article.ad-view[data-id="${CIRCUIT_IDS[0]}"] .facts`);
  assert.match(facts, /pack core@1\.0\.0 · core@9\.9\.9 found the same \(rescan of /);
  const ad = await apiGet(`/v1/ads/${CIRCUIT_IDS[0]}`);
  assert.equal(ad.findings.pack_version, 'core@1.0.0');
  assert.equal(ad.findings.unchanged_by.pack, 'core@9.9.9');
  assertClean(seen, 'ad view');
  await page.close();
});
