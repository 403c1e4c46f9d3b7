'use strict';
// One staff member's subscription WebSocket: binds a token, then records every notification
// as it arrives (per subscription, in arrival order), so a test can both wait for the event it
// acts on ("the doctor's step is ready") and, at the end, compare everything the socket got
// with what it should have got. Every wait has a timeout; nothing sleeps.

const WebSocket = require('ws');
const { backportStatus } = require('./fhir');

class NotificationFeed {
  static async open(url, name, timeoutMs = 5000) {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no WebSocket open within ${timeoutMs} ms`)), timeoutMs);
      socket.once('open', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
    return new NotificationFeed(socket, name);
  }

  constructor(socket, name) {
    this.socket = socket;
    this.name = name;
    this.handshakes = [];       // { subscription (id), eventsSinceStart }
    this.events = new Map();    // subscription id -> [{ number, focus, resource, bundle }], arrival order
    this.presence = [];         // presence frames ({ type: 'presence', session, event, staff, active }), in order
    this.others = [];           // frames that are none of these (errors, unknown), kept for the failure message
    this.closed = false;
    this.waiters = new Set();
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.receive(data.toString());
    });
    socket.on('close', () => { this.closed = true; this.wake(); });
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      this.others.push(text);
      this.wake();
      return;
    }
    if (frame.type === 'presence') {
      this.presence.push(frame);
      this.wake();
      return;
    }
    if (frame.resourceType !== 'Bundle') {
      this.others.push(text);
      this.wake();
      return;
    }
    const status = backportStatus(frame);
    const id = status.subscription.split('/').pop();
    if (status.type === 'handshake') {
      this.handshakes.push({ subscription: id, eventsSinceStart: status.eventsSinceStart });
    } else if (status.type === 'event-notification') {
      const list = this.events.get(id) || [];
      for (const e of status.events) {
        const entry = frame.entry.slice(1).find((x) => x.fullUrl === e.focus);
        list.push({ number: e.number, focus: e.focus, resource: entry?.resource, bundle: frame });
      }
      this.events.set(id, list);
    } else if (status.type !== 'heartbeat') {
      this.others.push(text);
    }
    this.wake();
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  // Resolves with check()'s first truthy value, re-checked on every frame; fails after timeoutMs.
  until(check, { timeoutMs = 10000, what = 'a notification' } = {}) {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        let value;
        try {
          value = check();
        } catch (err) {
          finish();
          reject(err);
          return;
        }
        if (value) {
          finish();
          resolve(value);
        } else if (this.closed) {
          finish();
          reject(new Error(`${this.name}: the socket closed while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; other frames: ${this.others.join(' | ')}`));
      }, timeoutMs);
      const finish = () => { clearTimeout(timer); this.waiters.delete(attempt); };
      this.waiters.add(attempt);
      attempt();
    });
  }

  // Binds with `token` and waits for the handshake of each of `subscriptions` (ids).
  async bind(token, subscriptions, timeoutMs = 10000) {
    const before = this.handshakes.length;
    this.socket.send(`bind-with-token ${token}`);
    await this.until(() => subscriptions.every((id) => this.handshakes.slice(before).some((h) => h.subscription === id)),
                     { timeoutMs, what: `handshakes of ${subscriptions.join(', ')}` });
    return this.handshakes.slice(before);
  }

  // Waits for a presence frame after the first `from` that `match(frame)` accepts; resolves with
  // its index in this.presence.
  waitForPresence(match, what, { from = 0, timeoutMs = 10000 } = {}) {
    return this.until(() => {
      const i = this.presence.findIndex((f, k) => k >= from && match(f));
      return i >= 0 ? { index: i, frame: this.presence[i] } : undefined;
    }, { timeoutMs, what });
  }

  // Every event of `subscription` received so far, in arrival order.
  received(subscription) { return this.events.get(subscription) || []; }

  // Waits for an event of `subscription` that `match(event)` accepts.
  waitForEvent(subscription, match, what, timeoutMs = 10000) {
    return this.until(() => this.received(subscription).find(match), { timeoutMs, what });
  }

  // Waits until `subscription` has at least `count` events.
  waitForCount(subscription, count, timeoutMs = 10000) {
    return this.until(() => this.received(subscription).length >= count,
                      { timeoutMs, what: `${count} events of Subscription/${subscription}` });
  }

  async close() {
    if (this.closed) return;
    const done = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close();
    await done;
  }
}

module.exports = { NotificationFeed };
