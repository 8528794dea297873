// Sign-in with Keycloak: authorization code flow with PKCE (S256) for the public client the broker names in
// GET /api/v1/login. Only the PKCE verifier and state survive the redirect (sessionStorage, removed on return);
// the tokens live in this module's memory and are never stored.
import { t } from './texts.js';

let info = null;
let tokens = null;
let refreshTimer = null;

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n = 32) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function loginInfo() {
  if (!info) {
    const r = await fetch('/api/v1/login', { headers: { Accept: 'application/json' } });
    if (!r.ok) throw new Error(t('error.network'));
    info = await r.json();
  }
  return info;
}

function redirectUri() {
  return location.origin + location.pathname;
}

/** True when Keycloak answers at all (an opaque no-cors answer is enough); false when it cannot be reached. */
async function identityProviderUp(issuer) {
  try {
    await fetch(issuer + '/.well-known/openid-configuration', { mode: 'no-cors', cache: 'no-store' });
    return true;
  } catch (e) {
    return false;
  }
}

/** Sends the browser to Keycloak's login page; throws a user-worded error when Keycloak is down. */
export async function signIn() {
  const { issuer, portalClientId } = await loginInfo();
  if (!(await identityProviderUp(issuer))) throw new Error(t('error.idp-down'));
  const verifier = random(48);
  const state = random(16);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  // the page's own query (e.g. /kiosk?pool=ID) is not part of the redirect URI: keep it for the return
  const search = location.search || sessionStorage.getItem('vdi.search') || '';
  sessionStorage.removeItem('vdi.search');
  sessionStorage.setItem('vdi.pkce', JSON.stringify({ verifier, state, search }));
  const url = new URL(issuer + '/protocol/openid-connect/auth');
  url.search = new URLSearchParams({
    response_type: 'code', client_id: portalClientId, redirect_uri: redirectUri(), scope: 'openid',
    state, code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** On return from Keycloak: exchanges the code for tokens. Returns true when signed in by this call. */
export async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return false;
  const saved = JSON.parse(sessionStorage.getItem('vdi.pkce') || 'null');
  sessionStorage.removeItem('vdi.pkce');
  history.replaceState(null, '', location.pathname + ((saved && saved.search) || ''));
  if (params.has('error') || !saved || saved.state !== params.get('state')) throw new Error(t('error.signin'));
  const { issuer, portalClientId } = await loginInfo();
  let r;
  try {
    r = await fetch(issuer + '/protocol/openid-connect/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri(),
        client_id: portalClientId, code_verifier: saved.verifier,
      }),
    });
  } catch (e) {
    throw new Error(t('error.idp-down'));
  }
  if (!r.ok) throw new Error(t('error.signin'));
  keep(await r.json());
  return true;
}

function keep(answer) {
  tokens = answer;
  clearTimeout(refreshTimer);
  if (answer.refresh_token && answer.expires_in) {
    refreshTimer = setTimeout(refresh, Math.max(5, answer.expires_in - 30) * 1000);
  }
}

async function refresh() {
  const { issuer, portalClientId } = await loginInfo();
  try {
    const r = await fetch(issuer + '/protocol/openid-connect/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: portalClientId }),
    });
    if (r.ok) keep(await r.json());
  } catch (e) {
    // the next API call reports the expiry in words
  }
}

export function accessToken() {
  return tokens ? tokens.access_token : null;
}

/** The access token's claims (display only: the broker checks the token itself). */
export function claims() {
  if (!tokens) return {};
  const part = tokens.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(decodeURIComponent(escape(atob(part))));
}

/** Ends the Keycloak session and comes back to this page. */
export async function signOut() {
  const { issuer, portalClientId } = await loginInfo();
  const idToken = tokens && tokens.id_token;
  tokens = null;
  clearTimeout(refreshTimer);
  if (location.search) sessionStorage.setItem('vdi.search', location.search); // the next sign-in returns here
  const url = new URL(issuer + '/protocol/openid-connect/logout');
  const q = { client_id: portalClientId, post_logout_redirect_uri: redirectUri() };
  if (idToken) q.id_token_hint = idToken;
  url.search = new URLSearchParams(q).toString();
  location.assign(url.toString());
}
