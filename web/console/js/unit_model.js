// What every screen of the unit shows: the open sessions at the unit (Location/[id]/$queue),
// all their Tasks, their patients and (for supervisors) the active alerts. Kept current by
// the unit's live feed: a Task in a notification replaces the one held at once (the screens
// redraw without a round trip), and anything the notification cannot tell (a new session, a
// session that ended) makes the model read the queue again. The last snapshot is kept on the
// device for showing while offline.

import { param, params, ref } from './fhir.js';
import { store } from './store.js';

const STEP_SYSTEM = 'https://fovea.health/fhir/CodeSystem/screening-step';
const ALERT_SYSTEM = 'https://fovea.health/fhir/alert';

export function stepCode(task) {
  return (task?.code?.coding || []).find((c) => c.system === STEP_SYSTEM)?.code;
}

export class UnitModel extends EventTarget {
  constructor(app) {
    super();
    this.app = app;
    this.sessions = [];          // [{ encounter, patient, session (Task ref), waiting }]
    this.tasks = new Map();      // "Task/id" -> Task
    this.patients = new Map();   // "Patient/id" -> Patient
    this.alerts = new Map();     // "Flag/id" -> Flag (active ones)
    this.loadedAt = null;
    this.fromCache = false;
    this.reloading = null;
    this.again = false;
  }

  get cacheKey() { return `unit:${this.app.user.username}:${this.app.unit.id}`; }

  // Reads everything again; overlapping calls collapse into one more read after the current.
  reload() {
    if (this.reloading) { this.again = true; return this.reloading; }
    this.reloading = this.read().finally(() => {
      this.reloading = null;
      if (this.again) { this.again = false; this.reload(); }
    });
    return this.reloading;
  }

  async read() {
    const { fhir, unit } = this.app;
    let queue;
    try {
      queue = await fhir.read(`Location/${unit.id}/$queue`);
    } catch (err) {
      if (!this.loadedAt) await this.restore();
      throw err;
    }
    const sessions = params(queue, 'session').map((s) => ({
      encounter: param(s, 'encounter'), patient: param(s, 'patient'), session: param(s, 'task'),
      waiting: Number(param(s, 'waiting-minutes') || 0),
    }));
    const tasks = new Map();
    const patients = new Map();
    if (sessions.length) {
      const encounters = sessions.map((s) => s.encounter).join(',');
      const found = await fhir.search('Task', { encounter: encounters, _count: '1000' });
      for (const t of found.matches) tasks.set(ref(t), t);
      const ids = [...new Set(sessions.map((s) => s.patient).filter(Boolean).map((p) => p.split('/')[1]))];
      const people = await fhir.search('Patient', { _id: ids.join(','), _count: '1000' });
      for (const p of people.matches) patients.set(ref(p), p);
    }
    const alerts = new Map();
    if (this.app.hasRole('supervisor')) {
      const flags = await fhir.search('Flag', { identifier: `${ALERT_SYSTEM}|`, _count: '200', _sort: '-_lastUpdated' });
      for (const f of flags.matches) if (f.status === 'active') alerts.set(ref(f), f);
    }
    Object.assign(this, { sessions, tasks, patients, alerts, loadedAt: new Date().toISOString(), fromCache: false });
    this.changed();
  }

  changed() {
    this.dispatchEvent(new CustomEvent('change'));
    if (!this.fromCache && this.loadedAt) this.saveSoon();
  }

  // The copy kept on the device, written at most every half second.
  saveSoon() {
    if (this.saving) return;
    this.saving = setTimeout(() => {
      this.saving = null;
      store.put('views', { sessions: this.sessions, tasks: [...this.tasks.values()], patients: [...this.patients.values()],
                           alerts: [...this.alerts.values()], loadedAt: this.loadedAt }, this.cacheKey).catch(() => {});
    }, 500);
  }

  async restore() {
    const v = await store.get('views', this.cacheKey).catch(() => null);
    if (!v) return;
    this.sessions = v.sessions;
    this.tasks = new Map(v.tasks.map((t) => [ref(t), t]));
    this.patients = new Map(v.patients.map((p) => [ref(p), p]));
    this.alerts = new Map(v.alerts.map((f) => [ref(f), f]));
    this.loadedAt = v.loadedAt;
    this.fromCache = true;
    this.changed();
  }

  // A notification of the unit feed.
  apply(resource) {
    if (!resource) { this.reload().catch(() => {}); return; }
    const key = ref(resource);
    if (resource.resourceType === 'Task') {
      const encounter = resource.encounter?.reference;
      const known = this.sessions.some((s) => s.encounter === encounter);
      const held = this.tasks.get(key);
      if (held && Number(held.meta?.versionId) > Number(resource.meta?.versionId)) return;  // older than what we show
      this.tasks.set(key, resource);
      this.changed();
      // A new session, or a session that ended: the queue decides who is in it.
      if (!known || stepCode(resource) === 'screening-session') this.reload().catch(() => {});
    } else if (resource.resourceType === 'Flag') {
      if (resource.status === 'active') this.alerts.set(key, resource);
      else this.alerts.delete(key);
      this.changed();
    } else {
      this.reload().catch(() => {});
    }
  }

  // The step Tasks of one session, by step code.
  stepsOf(encounter) {
    const out = {};
    for (const t of this.tasks.values()) {
      if (t.encounter?.reference !== encounter) continue;
      const code = stepCode(t);
      if (code && code !== 'screening-session') out[code] = t;
    }
    return out;
  }

  alertsOf(encounter) {
    return [...this.alerts.values()].filter((f) => f.encounter?.reference === encounter);
  }

  // Open sessions with the steps in `codes` that are ready or in progress: [{ session, task }].
  work(codes) {
    const out = [];
    for (const s of this.sessions) {
      const steps = this.stepsOf(s.encounter);
      for (const code of codes) {
        const t = steps[code];
        if (t && (t.status === 'ready' || t.status === 'in-progress' || t.status === 'on-hold')) out.push({ session: s, task: t });
      }
    }
    return out;
  }
}
