// The staff console: logs in through SMART, finds the unit, keeps the unit's data live and
// routes between the role screens. Built only on Fovea's public interfaces (FHIR REST, SMART,
// WebSocket subscriptions), like any third-party staff app would be.

import { Auth } from './auth.js';
import { Fhir, FhirError } from './fhir.js';
import { LiveFeed } from './live.js';
import { Outbox } from './outbox.js';
import { UnitModel } from './unit_model.js';
import { h, announce, replaceChildren, showConflict } from './ui.js';

const SCREENS = [
  { id: 'registration', label: 'Registration', roles: ['registration', 'supervisor', 'admin'] },
  { id: 'technician', label: 'Technician', roles: ['technician', 'admin'] },
  { id: 'doctor', label: 'Doctor', roles: ['doctor', 'admin'] },
  { id: 'supervisor', label: 'Supervisor', roles: ['supervisor', 'admin'] },
];
const STATE_TEXT = {
  live: 'Live',
  connecting: 'Connecting…',
  reconnecting: 'Connection lost — reconnecting…',
  offline: 'Offline — entries are kept on this device',
};

class App {
  constructor() {
    this.auth = new Auth(location.origin);
    this.fhir = new Fhir(this.auth);
    this.feeds = new Set();
    this.current = null;
  }

  get user() { return this.auth.user; }
  // Whether the user's SMART scopes let them read `type` (so screens skip what would be 403).
  canRead(type) {
    return (this.user?.scope || '').split(' ').some((s) => {
      const m = /^(?:user|patient|system)\/([A-Za-z*]+)\.([a-z*]+)$/.exec(s);
      return m && (m[1] === '*' || m[1] === type) && (m[2] === '*' || m[2] === 'read' || /^c?r/.test(m[2]));
    });
  }

  hasRole(role) { return this.user?.roles.includes(role) || this.user?.roles.includes('admin'); }
  screens() { return SCREENS.filter((s) => s.roles.some((r) => this.user.roles.includes(r))); }

  async boot() {
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/console/sw.js', { scope: '/console/' }).catch(() => {});
    const query = new URLSearchParams(location.search);
    if (query.has('code') || query.has('error')) {
      try {
        const hash = await this.auth.complete(query);
        history.replaceState(null, '', `/console/${hash}`);
      } catch (err) {
        history.replaceState(null, '', '/console/');
        return this.showLogin(err.message);
      }
    }
    if (!this.auth.session) return this.showLogin();
    await this.start();
  }

  showLogin(message) {
    const main = document.getElementById('main');
    replaceChildren(main, h('div', { class: 'login card' },
      h('h1', {}, 'Fovea staff console'),
      h('p', {}, 'Log in with your unit account to see the unit live.'),
      message ? h('p', { class: 'notice error', role: 'alert' }, message) : null,
      h('button', { type: 'button', class: 'primary', id: 'login', onclick: () => this.auth.begin() }, 'Log in')));
    this.setConnection('connecting', 'Not logged in');
  }

  async start() {
    const user = this.user;
    document.getElementById('who').textContent = `${user.username} · ${user.roles.join(', ')}`;
    const logout = document.getElementById('logout');
    logout.hidden = false;
    logout.onclick = async () => { await this.auth.logout(); location.assign('/console/'); };
    this.outbox = new Outbox(this.fhir, user);
    this.outbox.addEventListener('change', () => this.renderOutbox());
    this.outbox.addEventListener('sent', (e) => announce(`Sent: ${e.detail.entry.label}`, 'ok'));
    window.addEventListener('online', () => { this.refreshConnection(); this.outbox.flush(); });
    window.addEventListener('offline', () => this.refreshConnection());
    setInterval(() => { if (navigator.onLine) this.outbox.flush(); }, 5000);
    document.getElementById('pending').onclick = () => this.toggleOutbox();

    try {
      this.unit = await this.findUnit();
    } catch (err) {
      replaceChildren(document.getElementById('main'), h('p', { class: 'notice error', role: 'alert' }, `The unit could not be loaded: ${err.message}`));
      return;
    }
    document.getElementById('unit-name').textContent = `· ${this.unit.name || 'Mobile unit'}`;
    this.model = new UnitModel(this);
    const specs = [{ key: 'unit-tasks', topic: 'Task-changed' }];
    if (this.hasRole('supervisor')) specs.push({ key: 'unit-alerts', topic: 'supervisor-alerts' });
    this.feed = new LiveFeed(this.fhir, user, specs, 'unit');
    this.feed.addEventListener('notification', (e) => this.model.apply(e.detail.resource));
    this.feed.addEventListener('state', (e) => {
      if (e.detail.state === 'live') { this.model.reload().catch(() => {}); this.outbox.flush(); }
    });
    this.watchFeed(this.feed);
    window.fovea = this;  // for the browser tests: feeds, models, outbox
    this.renderNav();
    window.addEventListener('hashchange', () => this.route());
    await Promise.race([this.feed.start(), new Promise((r) => setTimeout(r, 2500))]);
    await this.model.reload().catch(() => this.model.restore());
    this.route();
    this.renderOutbox();
  }

  // The unit this device belongs to: the one chosen before, else the first vehicle Location.
  async findUnit() {
    const saved = JSON.parse(localStorage.getItem('fovea.unit') || 'null');
    try {
      const found = await this.fhir.search('Location', { _count: '50', _sort: 'name' });
      const vehicle = (l) => l.physicalType?.coding?.some((c) => c.code === 've');
      const unit = found.matches.find((l) => l.id === saved?.id) || found.matches.find(vehicle) || found.matches[0];
      if (!unit) throw new Error('No Location exists yet: create the unit first (or start with --demo-data)');
      localStorage.setItem('fovea.unit', JSON.stringify({ id: unit.id, name: unit.name }));
      return { id: unit.id, name: unit.name };
    } catch (err) {
      if (saved && !(err instanceof FhirError)) return saved;  // offline: the unit we had
      throw err;
    }
  }

  renderNav() {
    const nav = document.getElementById('nav');
    replaceChildren(nav, this.screens().map((s) => h('a', { href: `#/${s.id}`, dataset: { screen: s.id } }, s.label)));
  }

  async route() {
    const [name, arg] = location.hash.replace(/^#\/?/, '').split('/');
    const allowed = this.screens();
    const target = name === 'session' ? 'session' : (allowed.find((s) => s.id === name)?.id || allowed[0]?.id);
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.dataset.screen === target) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    this.current?.unmount?.();
    this.current = null;
    const main = document.getElementById('main');
    if (!target) {
      replaceChildren(main, h('p', { class: 'notice' }, 'Your role has no screen in this console.'));
      return;
    }
    replaceChildren(main);
    const module = await import(`./screens/${target}.js`);
    this.current = module.mount(this, main, arg ? decodeURIComponent(arg) : undefined);
    main.focus({ preventScroll: true });
  }

  go(hash) { location.hash = hash; }

  // Writes go through the outbox: sent at once when possible, kept in order otherwise.
  write(op) { return this.outbox.send(op); }

  watchFeed(feed) {
    this.feeds.add(feed);
    feed.addEventListener('state', () => this.refreshConnection());
    this.refreshConnection();
  }

  unwatchFeed(feed) { this.feeds.delete(feed); this.refreshConnection(); }

  refreshConnection() {
    if (!navigator.onLine) return this.setConnection('offline');
    const order = ['reconnecting', 'connecting', 'live'];
    let worst = 'live';
    for (const f of this.feeds) {
      const s = f.state === 'offline' ? 'reconnecting' : f.state;
      if (order.indexOf(s) < order.indexOf(worst)) worst = s;
    }
    this.setConnection(worst);
  }

  setConnection(state, text) {
    const box = document.getElementById('connection');
    if (box.dataset.state === state && !text) return;
    box.dataset.state = state;
    document.getElementById('connection-text').textContent = text || STATE_TEXT[state];
  }

  async renderOutbox() {
    const entries = await this.outbox.entries();
    const button = document.getElementById('pending');
    const waiting = entries.filter((e) => e.status === 'pending').length;
    const stuck = entries.length - waiting;
    button.hidden = entries.length === 0;
    button.textContent = stuck ? `${stuck} need${stuck === 1 ? 's' : ''} you · ${waiting} waiting` : `${waiting} waiting to send`;
    const panel = document.getElementById('outbox-panel');
    if (entries.length === 0) { panel.hidden = true; button.setAttribute('aria-expanded', 'false'); }
    if (stuck && panel.hidden) this.toggleOutbox(true);
    replaceChildren(panel, h('h2', {}, 'Changes on this device'),
      h('ol', {}, entries.map((e) => h('li', { dataset: { status: e.status } },
        h('span', { class: `badge ${e.status === 'pending' ? 'pending' : 'alert'}` },
          e.status === 'pending' ? 'Waiting' : e.status === 'conflict' ? 'Conflict' : 'Not accepted'), ' ',
        e.label, e.error ? h('span', { class: 'muted' }, ` — ${e.error}`) : null, ' ',
        e.status === 'conflict' ? h('button', { type: 'button', class: 'secondary', onclick: () => this.settle(e) }, 'Compare and choose') : null,
        e.status === 'failed' ? h('button', { type: 'button', class: 'secondary', onclick: () => this.outbox.retry(e.seq) }, 'Try again') : null,
        e.status !== 'pending' ? h('button', { type: 'button', class: 'danger', onclick: () => this.outbox.discard(e.seq) }, 'Discard') : null))));
    this.current?.outboxChanged?.(entries);
  }

  toggleOutbox(open) {
    const panel = document.getElementById('outbox-panel');
    panel.hidden = open === undefined ? !panel.hidden : !open;
    document.getElementById('pending').setAttribute('aria-expanded', String(!panel.hidden));
  }

  async settle(entry) {
    const choice = await showConflict({ theirs: entry.theirs, mine: entry.body, title: `${entry.label}: changed by someone else` });
    if (choice === 'theirs') await this.outbox.discard(entry.seq);
    if (choice === 'mine') await this.outbox.resolve(entry.seq, { ...entry.body, meta: undefined });
  }
}

const app = new App();
app.boot().catch((err) => {
  console.error(err);
  announce(`The console failed to start: ${err.message}`, 'error');
});
