// The supervisor's board: every open session of the unit at a glance (the step it is at, who
// has it, for how long, its alerts) and the approval of finished sessions. Redrawn on every
// change of any Task or alert at the unit, and every half minute for the clocks.

import { h, replaceChildren, announce, patientName, stepLabel } from '../ui.js';
import { stepCode } from '../unit_model.js';
import { claim, complete, errorBox, staffLabel, statusBadge, minutesInStep } from './common.js';

export function mount(app, main) {
  const message = h('div', { 'aria-live': 'polite' });
  const summary = h('p', { class: 'summary' });
  const alertsBox = h('section', { class: 'card', 'aria-labelledby': 'alerts-title' });
  const board = h('section', { class: 'card', 'aria-labelledby': 'board-title' });
  replaceChildren(main, h('h1', {}, 'Supervisor'), message, summary, alertsBox, board);

  async function approve(task, button) {
    button.disabled = true;
    replaceChildren(message);
    try {
      const mine = task.status === 'in-progress' ? task : await claim(app, task);
      const r = await complete(app, mine, 'Approval');
      if (r.sent) { app.model.apply(r.sent.resource); announce('Session approved', 'ok'); }
    } catch (err) {
      button.disabled = false;
      replaceChildren(message, errorBox(err.message));
    }
  }

  const render = () => {
    const rows = [];
    let waiting = 0;
    let working = 0;
    for (const s of app.model.sessions) {
      const steps = Object.values(app.model.stepsOf(s.encounter));
      const now = steps.filter((t) => ['ready', 'in-progress', 'on-hold'].includes(t.status));
      waiting += now.filter((t) => t.status === 'ready').length;
      working += now.filter((t) => t.status === 'in-progress').length;
      const approval = now.find((t) => stepCode(t) === 'supervisor-approval');
      const alerts = app.model.alertsOf(s.encounter);
      const done = steps.filter((t) => t.status === 'completed').length;
      rows.push(h('tr', { dataset: { encounter: s.encounter } },
        h('td', {}, h('a', { href: `#/session/${s.encounter.split('/')[1]}` }, patientName(app.model.patients.get(s.patient)))),
        h('td', {}, now.length ? now.map((t) => h('div', { class: 'step-now', dataset: { step: stepCode(t) } }, stepLabel(stepCode(t)), ' ', statusBadge(t.status))) : h('span', { class: 'muted' }, '—')),
        h('td', {}, now.map((t) => h('div', {}, t.owner ? staffLabel(app, t.owner.reference) : h('span', { class: 'muted' }, 'nobody')))),
        h('td', {}, now.map((t) => h('div', {}, `${minutesInStep(t)} min`))),
        h('td', { class: 'hide-narrow' }, `${done}/${steps.length}`),
        h('td', {}, alerts.map((f) => h('div', { class: 'badge alert' }, f.code?.text || 'Alert'))),
        h('td', {}, approval ? h('button', { type: 'button', class: 'primary', onclick: (e) => approve(approval, e.target) }, 'Approve') : null)));
    }
    summary.textContent = `${app.model.sessions.length} open session${app.model.sessions.length === 1 ? '' : 's'} · ${waiting} step${waiting === 1 ? '' : 's'} waiting · ${working} in progress`;
    replaceChildren(board, h('h2', { id: 'board-title' }, 'Sessions'),
      app.model.fromCache ? h('p', { class: 'notice' }, 'Offline: the board as it was last seen') : null,
      rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'board' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Patient'), h('th', {}, 'Step now'), h('th', {}, 'Owner'), h('th', {}, 'Time in step'), h('th', { class: 'hide-narrow' }, 'Done'), h('th', {}, 'Alerts'), h('th', {}, h('span', { class: 'sr-only' }, 'Approval')))),
        h('tbody', {}, rows))) : h('p', { class: 'muted' }, 'No open sessions.'));
    const alerts = [...app.model.alerts.values()];
    replaceChildren(alertsBox, h('h2', { id: 'alerts-title' }, `Alerts (${alerts.length})`),
      alerts.length ? h('ul', {}, alerts.map((f) => h('li', {}, f.code?.text || 'Alert', ' — ',
        h('a', { href: `#/session/${(f.encounter?.reference || '').split('/')[1]}` }, patientName(app.model.patients.get(f.subject?.reference))))))
        : h('p', { class: 'muted' }, 'No alerts.'));
  };
  app.model.addEventListener('change', render);
  const clock = setInterval(render, 30000);
  render();
  return { unmount() { app.model.removeEventListener('change', render); clearInterval(clock); } };
}
