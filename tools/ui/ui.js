// Dialogs, toasts and the mapping of API errors to what an investigator sees:
// 401 "sign in again", 403 "your role cannot do this", 409 a conflict dialog
// (review.js), anything else the server's message.

import { h } from './dom.js';

let toastBox = null;

export function toast(message, kind = 'info') {
  if (!toastBox) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const item = h('div', { class: ['toast', kind] }, message);
  toastBox.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 9000 : 4000);
  return item;
}

/**
 * openDialog({title, body, actions: [{label, primary, onClick}], className})
 * A modal <dialog>; onClick may return false to keep it open. Returns
 * {dialog, close}.
 */
export function openDialog({ title, body, actions = [], className = '' }) {
  const dialog = h('dialog', { class: ['dialog', className] });
  const close = () => {
    if (dialog.open) dialog.close();
    dialog.remove();
  };
  const buttons = actions.map((a) =>
    h('button', {
      type: 'button',
      class: a.primary ? 'primary' : '',
      dataset: a.id ? { action: a.id } : undefined,
      onclick: async () => {
        const keep = a.onClick ? await a.onClick() : undefined;
        if (keep !== false) close();
      },
    }, a.label));
  dialog.append(h('h2', null, title), h('div', { class: 'dialog-body' }, body), h('div', { class: 'dialog-actions' }, buttons));
  dialog.addEventListener('cancel', () => setTimeout(close, 0));
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

export function dialogOpen() {
  return document.querySelector('dialog[open]') !== null;
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** Shows an API error the way the brief asks; returns true when handled. */
export function handleError(err) {
  const status = err && err.status;
  if (status === 401) {
    onUnauthorized('Your sign-in is no longer valid: sign in again.');
  } else if (status === 403) {
    toast('Your role cannot do this. Ask an administrator if you need it.', 'error');
  } else if (status === 0) {
    toast(err.message, 'error');
  } else if (status === 404) {
    toast(`Not found: ${err.message}`, 'error');
  } else {
    toast(`Error${status ? ` ${status}` : ''}: ${err && err.message ? err.message : String(err)}`, 'error');
  }
  return true;
}
