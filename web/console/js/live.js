// Live updates over Fovea's WebSocket subscription channel (Subscriptions R4 Backport IG).
//
// A LiveFeed owns one socket and the topic-based subscriptions it is bound to. Every event is
// numbered per subscription; the feed applies them strictly in order, each once: a number it
// has seen is dropped, a jump in the numbers (events missed while the socket was down, or a
// handshake counting more than it saw) is filled from `Subscription/[id]/$events` before
// anything later is applied. Connection state comes from the socket, a ping every few seconds
// that must be answered, and the browser's online/offline events.

import { NetworkError, param, params, paramValue } from './fhir.js';

const TOPIC = 'https://fovea.health/fhir/SubscriptionTopic/';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
const PING_EVERY_MS = 4000;
const PONG_WITHIN_MS = 3000;
const REBIND_EVERY_MS = 8 * 60 * 1000;  // binding tokens last 10 minutes
const LIFETIME_MS = 12 * 3600 * 1000;   // a subscription lasts a shift, then ends by itself

function subscriptionFor(spec) {
  const s = {
    resourceType: 'Subscription',
    status: 'requested',
    reason: `Staff console: ${spec.key}`,
    end: new Date(Date.now() + LIFETIME_MS).toISOString(),
    criteria: TOPIC + spec.topic,
    channel: {
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}backport-payload-content`, valueCode: 'full-resource' }] },
    },
  };
  if (spec.filter) s._criteria = { extension: [{ url: `${BACKPORT}backport-filter-criteria`, valueString: spec.filter }] };
  return s;
}

function filterOf(subscription) {
  return (subscription._criteria?.extension || []).find((e) => e.url.endsWith('backport-filter-criteria'))?.valueString || '';
}

// The Backport IG status of a notification Bundle, and its events with their resources.
export function readNotification(bundle) {
  const status = bundle.entry?.[0]?.resource;
  if (!status || status.resourceType !== 'Parameters') return null;
  const events = params(status, 'notification-event').map((p) => {
    const number = Number(param(p, 'event-number'));
    const focusPart = (p.part || []).find((x) => x.name === 'focus');
    const focus = focusPart ? paramValue(focusPart) : undefined;
    const entry = focus ? (bundle.entry || []).slice(1).find((e) => e.fullUrl === focus) : undefined;
    return { number, focus, resource: entry?.resource };
  });
  return {
    type: param(status, 'type'),
    subscription: String(param(status, 'subscription') || '').split('/').pop(),
    count: Number(param(status, 'events-since-subscription-start')),
    events,
  };
}

export class LiveFeed extends EventTarget {
  // specs: [{ key, topic, filter }]; name: for messages.
  constructor(fhir, user, specs, name) {
    super();
    this.fhir = fhir;
    this.user = user;
    this.specs = specs;
    this.name = name;
    this.subs = new Map();      // subscription id -> { key, last }
    this.applied = [];          // [subscription id, number], the last 1,000 applied (for tests)
    this.state = 'connecting';
    this.socket = null;
    this.chain = Promise.resolve();
    this.timers = [];
    this.attempt = 0;
    this.boundOnce = null;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => { this.setState('offline'); this.dropSocket(); };
  }

  setState(state, message) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, message } }));
  }

  // Resolves once the socket is bound the first time (so a screen loads its data after it
  // knows the event count it starts from).
  async start() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.boundOnce = new Promise((resolve) => { this.resolveBound = resolve; });
    if (!navigator.onLine) this.setState('offline');
    await this.ensureSubscriptions().catch((err) => this.scheduleReconnect(err));
    this.connect();
    return this.boundOnce;
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    this.dropSocket();
    for (const t of this.timers) clearTimeout(t);
  }

  storageKey(spec) { return `fovea.sub.${this.user.username}.${spec.key}`; }

  // Reuses this user's subscription for each spec when it is still active with the same
  // criteria; creates it otherwise.
  async ensureSubscriptions() {
    const want = new Map();
    for (const spec of this.specs) {
      let id = localStorage.getItem(this.storageKey(spec));
      if (id) {
        try {
          const s = await this.fhir.read(`Subscription/${id}`);
          const fresh = s.end && Date.parse(s.end) > Date.now() + 3600 * 1000;
          if (s.status !== 'active' || s.criteria !== TOPIC + spec.topic || filterOf(s) !== (spec.filter || '') || !fresh) id = null;
        } catch (err) {
          if (err instanceof NetworkError) throw err;
          id = null;
        }
      }
      if (!id) {
        const created = await this.fhir.create(subscriptionFor(spec));
        id = created.id;
        localStorage.setItem(this.storageKey(spec), id);
      }
      want.set(id, this.subs.get(id) || { key: spec.key, last: undefined });
    }
    this.subs = want;
  }

  async connect() {
    if (this.stopped) return;
    if (!navigator.onLine) { this.setState('offline'); return; }
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let binding;
    try {
      if (this.subs.size === 0) await this.ensureSubscriptions();
      const q = [...this.subs.keys()].map((id) => `id=${encodeURIComponent(id)}`).join('&');
      binding = await this.fhir.read(`Subscription/$get-ws-binding-token?${q}`);
    } catch (err) {
      this.scheduleReconnect(err);
      return;
    }
    const token = param(binding, 'token');
    const url = param(binding, 'websocket-url');
    const socket = new WebSocket(url);
    this.socket = socket;
    this.token = token;
    this.awaiting = new Set(this.subs.keys());
    socket.onopen = () => { socket.send(`bind-with-token ${token}`); this.startPinging(socket); };
    socket.onmessage = (m) => { if (typeof m.data === 'string') this.receive(m.data, socket); };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.scheduleReconnect(new Error('The live connection closed'));
    };
    socket.onerror = () => {};
  }

  startPinging(socket) {
    const tick = () => {
      if (this.socket !== socket) return;
      this.pongDue = Date.now() + PONG_WITHIN_MS;
      try { socket.send('ping'); } catch { /* closing */ }
      this.later(() => {
        if (this.socket === socket && this.pongDue && Date.now() >= this.pongDue) {
          this.dropSocket();
          this.scheduleReconnect(new Error('The server stopped answering'));
        }
      }, PONG_WITHIN_MS + 50);
      this.later(tick, PING_EVERY_MS);
    };
    this.later(tick, PING_EVERY_MS);
    this.later(() => this.rebind(socket), REBIND_EVERY_MS);
  }

  // A fresh binding token before the old one expires, so full resources keep coming.
  async rebind(socket) {
    if (this.socket !== socket) return;
    try {
      const q = [...this.subs.keys()].map((id) => `id=${encodeURIComponent(id)}`).join('&');
      const binding = await this.fhir.read(`Subscription/$get-ws-binding-token?${q}`);
      // The same subscriptions again under a fresh token (not unbound first: that would leave
      // a moment with nothing bound; a repeated event is dropped by its number).
      this.token = param(binding, 'token');
      socket.send(`bind-with-token ${this.token}`);
    } catch { /* the next ping decides */ }
    this.later(() => this.rebind(socket), REBIND_EVERY_MS);
  }

  later(fn, ms) {
    const t = setTimeout(() => { this.timers = this.timers.filter((x) => x !== t); fn(); }, ms);
    this.timers.push(t);
  }

  dropSocket() {
    const s = this.socket;
    this.socket = null;
    if (s) { s.onclose = null; try { s.close(); } catch { /* already */ } }
  }

  reconnectNow() {
    if (this.stopped) return;
    this.dropSocket();
    this.attempt = Math.max(this.attempt, 1);
    this.connect();
  }

  scheduleReconnect(err) {
    if (this.stopped) return;
    if (!navigator.onLine) { this.setState('offline'); return; }  // 'online' reconnects
    this.setState('reconnecting', err?.message);
    const delay = Math.min(500 * 2 ** this.attempt, 8000);
    this.attempt += 1;
    this.later(() => { if (!this.socket && !this.stopped) this.connect(); }, delay);
  }

  receive(text, socket) {
    this.pongDue = 0;  // any frame shows the server is there
    if (text === 'pong') return;
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (frame.type === 'pong') return;
    if (frame.type === 'presence') { this.dispatchEvent(new CustomEvent('presence', { detail: frame })); return; }
    if (frame.type === 'error') { this.dispatchEvent(new CustomEvent('feed-error', { detail: frame.message })); return; }
    if (frame.resourceType !== 'Bundle') return;
    const n = readNotification(frame);
    if (!n || !this.subs.has(n.subscription)) return;
    if (n.type === 'handshake') {
      this.serially(() => this.handshake(n.subscription, n.count, socket));
    } else if (n.type === 'event-notification') {
      this.serially(() => this.deliver(n.subscription, n.events));
    }
  }

  serially(fn) {
    this.chain = this.chain.then(fn).catch((err) => {
      // A catch-up that failed: reconnect, which starts over from the last applied number.
      this.dropSocket();
      this.scheduleReconnect(err);
    });
  }

  async handshake(id, count, socket) {
    const sub = this.subs.get(id);
    if (sub.last === undefined) sub.last = count;  // the screen loads its data after this
    else if (count > sub.last) await this.fill(id, sub.last + 1, count);
    this.awaiting.delete(id);
    if (this.awaiting.size === 0 && this.socket === socket) {
      this.attempt = 0;
      this.setState('live');
      this.resolveBound?.();
      this.resolveBound = null;
    }
  }

  async deliver(id, events) {
    const sub = this.subs.get(id);
    for (const e of [...events].sort((a, b) => a.number - b.number)) {
      if (sub.last === undefined) sub.last = e.number - 1;
      if (e.number <= sub.last) continue;  // seen already
      if (e.number > sub.last + 1) await this.fill(id, sub.last + 1, e.number - 1);
      this.apply(id, e);
    }
  }

  // Events from..to (inclusive) from $events, applied in order.
  async fill(id, from, to) {
    const bundle = await this.fhir.read(`Subscription/${id}/$events?eventsSinceNumber=${from}&eventsUntilNumber=${to}&content=full-resource`);
    const n = readNotification(bundle);
    for (const e of (n?.events || []).sort((a, b) => a.number - b.number)) {
      if (e.number > this.subs.get(id).last) this.apply(id, e);
    }
    // Numbers the server no longer keeps (retention) count as seen: nothing to wait for.
    const sub = this.subs.get(id);
    if (sub.last < to) sub.last = to;
  }

  apply(id, e) {
    const sub = this.subs.get(id);
    sub.last = e.number;
    this.applied.push([id, e.number]);
    if (this.applied.length > 1000) this.applied.shift();  // a shift is long; keep it bounded
    this.dispatchEvent(new CustomEvent('notification', { detail: { key: sub.key, subscription: id, ...e } }));
  }
}
