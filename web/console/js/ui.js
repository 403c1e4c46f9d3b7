// Small DOM helpers (text is always set as text, never as HTML), announcements for screen
// readers, and the conflict view.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// A labelled input with a line for its error (linked by aria-describedby); ids
// `${prefix}-${name}` and `${prefix}-${name}-error`. Numbers by default (inputmode decimal).
export function validatedField(prefix, name, label, attrs = {}) {
  const id = `${prefix}-${name}`;
  const error = h('p', { class: 'error', id: `${id}-error` });
  const input = h('input', { id, name, autocomplete: 'off', inputmode: 'decimal', 'aria-describedby': error.id, ...attrs });
  return { input, error, element: h('div', { class: 'field' }, h('label', { for: id }, label), input, error) };
}

// Marks a field wrong with `message` (read out with it), or right when there is none.
export function setFieldError(input, error, message) {
  input.setAttribute('aria-invalid', String(Boolean(message)));
  error.textContent = message || '';
}

export function replaceChildren(el, ...children) {
  el.textContent = '';
  append(el, children);
}

// A message for everyone, read out by screen readers (role=status region in index.html).
export function announce(text, kind = 'info') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 12000 : 5000);
}

export function patientName(p) {
  if (!p) return 'Unknown patient';
  const n = (p.name || [])[0];
  if (!n) return 'Unnamed patient';
  return n.text || [...(n.given || []), n.family].filter(Boolean).join(' ') || 'Unnamed patient';
}

export function age(birthDate) {
  if (!birthDate) return '';
  const b = new Date(birthDate);
  const now = new Date();
  let years = now.getFullYear() - b.getFullYear();
  if (now < new Date(now.getFullYear(), b.getMonth(), b.getDate())) years -= 1;
  return `${years} y`;
}

export function minutesSince(iso) {
  if (!iso) return undefined;
  return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export const STEP_LABELS = {
  'check-in': 'Check-in',
  'visual-acuity': 'Visual acuity',
  refraction: 'Refraction',
  'doctor-diagnosis': 'Doctor',
  'supervisor-approval': 'Approval',
  'screening-session': 'Session',
};

export function stepLabel(code) { return STEP_LABELS[code] || code; }

// Every leaf of a resource as "path" -> value (meta and narrative left out), for comparing two
// versions field by field.
export function flatten(value, path = '', out = new Map()) {
  if (value === null || typeof value !== 'object') {
    out.set(path, value);
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!path && (k === 'meta' || k === 'text')) continue;
    flatten(v, path ? `${path}${Array.isArray(value) ? `[${k}]` : `.${k}`}` : k, out);
  }
  return out;
}

// The conflict view: what someone else saved and what this user meant to save, side by side,
// only the fields that differ. Resolves with 'theirs' (drop mine), 'mine' (send mine over
// their version) or null (decide later).
export function showConflict({ title, theirs, mine, who }) {
  return new Promise((resolve) => {
    const a = flatten(theirs || {});
    const b = flatten(mine || {});
    const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)));
    const show = (v) => (v === undefined ? '—' : String(v));
    const rows = keys.map((k) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'theirs' }, show(a.get(k))), h('td', { class: 'mine' }, show(b.get(k)))));
    const dlg = h('dialog', { class: 'conflict', 'aria-labelledby': 'conflict-title' },
      h('h2', { id: 'conflict-title' }, title || 'Someone else changed this first'),
      h('p', {}, `${who || 'Another user'} saved a newer version (version ${theirs?.meta?.versionId || '?'}) while you were editing. Nothing was overwritten. Choose which to keep.`),
      h('table', { class: 'diff' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Saved by them'), h('th', { scope: 'col' }, 'Yours'))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 3 }, 'The two versions say the same.')))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => close('theirs') }, 'Keep theirs'),
        h('button', { type: 'button', class: 'primary', onclick: () => close('mine') }, 'Use mine'),
        h('button', { type: 'button', class: 'link', onclick: () => close(null) }, 'Decide later')));
    function close(choice) {
      dlg.close();
      dlg.remove();
      resolve(choice);
    }
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(null); });
    document.body.append(dlg);
    dlg.showModal();
  });
}
