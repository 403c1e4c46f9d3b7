// SMART App Launch (standalone, authorization code with PKCE) against Fovea's own authorization
// server. Tokens live in sessionStorage: they survive a reload of this tab (also offline) and
// end with it. The access token is refreshed shortly before it expires.

const CLIENT_ID = 'fovea-console';
const SCOPE = 'openid fhirUser offline_access user/*.cruds';
const KEY = 'fovea.session';
const PENDING = 'fovea.pkce';

function base64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function jwtClaims(token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const json = decodeURIComponent(Array.from(atob(part), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''));
  return JSON.parse(json);
}

export class Auth {
  constructor(origin) {
    this.origin = origin;
    this.redirectUri = `${origin}/console/`;
    this.fhirBase = `${origin}/fhir/R4`;
    this.session = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    this.refreshing = null;
  }

  get user() {
    if (!this.session) return null;
    const c = jwtClaims(this.session.access_token);
    return { username: c.sub, fhirUser: c.fhirUser, roles: c.roles || [], scope: c.scope };
  }

  // Sends the browser to the login page.
  async begin() {
    const verifier = randomString(48);
    const state = randomString(16);
    const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, hash: location.hash }));
    const q = new URLSearchParams({
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: this.redirectUri, scope: SCOPE,
      state, code_challenge: challenge, code_challenge_method: 'S256', aud: this.fhirBase,
    });
    location.assign(`${this.origin}/auth/authorize?${q}`);
  }

  // On the redirect back: exchanges the code. Returns the hash the user was on, or throws with a
  // message for the login screen.
  async complete(params) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
    sessionStorage.removeItem(PENDING);
    if (params.get('error')) throw new Error(params.get('error_description') || params.get('error'));
    if (!pending || pending.state !== params.get('state')) throw new Error('The login answer does not belong to this tab; please log in again.');
    await this.token({ grant_type: 'authorization_code', code: params.get('code'), redirect_uri: this.redirectUri,
                       client_id: CLIENT_ID, code_verifier: pending.verifier });
    return pending.hash || '';
  }

  async token(form) {
    const res = await fetch(`${this.origin}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error(body.error_description || body.error || `The login server answered ${res.status}`);
      err.status = res.status;
      throw err;
    }
    this.session = { ...body, obtained: Date.now(), refresh_token: body.refresh_token || this.session?.refresh_token };
    sessionStorage.setItem(KEY, JSON.stringify(this.session));
  }

  // A valid access token, refreshed when it has less than a minute left. Throws a NetworkError
  // (TypeError from fetch) when offline, or an Error with status 400/401 when the session ended.
  async accessToken() {
    if (!this.session) throw Object.assign(new Error('Not logged in'), { status: 401 });
    const expires = this.session.obtained + (this.session.expires_in || 600) * 1000;
    if (Date.now() < expires - 60000) return this.session.access_token;
    return this.refresh();
  }

  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.token({ grant_type: 'refresh_token', refresh_token: this.session.refresh_token, client_id: CLIENT_ID })
        .then(() => this.session.access_token)
        .finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  async logout() {
    const refresh = this.session?.refresh_token;
    this.session = null;
    sessionStorage.removeItem(KEY);
    if (refresh) {
      await fetch(`${this.origin}/auth/revoke`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: refresh, client_id: CLIENT_ID }),
      }).catch(() => {});
    }
  }
}
