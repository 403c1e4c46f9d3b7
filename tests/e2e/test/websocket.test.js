'use strict';
// The WebSocket channel over raw `ws` against a real `fovea serve`: the Backport IG's dialect
// for topic-based subscriptions, both bind forms, numbered events, ping/pong, unbind, and
// catching up by $events after being offline.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startFovea, waitFor } = require('../lib/server');
const { client, param, backportStatus } = require('../lib/fhir');
const { WsClient } = require('../lib/ws_client');

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
const TOPIC = 'https://fovea.health/fhir/SubscriptionTopic/';

let server;
let fhir;

before(async () => {
  server = await startFovea();
  fhir = client(server.fhirBase);
});

after(async () => {
  await server?.stop();
});

function topicSubscription(topic, filter, content) {
  const s = {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'e2e',
    criteria: TOPIC + topic,
    channel: {
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: BACKPORT + 'backport-payload-content', valueCode: content }] },
    },
  };
  if (filter) s._criteria = { extension: [{ url: BACKPORT + 'backport-filter-criteria', valueString: filter }] };
  return s;
}

async function createSubscription(body) {
  const s = await fhir.expect([201], 'POST', 'Subscription', body);
  assert.equal(s.status, 'active', 'a websocket subscription is active at once');
  return s.id;
}

async function token(id) {
  const p = await fhir.expect([200], 'POST', `Subscription/${id}/$get-ws-binding-token`);
  const t = param(p, 'token');
  assert.ok(t, 'a token');
  assert.equal(param(p, 'websocket-url'), server.wsUrl);
  assert.ok(param(p, 'expiration'));
  return t;
}

function task(id, status, encounter) {
  return { resourceType: 'Task', id, status, intent: 'order', encounter: { reference: `Encounter/${encounter}` } };
}

test('topic-based: bind (text and JSON), handshake, numbered events, ping/pong, unbind', async () => {
  const sub = await createSubscription(topicSubscription('task-status', 'Task?encounter=Encounter/e1', 'full-resource'));
  const other = await createSubscription(topicSubscription('Patient-changed', null, 'id-only'));

  const textSocket = await WsClient.connect(server.wsUrl);
  const jsonSocket = await WsClient.connect(server.wsUrl);
  try {
    const textToken = await token(sub);
    textSocket.send(`bind-with-token ${textToken}`);
    jsonSocket.sendJson({ type: 'bind-with-token', payload: { token: await token(sub) } });
    for (const socket of [textSocket, jsonSocket]) {
      const handshake = await socket.next();
      assert.equal(handshake.resourceType, 'Bundle');
      assert.equal(handshake.type, 'history');
      const status = backportStatus(handshake);
      assert.equal(status.type, 'handshake');
      assert.equal(status.subscription, `${server.fhirBase}/Subscription/${sub}`);
      assert.equal(status.eventsSinceStart, 0);
    }

    // ping/pong in both forms, answered in the form they came.
    textSocket.send('ping');
    assert.equal(await textSocket.nextText(), 'pong');
    jsonSocket.sendJson({ type: 'ping' });
    assert.deepEqual(await jsonSocket.next(), { type: 'pong' });

    // A Task outside the session does not notify; one inside does (event 1), then its status
    // change (event 2), each with the version that made it.
    await fhir.expect([201], 'PUT', 'Task/outside', task('outside', 'ready', 'e2'));
    await fhir.expect([201], 'PUT', 'Task/t1', task('t1', 'ready', 'e1'));
    await fhir.expect([200], 'PUT', 'Task/t1', task('t1', 'in-progress', 'e1'));
    for (const socket of [textSocket, jsonSocket]) {
      for (const [number, taskStatus] of [[1, 'ready'], [2, 'in-progress']]) {
        const bundle = await socket.next();
        const status = backportStatus(bundle);
        assert.equal(status.type, 'event-notification');
        assert.equal(status.eventsSinceStart, number);
        assert.deepEqual(status.events.map((e) => e.number), [number]);
        assert.equal(status.events[0].focus, `${server.fhirBase}/Task/t1`);
        assert.equal(bundle.entry.length, 2);
        assert.ok(bundle.entry.every((e) => e.request && e.response), 'request and response on every entry');
        assert.equal(bundle.entry[1].resource.status, taskStatus, 'full-resource: the version of the event');
      }
    }

    // Unbind the text socket, then bind it to another subscription: its handshake proves the
    // unbind was handled (the server handles one socket's messages in order).
    textSocket.send(`unbind-from-token ${textToken}`);
    textSocket.send(`bind-with-token ${await token(other)}`);
    assert.equal(backportStatus(await textSocket.next()).subscription, `${server.fhirBase}/Subscription/${other}`);

    await fhir.expect([200], 'PUT', 'Task/t1', task('t1', 'completed', 'e1'));
    const third = backportStatus(await jsonSocket.next());
    assert.equal(third.eventsSinceStart, 3);
    // Event 3 went out to every socket bound to it in the same round; the text socket's next
    // frame must be the other subscription's, so it got nothing of the unbound one.
    await fhir.expect([201], 'POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Tan' }] });
    const patientEvent = backportStatus(await textSocket.next());
    assert.equal(patientEvent.subscription, `${server.fhirBase}/Subscription/${other}`);
    assert.equal(patientEvent.eventsSinceStart, 1);
    assert.equal(textSocket.pending(), 0);
  } finally {
    await textSocket.close();
    await jsonSocket.close();
  }
});

test('catch-up: offline writes come back in order with no gap by $events', async () => {
  const sub = await createSubscription(topicSubscription('Observation-changed', 'Observation?subject=Patient/p1', 'id-only'));
  const observation = (id, value) => ({
    resourceType: 'Observation', id, status: 'final', code: { text: 'visual acuity' },
    subject: { reference: 'Patient/p1' }, valueString: value,
  });

  let socket = await WsClient.connect(server.wsUrl);
  socket.sendJson({ type: 'bind-with-token', payload: { token: await token(sub) } });
  assert.equal(backportStatus(await socket.next()).type, 'handshake');
  await fhir.expect([201], 'PUT', 'Observation/o1', observation('o1', '6/6'));
  let lastSeen = backportStatus(await socket.next()).eventsSinceStart;
  assert.equal(lastSeen, 1);

  // Offline: the socket closes, writes go on.
  await socket.close();
  const offline = ['o2', 'o3', 'o4'];
  for (const id of offline) await fhir.expect([201], 'PUT', `Observation/${id}`, observation(id, '6/9'));
  await fhir.expect([201], 'PUT', 'Observation/other', { ...observation('other', '6/12'), subject: { reference: 'Patient/p2' } });
  // The matcher numbers them whether anyone listens or not.
  await waitFor(async () => {
    const statuses = await fhir.expect([200], 'GET', `Subscription/${sub}/$status`);
    return Number(param(statuses.entry[0].resource, 'events-since-subscription-start')) === 4;
  }, { what: 'the offline events to be numbered' });

  // Back online: the handshake's count shows the gap; $events fills it, in order.
  socket = await WsClient.connect(server.wsUrl);
  try {
    socket.send(`bind-with-token ${await token(sub)}`);
    const handshake = backportStatus(await socket.next());
    assert.equal(handshake.type, 'handshake');
    assert.equal(handshake.eventsSinceStart, 4);
    const missed = await fhir.expect([200], 'GET', `Subscription/${sub}/$events?eventsSinceNumber=${lastSeen + 1}`);
    const status = backportStatus(missed);
    assert.equal(status.type, 'query-event');
    assert.deepEqual(status.events.map((e) => e.number), [2, 3, 4]);
    assert.deepEqual(status.events.map((e) => e.focus), offline.map((id) => `${server.fhirBase}/Observation/${id}`));
    lastSeen = status.events.at(-1).number;

    // And the live stream carries on from there.
    await fhir.expect([201], 'PUT', 'Observation/o5', observation('o5', '6/6'));
    const live = backportStatus(await socket.next());
    assert.equal(live.type, 'event-notification');
    assert.deepEqual(live.events.map((e) => e.number), [lastSeen + 1]);
  } finally {
    await socket.close();
  }
});
