// The admin console (/admin): hypervisors, pools, sessions, desktops, audit log and this node, all through the
// admin API. The page itself is open; the API refuses anyone without the vdi-admin role, and so does the page.
import { t, translate } from './texts.js';
import { signIn, completeSignIn, signOut, claims, accessToken } from './oidc.js';
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const TABS = ['hypervisors', 'pools', 'sessions', 'desktops', 'audit', 'nodes'];

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'onsubmit') e.addEventListener('submit', v);
    else if (k === 'text') e.textContent = v;
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v === true ? '' : v);
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
    say(e.status === 403 ? t('error.admin-only') : e.message, 'error');
  }
}

function field(name, label, attrs = {}) {
  return el('label', {}, t(label), el('input', { name, id: 'f-' + name, ...attrs }));
}

function table(headers, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col', text: t(h) })))),
    el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {},
      c instanceof Node ? c : String(c ?? '')))))));
}

function list(value) {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

// ---- hypervisors ----
async function hypervisors() {
  const [items, drivers] = await Promise.all([api('/api/v1/admin/hypervisors'), api('/api/v1/admin/drivers')]);
  const view = $('view');
  const driverSelect = el('select', { name: 'driver', id: 'f-driver' },
    ...drivers.map((d) => el('option', { value: d.id, text: d.id })));
  const props = el('div', { class: 'actions', id: 'driver-props' });
  const showProps = () => {
    const d = drivers.find((x) => x.id === driverSelect.value);
    props.replaceChildren(...(d ? d.properties : []).map((p) => el('label', {}, p.name + (p.required ? ' *' : ''),
      el('input', { name: 'prop:' + p.name, id: 'f-prop-' + p.name, type: p.secret ? 'password' : 'text',
        'data-secret': p.secret ? 'true' : 'false', required: p.required, autocomplete: 'off' }),
      el('span', { class: 'hint', text: p.description }))));
  };
  driverSelect.addEventListener('change', showProps);
  const form = el('form', { class: 'grid', id: 'hypervisor-form', onsubmit: (e) => { e.preventDefault(); guard(() => saveHypervisor(form)); } },
    field('id', 'hv.id', { required: true, pattern: '[a-z0-9][a-z0-9-]{0,62}' }),
    el('label', {}, t('hv.driver'), driverSelect),
    field('endpoint', 'hv.endpoint'),
    field('vcpus', 'hv.vcpus', { type: 'number', min: 1, value: 16 }),
    field('memoryMb', 'hv.memory', { type: 'number', min: 1, value: 65536 }),
    field('maxDesktops', 'hv.maxDesktops', { type: 'number', min: 1, value: 50 }),
    props,
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'hypervisor-save', text: t('save') })));
  showProps();
  view.replaceChildren(el('h2', { text: t('tab.hypervisors') }),
    table(['hv.id', 'hv.driver', 'hv.endpoint', 'hv.maintenance', ''], items.map((h) => [h.id, h.driver, h.endpoint,
      h.maintenance ? '✔' : '',
      el('span', {},
        el('button', { type: 'button', text: t('edit'), onclick: () => fillHypervisor(form, h, showProps) }),
        el('button', { type: 'button', text: t(h.maintenance ? 'hv.maintenance.off' : 'hv.maintenance.on'),
          onclick: () => guard(async () => {
            await api(`/api/v1/admin/hypervisors/${h.id}/maintenance?enabled=${!h.maintenance}`, { method: 'POST' });
            await hypervisors();
          }) }),
        el('button', { type: 'button', text: t('delete'), onclick: () => guard(async () => {
          await api(`/api/v1/admin/hypervisors/${h.id}`, { method: 'DELETE' });
          await hypervisors();
          say(t('deleted'));
        }) }))])),
    el('h3', { text: t('hv.add') }), form);
}

function fillHypervisor(form, h, showProps) {
  form.elements.id.value = h.id;
  form.elements.id.readOnly = true;
  form.elements.driver.value = h.driver;
  showProps();
  form.elements.endpoint.value = h.endpoint || '';
  form.elements.vcpus.value = h.capacity.vcpus;
  form.elements.memoryMb.value = h.capacity.memoryMb;
  form.elements.maxDesktops.value = h.capacity.maxDesktops;
  for (const [k, v] of Object.entries(h.config || {})) {
    const input = form.elements['prop:' + k];
    if (input) input.value = v;
  }
  form.dataset.editing = h.id;
}

async function saveHypervisor(form) {
  const f = form.elements;
  const config = {};
  const credentials = {};
  for (const input of form.querySelectorAll('[name^="prop:"]')) {
    if (!input.value) continue;
    (input.dataset.secret === 'true' ? credentials : config)[input.name.slice(5)] = input.value;
  }
  const body = { id: f.id.value, driver: f.driver.value, endpoint: f.endpoint.value || null, config,
    credentials: Object.keys(credentials).length ? credentials : undefined,
    capacity: { vcpus: +f.vcpus.value, memoryMb: +f.memoryMb.value, maxDesktops: +f.maxDesktops.value } };
  if (form.dataset.editing) {
    await api(`/api/v1/admin/hypervisors/${form.dataset.editing}`, { method: 'PUT', body });
  } else {
    await api('/api/v1/admin/hypervisors', { method: 'POST', body });
  }
  await hypervisors();
  say(t('saved'));
}

// ---- pools ----
async function pools() {
  const [items, hvs] = await Promise.all([api('/api/v1/admin/pools'), api('/api/v1/admin/hypervisors')]);
  const form = el('form', { class: 'grid', id: 'pool-form', onsubmit: (e) => { e.preventDefault(); guard(() => savePool(form)); } },
    field('id', 'pool.id', { required: true, pattern: '[a-z0-9][a-z0-9-]{0,62}' }),
    field('displayName', 'pool.displayName', { required: true }),
    el('label', {}, t('pool.assignment'), el('select', { name: 'assignment', id: 'f-assignment' },
      el('option', { value: 'floating', text: 'floating' }), el('option', { value: 'dedicated', text: 'dedicated' }))),
    field('minSize', 'pool.minSize', { type: 'number', min: 0, value: 1 }),
    field('spare', 'pool.spare', { type: 'number', min: 0, value: 1 }),
    field('maxSize', 'pool.maxSize', { type: 'number', min: 0, value: 5 }),
    field('protocols', 'pool.protocols', { value: 'rdp, vnc' }),
    field('vcpus', 'pool.vcpus', { type: 'number', min: 1, value: 2 }),
    field('memoryMb', 'pool.memoryMb', { type: 'number', min: 64, value: 2048 }),
    el('label', {}, t('pool.hypervisor'), el('select', { name: 'hypervisorId', id: 'f-hypervisorId' },
      ...hvs.map((h) => el('option', { value: h.id, text: h.id })))),
    field('templateRef', 'pool.template', { required: true }),
    field('groups', 'pool.groups', { placeholder: '/engineering' }),
    field('users', 'pool.users'),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'pool-save', text: t('save') })));
  $('view').replaceChildren(el('h2', { text: t('tab.pools') }),
    table(['pool.id', 'pool.displayName', 'pool.minSize', 'pool.spare', 'pool.maxSize', 'pool.groupStatus', ''],
      items.map((p) => [p.id, p.displayName, p.minSize, p.spare, p.maxSize,
        (p.groupStatus || []).map((g) => `${g.group}: ${g.state}`).join('; '),
        el('span', {},
          el('button', { type: 'button', text: t('edit'), onclick: () => fillPool(form, p) }),
          el('button', { type: 'button', text: t('pool.publish'), onclick: () => guard(async () => {
            const ref = prompt(t('pool.publish.template'));
            if (!ref) return;
            await api(`/api/v1/admin/pools/${p.id}/publish`, { method: 'POST',
              body: { templates: p.templates.map((x) => ({ hypervisorId: x.hypervisorId, templateRef: ref })) } });
            await pools();
            say(t('saved'));
          }) }),
          el('button', { type: 'button', text: t('delete'), onclick: () => guard(async () => {
            await api(`/api/v1/admin/pools/${p.id}`, { method: 'DELETE' });
            await pools();
            say(t('deleted'));
          }) }))])),
    el('h3', { text: t('pool.add') }), form);
}

function fillPool(form, p) {
  const f = form.elements;
  f.id.value = p.id;
  f.id.readOnly = true;
  f.displayName.value = p.displayName;
  f.assignment.value = p.assignment;
  f.minSize.value = p.minSize;
  f.spare.value = p.spare;
  f.maxSize.value = p.maxSize;
  f.protocols.value = p.protocols.join(', ');
  f.vcpus.value = p.desktop.vcpus;
  f.memoryMb.value = p.desktop.memoryMb;
  f.hypervisorId.value = p.templates[0].hypervisorId;
  f.templateRef.value = p.templates[0].templateRef;
  f.groups.value = (p.entitlements.groups || []).join(', ');
  f.users.value = (p.entitlements.users || []).join(', ');
  form.dataset.editing = p.id;
  form.dataset.original = JSON.stringify(p);
}

async function savePool(form) {
  const f = form.elements;
  const original = form.dataset.original ? JSON.parse(form.dataset.original) : {};
  const body = { ...original, id: f.id.value, displayName: f.displayName.value, assignment: f.assignment.value,
    minSize: +f.minSize.value, spare: +f.spare.value, maxSize: +f.maxSize.value, protocols: list(f.protocols.value),
    desktop: { vcpus: +f.vcpus.value, memoryMb: +f.memoryMb.value },
    templates: [{ hypervisorId: f.hypervisorId.value, templateRef: f.templateRef.value }],
    entitlements: { groups: list(f.groups.value), users: list(f.users.value) } };
  delete body.groupStatus; delete body.createdAt; delete body.updatedAt;
  if (form.dataset.editing) {
    await api(`/api/v1/admin/pools/${form.dataset.editing}`, { method: 'PUT', body });
  } else {
    await api('/api/v1/admin/pools', { method: 'POST', body });
  }
  await pools();
  say(t('saved'));
}

// ---- sessions, desktops, audit, node ----
async function sessions() {
  const items = await api('/api/v1/admin/sessions');
  $('view').replaceChildren(el('h2', { text: t('tab.sessions') }),
    table(['session.user', 'session.pool', 'session.state', 'session.desktop', ''], items.map((s) => [s.user, s.poolId,
      s.state, s.desktopId, el('button', { type: 'button', text: t('session.forceLogoff'), onclick: () => guard(async () => {
        await api(`/api/v1/admin/sessions/${s.id}/logoff`, { method: 'POST' });
        await sessions();
      }) })])));
}

async function desktops() {
  const poolList = await api('/api/v1/admin/pools');
  const rows = [];
  for (const p of poolList) {
    for (const d of await api(`/api/v1/admin/pools/${p.id}/desktops`)) rows.push(d);
  }
  $('view').replaceChildren(el('h2', { text: t('tab.desktops') }),
    table(['desktop.name', 'session.pool', 'desktop.state', 'desktop.host', ''], rows.map((d) => [d.name, d.poolId,
      d.state, d.hypervisorId, el('button', { type: 'button', text: t('desktop.recycle'), onclick: () => guard(async () => {
        await api(`/api/v1/admin/desktops/${d.id}/recycle`, { method: 'POST' });
        await desktops();
      }) })])));
}

async function audit() {
  const events = await api('/api/v1/admin/audit?size=200');
  const filter = el('input', { id: 'audit-filter', 'aria-label': t('audit.filter'), placeholder: t('audit.filter') });
  const holder = el('div');
  const show = () => {
    const q = filter.value.toLowerCase();
    holder.replaceChildren(table(['audit.time', 'audit.actor', 'audit.action', 'audit.target', 'audit.detail'],
      events.filter((e) => !q || JSON.stringify(e).toLowerCase().includes(q))
        .map((e) => [e.occurredAt, e.actor, e.kind, [e.poolId, e.desktopId, e.sessionId].filter(Boolean).join(' '), e.detail])));
  };
  filter.addEventListener('input', show);
  show();
  $('view').replaceChildren(el('h2', { text: t('tab.audit') }), filter, holder);
}

async function nodes() {
  let ready;
  try {
    const r = await fetch('/q/health/ready', { headers: { Accept: 'application/json' } });
    ready = await r.json();
  } catch (e) {
    ready = { status: '?', checks: [] };
  }
  $('view').replaceChildren(el('h2', { text: t('tab.nodes') }),
    el('p', { id: 'node-ready', text: `${t('node.ready')}: ${ready.status}` }),
    table(['node.checks', 'desktop.state', 'audit.detail'], (ready.checks || []).map((c) => [c.name, c.status,
      JSON.stringify(c.data || {})])),
    el('p', {}, el('button', { type: 'button', id: 'drain', text: t('node.drain'), onclick: () => guard(async () => {
      await api('/api/v1/admin/nodes/self/drain', { method: 'POST' });
      await nodes();
    }) })));
}

const VIEWS = { hypervisors, pools, sessions, desktops, audit, nodes };

function select(name) {
  document.querySelectorAll('#tabs button').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === name)));
  guard(VIEWS[name]);
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
    return;
  }
  $('signin-panel').hidden = true;
  $('signout').hidden = false;
  $('user').textContent = t('signedin.as', { user: claims().preferred_username || '' });
  const roles = (claims().realm_access || {}).roles || [];
  if (!roles.includes('vdi-admin')) {
    // the API would refuse every call anyway; say so at once
    say(t('error.admin-only'), 'error');
    return;
  }
  $('console').hidden = false;
  $('tabs').replaceChildren(...TABS.map((name) => el('button', { type: 'button', role: 'tab', 'data-tab': name,
    id: 'tab-' + name, text: t('tab.' + name), onclick: () => select(name) })));
  select('hypervisors');
}

main();
