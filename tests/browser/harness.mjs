// Shared pieces of the browser tests: Debian's chromium driven by
// playwright-core (never a downloaded browser), a fresh profile per launch,
// screenshots under build/screenshots, and the settings run.sh passes in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = process.env.VIGIL_URL || 'http://127.0.0.1:8099';
export const TOKENS = {
  ana: process.env.VIGIL_TOKEN_ANA || 'dev-investigator',
  ben: process.env.VIGIL_TOKEN_BEN || 'dev-investigator-2',
  ingest: process.env.VIGIL_TOKEN_INGEST || 'dev-ingest',
};
export const SHOTS = process.env.VIGIL_SCREENSHOTS || path.resolve('build/screenshots');
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';

const profiles = [];

export async function launch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ui-profile-'));
  profiles.push(dir);
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1360, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return context;
}

export function cleanupProfiles() {
  for (const dir of profiles.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Records page errors, CSP violations and dialogs so tests can assert none. */
export function watch(page) {
  const seen = { errors: [], csp: [], dialogs: [], console: [] };
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('dialog', (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('console', (m) => {
    const text = m.text();
    seen.console.push(text);
    if (/Content Security Policy/i.test(text)) seen.csp.push(text);
  });
  return seen;
}

export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

export async function signIn(page, token) {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#token');
  await page.fill('#token', token);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#who');
}

/** GET a /v1 path from node with a bearer token. */
export async function apiGet(pathAndQuery, token = TOKENS.ana) {
  const res = await fetch(`${BASE}${pathAndQuery}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${pathAndQuery}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}
