'use strict';
// Rest-hook subscriptions against a real `fovea serve` and a small receiver (lib/rest_hook_receiver.js).
// Smoke level: the handshake and the move to `active`, then one event.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startFovea, waitFor } = require('../lib/server');
const { client, backportStatus } = require('../lib/fhir');
const { startReceiver } = require('../lib/rest_hook_receiver');

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';

let server;
let receiver;
let fhir;

before(async () => {
  server = await startFovea();
  receiver = await startReceiver();
  fhir = client(server.fhirBase);
});

after(async () => {
  await server?.stop();
  await receiver?.close();
});

test('a rest-hook subscription is stored requested, gets a handshake and becomes active', async () => {
  const created = await fhir.expect([201], 'POST', 'Subscription', {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'EHR feed',
    criteria: 'https://fovea.health/fhir/SubscriptionTopic/Task-changed',
    channel: {
      type: 'rest-hook',
      endpoint: `${receiver.url}/hook`,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: BACKPORT + 'backport-payload-content', valueCode: 'id-only' }] },
      header: ['X-Ehr-Key: s3cret'],
    },
  });
  assert.equal(created.status, 'requested', 'stored requested until its handshake succeeds');

  const handshake = await receiver.next(15000);
  assert.equal(handshake.method, 'POST');
  assert.equal(handshake.path, '/hook');
  assert.match(handshake.headers['content-type'], /^application\/fhir\+json/);
  assert.equal(handshake.headers['x-ehr-key'], 's3cret');
  assert.equal(backportStatus(handshake.body).type, 'handshake');

  await waitFor(async () => (await fhir.expect([200], 'GET', `Subscription/${created.id}`)).status === 'active',
                { timeoutMs: 15000, what: 'the subscription to become active' });

  await fhir.expect([201], 'PUT', 'Task/t1', { resourceType: 'Task', id: 't1', status: 'ready', intent: 'order' });
  const event = await receiver.next(15000);
  const status = backportStatus(event.body);
  assert.equal(status.type, 'event-notification');
  assert.deepEqual(status.events.map((e) => e.number), [1]);
  assert.equal(status.events[0].focus, `${server.fhirBase}/Task/t1`);
});
