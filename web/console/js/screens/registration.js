// Registration: find the patient (name, birth date, identifier) or register a new one, check
// them in (a screening session at this unit, check-in step done), correct their details
// (If-Match; a conflicting change opens the conflict view), and the unit's queue.

import { h, replaceChildren, announce, patientName, age, stepLabel, showConflict } from '../ui.js';
import { FhirError, versionTag, ref, param } from '../fhir.js';
import { drafts } from '../outbox.js';
import { stepCode } from '../unit_model.js';
import { claim, complete, errorBox, staffLabel } from './common.js';

const MRN = 'https://fovea.health/fhir/mrn';

export function mount(app, main) {
  const message = h('div', { 'aria-live': 'polite' });
  const results = h('div', { class: 'results' });
  const editor = h('div', {});
  const queueBox = h('section', { class: 'card', 'aria-labelledby': 'queue-title' });

  const search = h('form', { class: 'card', role: 'search', 'aria-label': 'Find a patient' },
    h('h2', {}, 'Find a patient'),
    h('div', { class: 'row' },
      input('q-name', 'Name', { autocomplete: 'off' }), input('q-birthdate', 'Birth date', { type: 'date' }), input('q-identifier', 'Identifier (MRN)', { autocomplete: 'off' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => editPatient(null) }, 'New patient')));
  search.addEventListener('submit', (e) => { e.preventDefault(); find(); });
  replaceChildren(main, h('h1', {}, 'Registration'), message, h('div', { class: 'grid' }, h('div', {}, search, editor, results), queueBox));

  async function find() {
    const q = {};
    const v = (id) => main.querySelector(`#${id}`).value.trim();
    if (v('q-name')) q.name = v('q-name');
    if (v('q-birthdate')) q.birthdate = v('q-birthdate');
    if (v('q-identifier')) q.identifier = v('q-identifier');
    if (!Object.keys(q).length) { replaceChildren(results, errorBox('Enter a name, a birth date or an identifier')); return; }
    q._count = '20';
    q._sort = 'family';
    try {
      const found = await app.fhir.search('Patient', q);
      renderResults(found.matches);
    } catch (err) {
      replaceChildren(results, errorBox(err.message));
    }
  }

  function renderResults(patients) {
    if (!patients.length) { replaceChildren(results, h('p', { class: 'muted' }, 'No patient matches. Register them with "New patient".')); return; }
    replaceChildren(results, h('div', { class: 'card' }, h('h2', {}, 'Patients found'), h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Born'), h('th', { class: 'hide-narrow' }, 'Identifier'), h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', {}, patients.map((p) => h('tr', { dataset: { patient: p.id } },
        h('td', {}, patientName(p)), h('td', {}, p.birthDate ? `${p.birthDate} (${age(p.birthDate)})` : ''),
        h('td', { class: 'hide-narrow' }, (p.identifier || []).map((i) => i.value).join(', ')),
        h('td', {}, h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', onclick: (e) => checkIn(p, e.target) }, 'Check in'),
          h('button', { type: 'button', class: 'secondary', onclick: () => editPatient(p) }, 'Edit'))))))))));
  }

  // The patient form: new (create, then check in) or a correction (update with If-Match).
  function editPatient(patient) {
    const key = `${app.user.username}:patient:${patient?.id || 'new'}`;
    const name = patient?.name?.[0] || {};
    const phone = (patient?.telecom || []).find((t) => t.system === 'phone')?.value || '';
    const form = h('form', { class: 'card', 'aria-label': patient ? 'Edit patient' : 'New patient' },
      h('h2', {}, patient ? `Edit ${patientName(patient)}` : 'New patient'),
      h('div', { class: 'row' }, input('p-given', 'Given name', { value: (name.given || []).join(' '), required: true }), input('p-family', 'Family name', { value: name.family || '', required: true })),
      h('div', { class: 'row' }, input('p-birthdate', 'Birth date', { type: 'date', value: patient?.birthDate || '', required: true }),
        h('div', { class: 'field' }, h('label', { for: 'p-gender' }, 'Gender'), h('select', { id: 'p-gender' },
          ['female', 'male', 'other', 'unknown'].map((g) => h('option', { value: g, selected: patient?.gender === g }, g))))),
      h('div', { class: 'row' }, input('p-phone', 'Phone', { type: 'tel', value: phone }),
        patient ? null : input('p-mrn', 'Identifier (MRN)', { autocomplete: 'off' })),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, patient ? 'Save changes' : 'Register and check in'),
        h('button', { type: 'button', class: 'secondary', onclick: () => { drafts.clear(key); replaceChildren(editor); } }, 'Cancel')));
    const val = (id) => form.querySelector(`#${id}`)?.value.trim() || '';
    drafts.load(key).then((d) => { if (d) for (const [id, v] of Object.entries(d)) { const el = form.querySelector(`#${id}`); if (el) el.value = v; } }).catch(() => {});
    form.addEventListener('input', () => drafts.save(key, Object.fromEntries([...form.querySelectorAll('input,select')].map((el) => [el.id, el.value]))).catch(() => {}));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const problems = [];
      if (!val('p-given') || !val('p-family')) problems.push('Enter the given and family names');
      if (!val('p-birthdate')) problems.push('Enter the birth date');
      else if (val('p-birthdate') > new Date().toISOString().slice(0, 10)) problems.push('The birth date is in the future');
      if (problems.length) { replaceChildren(message, errorBox(problems.join('. '))); return; }
      const mine = structuredClone(patient || { resourceType: 'Patient', active: true });
      delete mine.meta;
      mine.name = [{ ...(mine.name?.[0] || {}), use: 'official', given: val('p-given').split(/\s+/), family: val('p-family') }, ...(mine.name || []).slice(1)];
      delete mine.name[0].text;
      mine.birthDate = val('p-birthdate');
      mine.gender = val('p-gender');
      const others = (mine.telecom || []).filter((t) => t.system !== 'phone');
      mine.telecom = val('p-phone') ? [...others, { system: 'phone', value: val('p-phone'), use: 'mobile' }] : (others.length ? others : undefined);
      if (!patient && val('p-mrn')) mine.identifier = [{ system: MRN, value: val('p-mrn') }];
      try {
        if (patient) {
          await savePatient(patient, mine);
        } else {
          const r = await app.write({ method: 'POST', path: 'Patient', body: mine, label: `New patient ${patientName(mine)}` });
          if (r.queued) { announce('Registered on this device; check-in follows when the connection is back'); }
          else await checkIn(r.sent.resource);
        }
        await drafts.clear(key);
        replaceChildren(editor);
      } catch (err) {
        replaceChildren(message, errorBox(err.message));
      }
    });
    replaceChildren(editor, form);
    form.querySelector('input').focus();
  }

  // An update sent with the version it was made from; if someone saved first, both are shown.
  async function savePatient(read, mine) {
    try {
      const r = await app.write({ method: 'PUT', path: `Patient/${read.id}`, body: mine, ifMatch: versionTag(read), label: `Details of ${patientName(mine)}` });
      announce(r.queued ? 'Saved on this device; sent when the connection is back' : 'Patient details saved', r.queued ? 'info' : 'ok');
      if (r.sent) find();
    } catch (err) {
      if (!(err instanceof FhirError) || err.status !== 412) throw err;
      const theirs = await app.fhir.read(`Patient/${read.id}`);
      const choice = await showConflict({ title: `${patientName(theirs)} was changed by someone else`, theirs, mine });
      if (choice === 'mine') return savePatient(theirs, mine);
      if (choice === 'theirs') announce('Kept their version', 'info');
      find();
    }
  }

  // Starts the screening session at this unit and does the check-in step.
  async function checkIn(patient, button) {
    if (button) button.disabled = true;
    replaceChildren(message);
    try {
      if (!navigator.onLine) throw new Error('Checking in needs the connection (the session is numbered by the server); try again when back online');
      const open = app.model.sessions.find((s) => s.patient === ref(patient));
      if (open) throw new Error(`${patientName(patient)} is already checked in`);
      const body = { resourceType: 'Parameters', parameter: [
        { name: 'patient', valueReference: { reference: ref(patient) } },
        { name: 'location', valueReference: { reference: `Location/${app.unit.id}` } }] };
      const started = (await app.fhir.request('POST', 'Encounter/$start-screening', { body })).resource;
      const checkInTask = (started.entry || []).map((e) => e.resource).find((r) => r.resourceType === 'Task' && stepCode(r) === 'check-in');
      if (checkInTask && checkInTask.status === 'ready') {
        const mine = await claim(app, checkInTask);
        await complete(app, mine, `Check-in of ${patientName(patient)}`);
      }
      announce(`${patientName(patient)} is checked in`, 'ok');
      app.model.reload().catch(() => {});
    } catch (err) {
      replaceChildren(message, errorBox(err.message));
    } finally {
      if (button) button.disabled = false;
    }
  }

  const renderQueue = () => {
    const rows = app.model.sessions.map((s) => {
      const steps = app.model.stepsOf(s.encounter);
      const now = Object.values(steps).filter((t) => ['ready', 'in-progress', 'on-hold'].includes(t.status));
      return h('tr', { dataset: { encounter: s.encounter } },
        h('td', {}, h('a', { href: `#/session/${s.encounter.split('/')[1]}` }, patientName(app.model.patients.get(s.patient)))),
        h('td', {}, now.map((t) => h('div', {}, `${stepLabel(stepCode(t))} · ${t.status}`, t.owner ? [' · ', staffLabel(app, t.owner.reference)] : null))),
        h('td', {}, `${Math.round(s.waiting)} min`));
    });
    replaceChildren(queueBox, h('h2', { id: 'queue-title' }, `Queue (${app.model.sessions.length})`),
      app.model.fromCache ? h('p', { class: 'notice' }, 'Offline: the queue as it was last seen') : null,
      rows.length ? h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Patient'), h('th', {}, 'Now'), h('th', {}, 'Waiting'))), h('tbody', {}, rows)))
        : h('p', { class: 'muted' }, 'Nobody is waiting.'));
  };
  app.model.addEventListener('change', renderQueue);
  renderQueue();
  return { unmount() { app.model.removeEventListener('change', renderQueue); } };
}

function input(id, label, attrs = {}) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id, ...attrs }));
}
