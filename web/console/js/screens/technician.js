// The technician's screen: the acuity and refraction steps of the unit's open sessions, the
// claim, and the per-eye entry form (validated as it is typed; kept on the device while
// unsent; sent through the outbox, so it works offline), then completion of the step.

import { h, replaceChildren, announce, patientName, stepLabel, showConflict, validatedField, setFieldError } from '../ui.js';
import { FhirError, versionTag, ref } from '../fhir.js';
import { drafts } from '../outbox.js';
import { SessionModel } from '../session_model.js';
import { stepCode } from '../unit_model.js';
import { EYES, ACUITY, REFRACTION, parseAcuity, parseRefraction, acuityObservation, refractionObservation, describeObservation, refractionValues } from '../clinical.js';
import { claim, release, complete, worklist, patientHeader, presenceChips, errorBox } from './common.js';

const STEPS = ['visual-acuity', 'refraction'];

export function mount(app, main, taskId) {
  const listBox = h('section', { class: 'card', 'aria-labelledby': 'tech-list' });
  const message = h('div', { 'aria-live': 'polite' });
  const pane = h('section', { class: 'card step-pane', hidden: !taskId });
  replaceChildren(main, h('h1', {}, 'Technician'), message, pane, listBox);
  let step = null;

  const renderList = () => {
    replaceChildren(listBox, h('h2', { id: 'tech-list' }, 'Acuity and refraction'),
      app.model.fromCache ? h('p', { class: 'notice' }, 'Offline: the list as it was last seen') : null,
      worklist(app, app.model.work(STEPS), {
        empty: 'No acuity or refraction step is waiting.',
        onClaim: async (task, button) => {
          button.disabled = true;
          replaceChildren(message);
          try {
            const claimed = await claim(app, task);
            app.model.apply(claimed);
            app.go(`#/technician/${task.id}`);
          } catch (err) {
            button.disabled = false;
            replaceChildren(message, errorBox(err.message));
          }
        },
        onOpen: (task) => app.go(`#/technician/${task.id}`),
      }));
  };
  app.model.addEventListener('change', renderList);
  renderList();
  if (taskId) step = openStep(app, pane, taskId, message);

  return {
    unmount() { app.model.removeEventListener('change', renderList); step?.close(); },
    outboxChanged(entries) { step?.outboxChanged(entries); },
  };
}

// The entry form of one claimed step.
function openStep(app, pane, taskId, message) {
  let session = null;
  const task = () => app.model.tasks.get(`Task/${taskId}`) || session?.resources.get(`Task/${taskId}`);
  const t0 = task();
  if (!t0) {
    replaceChildren(pane, errorBox('This step is not among the unit\'s open sessions.'));
    return { close() {}, outboxChanged() {} };
  }
  const code = stepCode(t0);
  const kind = code === 'visual-acuity' ? 'acuity' : 'refraction';
  session = new SessionModel(app, t0.encounter.reference, t0.for?.reference);
  const draftKey = `${app.user.username}:${taskId}`;
  const presence = h('div', { class: 'presence', 'aria-label': 'Also on this session' });
  const recorded = h('div', { class: 'recorded' });
  const status = h('p', { class: 'step-status' });
  const form = h('form', { novalidate: true, 'aria-label': `${stepLabel(code)} entry` });
  const inputs = {};
  const errors = {};

  const field = (name, label, attrs = {}) => {
    const f = validatedField('f', name, label, attrs);
    inputs[name] = f.input;
    errors[name] = f.error;
    return f.element;
  };
  for (const eye of EYES) {
    if (kind === 'acuity') {
      const select = h('select', { id: `f-${eye.key}-notation`, name: `${eye.key}-notation` },
        h('option', { value: 'snellen' }, 'Snellen (6/6, 20/20)'), h('option', { value: 'decimal' }, 'Decimal (1.0)'), h('option', { value: 'logmar' }, 'logMAR (0.0)'));
      inputs[`${eye.key}-notation`] = select;
      form.append(h('fieldset', {}, h('legend', {}, eye.label), h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: select.id }, 'Notation'), select),
        field(`${eye.key}-value`, 'Acuity', { inputmode: 'text', placeholder: '6/6' }))));
    } else {
      form.append(h('fieldset', {}, h('legend', {}, eye.label), h('div', { class: 'row' },
        field(`${eye.key}-sphere`, 'Sphere (D)', { placeholder: '-1.25' }), field(`${eye.key}-cylinder`, 'Cylinder (D)', { placeholder: '-0.50' }),
        field(`${eye.key}-axis`, 'Axis (°)', { inputmode: 'numeric', placeholder: '90' }), field(`${eye.key}-add`, 'Add (D)', { placeholder: '+1.00' }))));
    }
  }
  const saveButton = h('button', { type: 'submit', class: 'primary' }, 'Save results');
  const completeButton = h('button', { type: 'button', class: 'primary', onclick: () => finish() }, 'Complete step');
  const releaseButton = h('button', { type: 'button', class: 'secondary', onclick: () => giveBack() }, 'Release step');
  form.append(h('div', { class: 'actions' }, saveButton, completeButton, releaseButton));

  // Checks every field; marks the wrong ones. Returns the parsed values per eye or null.
  const check = (showEmpty) => {
    const out = {};
    let ok = true;
    for (const eye of EYES) {
      if (kind === 'acuity') {
        const name = `${eye.key}-value`;
        const p = parseAcuity(inputs[`${eye.key}-notation`].value, inputs[name].value);
        const bad = !p.ok && (showEmpty || !p.empty);
        setFieldError(inputs[name], errors[name], bad ? p.message : '');
        if (p.ok) out[eye.key] = { notation: inputs[`${eye.key}-notation`].value, parsed: p }; else ok = false;
      } else {
        const v = {};
        for (const f of ['sphere', 'cylinder', 'axis', 'add']) v[f] = inputs[`${eye.key}-${f}`].value;
        const empty = Object.values(v).every((x) => !String(x).trim());
        const p = parseRefraction(v);
        for (const f of ['sphere', 'cylinder', 'axis', 'add']) {
          const bad = Boolean(p.errors[f]) && (showEmpty || !empty);
          setFieldError(inputs[`${eye.key}-${f}`], errors[`${eye.key}-${f}`], bad ? p.errors[f] : '');
        }
        if (p.ok) out[eye.key] = { value: p.value }; else ok = false;
      }
    }
    return ok ? out : null;
  };
  const values = () => Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value]));
  form.addEventListener('input', () => { check(false); drafts.save(draftKey, values()).catch(() => {}); });
  form.addEventListener('change', () => { check(false); drafts.save(draftKey, values()).catch(() => {}); });
  form.addEventListener('submit', (e) => { e.preventDefault(); save(); });

  const codeOf = kind === 'acuity' ? ACUITY : REFRACTION;
  const existing = (eye) => session.observations(codeOf, eye.code)[0];

  async function save({ quiet = false } = {}) {
    const parsed = check(true);
    if (!parsed) { announce('Some values need correcting before they can be saved', 'error'); return false; }
    const summary = session.summary;
    if (!summary.patient) { replaceChildren(message, errorBox('The session has not loaded yet; wait for the patient\'s name, then save')); return false; }
    let queued = 0;
    let sent = 0;
    for (const eye of EYES) {
      const made = kind === 'acuity'
        ? acuityObservation(summary, app.user.fhirUser, eye, parsed[eye.key].notation, parsed[eye.key].parsed)
        : refractionObservation(summary, app.user.fhirUser, eye, parsed[eye.key].value);
      const label = `${stepLabel(code)}, ${eye.label.toLowerCase()}: ${describeObservation(made)} — ${patientName(session.patient)}`;
      const old = existing(eye);
      let op;
      if (old) {
        if (describeObservation(old) === describeObservation(made)) continue;
        op = { method: 'PUT', path: `Observation/${old.id}`, body: { ...made, id: old.id }, ifMatch: versionTag(old), label };
      } else {
        op = { method: 'POST', path: 'Observation', body: made, label };
      }
      try {
        const r = await app.write(op);
        if (r.queued) queued += 1; else { sent += 1; session.apply(r.sent.resource); }
      } catch (err) {
        if (err instanceof FhirError && err.status === 412 && old) {
          const theirs = await app.fhir.read(`Observation/${old.id}`);
          const choice = await showConflict({ title: `${eye.label}: changed by someone else`, theirs, mine: op.body });
          if (choice === 'mine') {
            const r = await app.write({ ...op, body: { ...op.body }, ifMatch: versionTag(theirs) });
            if (r.sent) session.apply(r.sent.resource);
          } else {
            session.apply(theirs);
            fill(theirs, eye);
          }
          continue;
        }
        replaceChildren(message, errorBox(`${eye.label}: ${err.message}`));
        return false;
      }
    }
    await drafts.clear(draftKey).catch(() => {});
    if (queued + sent === 0) { if (!quiet) announce('Nothing changed', 'info'); render(); return true; }
    announce(queued ? `Saved on this device: ${queued} entr${queued === 1 ? 'y' : 'ies'} will be sent when the connection is back` : 'Results saved', queued ? 'info' : 'ok');
    render();
    return true;
  }

  // Shows an Observation's values in the form (after choosing theirs).
  function fill(o, eye) {
    if (kind === 'acuity') {
      if (o.valueString) { inputs[`${eye.key}-notation`].value = 'snellen'; inputs[`${eye.key}-value`].value = o.valueString; }
      else if (o.valueQuantity) { inputs[`${eye.key}-notation`].value = o.valueQuantity.code === '{logMAR}' ? 'logmar' : 'decimal'; inputs[`${eye.key}-value`].value = String(o.valueQuantity.value); }
    } else {
      const v = refractionValues(o);
      for (const f of ['sphere', 'cylinder', 'axis', 'add']) inputs[`${eye.key}-${f}`].value = v[f] === undefined ? '' : String(v[f]);
    }
  }

  async function finish() {
    const t = task();
    if (EYES.some((eye) => inputs[kind === 'acuity' ? `${eye.key}-value` : `${eye.key}-sphere`].value.trim()) && !(await save({ quiet: true }))) return;
    try {
      const r = await complete(app, t, `${stepLabel(code)} completed — ${patientName(session.patient)}`);
      if (r.sent) { app.model.apply(r.sent.resource); announce(`${stepLabel(code)} completed`, 'ok'); app.go('#/technician'); }
      else announce('Completion saved on this device; it is sent after the results', 'info');
    } catch (err) {
      replaceChildren(message, errorBox(err.message));
    }
  }

  async function giveBack() {
    try {
      app.model.apply(await release(app, task()));
      app.go('#/technician');
    } catch (err) {
      replaceChildren(message, errorBox(err.message));
    }
  }

  let pendingEntries = [];
  function render() {
    const t = task();
    replaceChildren(presence, h('strong', {}, 'On this session: '), presenceChips(session.presence, app));
    status.textContent = t ? `${stepLabel(code)} · ${t.status}${t.owner?.reference === app.user.fhirUser ? ' · yours' : ''}` : '';
    const mineOpen = t && t.status === 'in-progress' && t.owner?.reference === app.user.fhirUser;
    for (const b of [saveButton, completeButton, releaseButton]) b.disabled = !mineOpen;
    const rows = EYES.map((eye) => {
      const o = existing(eye);
      const waiting = pendingEntries.filter((e) => e.body?.resourceType === 'Observation' && e.body.encounter?.reference === session.encounter
        && e.body.code?.coding?.some((c) => c.code === codeOf) && e.body.bodySite?.coding?.some((c) => c.code === eye.code));
      return h('tr', { dataset: { eye: eye.key } }, h('th', { scope: 'row' }, eye.label),
        h('td', { class: 'value' }, describeObservation(o)),
        h('td', {}, waiting.length ? h('span', { class: 'badge pending' }, `Waiting to send: ${describeObservation(waiting[waiting.length - 1].body)}`) : o ? h('span', { class: 'badge completed' }, o.status) : ''));
    });
    replaceChildren(recorded, h('h3', {}, 'Recorded in this session'), h('table', {}, h('tbody', {}, rows)));
  }

  replaceChildren(pane, patientHeader(app, null), presence, status, recorded, form);
  session.addEventListener('change', () => {
    pane.querySelector('.patient-header').replaceWith(patientHeader(app, session.patient));
    render();
  });
  app.model.addEventListener('change', render);
  session.start().catch((err) => replaceChildren(message, errorBox(err.message)));
  drafts.load(draftKey).then((d) => {
    if (d) { for (const [k, v] of Object.entries(d)) if (inputs[k]) inputs[k].value = v; check(false); }
  }).catch(() => {});
  app.outbox.entries().then((e) => { pendingEntries = e; render(); });
  render();
  return {
    close() { session.stop(); app.model.removeEventListener('change', render); },
    outboxChanged(entries) { pendingEntries = entries; render(); },
  };
}
