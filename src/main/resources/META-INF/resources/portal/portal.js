// The user portal (/) and kiosk mode (/kiosk): sign in, entitled pools with availability, connect with live
// progress, the protocol choice (browser, .rdp, .vv), live sessions with reconnect and log off.
import { t, translate } from './texts.js';
import { signIn, completeSignIn, signOut, claims, accessToken } from './oidc.js';
import { api, download, follow } from './api.js';
import { openDesktop } from './desktop.js';

const kiosk = document.body.dataset.mode === 'kiosk';
const $ = (id) => document.getElementById(id);
let stopFollowing = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  children.forEach((c) => e.append(c));
  return e;
}

function say(text, kind = 'info') {
  const m = $('message');
  m.textContent = text || '';
  m.dataset.kind = kind;
  m.hidden = !text;
}

async function guard(action) {
  try {
    say('');
    await action();
  } catch (e) {
    say(e.message, 'error');
  }
}

async function showPools() {
  const pools = await api('/api/v1/me/pools');
  const list = $('pool-list');
  list.replaceChildren();
  $('pools-empty').hidden = pools.length > 0;
  for (const p of pools) {
    const availability = [t('pool.ready', { n: p.desktopsReady ?? p.readyDesktops ?? 0 }),
      t('pool.queue', { n: p.queueLength ?? 0 }),
      p.estimatedWaitSeconds ? t('pool.wait', { s: p.estimatedWaitSeconds }) : t('pool.nowait')].join(' · ');
    list.append(el('li', { class: 'card', 'data-pool': p.id },
      el('h3', { text: p.displayName }),
      el('p', { class: 'availability', text: availability }),
      el('p', { class: 'protocols', text: (p.protocols || []).join(', ').toUpperCase() }),
      el('button', { type: 'button', class: 'primary', 'data-connect': p.id,
        'aria-label': t('connect', { name: p.displayName }), text: t('connect', { name: p.displayName }),
        onclick: () => guard(() => connect(p)) })));
  }
  return pools;
}

async function showSessions() {
  const sessions = await api('/api/v1/me/sessions');
  const list = $('session-list');
  list.replaceChildren();
  $('sessions-empty').hidden = sessions.length > 0;
  for (const s of sessions) {
    list.append(el('li', { class: 'card', 'data-session': s.id },
      el('h3', { text: s.poolId }),
      el('p', { class: 'state', text: t('session.state.' + s.state) }),
      el('button', { type: 'button', 'data-reconnect': s.id, text: t('reconnect'),
        onclick: () => guard(() => track(s, { id: s.poolId, protocols: null })) }),
      el('button', { type: 'button', 'data-logoff': s.id, text: t('logoff'),
        onclick: () => guard(() => logoff(s.id)) })));
  }
}

async function refresh() {
  await showPools();
  await showSessions();
}

async function connect(pool) {
  const key = crypto.randomUUID();
  const session = await api(`/api/v1/me/pools/${encodeURIComponent(pool.id)}/desktop`,
    { method: 'POST', body: {}, headers: { 'Idempotency-Key': key } });
  await track(session, pool);
}

/** Shows the session's progress live until it is ready, then the ways to open it. */
async function track(session, pool) {
  if (stopFollowing) stopFollowing();
  const panel = $('progress');
  panel.hidden = false;
  $('progress-pool').textContent = pool.displayName || session.poolId;
  render(session, pool);
  if (session.state === 'QUEUED' || session.state === 'PROVISIONING') {
    stopFollowing = follow(`/api/v1/me/sessions/${session.id}/events`, (s) => render(s, pool));
  }
  await refresh();
}

async function protocolsOf(pool, session) {
  if (pool.protocols) return pool.protocols;
  const pools = await api('/api/v1/me/pools');
  const p = pools.find((x) => x.id === session.poolId);
  return p ? p.protocols : ['rdp', 'spice', 'vnc'];
}

function render(s, pool) {
  const status = $('progress-status');
  const choices = $('choices');
  status.dataset.state = s.state;
  if (s.state === 'QUEUED') {
    status.textContent = t('progress.queued', { position: s.queuePosition ?? '?', eta: s.etaSeconds ?? '?' });
  } else if (s.state === 'PROVISIONING') {
    status.textContent = s.queuePosition
      ? t('progress.queued', { position: s.queuePosition, eta: s.etaSeconds ?? '?' }) : t('progress.provisioning');
  } else if (s.state === 'ENDED') {
    status.textContent = t('progress.ended');
  } else {
    status.textContent = t('progress.ready');
  }
  choices.replaceChildren();
  if (!['READY', 'CONNECTED', 'DISCONNECTED'].includes(s.state)) return;
  protocolsOf(pool, s).then((protocols) => {
    if (kiosk) {
      guard(() => openInBrowser(s));
      return;
    }
    if (protocols.includes('vnc')) {
      choices.append(el('button', { type: 'button', class: 'primary', id: 'open-browser', text: t('open.browser'),
        onclick: () => guard(() => openInBrowser(s)) }));
    }
    if (protocols.includes('rdp')) {
      choices.append(el('button', { type: 'button', id: 'download-rdp', text: t('download.rdp'),
        onclick: () => guard(() => download(`/api/v1/me/sessions/${s.id}/connection.rdp`, 'desktop.rdp')) }));
    }
    if (protocols.includes('spice') || protocols.includes('vnc')) {
      choices.append(el('button', { type: 'button', id: 'download-vv', text: t('download.vv'),
        onclick: () => guard(() => download(`/api/v1/me/sessions/${s.id}/connection.vv`, 'desktop.vv')) }));
    }
    choices.append(el('button', { type: 'button', id: 'logoff-current', text: t('logoff'),
      onclick: () => guard(() => logoff(s.id)) }));
  });
}

async function openInBrowser(session) {
  const ticket = await api(`/api/v1/console/sessions/${session.id}/ticket`, { method: 'POST' });
  $('portal').hidden = true;
  await openDesktop($('desktop'), ticket, {
    onClosed: (reason) => {
      if (kiosk) {
        signOut();
        return;
      }
      $('portal').hidden = false;
      say(reason || t('desktop.closed'));
      refresh().catch(() => {});
    },
  });
}

async function logoff(sessionId) {
  if (stopFollowing) stopFollowing();
  await api(`/api/v1/me/sessions/${sessionId}/logoff`, { method: 'POST' });
  $('progress').hidden = true;
  say(t('logoff.done'));
  await refresh();
}

async function startKiosk(pools) {
  const wanted = new URLSearchParams(location.search).get('pool') || document.body.dataset.pool;
  const pool = wanted ? pools.find((p) => p.id === wanted) : pools.length === 1 ? pools[0] : null;
  if (!pool) {
    say(t('kiosk.nopool'), 'error');
    return;
  }
  await connect(pool);
}

async function main() {
  translate();
  $('signin').addEventListener('click', () => guard(signIn));
  $('signout').addEventListener('click', () => guard(signOut));
  try {
    await completeSignIn();
  } catch (e) {
    say(e.message, 'error');
  }
  if (!accessToken()) {
    $('signin-panel').hidden = false;
    if (kiosk && !$('message').textContent) guard(signIn);
    return;
  }
  $('signin-panel').hidden = true;
  $('signout').hidden = false;
  $('user').textContent = t('signedin.as', { user: claims().preferred_username || '' });
  $('portal').hidden = false;
  await guard(async () => {
    const pools = await showPools();
    await showSessions();
    if (kiosk) await startKiosk(pools);
  });
}

main();
