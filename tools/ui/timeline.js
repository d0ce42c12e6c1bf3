// The entity timeline: one row per city, one column per day (every day from
// the first to the last, so gaps show), a dot per (day, city) sized by the
// number of ads, and a faint line joining the dots in time order so a
// circuit between cities reads at a glance. Pure SVG via createElementNS.

import { s } from './dom.js';

const DAY_MS = 86400000;

function dayIndex(day) {
  const t = Date.parse(`${String(day).slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(t) ? null : Math.round(t / DAY_MS);
}

function dayLabel(index) {
  return new Date(index * DAY_MS).toISOString().slice(0, 10);
}

/** timelineChart(timeline: [{day, city, ads}]) -> SVGElement */
export function timelineChart(timeline) {
  const points = (timeline || [])
    .map((p) => ({ day: dayIndex(p.day), city: String(p.city || '(no city)'), ads: Number(p.ads) || 0 }))
    .filter((p) => p.day !== null && p.ads > 0);
  if (points.length === 0) {
    return s('svg', { class: 'timeline empty', width: 300, height: 30, role: 'img', 'aria-label': 'no timeline' },
      s('text', { x: 4, y: 20, text: 'No dated ads.' }));
  }
  // Cities ordered by first appearance, so the rows read top-down in time.
  const firstSeen = new Map();
  for (const p of [...points].sort((a, b) => a.day - b.day)) {
    if (!firstSeen.has(p.city)) firstSeen.set(p.city, p.day);
  }
  const cities = [...firstSeen.keys()];
  const minDay = Math.min(...points.map((p) => p.day));
  const maxDay = Math.max(...points.map((p) => p.day));
  const days = maxDay - minDay + 1;
  const maxAds = Math.max(...points.map((p) => p.ads));

  const labelW = 130;
  const colW = Math.max(6, Math.min(64, Math.floor(900 / days)));
  const rowH = 34;
  const top = 14;
  const axisH = 36;
  const width = labelW + days * colW + 16;
  const height = top + cities.length * rowH + axisH;
  const x = (day) => labelW + (day - minDay) * colW + colW / 2;
  const y = (city) => top + cities.indexOf(city) * rowH + rowH / 2;
  const r = (ads) => Math.max(2.5, (Math.min(colW, rowH) / 2 - 1) * Math.sqrt(ads / maxAds));

  const svg = s('svg', {
    class: 'timeline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `Ads per day in ${cities.length} cities from ${dayLabel(minDay)} to ${dayLabel(maxDay)}`,
  });
  cities.forEach((city, i) => {
    const cy = y(city);
    svg.append(
      s('rect', { class: i % 2 ? 'row odd' : 'row', x: 0, y: cy - rowH / 2, width, height: rowH }),
      s('text', { class: 'city', x: labelW - 8, y: cy + 4, 'text-anchor': 'end', text: city }),
    );
  });
  const every = Math.max(1, Math.ceil(40 / colW));
  for (let d = minDay; d <= maxDay; d += every) {
    const cx = x(d);
    svg.append(
      s('line', { class: 'grid', x1: cx, x2: cx, y1: top, y2: top + cities.length * rowH }),
      s('text', {
        class: 'day', x: cx, y: top + cities.length * rowH + 14, 'text-anchor': 'middle',
        text: dayLabel(d).slice(5),
      }),
    );
  }
  svg.append(s('text', {
    class: 'day', x: labelW, y: height - 4,
    text: `${dayLabel(minDay)} to ${dayLabel(maxDay)} (UTC days)`,
  }));

  const ordered = [...points].sort((a, b) => a.day - b.day || cities.indexOf(a.city) - cities.indexOf(b.city));
  if (ordered.length > 1) {
    svg.append(s('polyline', {
      class: 'path',
      points: ordered.map((p) => `${x(p.day)},${y(p.city)}`).join(' '),
    }));
  }
  for (const p of ordered) {
    svg.append(s('circle', {
      class: 'dot', cx: x(p.day), cy: y(p.city), r: r(p.ads).toFixed(1),
      'data-city': p.city, 'data-day': dayLabel(p.day), 'data-ads': p.ads,
    }, s('title', { text: `${dayLabel(p.day)} ${p.city}: ${p.ads} ad${p.ads === 1 ? '' : 's'}` })));
  }
  return svg;
}
