'use strict';
// HL7 v2 over MLLP with real peers from npm, both directions (docs/HL7V2.md):
//  - a Patient-changed WebSocket subscription is notified of an MLLP write (the normal path);
//  - node-hl7-client and simple-hl7 send ADT messages to `fovea serve --mllp-port` and get
//    Fovea's acknowledgements (AA, and AE with ERR naming the segment and field);
//  - node-hl7-server is the EHR that receives the ORU^R01 of an approved session from
//    `--hl7v2-outbound` and answers AA, which Fovea records ($hl7v2 shows it).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { startFovea, waitFor } = require('../lib/server');
const { client, param, backportStatus } = require('../lib/fhir');
const { WsClient } = require('../lib/ws_client');
const hl7client = require('node-hl7-client');
const { Server: Hl7Server } = require('node-hl7-server');
const simple = require('simple-hl7');

let server;
let fhir;
let mllpPort;
let ehr;
let ehrListener;
const received = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function sample(name) {
  const dir = process.env.FOVEA_SHARED_DIR ?? path.join(__dirname, '../../../../shared');
  return fs.readFileSync(path.join(dir, 'testdata/hl7v2', name), 'utf8').replace(/^\uFEFF/, '');
}

// Sends one message with node-hl7-client and resolves with Fovea's acknowledgement.
async function sendWithNodeHl7Client(text) {
  const version = text.split(/\r|\n/)[0].split('|')[11];
  const c = new hl7client.Client({ host: '127.0.0.1', version });
  let resolveAck;
  const ack = new Promise((resolve) => { resolveAck = resolve; });
  const conn = c.createConnection({ port: mllpPort, waitAck: true }, async (res) => {
    resolveAck(res.getMessage());
  });
  try {
    await conn.sendMessage(new hl7client.Message({ text }));
    return await ack;
  } finally {
    await conn.close();
  }
}

before(async () => {
  const ehrPort = await freePort();
  ehr = new Hl7Server({ bindAddress: '127.0.0.1' });
  ehrListener = ehr.createInbound({ port: ehrPort }, async (req, res) => {
    received.push(req.getMessage().toString());
    await res.sendResponse('AA');
  });
  mllpPort = await freePort();
  server = await startFovea({
    extraArgs: ['--mllp-port', String(mllpPort), '--hl7v2-outbound', `127.0.0.1:${ehrPort}`],
  });
  fhir = client(server.fhirBase);
});

after(async () => {
  await server?.stop();
  await ehrListener?.close();
});

test('node-hl7-client registers a patient (ADT^A04 sample): AA, the Patient and a started session', async () => {
  const ack = await sendWithNodeHl7Client(sample('ADT-A04-01.hl7'));
  assert.equal(ack.get('MSA.1').toString(), 'AA');
  assert.equal(ack.get('MSA.2').toString(), 'MSG00001');
  const patients = await fhir.expect([200], 'GET', 'Patient?identifier=PATID1234');
  assert.equal(patients.total ?? patients.entry.length, 1);
  assert.equal(patients.entry[0].resource.name[0].family, 'EVERYMAN');
  const encounters = await fhir.expect([200], 'GET', `Encounter?subject=Patient/${patients.entry[0].resource.id}`);
  assert.equal(encounters.entry.length, 1);
  assert.equal(encounters.entry[0].resource.status, 'arrived');
  const tasks = await fhir.expect([200], 'GET', `Task?encounter=Encounter/${encounters.entry[0].resource.id}`);
  assert.equal(tasks.entry.length, 6);  // the session Task and its five steps
});

test('node-hl7-client gets AE with an ERR naming PID-7 for a bad birth date', async () => {
  const text = 'MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102120000||ADT^A04^ADT_A01|BAD1|P|2.5.1\r' +
               'PID|1||B-1^^^HOSP^MR||Doe^Jane||19801340|F\r';
  const ack = await sendWithNodeHl7Client(text);
  assert.equal(ack.get('MSA.1').toString(), 'AE');
  assert.equal(ack.get('ERR.2.1').toString(), 'PID');
  assert.equal(ack.get('ERR.2.3').toString(), '7');
});

test('simple-hl7 sends an A08 over its own TCP client and gets AA; the patient is updated', async () => {
  const c = simple.Server.createTcpClient('127.0.0.1', mllpPort);
  const parser = new simple.Parser();
  const msg = parser.parse('MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102130000||ADT^A08|UPD1|P|2.5.1\r' +
                           'PID|1||PATID1234^^^test1^MR||EVERYMAN^ADAMS||19880818|M\r');
  const ack = await new Promise((resolve, reject) => {
    c.send(msg, (err, answer) => (err ? reject(err) : resolve(answer)));
  });
  c.close?.();
  assert.equal(ack.getSegment('MSA').getField(1), 'AA');
  const patients = await fhir.expect([200], 'GET', 'Patient?identifier=PATID1234');
  assert.deepEqual(patients.entry[0].resource.name[0].given, ['ADAMS']);
});

test('a write from MLLP is a normal write: a Patient-changed subscription is notified of the A08', async () => {
  const sub = await fhir.expect([201], 'POST', 'Subscription', {
    resourceType: 'Subscription', status: 'requested', reason: 'e2e hl7v2',
    criteria: 'https://fovea.health/fhir/SubscriptionTopic/Patient-changed',
    channel: {
      type: 'websocket', payload: 'application/fhir+json',
      _payload: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: 'id-only' }] },
    },
  });
  const socket = await WsClient.connect(server.wsUrl);
  try {
    const token = param(await fhir.expect([200], 'POST', `Subscription/${sub.id}/$get-ws-binding-token`), 'token');
    socket.send(`bind-with-token ${token}`);
    assert.equal(backportStatus(await socket.next()).type, 'handshake');
    const ack = await sendWithNodeHl7Client('MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102140000||ADT^A08^ADT_A01|SUB1|P|2.5.1\r' +
                                            'PID|1||PATID1234^^^test1^MR||EVERYMAN^ADAM||19880818|M\r');
    assert.equal(ack.get('MSA.1').toString(), 'AA');
    const patient = (await fhir.expect([200], 'GET', 'Patient?identifier=PATID1234')).entry[0].resource;
    const event = backportStatus(await socket.next(15000));
    assert.equal(event.type, 'event-notification');
    assert.equal(event.events[0].focus, `${server.fhirBase}/Patient/${patient.id}`);
  } finally {
    await socket.close();
  }
});

test('an approved session reaches node-hl7-server as ORU^R01, and its AA is recorded', async () => {
  const ack = await sendWithNodeHl7Client('MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102120000||ADT^A04^ADT_A01|ORU1|P|2.5.1\r' +
                                          'PID|1||N-7^^^HOSP^MR||Mensah^Kofi||20120304|M\r' +
                                          'PV1|1|O|||||||||||||||||VN-7^^^HOSP\r');
  assert.equal(ack.get('MSA.1').toString(), 'AA');
  const enc = (await fhir.expect([200], 'GET', 'Encounter?identifier=VN-7')).entry[0].resource;
  const patient = enc.subject.reference;
  const step = async (code) => (await fhir.expect([200], 'GET', `Task?encounter=Encounter/${enc.id}&code=${code}`)).entry[0].resource;
  const move = async (code, status) => {
    const t = await step(code);
    t.status = status;
    t.owner = { reference: 'Practitioner/e2e-staff' };
    await fhir.expect([200], 'PUT', `Task/${t.id}`, t);
  };
  const observe = (code, eye, value) => fhir.expect([201], 'POST', 'Observation', {
    resourceType: 'Observation', status: 'preliminary',
    code: { coding: [{ system: 'http://snomed.info/sct', code }] },
    subject: { reference: patient }, encounter: { reference: `Encounter/${enc.id}` },
    bodySite: { coding: [{ system: 'http://snomed.info/sct', code: eye }] }, ...value,
  });
  await move('check-in', 'in-progress');
  await move('check-in', 'completed');
  await move('visual-acuity', 'in-progress');
  await observe('363983007', '362502000', { valueString: '6/6' });
  await observe('363983007', '362503005', { valueString: '6/12' });
  await move('visual-acuity', 'completed');
  await move('refraction', 'in-progress');
  await observe('251794006', '362502000', { valueString: '-0.50 DS' });
  await observe('251794006', '362503005', { valueString: '-1.00 DS' });
  await move('refraction', 'completed');
  await move('doctor-diagnosis', 'in-progress');
  await fhir.expect([201], 'POST', 'DiagnosticReport', {
    resourceType: 'DiagnosticReport', status: 'preliminary', code: { text: 'Vision screening' },
    subject: { reference: patient }, encounter: { reference: `Encounter/${enc.id}` },
    conclusion: 'Reduced acuity, left eye: refer',
  });
  await move('doctor-diagnosis', 'completed');
  await move('supervisor-approval', 'in-progress');
  await move('supervisor-approval', 'completed');

  await waitFor(() => received.length >= 1, { timeoutMs: 30000, what: 'the ORU at the EHR' });
  assert.equal(received.length, 1);
  const oru = new hl7client.Message({ text: received[0] });
  assert.equal(oru.get('MSH.9.1').toString(), 'ORU');
  assert.equal(oru.get('MSH.9.2').toString(), 'R01');
  assert.equal(oru.get('PID.3.1').toString(), 'N-7');
  assert.equal(oru.get('PV1.19.1').toString(), 'VN-7');
  assert.match(received[0], /OBX\|\d+\|ST\|363983007\^\^SCT\|\d+\|6\/12\|/);
  assert.match(received[0], /Reduced acuity, left eye: refer/);

  await waitFor(async () => {
    const r = await fhir.expect([200], 'GET', `Encounter/${enc.id}/$hl7v2`);
    return r.parameter.some((p) => p.name === 'delivery' && p.valueCode === 'sent');
  }, { timeoutMs: 15000, what: 'delivery recorded' });
  const shown = (await fhir.expect([200], 'GET', `Encounter/${enc.id}/$hl7v2`)).parameter;
  const ackText = shown.find((p) => p.name === 'ack').valueString;
  assert.match(ackText, /MSA\|AA\|/);
  assert.equal(shown.find((p) => p.name === 'message').valueString.replace(/\r/g, '\n').trim(),
               received[0].replace(/\r/g, '\n').trim());
});
