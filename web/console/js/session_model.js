// One screening session as the technician, doctor and session screens show it: the Encounter,
// its patient, its Tasks and what the steps recorded (Observations, Conditions, reports,
// prescriptions), the patient's earlier screenings, and who else is on it right now. Its own
// live feed (the screening-session topic, filtered to this Encounter) keeps it current and
// makes this user present on the session for everyone else.

import { LiveFeed } from './live.js';
import { ref } from './fhir.js';
import { store } from './store.js';
import { ACUITY, REFRACTION, SNOMED } from './clinical.js';

const RECORDED = ['Observation', 'Condition', 'DiagnosticReport', 'VisionPrescription', 'ClinicalImpression'];

export class SessionModel extends EventTarget {
  // `patient` ("Patient/id", from the step's Task.for) is known before anything is read, so
  // entries made offline always name their patient and session.
  constructor(app, encounter, patient) {
    super();
    this.app = app;
    this.encounter = encounter;  // "Encounter/id"
    this.subject = patient;
    this.resources = new Map();  // "Type/id" -> resource of the session
    this.previous = [];          // [{ encounter, date, observations: [] }], newest first
    this.presence = [];          // [{ reference, user, roles, since }]
    this.patient = null;
    this.loaded = false;
  }

  get id() { return this.encounter.split('/')[1]; }
  get cacheKey() { return `session:${this.app.user.username}:${this.encounter}`; }
  changed() { this.dispatchEvent(new CustomEvent('change')); }

  async start() {
    this.feed = new LiveFeed(this.app.fhir, this.app.user,
      [{ key: `session-${this.id}`, topic: 'screening-session', filter: `encounter=${this.encounter}` }], `session ${this.id}`);
    this.feed.addEventListener('notification', (e) => this.apply(e.detail.resource));
    this.feed.addEventListener('presence', (e) => { this.presence = e.detail.active || []; this.changed(); });
    this.feed.addEventListener('state', (e) => { if (e.detail.state === 'live' && this.loaded) this.load().catch(() => {}); });
    this.app.watchFeed(this.feed);
    await this.restore();  // the copy on this device first: at once, and also offline
    // Bound first, so nothing between the read and the first event is missed; without a
    // network the last copy on this device is shown and the feed binds when it can.
    await Promise.race([this.feed.start(), new Promise((r) => setTimeout(r, 2500))]);
    await this.load().catch(() => {});
  }

  stop() { this.feed?.stop(); this.app.unwatchFeed(this.feed); }

  async load() {
    const { fhir } = this.app;
    const enc = await fhir.read(this.encounter);
    const resources = new Map([[ref(enc), enc]]);
    const lists = await Promise.all([
      fhir.search('Task', { encounter: this.encounter, _count: '100' }),
      ...RECORDED.filter((t) => this.app.canRead(t)).map((t) => fhir.search(t, { encounter: this.encounter, _count: '200' }).catch(() => ({ matches: [] }))),
    ]);
    for (const l of lists) for (const r of l.matches) resources.set(ref(r), r);
    const patientRef = enc.subject?.reference;
    this.patient = patientRef ? await fhir.read(patientRef).catch(() => this.patient) : null;
    this.resources = resources;
    this.previous = patientRef ? await this.readPrevious(patientRef) : [];
    this.loaded = true;
    this.fromCache = false;
    this.changed();
    this.saveSoon();
  }

  // Earlier screenings of the patient: their acuity and refraction Observations by visit.
  async readPrevious(patient) {
    const found = await this.app.fhir.search('Observation', {
      subject: patient, code: `${SNOMED}|${ACUITY},${SNOMED}|${REFRACTION}`, _count: '200', _sort: '-date',
    }).catch(() => ({ matches: [] }));
    const visits = new Map();
    for (const o of found.matches) {
      const e = o.encounter?.reference;
      if (!e || e === this.encounter || o.status === 'entered-in-error') continue;
      if (!visits.has(e)) visits.set(e, { encounter: e, date: o.effectiveDateTime || o.issued || o.meta?.lastUpdated, observations: [] });
      visits.get(e).observations.push(o);
    }
    return [...visits.values()].sort((a, b) => String(b.date).localeCompare(String(a.date))).slice(0, 3);
  }

  async restore() {
    const v = await store.get('views', this.cacheKey).catch(() => null);
    if (!v) return;
    this.resources = new Map(v.resources.map((r) => [ref(r), r]));
    this.patient = v.patient;
    this.previous = v.previous;
    this.loaded = true;
    this.fromCache = true;
    this.changed();
  }

  apply(resource) {
    if (!resource) { this.load().catch(() => {}); return; }
    const held = this.resources.get(ref(resource));
    if (held && Number(held.meta?.versionId) > Number(resource.meta?.versionId)) return;
    this.resources.set(ref(resource), resource);
    this.changed();
    this.saveSoon();
  }

  saveSoon() {
    if (this.saving || !this.loaded) return;
    this.saving = setTimeout(() => {
      this.saving = null;
      store.put('views', { resources: [...this.resources.values()], patient: this.patient, previous: this.previous }, this.cacheKey).catch(() => {});
    }, 500);
  }

  get encounterResource() { return this.resources.get(this.encounter); }

  of(type) { return [...this.resources.values()].filter((r) => r.resourceType === type); }

  // Current (not entered-in-error) Observations of a kind for one eye, newest first.
  observations(code, eyeCode) {
    return this.of('Observation')
      .filter((o) => o.status !== 'entered-in-error' && o.status !== 'cancelled')
      .filter((o) => o.code?.coding?.some((c) => c.code === code) && o.bodySite?.coding?.some((c) => c.code === eyeCode))
      .sort((a, b) => String(b.meta?.lastUpdated).localeCompare(String(a.meta?.lastUpdated)));
  }

  get summary() {
    return { encounter: this.encounter, patient: this.encounterResource?.subject?.reference || this.subject || (this.patient && ref(this.patient)) };
  }
}
