// Calls the broker's API with the in-memory token and turns problems into sentences a user understands.
import { accessToken } from './oidc.js';
import { t } from './texts.js';

export class ApiError extends Error {
  constructor(message, status, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

function words(status, problem) {
  const type = (problem && problem.type) || '';
  if (status === 401) return t('error.expired');
  if (status === 403 && type.endsWith('/identity-provider-unavailable')) return t('error.idp-down');
  if (status === 403) return t('error.not-entitled');
  if (type.endsWith('/pool-full') || type.endsWith('/pool-exhausted') || status === 429) return t('error.pool-full');
  if (type.endsWith('/identity-provider-unavailable')) return t('error.idp-down');
  if (status === 503) return t('error.unavailable');
  if (status === 400 && problem) {
    // what was wrong, field by field (e.g. an admin's pool form): the broker's own words
    const fields = Object.entries(problem.errors || {}).map(([k, v]) => `${k}: ${v}`).join('; ');
    return t('error.invalid', { detail: [problem.detail, fields].filter(Boolean).join(' — ') });
  }
  return t('error.generic', { status });
}

export async function api(path, { method = 'GET', body, headers = {}, raw = false } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const token = accessToken();
  if (token) h.Authorization = 'Bearer ' + token;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(t('error.network'), 0, 'network');
  }
  if (!r.ok) {
    let problem = null;
    try { problem = await r.json(); } catch (e) { /* not JSON */ }
    throw new ApiError(words(r.status, problem), r.status, problem && problem.type);
  }
  if (raw) return r;
  return r.status === 204 ? null : r.json();
}

/** Downloads a file the API serves (connection files need the token, so no plain link). */
export async function download(path, fallbackName) {
  const r = await api(path, { raw: true, headers: { Accept: '*/*' } });
  const disposition = r.headers.get('Content-Disposition') || '';
  const m = /filename="([^"]+)"/.exec(disposition);
  const blob = await r.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : fallbackName;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

/** Follows the session's server-sent events; calls onEvent for each until the stream ends or stop() is called. */
export function follow(path, onEvent) {
  const controller = new AbortController();
  (async () => {
    const r = await fetch(path, {
      headers: { Accept: 'text/event-stream', Authorization: 'Bearer ' + accessToken() },
      signal: controller.signal,
    });
    if (!r.ok || !r.body) return;
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const chunk = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = chunk.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        if (data) onEvent(JSON.parse(data));
      }
    }
  })().catch(() => {});
  return () => controller.abort();
}
