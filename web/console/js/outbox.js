// Writes that could not reach the server, kept on this device (IndexedDB) and sent in the order
// they were made once the connection is back. Each keeps the If-Match it was made with, so a
// change someone else made meanwhile is never overwritten: the entry becomes a conflict the
// user settles (keep theirs, or send theirs-plus-mine with the new version). Sending stops at
// the first entry that did not go through, because later entries may depend on it.

import { store } from './store.js';
import { FhirError, NetworkError, versionTag } from './fhir.js';

export class Outbox extends EventTarget {
  constructor(fhir, user) {
    super();
    this.fhir = fhir;
    this.user = user;
    this.flushing = null;
  }

  async entries() {
    return (await store.all('outbox')).filter((e) => e.user === this.user.username).sort((a, b) => a.seq - b.seq);
  }

  changed() { this.dispatchEvent(new CustomEvent('change')); }

  // Sends `op` ({ method, path, body, ifMatch, label, encounter }) now, or queues it when there is
  // no connection or earlier writes are still waiting (order is kept). Returns { sent } with
  // the server's answer or { queued: true }. A refusal by the server throws its FhirError.
  async send(op) {
    if (!navigator.onLine || (await this.entries()).length > 0) {
      await this.queue(op);
      this.flush();
      return { queued: true };
    }
    try {
      return { sent: await this.fhir.request(op.method, op.path, { body: op.body, ifMatch: op.ifMatch, headers: op.headers }) };
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      await this.queue(op);
      return { queued: true };
    }
  }

  async queue(op) {
    await store.put('outbox', { ...op, user: this.user.username, status: 'pending', createdAt: new Date().toISOString() });
    this.changed();
  }

  // Sends the waiting entries in order; returns when it stopped (all sent, offline, or an
  // entry needs the user).
  flush() {
    if (!this.flushing) this.flushing = this.run().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  async run() {
    for (const entry of await this.entries()) {
      if (entry.status !== 'pending') return;
      try {
        const answer = await this.fhir.request(entry.method, entry.path, { body: entry.body, ifMatch: entry.ifMatch, headers: entry.headers });
        await store.delete('outbox', entry.seq);
        this.dispatchEvent(new CustomEvent('sent', { detail: { entry, answer } }));
        this.changed();
      } catch (err) {
        if (err instanceof NetworkError) return;
        if (err instanceof FhirError && err.status === 401) return;  // log in again, then resume
        const update = { ...entry, status: 'failed', error: err.message, httpStatus: err.status };
        if (err.status === 412 && entry.method === 'PUT') {
          update.status = 'conflict';
          update.theirs = await this.fhir.read(entry.path).catch(() => null);
        }
        await store.put('outbox', update);
        this.changed();
        return;
      }
    }
  }

  // The user's choice for an entry that did not go through.
  async discard(seq) {
    await store.delete('outbox', seq);
    this.changed();
    this.flush();
  }

  // Sends an entry that was refused again. A status change (a JSON Patch of the Task's status)
  // is tried on the version there is now: the server's state machine still decides whether
  // the move is allowed, and nothing else of the Task is sent.
  async retry(seq) {
    const entry = (await this.entries()).find((e) => e.seq === seq);
    if (!entry) return;
    let ifMatch = entry.ifMatch;
    if (entry.method === 'PATCH' && entry.httpStatus === 412) {
      ifMatch = versionTag(await this.fhir.read(entry.path).catch(() => null)) || ifMatch;
    }
    await store.put('outbox', { ...entry, ifMatch, status: 'pending', error: undefined });
    this.changed();
    this.flush();
  }

  // Sends `body` (the user's merge of theirs and mine) over the version they have now.
  async resolve(seq, body) {
    const entry = (await this.entries()).find((e) => e.seq === seq);
    if (!entry) return;
    await store.put('outbox', { ...entry, body, ifMatch: versionTag(entry.theirs), status: 'pending', theirs: undefined, error: undefined });
    this.changed();
    this.flush();
  }
}

// What was typed into a form and not yet sent, per user and form, so a reload (even offline)
// loses nothing.
export const drafts = {
  load: (key) => store.get('drafts', key),
  save: (key, value) => store.put('drafts', value, key),
  clear: (key) => store.delete('drafts', key),
};
