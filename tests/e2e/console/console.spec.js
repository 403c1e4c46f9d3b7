'use strict';
// The staff console in real browsers against a real `fovea serve --demo-data` with SMART on:
// five members of staff, each in a browser context of their own (separate devices), work one
// new patient through the whole screening while the others watch it happen live.
//
// Every wait is for something on the page or the server; nothing sleeps.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startFovea } = require('../lib/server');
const { launchBrowser, staffConsole, live, screenshot, unlabelledControls, PHONE, DESKTOP } = require('./lib/browser');

const DEMO = {
  registration: 'demo-registration', technician: 'demo-technician', technician2: 'demo-technician2',
  doctor: 'demo-doctor', supervisor: 'demo-supervisor',
};

let server;
let browser;
const open = [];
const patient = { given: 'Ada', family: `Lovelace-${process.pid}`, birthDate: '1985-12-10', mrn: `MRN-${process.pid}` };
const ids = {};  // encounter, steps by code

async function login(username, options) {
  const c = await staffConsole(browser, server.root, username, DEMO[username], options);
  open.push(c);
  return c;
}

// The server's view, for assertions: an admin-free read with a supervisor's token.
async function serverRead(path) {
  const token = await (await fetch(`${server.root}/auth/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'fovea-console', username: 'supervisor', password: DEMO.supervisor }),
  })).json();
  const res = await fetch(`${server.fhirBase}/${path}`, { headers: { Authorization: `Bearer ${token.access_token}`, Accept: 'application/fhir+json' } });
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

// The worklist row of our patient's step on a technician or doctor screen.
const stepRow = (step) => `tr[data-step="${step}"]:has(td:has-text("${patient.family}"))`;

before(async () => {
  server = await startFovea({ auth: 'on', extraArgs: ['--demo-data'] });
  browser = await launchBrowser();
});

after(async () => {
  for (const c of open) await c.context.close().catch(() => {});
  await browser?.close();
  await server?.stop();
  const errors = open.flatMap((c) => c.errors);
  assert.deepEqual(errors, [], 'no uncaught errors in any page');
});

test('registration logs in through SMART, registers a new patient and checks them in', async () => {
  const reg = await login('registration');
  const { page } = reg;
  await page.waitForSelector('#queue-title');
  const before = await page.locator('tr[data-encounter]').count();
  assert.ok(before >= 1, 'the demo unit has patients waiting');
  await screenshot(page, 'registration-desktop');
  // Keyboard only: type a name, Enter searches.
  await page.focus('#q-name');
  await page.keyboard.type('Sharma');
  await page.keyboard.press('Enter');
  await page.locator('tr[data-patient]', { hasText: 'Sharma' }).first().waitFor();
  await page.click('button:has-text("New patient")');
  assert.deepEqual(await unlabelledControls(page), [], 'every control of the registration screen has a name');
  await page.fill('#p-given', patient.given);
  await page.fill('#p-family', patient.family);
  await page.fill('#p-birthdate', patient.birthDate);
  await page.fill('#p-mrn', patient.mrn);
  await page.click('button:has-text("Register and check in")');
  const row = page.locator(`tr[data-encounter]:has-text("${patient.family}")`);
  await row.waitFor();
  ids.encounter = (await row.getAttribute('data-encounter')).split('/')[1];
  const steps = await serverRead(`Task?encounter=Encounter/${ids.encounter}`);
  for (const e of steps.entry) {
    const code = e.resource.code.coding[0].code;
    ids[code] = e.resource.id;
  }
  assert.equal(steps.entry.find((e) => e.resource.id === ids['check-in']).resource.status, 'completed', 'check-in done');
  assert.equal(steps.entry.find((e) => e.resource.id === ids['visual-acuity']).resource.status, 'ready');
  await page.setViewportSize(PHONE);
  await screenshot(page, 'registration-phone');
});

let tech;
let tech2;
let drop = false;  // technician2's notifications are lost on the way (not its pongs)

test('a technician records acuity and another device sees it appear without a reload', async () => {
  tech = await login('technician', { hash: '#/technician' });
  tech2 = await login('technician2', { hash: `#/session/${ids.encounter}` });
  // From here on technician2's sockets go through a relay the test controls (a bad network).
  await tech2.context.routeWebSocket(/\/ws\/subscriptions-r4/, (ws) => {
    const upstream = ws.connectToServer();
    ws.onMessage((m) => upstream.send(m));
    upstream.onMessage((m) => { if (!(drop && String(m).includes('"event-notification"'))) ws.send(m); });
  });
  await tech2.page.waitForSelector('#results-title');
  await tech2.page.evaluate(() => { window.__sameDocument = true; });

  await tech.page.locator(`${stepRow('visual-acuity')} button:has-text("Claim")`).click();
  await tech.page.waitForURL(new RegExp(`#/technician/${ids['visual-acuity']}$`));
  await tech.page.locator('.patient-header h1', { hasText: patient.family }).waitFor();
  // technician2 sees who is on the session (presence), live.
  await tech2.page.locator('.presence .person', { hasText: /^technician$/ }).waitFor();
  await tech.page.fill('#f-right-value', '6/9');
  await tech.page.fill('#f-left-value', '6/x');
  assert.match(await tech.page.textContent('#f-left-value-error'), /Snellen fraction/, 'validation as you type');
  assert.equal(await tech.page.getAttribute('#f-left-value', 'aria-invalid'), 'true');
  await tech.page.fill('#f-left-value', '6/12');
  assert.equal(await tech.page.getAttribute('#f-left-value', 'aria-invalid'), 'false');
  assert.deepEqual(await unlabelledControls(tech.page), [], 'every control of the entry form has a name');
  await screenshot(tech.page, 'technician-desktop');
  await tech.page.click('button:has-text("Save results")');
  await tech2.page.locator('#results-title + table td', { hasText: '6/12' }).waitFor();
  await tech2.page.locator('#results-title + table td', { hasText: '6/9' }).waitFor();
  assert.equal(await tech2.page.evaluate(() => window.__sameDocument), true, 'no reload');
  await screenshot(tech2.page, 'session-desktop');
  await tech2.page.setViewportSize(PHONE);
  await screenshot(tech2.page, 'session-phone');
  await tech2.page.setViewportSize(DESKTOP);
});

test('a double claim tells the loser who has the step; missed events come back from $events', async () => {
  await tech2.page.goto(`${server.root}/console/#/technician`);
  await tech2.page.reload();  // its sockets now go through the relay
  await live(tech2.page);
  await tech2.page.locator(`${stepRow('refraction')} button:has-text("Claim")`).waitFor();
  const seen = await tech2.page.evaluate(() => window.fovea.feed.applied.length);
  // technician2's notifications are lost while the first technician claims the refraction
  // step, so its list still offers the claim.
  drop = true;
  await tech.page.goto(`${server.root}/console/#/technician`);
  await tech.page.locator(`${stepRow('refraction')} button:has-text("Claim")`).click();
  await tech.page.waitForURL(new RegExp(`#/technician/${ids.refraction}$`));
  await tech2.page.locator(`${stepRow('refraction')} button:has-text("Claim")`).click();
  await tech2.page.locator('[role=alert]', { hasText: /already claimed this refraction step/ }).waitFor();
  assert.equal(await tech2.page.evaluate(() => window.fovea.feed.applied.length), seen, 'technician2 got none of the events');
  // The network comes back: the console reconnects, the handshake counts more than it applied,
  // and the gap is filled from $events: every number once, in order.
  drop = false;
  await tech2.context.setOffline(true);
  await tech2.page.waitForSelector('#connection[data-state="offline"]');
  await tech2.context.setOffline(false);
  await live(tech2.page);
  await tech2.page.locator(`${stepRow('refraction')} td`, { hasText: 'In progress' }).waitFor();
  const applied = await tech2.page.evaluate(() => window.fovea.feed.applied);
  assert.ok(applied.length > seen, 'the missed events were applied');
  const bySub = new Map();
  for (const [sub, n] of applied) bySub.set(sub, [...(bySub.get(sub) || []), n]);
  for (const [, numbers] of bySub) {
    for (let i = 1; i < numbers.length; ++i) assert.equal(numbers[i], numbers[i - 1] + 1, `each number once, in order: ${numbers}`);
  }
});

test('offline: two entries are kept (also across a reload) and sent in order on reconnect', async () => {
  const { page, context } = tech;
  await page.goto(`${server.root}/console/#/technician/${ids.refraction}`);
  await live(page);
  await page.locator('.patient-header h1', { hasText: patient.family }).waitFor();
  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  await page.waitForSelector('#connection[data-state="offline"]');
  assert.match(await page.textContent('#connection'), /Offline/);
  await page.fill('#f-right-sphere', '-1.25');
  await page.fill('#f-right-cylinder', '-0.50');
  await page.fill('#f-right-axis', '90');
  await page.fill('#f-left-sphere', '-1.00');
  await page.click('button:has-text("Save results")');
  await page.locator('#pending', { hasText: '2 waiting to send' }).waitFor();
  await page.reload();  // still offline: the console comes from its service worker
  await page.locator('#pending', { hasText: '2 waiting to send' }).waitFor();
  await page.locator('tr[data-eye="right"] .badge.pending').waitFor();
  await screenshot(page, 'technician-offline-desktop');
  const beforeReconnect = await serverRead(`Observation?encounter=Encounter/${ids.encounter}&code=http://snomed.info/sct|251794006`);
  assert.equal(beforeReconnect.total ?? (beforeReconnect.entry || []).length, 0, 'nothing reached the server while offline');
  await context.setOffline(false);
  await page.waitForSelector('#pending', { state: 'hidden' });
  const sent = await serverRead(`Observation?encounter=Encounter/${ids.encounter}&code=http://snomed.info/sct|251794006&_sort=_lastUpdated`);
  const eyes = sent.entry.map((e) => e.resource.bodySite.coding[0].code);
  assert.deepEqual(eyes, ['362502000', '362503005'], 'right then left, as entered');
  await live(page);
});

test('a conflicting edit shows both versions and the user chooses', async () => {
  const a = await login('registration');
  const b = await login('registration');
  const found = await serverRead(`Patient?identifier=${patient.mrn}`);
  const id = found.entry[0].resource.id;
  for (const { page } of [a, b]) {
    await page.fill('#q-identifier', patient.mrn);
    await page.click('button:has-text("Search")');
    await page.locator(`tr[data-patient="${id}"] button:has-text("Edit")`).click();
  }
  await a.page.fill('#p-phone', '+1 555 0101');
  await a.page.click('button:has-text("Save changes")');
  await a.page.locator('.toast', { hasText: 'Patient details saved' }).waitFor();
  await b.page.fill('#p-phone', '+1 555 0202');
  await b.page.click('button:has-text("Save changes")');
  const dialog = b.page.locator('dialog.conflict');
  await dialog.waitFor();
  assert.match(await dialog.locator('td.theirs').allTextContents().then((t) => t.join(' ')), /555 0101/);
  assert.match(await dialog.locator('td.mine').allTextContents().then((t) => t.join(' ')), /555 0202/);
  await screenshot(b.page, 'conflict-desktop');
  await dialog.locator('button:has-text("Use mine")').click();
  await b.page.locator('.toast', { hasText: 'Patient details saved' }).waitFor();
  const now = (await serverRead(`Patient/${id}`));
  assert.equal(now.telecom.find((t) => t.system === 'phone').value, '+1 555 0202');
  assert.equal(now.meta.versionId, '3', 'two edits, neither lost silently');
});

test('the supervisor board follows the steps live; doctor and approval finish the session', async () => {
  const sup = await login('supervisor', { hash: '#/supervisor' });
  const row = sup.page.locator(`tr[data-encounter="Encounter/${ids.encounter}"]`);
  await row.locator('[data-step="visual-acuity"]').waitFor();
  await screenshot(sup.page, 'supervisor-desktop');
  // The technician completes both steps; the board moves on without a reload.
  for (const step of ['visual-acuity', 'refraction']) {
    await tech.page.goto(`${server.root}/console/#/technician/${ids[step]}`);
    await tech.page.locator('button:has-text("Complete step"):enabled').click();
    await tech.page.waitForURL(/#\/technician$/);
    await row.locator(`[data-step="${step}"]`).waitFor({ state: 'detached' });
  }
  await row.locator('[data-step="doctor-diagnosis"]').waitFor();

  const doc = await login('doctor', { hash: '#/doctor' });
  await doc.page.locator(`${stepRow('doctor-diagnosis')} button:has-text("Claim")`).click();
  await doc.page.waitForURL(new RegExp(`#/doctor/${ids['doctor-diagnosis']}$`));
  await doc.page.locator('td.today', { hasText: '6/9' }).waitFor();
  assert.equal(await doc.page.inputValue('#d-right-sphere'), '-1.25', 'prescription prefilled from refraction');
  await doc.page.check('label:has-text("Myopia") input');
  await doc.page.fill('#d-findings', 'Low myopia, both eyes.');
  await doc.page.check('#d-prescribe');
  assert.deepEqual(await unlabelledControls(doc.page), [], 'every control of the doctor\'s screen has a name');
  await screenshot(doc.page, 'doctor-desktop');
  await doc.page.setViewportSize(PHONE);
  await screenshot(doc.page, 'doctor-phone');
  await doc.page.click('#d-complete');
  await doc.page.waitForURL(/#\/doctor$/);
  await row.locator('[data-step="supervisor-approval"]').waitFor();
  await sup.page.setViewportSize(PHONE);
  await screenshot(sup.page, 'supervisor-phone');
  await sup.page.setViewportSize(DESKTOP);
  await row.locator('button:has-text("Approve")').click();
  await row.waitFor({ state: 'detached' });
  const enc = await serverRead(`Encounter/${ids.encounter}`);
  assert.equal(enc.status, 'finished');
  const rx = await serverRead(`VisionPrescription?encounter=Encounter/${ids.encounter}`);
  assert.equal(rx.entry[0].resource.status, 'active', 'approval made the prescription active');
  await tech.page.setViewportSize(PHONE);
  await tech.page.goto(`${server.root}/console/#/technician`);
  await screenshot(tech.page, 'technician-phone');
});
