'use strict';
// Console latency (issue 10): the time from a change committed by one client to another
// browser's DOM showing it, against the raw notification latency measured in the same run.
//
// One `fovea serve --demo-data` (SMART on). A technician (plain fetch, the writer) changes an
// acuity Observation of a demo session N times. Two observers of the same session:
//   - baseline: a raw WebSocket (`ws`) bound to a screening-session subscription of that
//     Encounter: the time the notification frame carrying the new value arrives;
//   - console: the session screen in headless Chromium (playwright-core): the time a
//     MutationObserver in the page sees the new value in the DOM.
// Both clocks are the machine's epoch clock (performance.timeOrigin + performance.now()), and
// both are measured from the moment the writer sent the PUT. One change at a time: the next
// is sent when both observers saw the last. Prints one JSON line.
//
//   node bench/console/latency.js [--changes 100] [--warmup 5]
// Needs FOVEA_BIN and FOVEA_TEST_PG_DSN (scripts/bench-console.sh sets both).

const path = require('node:path');
const { createRequire } = require('node:module');
const { performance } = require('node:perf_hooks');
const e2e = path.resolve(__dirname, '..', '..', 'tests', 'e2e');
const requireE2e = createRequire(path.join(e2e, 'package.json'));
const WebSocket = requireE2e('ws');
const { startFovea } = require(path.join(e2e, 'lib', 'server'));
const { launchBrowser, staffConsole } = require(path.join(e2e, 'console', 'lib', 'browser'));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const CHANGES = flag('changes', 100);
const WARMUP = flag('warmup', 5);
const TOPIC = 'https://fovea.health/fhir/SubscriptionTopic/screening-session';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
const now = () => performance.timeOrigin + performance.now();

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function main() {
  const server = await startFovea({ auth: 'on', extraArgs: ['--demo-data'] });
  const browser = await launchBrowser();
  try {
    const token = async (username, password) => (await (await fetch(`${server.root}/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'fovea-console', username, password }),
    })).json()).access_token;
    const writer = await token('technician', 'demo-technician');
    const fhir = async (method, p, body, headers = {}) => {
      const res = await fetch(`${server.fhirBase}/${p}`, {
        method, body: body && JSON.stringify(body),
        headers: { Authorization: `Bearer ${writer}`, 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json', ...headers },
      });
      const json = await res.json();
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
      return json;
    };
    // A demo session and an acuity Observation in it.
    const encounters = await fhir('GET', 'Encounter?status=arrived,in-progress&_count=1');
    const enc = encounters.entry[0].resource;
    let obs = await fhir('POST', 'Observation', {
      resourceType: 'Observation', status: 'preliminary',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '363983007' }] },
      subject: enc.subject, encounter: { reference: `Encounter/${enc.id}` },
      bodySite: { coding: [{ system: 'http://snomed.info/sct', code: '362502000' }] }, valueString: 'v-0',
    });

    // Baseline: a raw WebSocket bound to the session's subscription.
    const sub = await fhir('POST', 'Subscription', {
      resourceType: 'Subscription', status: 'requested', reason: 'bench', criteria: TOPIC,
      _criteria: { extension: [{ url: `${BACKPORT}backport-filter-criteria`, valueString: `encounter=Encounter/${enc.id}` }] },
      channel: { type: 'websocket', payload: 'application/fhir+json',
                 _payload: { extension: [{ url: `${BACKPORT}backport-payload-content`, valueCode: 'full-resource' }] } },
    });
    const binding = await fhir('GET', `Subscription/${sub.id}/$get-ws-binding-token`);
    const value = (n) => {
      const p = binding.parameter.find((x) => x.name === n);
      return p[Object.keys(p).find((k) => k.startsWith('value'))];
    };
    const raw = new Map();  // marker -> arrival time
    const socket = new WebSocket(value('websocket-url'));
    await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
    socket.on('message', (data) => {
      const t = now();
      const text = data.toString();
      const m = /"valueString":"(v-\d+)"/.exec(text);
      if (m && !raw.has(m[1])) raw.set(m[1], t);
    });
    socket.send(`bind-with-token ${value('token')}`);

    // The console: technician2's session screen.
    const c = await staffConsole(browser, server.root, 'technician2', 'demo-technician2', { hash: `#/session/${enc.id}` });
    await c.page.waitForSelector('#results-title + table');
    await c.page.evaluate(() => {
      window.__seen = {};
      const scan = () => {
        const t = performance.timeOrigin + performance.now();
        for (const td of document.querySelectorAll('#results-title + table td')) {
          const m = /^v-\d+$/.exec(td.textContent);
          if (m && !(m[0] in window.__seen)) window.__seen[m[0]] = t;
        }
      };
      new MutationObserver(scan).observe(document.getElementById('main'), { subtree: true, childList: true, characterData: true });
    });

    const rawMs = [];
    const domMs = [];
    for (let i = 1; i <= WARMUP + CHANGES; ++i) {
      const marker = `v-${i}`;
      const body = { ...obs, valueString: marker };
      delete body.meta;
      const sent = now();
      obs = await fhir('PUT', `Observation/${obs.id}`, body, { 'If-Match': `W/"${obs.meta.versionId}"` });
      const deadline = Date.now() + 10000;
      let dom;
      for (;;) {
        dom = await c.page.evaluate((k) => window.__seen[k], marker);
        if (dom !== undefined && raw.has(marker)) break;
        if (Date.now() > deadline) throw new Error(`change ${i} not seen within 10 s (dom ${dom}, raw ${raw.get(marker)})`);
        await new Promise((r) => setImmediate(r));
      }
      if (i > WARMUP) {
        rawMs.push(raw.get(marker) - sent);
        domMs.push(dom - sent);
      }
    }
    socket.close();
    rawMs.sort((a, b) => a - b);
    domMs.sort((a, b) => a - b);
    const r = (x) => Math.round(x * 100) / 100;
    console.log(JSON.stringify({
      changes: CHANGES,
      raw_p50_ms: r(percentile(rawMs, 0.5)), raw_p99_ms: r(percentile(rawMs, 0.99)),
      dom_p50_ms: r(percentile(domMs, 0.5)), dom_p99_ms: r(percentile(domMs, 0.99)),
      errors: c.errors,
    }));
    await c.context.close();
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
