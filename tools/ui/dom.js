// DOM helpers for the review UI. Everything shown to the investigator is built
// with createElement/createElementNS and textContent: ad text, rule text and
// any other value from the API is attacker-controlled or at least untrusted
// and is never parsed as HTML. There is deliberately no helper that takes an
// HTML string.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Properties set directly on the element (not as attributes).
const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'type', 'tabIndex']);

function applyAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) {
      // Event handlers only as functions, never as strings.
      if (typeof value !== 'function') throw new Error(`handler ${key} must be a function`);
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key === 'style') {
      // CSSOM only (allowed by the CSP); never a style="" string.
      for (const [k, v] of Object.entries(value)) {
        if (k.startsWith('--')) el.style.setProperty(k, String(v));
        else el.style[k] = String(v);
      }
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (PROPS.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h('div', {class: 'x'}, 'text', otherNode): strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  appendChildren(el, children);
  return el;
}

/** s('circle', {cx: 1}): an SVG element. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'text') el.textContent = String(value);
    else if (key === 'class') el.setAttribute('class', String(value));
    else if (key.startsWith('on')) {
      if (typeof value !== 'function') throw new Error(`handler ${key} must be a function`);
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else el.setAttribute(key, String(value));
  }
  appendChildren(el, children);
  return el;
}

/** Replaces all children of el. */
export function mount(el, ...children) {
  el.replaceChildren();
  appendChildren(el, children);
  return el;
}

/** A category colour from the rule pack, accepted only as #rgb/#rrggbb. */
export function safeColor(color, fallback = '#888888') {
  return typeof color === 'string' && /^#(?:[0-9a-fA-F]{3}){1,2}$/.test(color) ? color : fallback;
}

export function formatTime(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toISOString().replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

export function formatScore(score) {
  return typeof score === 'number' ? score.toFixed(2) : '–';
}
