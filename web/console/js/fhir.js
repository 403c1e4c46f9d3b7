// The FHIR REST calls of the console: every request carries the user's token; an answer that
// is not 2xx becomes a FhirError with the OperationOutcome's text (what the server says a
// person should do); no answer at all becomes a NetworkError, which the outbox takes as
// "offline: keep it and send it later".

export class NetworkError extends Error {
  constructor(cause) {
    super('No connection to the server');
    this.cause = cause;
  }
}

export class FhirError extends Error {
  constructor(status, outcome, fallback) {
    super(outcomeText(outcome) || fallback || `The server answered ${status}`);
    this.status = status;
    this.outcome = outcome;
  }
}

export function outcomeText(outcome) {
  if (!outcome || outcome.resourceType !== 'OperationOutcome') return '';
  return (outcome.issue || []).map((i) => i.diagnostics || i.details?.text || i.code).filter(Boolean).join('; ');
}

// The ETag value for If-Match of a resource as read.
export function versionTag(resource) {
  return resource?.meta?.versionId ? `W/"${resource.meta.versionId}"` : undefined;
}

export function ref(resource) {
  return `${resource.resourceType}/${resource.id}`;
}

// The value[x] of the Parameters part or parameter named `name` (the first); references as
// their string.
export function param(holder, name) {
  const p = (holder?.parameter || holder?.part || []).find((x) => x.name === name);
  return p ? paramValue(p) : undefined;
}

export function params(holder, name) {
  return (holder?.parameter || holder?.part || []).filter((x) => x.name === name);
}

export function paramValue(p) {
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  if (!key) return undefined;
  return key === 'valueReference' ? p.valueReference.reference : p[key];
}

export class Fhir {
  constructor(auth) {
    this.auth = auth;
    this.base = auth.fhirBase;
  }

  // { status, resource, etag, location } for a 2xx answer; throws FhirError or NetworkError.
  async request(method, path, { body, ifMatch, headers = {} } = {}) {
    const send = async (token) => {
      const h = { Accept: 'application/fhir+json', Authorization: `Bearer ${token}`, ...headers };
      if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/fhir+json';
      if (ifMatch) h['If-Match'] = ifMatch;
      try {
        return await fetch(`${this.base}/${path}`, {
          method, headers: h, cache: 'no-store',
          body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
        });
      } catch (err) {
        throw new NetworkError(err);
      }
    };
    let token;
    try {
      token = await this.auth.accessToken();
    } catch (err) {
      if (err instanceof TypeError) throw new NetworkError(err);
      throw new FhirError(401, null, 'Your login has ended; please log in again');
    }
    let res = await send(token);
    if (res.status === 401) {
      try {
        res = await send(await this.auth.refresh());
      } catch (err) {
        if (err instanceof TypeError || err instanceof NetworkError) throw new NetworkError(err);
        throw new FhirError(401, null, 'Your login has ended; please log in again');
      }
    }
    const text = await res.text().catch(() => '');
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) throw new FhirError(res.status, json, text.slice(0, 200));
    return { status: res.status, resource: json, etag: res.headers.get('ETag'), location: res.headers.get('Location') };
  }

  async read(path) { return (await this.request('GET', path)).resource; }

  // A search: the matching resources of `type` (entries with search.mode match) and, when
  // asked, the included ones, keyed by "Type/id".
  async search(type, query) {
    const q = query instanceof URLSearchParams ? query : new URLSearchParams(query);
    const bundle = await this.read(`${type}?${q}`);
    const matches = [];
    const included = new Map();
    for (const e of bundle.entry || []) {
      if (!e.resource) continue;
      if (e.search?.mode === 'include') included.set(ref(e.resource), e.resource);
      else if (e.resource.resourceType === type) matches.push(e.resource);
    }
    return { matches, included, total: bundle.total };
  }

  async create(resource) { return (await this.request('POST', resource.resourceType, { body: resource })).resource; }

  async update(resource, ifMatch) {
    return (await this.request('PUT', `${resource.resourceType}/${resource.id}`, { body: resource, ifMatch })).resource;
  }
}
