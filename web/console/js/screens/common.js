// What several screens share: the Task moves of the screening state machine (claim, release,
// complete) with the messages a person needs when someone else got there first, names of
// staff, and the patient header with who else is on the session.

import { FhirError, NetworkError, versionTag } from '../fhir.js';
import { h, patientName, age, stepLabel } from '../ui.js';
import { stepCode } from '../unit_model.js';

const names = new Map();

// "Dr Ana Souza" for a Practitioner reference (cached; the reference itself when unreadable).
export async function staffName(app, reference) {
  if (!reference) return '';
  if (reference === app.user.fhirUser) return 'you';
  if (!names.has(reference)) {
    names.set(reference, app.fhir.read(reference).then((p) => patientName(p)).catch(() => reference));
  }
  return names.get(reference);
}

// Fills `el` with the staff member's name once known.
export function staffLabel(app, reference) {
  const el = h('span', { class: 'staff' }, reference ? '…' : '');
  if (reference) staffName(app, reference).then((n) => { el.textContent = n; });
  return el;
}

function withoutMeta(resource) {
  const copy = structuredClone(resource);
  delete copy.meta;
  return copy;
}

// Claims a ready step for this user. Needs the connection: two people must never both think
// they hold a step. Throws an Error whose message says who has it when someone else was first.
export async function claim(app, task) {
  if (!navigator.onLine) throw new Error('Claiming a step needs the connection; try again when you are back online');
  const body = withoutMeta(task);
  body.status = 'in-progress';
  body.owner = { reference: app.user.fhirUser };
  try {
    return (await app.fhir.request('PUT', `Task/${task.id}`, { body, ifMatch: versionTag(task) })).resource;
  } catch (err) {
    if (err instanceof FhirError && (err.status === 412 || err.status === 409)) {
      const now = await app.fhir.read(`Task/${task.id}`).catch(() => null);
      if (now?.owner?.reference && now.owner.reference !== app.user.fhirUser) {
        const who = await staffName(app, now.owner.reference);
        throw new Error(`${who} already claimed this ${stepLabel(stepCode(now)).toLowerCase()} step`);
      }
      if (now && now.status !== 'ready') throw new Error(`This step is now ${now.status}; the list has been updated`);
    }
    if (err instanceof NetworkError) throw new Error('No connection: the step was not claimed');
    throw err;
  }
}

export async function release(app, task) {
  const body = withoutMeta(task);
  body.status = 'ready';
  delete body.owner;
  return (await app.fhir.request('PUT', `Task/${task.id}`, { body, ifMatch: versionTag(task) })).resource;
}

// Completes a step through the outbox (offline it goes after the entries made before it): a
// JSON Patch of the status alone, with If-Match, so nothing else of the Task is overwritten.
// `ifMatch` defaults to the version held.
export function complete(app, task, label, ifMatch = versionTag(task)) {
  return app.write({
    method: 'PATCH', path: `Task/${task.id}`, label, ifMatch,
    body: JSON.stringify([{ op: 'replace', path: '/status', value: 'completed' }]),
    headers: { 'Content-Type': 'application/json-patch+json' },
  });
}

export function presenceChips(active, app) {
  if (!active?.length) return h('span', { class: 'muted' }, 'Only you');
  return active.map((p) => h('span', { class: 'person', title: (p.roles || []).join(', ') },
    p.reference === app.user.fhirUser ? `${p.user} (you)` : p.user));
}

export function patientHeader(app, patient, extra) {
  const mrn = (patient?.identifier || [])[0]?.value;
  return h('div', { class: 'patient-header' },
    h('h1', {}, patientName(patient)),
    h('p', { class: 'muted' }, [patient?.birthDate ? `Born ${patient.birthDate} (${age(patient.birthDate)})` : null, patient?.gender, mrn ? `MRN ${mrn}` : null].filter(Boolean).join(' · ')),
    extra);
}

export function statusBadge(status) {
  return h('span', { class: `badge ${status}` }, status);
}

// Minutes a step has been where it is: in progress since its claim, ready since it became so.
export function minutesInStep(task) {
  const since = task.status === 'in-progress' ? task.executionPeriod?.start : task.lastModified || task.meta?.lastUpdated;
  return since ? Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 60000)) : 0;
}

// A message box that says what went wrong, for the person and for screen readers.
export function errorBox(message) {
  return h('p', { class: 'notice error', role: 'alert' }, message);
}

// A worklist of steps: patient, step, status, owner, time, and Claim / Continue.
export function worklist(app, items, { onClaim, onOpen, empty }) {
  if (!items.length) return h('p', { class: 'muted' }, empty || 'Nothing waiting.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'worklist' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Patient'), h('th', {}, 'Step'), h('th', {}, 'Status'), h('th', { class: 'hide-narrow' }, 'Owner'), h('th', { class: 'hide-narrow' }, 'Minutes'), h('th', {}, h('span', { class: 'sr-only' }, 'Action')))),
    h('tbody', {}, items.map(({ session, task }) => {
      const mine = task.owner?.reference === app.user.fhirUser;
      const patient = app.model.patients.get(session.patient);
      return h('tr', { dataset: { task: task.id, step: stepCode(task) } },
        h('td', {}, h('a', { href: `#/session/${session.encounter.split('/')[1]}` }, patientName(patient))),
        h('td', {}, stepLabel(stepCode(task))),
        h('td', {}, statusBadge(task.status)),
        h('td', { class: 'hide-narrow' }, staffLabel(app, task.owner?.reference)),
        h('td', { class: 'hide-narrow' }, String(minutesInStep(task))),
        h('td', {}, task.status === 'ready'
          ? h('button', { type: 'button', class: 'primary', onclick: (e) => onClaim(task, e.target) }, 'Claim')
          : mine ? h('button', { type: 'button', class: 'secondary', onclick: () => onOpen(task) }, 'Continue')
            : h('span', { class: 'muted' }, 'In progress')));
    }))));
}
