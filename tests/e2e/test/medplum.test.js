'use strict';
// @medplum/core's MedplumClient, unchanged, against a real `fovea serve`: subscribeToCriteria
// creates a classic websocket Subscription, asks fhir/R4/Subscription/{id}/$get-ws-binding-token,
// binds over /ws/subscriptions-r4 and turns the bundles into `connect` and `message` events.
//
// Node 20 has no global WebSocket (Node 22 has); @medplum/core reads it when it loads, so the
// `ws` package stands in, as Medplum's docs suggest for Node.
globalThis.WebSocket ??= require('ws').WebSocket;

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { MedplumClient } = require('@medplum/core');
const { startFovea } = require('../lib/server');
const { client } = require('../lib/fhir');
const { medplumSessionFor } = require('../lib/medplum_session');

let server;

before(async () => {
  server = await startFovea();
});

after(async () => {
  await server?.stop();
});

// The next `type` event of an emitter, or a failure after `timeoutMs`.
function nextEvent(emitter, type, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeEventListener(type, listener);
      reject(new Error(`no '${type}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (event) => {
      clearTimeout(timer);
      emitter.removeEventListener(type, listener);
      resolve(event);
    };
    emitter.addEventListener(type, listener);
  });
}

test('MedplumClient.subscribeToCriteria gets connect, then a message with the matching Task', async () => {
  // Fovea serves FHIR at <root>/fhir/R4, the path Medplum's client appends to its baseUrl; the
  // WebSocket at <root>/ws/subscriptions-r4, where Medplum's client opens it. Only the login is
  // supplied (lib/medplum_session.js).
  const fhir = client(server.fhirBase);
  const session = await medplumSessionFor(server, fhir);
  const medplum = new MedplumClient(session.options);
  await session.login(medplum);
  assert.equal(medplum.getProfile()?.id, session.practitioner.id);
  const emitter = medplum.subscribeToCriteria('Task?status=ready');
  const errors = [];
  emitter.addEventListener('error', (e) => errors.push(e.payload));
  try {
    const connect = await nextEvent(emitter, 'connect');
    const subscriptionId = connect.payload.subscriptionId;
    assert.ok(subscriptionId, 'connect names the subscription');

    // What the client created was accepted as it is: a classic websocket subscription, active.
    const subscription = await fhir.expect([200], 'GET', `Subscription/${subscriptionId}`);
    assert.equal(subscription.criteria, 'Task?status=ready');
    assert.equal(subscription.channel.type, 'websocket');
    assert.equal(subscription.status, 'active');
    assert.equal(subscription.reason, `WebSocket subscription for Practitioner/${session.practitioner.id}`);

    // A Task that does not match, then one that does: the first message is the matching one.
    await medplum.createResource({ resourceType: 'Task', status: 'draft', intent: 'order' });
    const messageNext = nextEvent(emitter, 'message');
    const task = await medplum.createResource({ resourceType: 'Task', status: 'ready', intent: 'order', description: 'refraction' });
    const message = await messageNext;
    const bundle = message.payload;
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'history');
    const status = bundle.entry[0].resource;
    assert.equal(status.resourceType, 'SubscriptionStatus');
    assert.equal(status.type, 'event-notification');
    assert.equal(status.subscription.reference, `Subscription/${subscriptionId}`);
    assert.equal(status.notificationEvent[0].eventNumber, '1');
    assert.equal(status.notificationEvent[0].focus.reference, `Task/${task.id}`);
    // The resource itself, as Medplum's own server sends it (the caller may read it).
    assert.equal(bundle.entry[1].resource.id, task.id);
    assert.equal(bundle.entry[1].resource.description, 'refraction');
    assert.deepEqual(errors, []);
  } finally {
    medplum.unsubscribeFromCriteria('Task?status=ready');
    const manager = medplum.getSubscriptionManager();
    const closed = nextEvent(manager.getMasterEmitter(), 'close').catch(() => undefined);
    manager.closeWebSocket();
    await closed;
  }
});
