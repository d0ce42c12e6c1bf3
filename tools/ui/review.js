// Review: status change with a note, assignment, and the history of who
// changed what. Every write carries the version the investigator saw
// (expected_version); a 409 opens a dialog showing the other person's change
// instead of overwriting it.

import { api } from './api.js';
import { h, formatTime } from './dom.js';
import { openDialog, handleError, toast } from './ui.js';

export const STATUSES = [
  ['new', 'New'],
  ['in_review', 'In review'],
  ['escalated', 'Escalated'],
  ['needs_info', 'Needs info'],
  ['dismissed', 'Dismissed'],
];

export function statusLabel(status) {
  const found = STATUSES.find(([id]) => id === status);
  return found ? found[1] : String(status || 'new');
}

export function statusBadge(status) {
  return h('span', { class: ['status', `status-${String(status || 'new').replace(/[^a-z_]/g, '')}`] }, statusLabel(status));
}

function historyEntry(e) {
  const parts = [];
  if (e.status) parts.push(h('span', null, 'status → ', statusBadge(e.status)));
  if (e.assignee !== undefined && e.assignee !== null && e.assignee !== '') parts.push(h('span', null, `assigned to ${e.assignee}`));
  return h('li', { class: 'history-entry' },
    h('div', { class: 'who' }, h('strong', null, String(e.user || '?')), ' ', h('time', null, formatTime(e.time))),
    parts.length ? h('div', { class: 'what' }, parts) : null,
    e.note ? h('blockquote', { class: 'note' }, String(e.note)) : null);
}

export function historyList(review) {
  const history = (review && review.history) || [];
  if (history.length === 0) return h('p', { class: 'muted' }, 'No review yet.');
  return h('ol', { class: 'history' }, [...history].reverse().map(historyEntry));
}

/**
 * reviewForm({adId, review, presetStatus, draft, onSaved, onReload})
 * onSaved(review) after a successful write; onReload(draft) when the
 * investigator chooses to reload after a conflict.
 */
export function reviewForm({ adId, review, presetStatus, draft, onSaved, onReload, compact = false }) {
  const current = review || { status: 'new', assignee: '', version: 0, history: [] };
  const status = h('select', { name: 'status', 'aria-label': 'Status' },
    STATUSES.map(([id, label]) => h('option', { value: id, selected: id === ((draft && draft.status) || presetStatus || current.status || 'new') }, label)));
  const assignee = h('input', {
    name: 'assignee', type: 'text', placeholder: 'unassigned', autocomplete: 'off',
    value: draft && draft.assignee !== undefined ? draft.assignee : current.assignee || '',
  });
  const note = h('textarea', {
    name: 'note', rows: compact ? 3 : 4, placeholder: 'Why? What did you check? (kept in the history)',
  });
  note.value = (draft && draft.note) || '';
  const message = h('p', { class: 'form-message', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Save review');

  const form = h('form', { class: 'review-form', dataset: { version: current.version ?? 0 } },
    h('label', null, 'Status ', status),
    h('label', null, 'Assignee ', assignee),
    h('label', { class: 'note-label' }, 'Note ', note),
    h('div', { class: 'form-row' }, submit,
      h('span', { class: 'muted' }, `version ${current.version ?? 0}`)),
    message);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { expected_version: current.version ?? 0 };
    if (status.value !== (current.status || 'new')) body.status = status.value;
    if (assignee.value.trim() !== (current.assignee || '')) body.assignee = assignee.value.trim();
    if (note.value.trim()) body.note = note.value.trim();
    if (!('status' in body) && !('assignee' in body) && !('note' in body)) {
      message.textContent = 'Change the status or the assignee, or write a note.';
      return;
    }
    submit.disabled = true;
    message.textContent = '';
    try {
      const reply = await api.review(adId, body);
      toast(`Saved: ${adId} is ${statusLabel(reply.review && reply.review.status)}.`, 'ok');
      if (onSaved) onSaved(reply.review);
    } catch (err) {
      if (err.status === 409) {
        showConflict({
          adId, mine: body, theirs: err.body && err.body.review, seenVersion: current.version ?? 0,
          onReload: () => onReload && onReload({ status: status.value, assignee: assignee.value, note: note.value }),
        });
      } else {
        handleError(err);
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The 409 dialog: what the other person changed, what you tried, reload. */
export function showConflict({ adId, mine, theirs, seenVersion, onReload }) {
  const history = (theirs && theirs.history) || [];
  const newer = history.every((e) => typeof e.version === 'number')
    ? history.filter((e) => e.version > seenVersion)
    : history.slice(-Math.max(1, (theirs?.version ?? 0) - seenVersion));
  const body = h('div', { class: 'conflict' },
    h('p', null, `Someone else changed lead ${adId} after you opened it (you saw version ${seenVersion}, it is now version ${theirs?.version ?? '?'}). Your change was not saved, so nothing was overwritten.`),
    h('h3', null, 'Their change'),
    theirs ? h('ol', { class: 'history' }, newer.reverse().map(historyEntry)) : h('p', null, 'Not shown by the server.'),
    theirs ? h('p', null, 'Now: ', statusBadge(theirs.status), theirs.assignee ? ` assigned to ${theirs.assignee}` : ' unassigned') : null,
    h('h3', null, 'Your change (not saved)'),
    h('ul', null,
      mine.status ? h('li', null, 'status → ', statusBadge(mine.status)) : null,
      mine.assignee !== undefined ? h('li', null, `assignee → ${mine.assignee || '(none)'}`) : null,
      mine.note ? h('li', null, h('blockquote', { class: 'note' }, mine.note)) : null),
    h('p', null, 'Reload to see the lead as it is now; your draft stays in the form so you can decide again.'));
  openDialog({
    title: 'Conflict: this lead was changed by someone else',
    className: 'conflict-dialog',
    body,
    actions: [
      { id: 'reload', label: 'Reload the lead', primary: true, onClick: () => onReload && onReload() },
      { id: 'close', label: 'Close' },
    ],
  });
}

/**
 * Quick review from the queue (e = escalate, d = dismiss): reads the lead's
 * current review first (its version is what the investigator now sees), then
 * asks for a note.
 */
export async function quickReview(adId, presetStatus, onDone) {
  let data;
  try {
    data = await api.ad(adId);
  } catch (err) {
    handleError(err);
    return;
  }
  let handle = null;
  const reopen = (draft) => {
    if (handle) handle.close();
    quickReviewWith(adId, presetStatus, onDone, draft);
  };
  const form = reviewForm({
    adId, review: data.review, presetStatus, compact: true,
    onSaved: (review) => { handle.close(); if (onDone) onDone(review); },
    onReload: reopen,
  });
  const snippet = h('p', { class: 'snippet' }, String(data.ad?.text || '').slice(0, 240));
  handle = openDialog({
    title: `${statusLabel(presetStatus)}: ${adId}`,
    className: 'review-dialog',
    body: h('div', null, snippet, h('p', null, 'Now ', statusBadge(data.review?.status)), form),
    actions: [{ id: 'cancel', label: 'Cancel' }],
  });
  form.querySelector('textarea').focus();
}

async function quickReviewWith(adId, presetStatus, onDone, draft) {
  await quickReview(adId, draft?.status || presetStatus, onDone);
  const dialog = document.querySelector('dialog.review-dialog[open]');
  if (dialog && draft) {
    dialog.querySelector('textarea').value = draft.note || '';
    dialog.querySelector('input[name=assignee]').value = draft.assignee || '';
  }
}
