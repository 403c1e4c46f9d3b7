'use strict';
// Staff with SMART tokens for a `fovea serve --auth on`: accounts and the first-party staff
// console are made with the CLI before serving (startFovea's beforeServe), tokens come from the
// password grant at /auth/token, and each member gets a FHIR client that sends their token.

const CONSOLE_ID = 'staff-console';

// In beforeServe: `fovea client add` for the console, `fovea user add` for each of `people`
// ({ username: role }). Returns { username: { role, password, fhirUser } }, fhirUser as the CLI
// printed it ("Practitioner/<id>").
function addStaff(fovea, people) {
  fovea(['client', 'add', '--client-id', CONSOLE_ID, '--public', '--redirect-uri',
         'https://console.unit.test/callback', '--first-party', '--name', 'Staff console']);
  const staff = {};
  for (const [username, role] of Object.entries(people)) {
    const password = `pass-${username}-e2e`;  // at least 10 characters
    const out = fovea(['user', 'add', '--username', username, '--role', role, '--name', `E2E ${username}`,
                       '--password-stdin'], `${password}\n`);
    const m = /\((Practitioner\/[A-Za-z0-9.-]+),/.exec(out);
    if (!m) throw new Error(`fovea user add ${username}: no Practitioner in its output: ${out}`);
    staff[username] = { role, password, fhirUser: m[1] };
  }
  return staff;
}

// The password grant (first-party devices only). Returns the access token response.
async function login(root, username, password) {
  const res = await fetch(`${root}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: CONSOLE_ID, username, password }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// The claims of a JWT (not verified: the server does that).
function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

// A FHIR client with a bearer token. request(method, path, body, headers) answers
// { status, json, text, headers }; a body is sent as application/fhir+json unless the headers
// say otherwise. `onRequest(sent, done)` (optional) sees a tick before and after each request,
// from a clock shared by every client, so a test can order what happened.
function fhirClient(fhirBase, token, clock) {
  async function request(method, path, body, headers = {}) {
    const h = { Accept: 'application/fhir+json', Authorization: `Bearer ${token}`, ...headers };
    if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/fhir+json';
    const sent = clock ? clock.tick() : 0;
    const res = await fetch(`${fhirBase}/${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    const text = await res.text();
    const done = clock ? clock.tick() : 0;
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers, sent, done };
  }
  // The request must answer one of `statuses`; the whole answer is returned.
  async function expect(statuses, method, path, body, headers) {
    const r = await request(method, path, body, headers);
    if (!statuses.includes(r.status)) {
      throw new Error(`${method} ${path}: ${r.status} (wanted ${statuses.join('/')})\n${r.text}`);
    }
    return r;
  }
  return { request, expect };
}

// A logical clock: every tick is larger than every earlier one. A write that answered before
// another was sent committed first, so its events come first.
function logicalClock() {
  let now = 0;
  return { tick: () => ++now };
}

module.exports = { addStaff, login, jwtClaims, fhirClient, logicalClock };
