'use strict';
// Small helpers over fetch for the FHIR API of a started server.

function client(fhirBase) {
  async function request(method, path, body) {
    const headers = { Accept: 'application/fhir+json' };
    if (body !== undefined) headers['Content-Type'] = 'application/fhir+json';
    const res = await fetch(`${fhirBase}/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }
  // The request must answer one of `statuses`; its JSON body is returned.
  async function expect(statuses, method, path, body) {
    const r = await request(method, path, body);
    if (!statuses.includes(r.status)) {
      throw new Error(`${method} ${path}: ${r.status} (wanted ${statuses.join('/')})\n${r.text}`);
    }
    return r.json;
  }
  return { request, expect };
}

// The value[x] of parameter `name` in a Parameters resource.
function param(parameters, name) {
  const p = (parameters.parameter || []).find((x) => x.name === name);
  if (!p) return undefined;
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  return key === 'valueReference' ? p.valueReference.reference : p[key];
}

// The Backport IG's status Parameters of a notification Bundle (its first entry).
function backportStatus(bundle) {
  const params = bundle.entry[0].resource;
  if (params.resourceType !== 'Parameters') throw new Error(`first entry is ${params.resourceType}, not Parameters`);
  const events = (params.parameter || []).filter((p) => p.name === 'notification-event').map((p) => {
    const part = (n) => p.part.find((x) => x.name === n);
    return {
      number: Number(part('event-number').valueString),
      focus: part('focus') ? part('focus').valueReference.reference : undefined,
    };
  });
  return {
    type: param(params, 'type'),
    subscription: param(params, 'subscription'),
    eventsSinceStart: Number(param(params, 'events-since-subscription-start')),
    events,
  };
}

module.exports = { client, param, backportStatus };
