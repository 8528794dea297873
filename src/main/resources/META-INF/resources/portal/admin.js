// The admin console (/admin): hypervisors, pools, sessions, desktops, audit log, the cluster's nodes and charts, all
// through the admin API. The page itself is open; the API refuses anyone without the vdi-admin role, and so does the page.
import { t, translate } from './texts.js';
import { signIn, completeSignIn, signOut, claims, accessToken } from './oidc.js';
import { api } from './api.js';
import { lineChart, histogram, dots, percentile } from './charts.js';

const $ = (id) => document.getElementById(id);
const TABS = ['hypervisors', 'pools', 'charts', 'sessions', 'desktops', 'audit', 'nodes'];
const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
let refreshTimer = null;

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
    field('timeZone', 'pool.timeZone', { placeholder: 'UTC' }),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'prewarm', id: 'f-prewarm' }), t('pool.prewarm')),
    scheduleEditor(),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'pool-save', text: t('save') })));
  $('view').replaceChildren(el('h2', { text: t('tab.pools') }),
    table(['pool.id', 'pool.displayName', 'pool.minSize', 'pool.spare', 'pool.maxSize', 'pool.groupStatus', ''],
      items.map((p) => [p.id, p.displayName, p.minSize, p.spare, p.maxSize,
        (p.groupStatus || []).map((g) => `${g.group}: ${g.state}`).join('; '),
        el('span', {},
          el('button', { type: 'button', text: t('edit'), 'data-edit': p.id, onclick: () => fillPool(form, p) }),
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

// ---- a pool's schedule windows: other spare counts by weekday and time of day ----
function scheduleEditor() {
  const rows = el('div', { id: 'schedules' });
  return el('fieldset', { class: 'schedules' }, el('legend', { text: t('pool.schedules') }),
    el('p', { class: 'hint', text: t('pool.schedules.hint') }), rows,
    el('button', { type: 'button', id: 'schedule-add', text: t('pool.schedule.add'), onclick: () => addSchedule(rows) }));
}

function addSchedule(rows, w = { days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], from: '08:00', to: '10:00', spare: 1 }) {
  const i = rows.children.length;
  const time = { pattern: '([01][0-9]|2[0-3]):[0-5][0-9]|24:00', required: true, size: 5 };
  const row = el('div', { class: 'schedule', role: 'group', 'aria-label': t('pool.schedule', { n: i + 1 }) },
    el('span', { class: 'days' }, ...DAYS.map((d) => el('label', {},
      el('input', { type: 'checkbox', id: `f-sched-${i}-${d}`, 'data-day': d, checked: w.days.includes(d) }),
      t('day.' + d)))),
    el('label', {}, t('pool.schedule.from'), el('input', { id: `f-sched-${i}-from`, 'data-field': 'from', value: w.from, ...time })),
    el('label', {}, t('pool.schedule.to'), el('input', { id: `f-sched-${i}-to`, 'data-field': 'to', value: w.to, ...time })),
    el('label', {}, t('pool.spare'), el('input', { id: `f-sched-${i}-spare`, 'data-field': 'spare', type: 'number', min: 0,
      value: w.spare, required: true })),
    el('button', { type: 'button', id: `f-sched-${i}-remove`, text: t('pool.schedule.remove'),
      onclick: () => { row.remove(); renumber(rows); } }));
  rows.append(row);
}

/** Keeps the rows' ids in order after one is removed, so "window 2" is the second row on the screen. */
function renumber(rows) {
  const windows = readSchedules(rows);
  rows.replaceChildren();
  windows.forEach((w) => addSchedule(rows, w));
}

function readSchedules(rows) {
  return [...rows.querySelectorAll('.schedule')].map((row) => ({
    days: [...row.querySelectorAll('[data-day]')].filter((c) => c.checked).map((c) => c.dataset.day),
    from: row.querySelector('[data-field="from"]').value.trim(),
    to: row.querySelector('[data-field="to"]').value.trim(),
    spare: +row.querySelector('[data-field="spare"]').value,
  }));
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
  f.timeZone.value = p.timeZone || '';
  f.prewarm.checked = !!p.prewarm;
  const rows = form.querySelector('#schedules');
  rows.replaceChildren();
  (p.schedules || []).forEach((w) => addSchedule(rows, w));
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
    entitlements: { groups: list(f.groups.value), users: list(f.users.value) },
    timeZone: f.timeZone.value.trim() || null, prewarm: f.prewarm.checked,
    schedules: readSchedules(form.querySelector('#schedules')) };
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
  // the health endpoints live on the management port, which browsers do not reach: an admin API relays them
  const ready = await api('/api/v1/admin/nodes/self/readiness');
  const members = await api('/api/v1/admin/nodes');
  $('view').replaceChildren(el('h2', { text: t('tab.nodes') }),
    el('p', { id: 'node-count', text: t('node.count', { n: members.length }) }),
    table(['node.name', 'node.role', 'node.draining'], members.map((m) => [
      el('span', { 'data-node': m.name, text: m.name }),
      [m.self ? t('node.self') : '', m.coordinator ? t('node.coordinator') : ''].filter(Boolean).join(', '),
      m.draining ? t('node.draining.yes') : t('node.draining.no')])),
    el('h3', { text: t('node.this') }),
    el('p', { id: 'node-ready', text: `${t('node.ready')}: ${ready.status}` }),
    table(['node.checks', 'desktop.state', 'audit.detail'], (ready.checks || []).map((c) => [c.name, c.status,
      JSON.stringify(c.data || {})])),
    el('p', {}, el('button', { type: 'button', id: 'drain', text: t('node.drain'), onclick: () => guard(async () => {
      await api('/api/v1/admin/nodes/self/drain', { method: 'POST' });
      await nodes();
    }) })));
}

// ---- charts: per pool, ready spares against the target and the queue over time, and the time to a desktop ----
async function charts() {
  const poolList = await api('/api/v1/admin/pools');
  const minutes = +($('chart-minutes') || { value: 60 }).value || 60;
  const range = el('select', { id: 'chart-minutes', 'aria-label': t('chart.range') },
    ...[15, 60, 120].map((m) => el('option', { value: m, text: t('chart.minutes', { n: m }), selected: m === minutes })));
  range.addEventListener('change', () => guard(charts));
  const sections = [];
  for (const p of poolList) {
    const tr = await api(`/api/v1/admin/pools/${p.id}/trends?minutes=${minutes}`);
    const at = tr.samples.map((s) => Date.parse(s.at));
    const last = tr.samples[tr.samples.length - 1];
    const waits = tr.timeToDesktop.map((w) => w.seconds);
    sections.push(el('section', { class: 'pool-charts', 'data-pool': p.id },
      el('h3', { text: `${p.displayName} (${p.id})` }),
      el('p', { class: 'chart-now', 'data-ready': last ? last.ready : '', 'data-target': last ? last.target : '',
        'data-queue': last ? last.queue : '',
        text: last ? t('chart.now', { ready: last.ready, target: last.target, queue: last.queue }) : t('chart.nodata') }),
      el('div', { class: 'chart-row' },
        lineChart({ id: `chart-spares-${p.id}`, title: t('chart.spares'), times: at, series: [
          { name: t('chart.ready'), values: tr.samples.map((s) => s.ready), kind: 'ready' },
          { name: t('chart.target'), values: tr.samples.map((s) => s.target), kind: 'target' }] }),
        lineChart({ id: `chart-queue-${p.id}`, title: t('chart.queue'), times: at, series: [
          { name: t('chart.queue.line'), values: tr.samples.map((s) => s.queue), kind: 'queue' }] }),
        dots({ id: `chart-ttd-time-${p.id}`, title: t('chart.ttd.time'), times: tr.timeToDesktop.map((w) => Date.parse(w.at)),
          values: waits, from: Date.now() - minutes * 60000, to: Date.now(), unit: 's' }),
        histogram({ id: `chart-ttd-${p.id}`, title: t('chart.ttd'), values: waits,
          bounds: [1, 5, 15, 30, 60, 120, 300], unit: 's' })),
      el('p', { class: 'chart-ttd-summary', 'data-count': waits.length, text: waits.length
        ? t('chart.ttd.summary', { n: waits.length, p50: percentile(waits, 50).toFixed(1),
          p90: percentile(waits, 90).toFixed(1), max: Math.max(...waits).toFixed(1) })
        : t('chart.ttd.none') })));
  }
  $('view').replaceChildren(el('h2', { text: t('tab.charts') }),
    el('p', { class: 'hint', text: t('chart.hint') }),
    el('p', {}, range, ' ', el('button', { type: 'button', id: 'chart-refresh', text: t('refresh'),
      onclick: () => guard(charts) })),
    ...(sections.length ? sections : [el('p', { text: t('chart.nopools') })]));
  // new samples arrive by themselves while the tab is open
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { if (currentTab === 'charts') guard(charts); }, 10000);
}

const VIEWS = { hypervisors, pools, charts, sessions, desktops, audit, nodes };
let currentTab = null;

function select(name) {
  currentTab = name;
  clearTimeout(refreshTimer);
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
