// The doctor's screen: the session's acuity and refraction beside the patient's previous
// screenings, findings and diagnoses, a glasses prescription prefilled from today's refraction,
// and completion of the diagnosis step. The report, diagnoses and prescription go in one FHIR
// transaction (all or nothing), then the step is completed; both through the outbox.

import { h, replaceChildren, announce, patientName, formatTime, validatedField, setFieldError } from '../ui.js';
import { SessionModel } from '../session_model.js';
import { drafts } from '../outbox.js';
import { ref, versionTag } from '../fhir.js';
import { EYES, ACUITY, REFRACTION, DIAGNOSES, describeObservation, refractionValues, parseRefraction, condition, visionPrescription, diagnosticReport, eyeOf, kindOf } from '../clinical.js';
import { claim, release, complete, worklist, patientHeader, presenceChips, errorBox } from './common.js';

export function mount(app, main, taskId) {
  const message = h('div', { 'aria-live': 'polite' });
  const listBox = h('section', { class: 'card', 'aria-labelledby': 'doc-list' });
  const pane = h('section', { class: 'card step-pane', hidden: !taskId });
  replaceChildren(main, h('h1', {}, 'Doctor'), message, pane, listBox);
  let open = null;
  const renderList = () => replaceChildren(listBox, h('h2', { id: 'doc-list' }, 'Waiting for a doctor'),
    worklist(app, app.model.work(['doctor-diagnosis']), {
      empty: 'No session is waiting for a doctor.',
      onClaim: async (task, button) => {
        button.disabled = true;
        try {
          app.model.apply(await claim(app, task));
          app.go(`#/doctor/${task.id}`);
        } catch (err) {
          button.disabled = false;
          replaceChildren(message, errorBox(err.message));
        }
      },
      onOpen: (task) => app.go(`#/doctor/${task.id}`),
    }));
  app.model.addEventListener('change', renderList);
  renderList();
  if (taskId) open = openDiagnosis(app, pane, taskId, message);
  return { unmount() { app.model.removeEventListener('change', renderList); open?.close(); } };
}

function openDiagnosis(app, pane, taskId, message) {
  const t0 = app.model.tasks.get(`Task/${taskId}`);
  if (!t0) { replaceChildren(pane, errorBox('This step is not among the unit\'s open sessions.')); return { close() {} }; }
  const session = new SessionModel(app, t0.encounter.reference, t0.for?.reference);
  const draftKey = `${app.user.username}:${taskId}`;
  const header = h('div', {});
  const presence = h('div', { class: 'presence' });
  const compare = h('div', { class: 'table-wrap' });
  const inputs = {};
  const errors = {};
  const field = (name, label, attrs = {}) => {
    const f = validatedField('d', name, label, attrs);
    inputs[name] = f.input;
    errors[name] = f.error;
    return f.element;
  };
  const form = h('form', { novalidate: true, 'aria-label': 'Diagnosis' },
    h('fieldset', {}, h('legend', {}, 'Diagnosis'), h('div', { class: 'checks' }, DIAGNOSES.map((d) =>
      h('label', {}, inputs[`dx-${d.code}`] = h('input', { type: 'checkbox', value: d.code }), d.display)))),
    h('div', { class: 'field' }, h('label', { for: 'd-findings' }, 'Findings'), inputs.findings = h('textarea', { id: 'd-findings', rows: 3 })),
    h('fieldset', {}, h('legend', {}, 'Glasses prescription'),
      h('label', { class: 'checks' }, inputs.prescribe = h('input', { type: 'checkbox', id: 'd-prescribe' }), 'Prescribe glasses'),
      EYES.map((eye) => h('div', { class: 'row' }, h('strong', { class: 'eye' }, eye.label),
        field(`${eye.key}-sphere`, 'Sphere'), field(`${eye.key}-cylinder`, 'Cylinder'), field(`${eye.key}-axis`, 'Axis', { inputmode: 'numeric' }), field(`${eye.key}-add`, 'Add')))),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', id: 'd-complete' }, 'Complete diagnosis'),
      h('button', { type: 'button', class: 'secondary', onclick: () => giveBack() }, 'Release step')));

  const values = () => Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.type === 'checkbox' ? el.checked : el.value]));
  form.addEventListener('input', () => drafts.save(draftKey, values()).catch(() => {}));
  form.addEventListener('submit', (e) => { e.preventDefault(); finish(); });

  function prescriptionValues() {
    const out = {};
    let ok = true;
    for (const eye of EYES) {
      const p = parseRefraction(Object.fromEntries(['sphere', 'cylinder', 'axis', 'add'].map((f) => [f, inputs[`${eye.key}-${f}`].value])));
      for (const f of ['sphere', 'cylinder', 'axis', 'add']) {
        setFieldError(inputs[`${eye.key}-${f}`], errors[`${eye.key}-${f}`], p.errors[f]);
      }
      if (p.ok) out[eye.key] = p.value; else ok = false;
    }
    return ok ? out : null;
  }

  async function finish() {
    const task = app.model.tasks.get(`Task/${taskId}`);
    const diagnoses = DIAGNOSES.filter((d) => inputs[`dx-${d.code}`].checked);
    const findings = inputs.findings.value.trim();
    if (!diagnoses.length && !findings) { replaceChildren(message, errorBox('Choose a diagnosis or write the findings')); return; }
    const eyes = inputs.prescribe.checked ? prescriptionValues() : {};
    if (!eyes) { replaceChildren(message, errorBox('The prescription has values to correct')); return; }
    const s = session.summary;
    const results = session.of('Observation').filter((o) => kindOf(o) && o.status !== 'entered-in-error').map(ref);
    const entries = [
      diagnosticReport(s, app.user.fhirUser, findings, diagnoses, results),
      ...diagnoses.map((d) => condition(s, app.user.fhirUser, d, findings)),
      ...(inputs.prescribe.checked ? [visionPrescription(s, app.user.fhirUser, eyes)] : []),
    ];
    const items = entries.map((r) => ({ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: r, request: { method: 'POST', url: r.resourceType } }));
    // The step's Task links what it produced (Task.output) in the same transaction, so the
    // supervisor's approval makes the prescription active; its version after this write is
    // the next one, which the completion below names in If-Match.
    const linked = structuredClone(task);
    delete linked.meta;
    linked.output = [...(linked.output || []), ...items.map((i) => ({ type: { text: i.resource.resourceType }, valueReference: { reference: i.fullUrl } }))];
    items.push({ resource: linked, request: { method: 'PUT', url: `Task/${task.id}`, ifMatch: versionTag(task) } });
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: items };
    const who = patientName(session.patient);
    try {
      await app.write({ method: 'POST', path: '', body: bundle, label: `Diagnosis of ${who}` });
      const r = await complete(app, task, `Doctor's step completed — ${who}`, `W/"${Number(task.meta.versionId) + 1}"`);
      await drafts.clear(draftKey).catch(() => {});
      if (r.sent) { app.model.apply(r.sent.resource); announce('Diagnosis completed', 'ok'); app.go('#/doctor'); }
      else announce('Diagnosis saved on this device; it is sent when the connection is back');
    } catch (err) {
      replaceChildren(message, errorBox(err.message));
    }
  }

  async function giveBack() {
    try {
      app.model.apply(await release(app, app.model.tasks.get(`Task/${taskId}`)));
      app.go('#/doctor');
    } catch (err) {
      replaceChildren(message, errorBox(err.message));
    }
  }

  // Today's results beside up to three earlier visits.
  function renderCompare() {
    const visits = session.previous;
    const cell = (list, code, eye) => describeObservation(list.find((o) => o.code?.coding?.some((c) => c.code === code) && eyeOf(o) === eye.key));
    const today = session.of('Observation').filter((o) => kindOf(o) && o.status !== 'entered-in-error');
    const rows = [];
    for (const [code, label] of [[ACUITY, 'Acuity'], [REFRACTION, 'Refraction']]) {
      for (const eye of EYES) {
        rows.push(h('tr', {}, h('th', { scope: 'row' }, `${label}, ${eye.key}`), h('td', { class: 'today' }, cell(today, code, eye)),
          visits.map((v) => h('td', {}, cell(v.observations, code, eye)))));
      }
    }
    replaceChildren(compare, h('table', { class: 'compare' },
      h('caption', { class: 'sr-only' }, 'Results of this visit and earlier ones'),
      h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', { scope: 'col' }, 'Today'), visits.map((v) => h('th', { scope: 'col' }, formatTime(v.date))))),
      h('tbody', {}, rows)),
    visits.length ? null : h('p', { class: 'muted' }, 'No earlier screening on record.'));
  }

  let prefilled = false;
  function prefill() {
    if (prefilled) return;
    const refraction = session.of('Observation').filter((o) => kindOf(o) === 'refraction' && o.status !== 'entered-in-error');
    if (!refraction.length) return;
    prefilled = true;
    for (const eye of EYES) {
      const o = refraction.find((x) => eyeOf(x) === eye.key);
      if (!o) continue;
      const v = refractionValues(o);
      for (const f of ['sphere', 'cylinder', 'axis', 'add']) if (!inputs[`${eye.key}-${f}`].value && v[f] !== undefined) inputs[`${eye.key}-${f}`].value = String(v[f]);
    }
  }

  const render = () => {
    replaceChildren(header, patientHeader(app, session.patient));
    replaceChildren(presence, h('strong', {}, 'On this session: '), presenceChips(session.presence, app));
    renderCompare();
    prefill();
  };
  replaceChildren(pane, header, presence, h('h2', {}, 'Results'), compare, form);
  session.addEventListener('change', render);
  drafts.load(draftKey).then((d) => {
    if (!d) return;
    prefilled = true;
    for (const [k, v] of Object.entries(d)) if (inputs[k]) { if (inputs[k].type === 'checkbox') inputs[k].checked = v; else inputs[k].value = v; }
  }).catch(() => {});
  session.start().catch((err) => replaceChildren(message, errorBox(err.message)));
  render();
  return { close() { session.stop(); } };
}
