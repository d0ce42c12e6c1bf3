// Splits an ad's text into segments for highlighting. Hit and change offsets
// are UTF-8 byte offsets into Ad.text (half-open), so the text is encoded to
// bytes, cut at every span boundary, and each byte slice is decoded on its
// own. A boundary that falls inside a multi-byte character is moved back to
// the character's first byte, so no segment ever decodes to U+FFFD.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

function isContinuation(byte) {
  return (byte & 0xc0) === 0x80;
}

function alignToCharStart(bytes, offset) {
  let o = Math.max(0, Math.min(bytes.length, Math.trunc(Number(offset) || 0)));
  while (o > 0 && o < bytes.length && isContinuation(bytes[o])) o--;
  return o;
}

/**
 * segmentText(text, spans) -> [{text, start, end, spans: [span...]}]
 * spans: objects with byte `start`/`end`; each segment lists the spans that
 * cover it entirely. Segments cover the whole text, in order.
 */
export function segmentText(text, spans) {
  const bytes = encoder.encode(text);
  const cuts = new Set([0, bytes.length]);
  const aligned = [];
  for (const span of spans || []) {
    const start = alignToCharStart(bytes, span.start);
    const end = alignToCharStart(bytes, span.end);
    if (end <= start) continue;
    aligned.push({ span, start, end });
    cuts.add(start);
    cuts.add(end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i];
    const end = points[i + 1];
    segments.push({
      text: decoder.decode(bytes.subarray(start, end)),
      start,
      end,
      spans: aligned.filter((a) => a.start <= start && a.end >= end).map((a) => a.span),
    });
  }
  return segments;
}

/** The text between two byte offsets. */
export function byteSlice(text, start, end) {
  const bytes = encoder.encode(text);
  return decoder.decode(bytes.subarray(alignToCharStart(bytes, start), alignToCharStart(bytes, end)));
}
