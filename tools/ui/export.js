// Case bundles through /v1/export. Every export asks for a purpose: the
// server records who received what and why (docs/api.md; dissemination
// records, domain notes section 5).

import { api } from './api.js';
import { h } from './dom.js';
import { openDialog, handleError, toast } from './ui.js';

function filenameFrom(res, fallback) {
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([A-Za-z0-9._-]+)"?/.exec(cd);
  return m ? m[1] : fallback;
}

async function download(params, format) {
  const res = await api.exportBundle({ ...params, format });
  const blob = await res.blob();
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const name = filenameFrom(res, `vigil-case-${stamp}.${format}`);
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, class: 'hidden' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return { name, size: blob.size };
}

/** exportDialog({what, params}): what is a sentence naming the selection. */
export function exportDialog({ what, params }) {
  const purpose = h('input', { name: 'purpose', type: 'text', required: true, placeholder: 'case number or reason', autocomplete: 'off' });
  const jsonl = h('input', { type: 'radio', name: 'format', value: 'jsonl', checked: true });
  const csv = h('input', { type: 'radio', name: 'format', value: 'csv' });
  const message = h('p', { class: 'form-message', role: 'alert' });
  const body = h('div', { class: 'export' },
    h('p', null, what),
    h('fieldset', null, h('legend', null, 'Format'),
      h('label', null, jsonl, ' JSONL (one JSON object per line)'),
      h('label', null, csv, ' CSV')),
    h('label', null, 'Purpose (recorded with your name) ', purpose),
    h('p', { class: 'muted' }, 'Exports are audit-logged. Share a bundle only with people who need it for this case; it is not a contact list.'),
    message);
  const { close } = openDialog({
    title: 'Export a case bundle',
    className: 'export-dialog',
    body,
    actions: [
      {
        id: 'export', label: 'Export', primary: true,
        onClick: async () => {
          if (!purpose.value.trim()) {
            message.textContent = 'Say why you export (a case number or a reason).';
            purpose.focus();
            return false;
          }
          const format = csv.checked ? 'csv' : 'jsonl';
          try {
            const { name, size } = await download({ ...params, purpose: purpose.value.trim() }, format);
            toast(`Exported ${name} (${size} bytes).`, 'ok');
          } catch (err) {
            handleError(err);
            return err.status === 401 ? undefined : false;
          }
          return undefined;
        },
      },
      { id: 'cancel', label: 'Cancel' },
    ],
  });
  purpose.focus();
  return close;
}
