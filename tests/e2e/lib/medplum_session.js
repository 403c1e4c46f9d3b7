'use strict';
// @medplum/core 5.2.13 binds a subscription only when it has a profile (SubscriptionManager
// skips the bind otherwise, silently), and it gets one only from a Medplum login: an access
// token whose JWT carries `login_id`, then `GET auth/me` for {profile, project, membership}.
// Fovea has neither (it is a SMART server; here it runs with --auth off). So the client is given
// the one piece it wants: a fetch that answers `auth/me` with a real Practitioner stored in
// Fovea, and an unsigned token with a `login_id` that Fovea never checks (--auth off ignores
// bearer tokens). Everything else, the subscription protocol included, goes to Fovea unchanged.

function base64url(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

// A MedplumClient options object plus login(): call it once the client exists.
async function medplumSessionFor(server, fhir) {
  const practitioner = await fhir.expect([201], 'POST', 'Practitioner',
                                         { resourceType: 'Practitioner', name: [{ family: 'Okafor', given: ['Ada'] }] });
  const session = {
    profile: practitioner,
    project: { resourceType: 'Project', id: 'fovea', name: 'Fovea' },
    membership: { resourceType: 'ProjectMembership', id: 'e2e', profile: { reference: `Practitioner/${practitioner.id}` } },
  };
  const meUrl = `${server.root}/auth/me`;
  const fetchWithSession = (url, init) => {
    if (String(url).split('?')[0] === meUrl) {
      return Promise.resolve(new Response(JSON.stringify(session), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    }
    return fetch(url, init);
  };
  const accessToken = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
    login_id: 'fovea-e2e', sub: practitioner.id, exp: Math.floor(Date.now() / 1000) + 3600,
  })}.`;
  return {
    options: { baseUrl: `${server.root}/`, fetch: fetchWithSession },
    practitioner,
    login: (medplum) => medplum.setActiveLogin({
      accessToken,
      profile: { reference: `Practitioner/${practitioner.id}` },
      project: { reference: 'Project/fovea' },
    }),
  };
}

module.exports = { medplumSessionFor };
