'use strict';
// Presence across nodes (issue 7, docs/WORKFLOW.md "Presence"): two or three `fovea serve
// --auth on` on one database. Staff follow one screening session over their own WebSocket (a
// task-status subscription filtered to the session's Encounter), each on a different node:
// every follower is told who is there when it binds ("current"), and of every join and leave
// on any node ("join"/"leave", with the whole active list); $session-status on any node lists
// them as active staff. A node that shuts down takes its staff with it at once; a node that is
// killed has its staff expired by the others after --presence-timeout.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startFovea } = require('../lib/server');
const { param } = require('../lib/fhir');
const { addStaff, login, fhirClient } = require('../lib/staff');
const { NotificationFeed } = require('../lib/notification_feed');

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
const TOPIC = 'https://fovea.health/fhir/SubscriptionTopic/';
const PEOPLE = { reg: 'registration', tech1: 'technician', doc: 'doctor', sup: 'supervisor', admin: 'admin' };
const TIMEOUT_SECONDS = 3;  // --presence-timeout: the least the server accepts

let node1;
let node2;
let staff;        // username -> { role, password, fhirUser }
let encounter;    // the session's Encounter id
const extra = ['--presence-timeout', String(TIMEOUT_SECONDS)];
const opened = [];  // feeds, closed at the end

// A FHIR client for `user` on `node` (each node issues its own tokens).
async function as(user, node) {
  const token = (await login(node.root, user, staff[user].password)).access_token;
  return fhirClient(node.fhirBase, token);
}

// `user` follows the session on `node`: a task-status subscription filtered to its Encounter,
// bound on a WebSocket of that node.
async function follow(user, node) {
  const client = await as(user, node);
  const s = (await client.expect([201], 'POST', 'Subscription', {
    resourceType: 'Subscription', status: 'requested', reason: 'e2e: presence',
    criteria: `${TOPIC}task-status`,
    _criteria: { extension: [{ url: `${BACKPORT}backport-filter-criteria`, valueString: `encounter=Encounter/${encounter}` }] },
    channel: { type: 'websocket', payload: 'application/fhir+json' },
  })).json;
  const p = (await client.expect([200], 'POST', `Subscription/${s.id}/$get-ws-binding-token`)).json;
  const feed = await NotificationFeed.open(node.wsUrl, `${user}@${node.root}`);
  opened.push(feed);
  await feed.bind(param(p, 'token'), [s.id]);
  return feed;
}

const who = (frame) => frame.active.map((a) => a.reference).sort();
const refs = (...users) => users.map((u) => staff[u].fhirUser).sort();

// Waits for `feed`'s next presence frame (after `from`) of `event` about `user`.
function waitFor(feed, event, user, from = 0) {
  return feed.waitForPresence(
    (f) => f.session === `Encounter/${encounter}` && f.event === event && (!user || f.staff?.reference === staff[user].fhirUser),
    `presence ${event} ${user || ''}`, { from, timeoutMs: 15000 });
}

before(async () => {
  node1 = await startFovea({ auth: 'on', extraArgs: extra, beforeServe: ({ fovea }) => { staff = addStaff(fovea, PEOPLE); } });
  node2 = await startFovea({ auth: 'on', extraArgs: extra, sameDatabaseAs: node1 });
  const reg = await as('reg', node1);
  const admin = await as('admin', node1);
  const patient = (await admin.expect([201], 'POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Mensah' }] })).json;
  const unit = (await admin.expect([201], 'POST', 'Location', {
    resourceType: 'Location', status: 'active', mode: 'instance', name: 'Screening van 3',
  })).json;
  const started = await reg.expect([201], 'POST', 'Encounter/$start-screening', {
    resourceType: 'Parameters',
    parameter: [{ name: 'patient', valueReference: { reference: `Patient/${patient.id}` } },
                { name: 'location', valueReference: { reference: `Location/${unit.id}` } }],
  });
  encounter = started.json.entry.find((e) => e.resource.resourceType === 'Encounter').resource.id;
});

after(async () => {
  for (const feed of opened) await feed.close();
  if (node2) await node2.stop();
  if (node1) await node1.stop();
});

test('staff following a session on different nodes see each other join and leave', async () => {
  const tech = await follow('tech1', node1);
  const mine = await waitFor(tech, 'current');
  assert.deepEqual(who(mine.frame), refs('tech1'), 'the technician sees themselves present');
  assert.deepEqual(mine.frame.active[0].roles, ['technician']);
  assert.equal(mine.frame.active[0].user, 'tech1');

  const doc = await follow('doc', node2);
  const docs = await waitFor(doc, 'current');
  assert.deepEqual(who(docs.frame), refs('tech1', 'doc'), 'the doctor, on the other node, sees both');
  const joined = await waitFor(tech, 'join', 'doc');
  assert.deepEqual(who(joined.frame), refs('tech1', 'doc'), 'the join reached node 1 with the whole list');
  assert.deepEqual(joined.frame.staff.roles, ['doctor']);

  // $session-status on either node counts both as active, with since when.
  for (const node of [node1, node2]) {
    const status = (await (await as('sup', node)).expect([200], 'GET', `Encounter/${encounter}/$session-status`)).json;
    const active = status.parameter.filter((p) => p.name === 'active-staff').map((p) => p.valueReference.reference).sort();
    assert.deepEqual(active, refs('tech1', 'doc'));
    const present = status.parameter.filter((p) => p.name === 'present');
    assert.equal(present.length, 2);
    for (const p of present) assert.ok(!Number.isNaN(Date.parse(p.part.find((x) => x.name === 'since').valueDateTime)));
  }

  // The doctor closes their screen: node 1's technician hears they left.
  await doc.close();
  const left = await waitFor(tech, 'leave', 'doc', joined.index + 1);
  assert.deepEqual(who(left.frame), refs('tech1'));
  const status = (await (await as('sup', node1)).expect([200], 'GET', `Encounter/${encounter}/$session-status`)).json;
  assert.deepEqual(status.parameter.filter((p) => p.name === 'present').map((p) => p.part[0].valueReference.reference),
                   refs('tech1'));
});

test('a second device of the same person neither joins nor leaves them', async () => {
  const sup = await follow('sup', node1);
  await waitFor(sup, 'current');
  const tech = await follow('tech1', node2);  // the technician's second device
  const current = await waitFor(tech, 'current');
  assert.ok(who(current.frame).includes(staff.tech1.fhirUser));
  // A barrier: the doctor joining after the second device. The supervisor must hear of the
  // doctor and of nothing about the technician in between.
  const doc = await follow('doc', node2);
  const joined = await waitFor(sup, 'join', 'doc');
  const aboutTech = (f) => f.event !== 'current' && f.staff.user === 'tech1';
  assert.deepEqual(sup.presence.slice(0, joined.index).filter(aboutTech), [], 'no join for a second device');
  await tech.close();
  await doc.close();
  const docLeft = await waitFor(sup, 'leave', 'doc', joined.index + 1);
  assert.ok(who(docLeft.frame).includes(staff.tech1.fhirUser), 'the technician is still present on their first device');
  assert.deepEqual(sup.presence.slice(joined.index + 1, docLeft.index).filter(aboutTech), [],
                   'no leave while the first device stays');
  await sup.close();
});

test('a node that stops takes its staff with it; a killed node\'s staff expire', async () => {
  const watcher = await follow('sup', node1);
  await waitFor(watcher, 'current');

  const node3 = await startFovea({ auth: 'on', extraArgs: extra, sameDatabaseAs: node1 });
  try {
    await follow('doc', node3);
    const joined = await waitFor(watcher, 'join', 'doc');
    await node3.stop();  // SIGTERM: a clean shutdown records the leave itself
    const left = await waitFor(watcher, 'leave', 'doc', joined.index + 1);
    assert.ok(!who(left.frame).includes(staff.doc.fhirUser));
  } finally {
    await node3.stop();
  }

  const node4 = await startFovea({ auth: 'on', extraArgs: extra, sameDatabaseAs: node1 });
  try {
    const seen = watcher.presence.length;
    await follow('doc', node4);
    const joined = await waitFor(watcher, 'join', 'doc', seen);
    await node4.kill();  // SIGKILL: nothing recorded; node 1 expires the rows
    const left = await waitFor(watcher, 'leave', 'doc', joined.index + 1);
    assert.ok(!who(left.frame).includes(staff.doc.fhirUser));
    const status = (await (await as('sup', node1)).expect([200], 'GET', `Encounter/${encounter}/$session-status`)).json;
    assert.ok(!status.parameter.some((p) => p.name === 'present' && p.part[0].valueReference.reference === staff.doc.fhirUser));
  } finally {
    await node4.stop();
  }
});
