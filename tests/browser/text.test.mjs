// Unit tests of tools/ui/text.js: UTF-8 byte offsets (Hit.start/end) to JS
// string segments. Plain node, no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentText, byteSlice } from '../../tools/ui/text.js';

const bytesOf = (s) => Buffer.byteLength(s, 'utf8');

test('ASCII spans cut where the bytes say', () => {
  const segs = segmentText('call 702 now', [{ start: 5, end: 8, id: 'a' }]);
  assert.deepEqual(segs.map((s) => s.text), ['call ', '702', ' now']);
  assert.deepEqual(segs[1].spans.map((s) => s.id), ['a']);
  assert.equal(segs[0].spans.length, 0);
});

test('multi-byte text before a span (emoji, accents, fullwidth) keeps the span on its characters', () => {
  const text = '🌹🌹 café — Ｎｅｗ 100% real';
  const start = bytesOf('🌹🌹 café — Ｎｅｗ ');
  const end = start + bytesOf('100% real');
  const segs = segmentText(text, [{ start, end }, { start: bytesOf('🌹🌹 café — '), end: bytesOf('🌹🌹 café — Ｎｅｗ') }]);
  assert.equal(segs.map((s) => s.text).join(''), text, 'segments cover the text');
  assert.deepEqual(segs.filter((s) => s.spans.length).map((s) => s.text), ['Ｎｅｗ', '100% real']);
  assert.equal(byteSlice(text, start, end), '100% real');
});

test('overlapping spans split into pieces that each list every covering span', () => {
  const text = 'new in town';
  const segs = segmentText(text, [{ start: 0, end: 6, id: 'a' }, { start: 4, end: 11, id: 'b' }]);
  assert.deepEqual(segs.map((s) => [s.text, s.spans.map((x) => x.id).join('')]), [['new ', 'a'], ['in', 'ab'], [' town', 'b']]);
});

test('offsets inside a character move to its start; out of range is clamped; empty spans vanish', () => {
  const text = 'a🍒b';
  const segs = segmentText(text, [{ start: 2, end: 5 }, { start: 3, end: 3 }, { start: -4, end: 999 }]);
  assert.equal(segs.map((s) => s.text).join(''), text);
  for (const s of segs) assert.ok(!s.text.includes('\uFFFD'), `no replacement char in ${JSON.stringify(s.text)}`);
});

test('no spans: one segment with the whole text; empty text: none', () => {
  assert.deepEqual(segmentText('plain', []).map((s) => s.text), ['plain']);
  assert.deepEqual(segmentText('', [{ start: 0, end: 3 }]), []);
});
