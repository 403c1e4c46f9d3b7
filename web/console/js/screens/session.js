// One session: its steps, who is on it right now (presence, from every device on every node)
// and the timeline of everything that happened (Provenance: who, what, when), kept live by the
// session's own feed.

import { h, replaceChildren, stepLabel, formatTime } from '../ui.js';
import { SessionModel } from '../session_model.js';
import { stepCode } from '../unit_model.js';
import { describeObservation, kindOf, eyeOf } from '../clinical.js';
import { patientHeader, presenceChips, staffLabel, statusBadge, errorBox } from './common.js';

export function mount(app, main, encounterId) {
  const session = new SessionModel(app, `Encounter/${encounterId}`);
  const header = h('div', {});
  const presence = h('div', { class: 'presence', role: 'status', 'aria-live': 'polite' });
  const steps = h('section', { class: 'card', 'aria-labelledby': 'steps-title' });
  const results = h('section', { class: 'card', 'aria-labelledby': 'results-title' });
  const timeline = h('section', { class: 'card', 'aria-labelledby': 'timeline-title' });
  replaceChildren(main, header, presence, h('div', { class: 'grid' }, steps, results), timeline);
  let reading = null;

  async function readTimeline() {
    if (!app.canRead('Provenance')) {
      replaceChildren(timeline, h('h2', { id: 'timeline-title' }, 'Timeline'), h('p', { class: 'muted' }, 'Your role does not include reading the audit trail.'));
      return;
    }
    try {
      const bundle = await app.fhir.read(`Encounter/${encounterId}/$session-timeline`);
      const items = (bundle.entry || []).map((e) => e.resource).filter((r) => r?.resourceType === 'Provenance');
      replaceChildren(timeline, h('h2', { id: 'timeline-title' }, 'Timeline'),
        items.length ? h('ol', { class: 'timeline' }, items.map((p) => h('li', {},
          h('time', { datetime: p.recorded }, formatTime(p.recorded)),
          (p.agent || []).map((a) => staffLabel(app, a.who?.reference)).slice(0, 1),
          ' — ', p.activity?.coding?.[0]?.display || p.activity?.coding?.[0]?.code || 'changed', ' ',
          (p.target || []).map((t) => describeTarget((t.reference || '').replace(/\/_history\/.*/, ''))).join(', '))))
          : h('p', { class: 'muted' }, 'Nothing recorded yet.'));
    } catch (err) {
      replaceChildren(timeline, h('h2', { id: 'timeline-title' }, 'Timeline'), errorBox(err.message));
    }
  }
  // "Refraction step", "visual acuity, right eye", "the visit" for a Provenance target.
  function describeTarget(reference) {
    const r = session.resources.get(reference);
    if (reference === session.encounter) return 'the visit';
    if (r?.resourceType === 'Task') return stepCode(r) === 'screening-session' ? 'the session' : `${stepLabel(stepCode(r))} step`;
    if (r?.resourceType === 'Observation' && kindOf(r)) return `${kindOf(r) === 'acuity' ? 'acuity' : 'refraction'}, ${eyeOf(r)} eye`;
    if (r) return r.resourceType.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    return reference.split('/')[0];
  }
  const timelineSoon = () => { if (!reading) reading = setTimeout(() => { reading = null; readTimeline(); }, 150); };

  const render = () => {
    replaceChildren(header, patientHeader(app, session.patient, h('p', {}, h('a', { href: '#/' }, 'Back to my screen'))));
    replaceChildren(presence, h('strong', {}, 'Here now: '), presenceChips(session.presence, app));
    const tasks = session.of('Task').filter((t) => stepCode(t) && stepCode(t) !== 'screening-session');
    const order = ['check-in', 'visual-acuity', 'refraction', 'doctor-diagnosis', 'supervisor-approval'];
    tasks.sort((a, b) => order.indexOf(stepCode(a)) - order.indexOf(stepCode(b)));
    replaceChildren(steps, h('h2', { id: 'steps-title' }, 'Steps'), h('table', {}, h('tbody', {}, tasks.map((t) => h('tr', { dataset: { step: stepCode(t) } },
      h('th', { scope: 'row' }, stepLabel(stepCode(t))), h('td', {}, statusBadge(t.status)), h('td', {}, staffLabel(app, t.owner?.reference)))))));
    const obs = session.of('Observation').filter((o) => kindOf(o) && o.status !== 'entered-in-error');
    replaceChildren(results, h('h2', { id: 'results-title' }, 'Results'), obs.length ? h('table', {}, h('tbody', {}, obs.map((o) => h('tr', {},
      h('th', { scope: 'row' }, `${kindOf(o) === 'acuity' ? 'Acuity' : 'Refraction'}, ${eyeOf(o)}`), h('td', {}, describeObservation(o)))))) : h('p', { class: 'muted' }, 'No results yet.'));
  };
  session.addEventListener('change', () => { render(); timelineSoon(); });
  render();
  session.start().catch((err) => replaceChildren(timeline, errorBox(err.message)));
  return { unmount() { session.stop(); clearTimeout(reading); } };
}
