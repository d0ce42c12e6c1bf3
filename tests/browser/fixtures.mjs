// Hand-written test ads for the browser tests (invented; phones only
// 555-01xx). Two groups:
//  - a circuit: one phone, 702-555-0147, in ads across four cities on
//    consecutive days, once written with letters for digits ("7O2");
//  - hostile ads whose text tries to run script if it were ever inserted
//    as HTML. Each payload sets window.__pwned; the tests assert it never is.
// `node fixtures.mjs` prints them as NDJSON for POST /v1/ads.

export const CIRCUIT_PHONE = '+17025550147';
export const CIRCUIT_CITIES = ['Reno', 'Las Vegas', 'Sacramento', 'Salt Lake City'];

const circuit = [
  ['ui-circuit-1', 'Reno', '2026-11-20T18:00:00Z', 'New in town!! sweet young girl, 100% real pics. Call 702-555-0147 incall only.'],
  ['ui-circuit-2', 'Reno', '2026-11-20T22:30:00Z', 'Fresh and young 🌹🌹 café nights — 100% real, no games. Text 702 555 0147.'],
  ['ui-circuit-3', 'Las Vegas', '2026-11-22T19:00:00Z', 'Just arrived in Vegas, petite and sweet, 100% real. Call 7O2-555-O147 now.'],
  ['ui-circuit-4', 'Sacramento', '2026-11-24T20:00:00Z', 'On tour: young exotic girl, real pics, incall only. (702) 555-0147.'],
  ['ui-circuit-5', 'Salt Lake City', '2026-11-26T21:00:00Z', 'Leaving soon!! teen 🍒 petite, 100% legit. 702.555.0147 text only.'],
  ['ui-circuit-6', 'Salt Lake City', '2026-11-26T23:00:00Z', 'Ｎｅｗ in town, young and fresh, 100% real, ask about my friend. 702-555-0147.'],
];

export const HOSTILE = [
  ['ui-hostile-script', 'Reno', '2026-11-21T10:00:00Z', 'New in town <script>window.__pwned=1</script> young girl 100% real. Call 702-555-0147 incall only.'],
  ['ui-hostile-img', 'Las Vegas', '2026-11-23T10:00:00Z', 'Young and sweet <img src=x onerror="window.__pwned=1"> 100% real pics, just arrived. Call 775-555-0112.'],
  ['ui-hostile-svg', 'Sacramento', '2026-11-25T10:00:00Z', 'Teen petite "><svg onload=window.__pwned=1> 100% legit new in town, call 775-555-0112 incall only.'],
  ['ui-hostile-attr', 'Reno', '2026-11-25T12:00:00Z', "young ' onmouseover='window.__pwned=1' x=' fresh <a href=\"javascript:window.__pwned=1\">100% real</a> <iframe srcdoc=\"<script>parent.__pwned=1</script>\"></iframe> call 702-555-0147"],
];

export const ALL = [...circuit, ...HOSTILE].map(([id, city, posted_at, text]) => ({
  id, text, city, posted_at, url: `https://classifieds.example/${id}`, source: 'classifieds.example', kind: 'escort',
}));

export const CIRCUIT_IDS = circuit.map(([id]) => id);
export const HOSTILE_IDS = HOSTILE.map(([id]) => id);

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const ad of ALL) process.stdout.write(`${JSON.stringify(ad)}\n`);
}
