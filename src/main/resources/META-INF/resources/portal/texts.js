// Every text the pages show, in one place so it can be translated: add a language object and pick it by
// navigator.language. Placeholders {name} are filled by t().
const TEXTS = {
  en: {
    'portal.title': 'Your desktops',
    'kiosk.title': 'Desktop',
    'admin.title': 'VDI administration',
    'signin': 'Sign in',
    'signout': 'Sign out',
    'signin.prompt': 'Sign in to see your desktops.',
    'signedin.as': 'Signed in as {user}',
    'pools.heading': 'Available desktops',
    'pools.none': 'No desktops are assigned to you. Ask your administrator for access.',
    'pool.ready': '{n} ready',
    'pool.queue': '{n} waiting',
    'pool.wait': 'wait about {s} s',
    'pool.nowait': 'no wait',
    'connect': 'Connect to {name}',
    'sessions.heading': 'Your sessions',
    'sessions.none': 'You have no open sessions.',
    'session.state.QUEUED': 'Waiting in line',
    'session.state.PROVISIONING': 'Preparing your desktop',
    'session.state.READY': 'Ready',
    'session.state.CONNECTED': 'Connected',
    'session.state.DISCONNECTED': 'Disconnected',
    'session.state.ENDED': 'Ended',
    'progress.queued': 'You are number {position} in line, about {eta} s to wait.',
    'progress.provisioning': 'Your desktop is being prepared…',
    'progress.ready': 'Your desktop is ready.',
    'progress.ended': 'The session has ended.',
    'open.browser': 'Open in the browser',
    'download.rdp': 'Download .rdp (Remote Desktop)',
    'download.vv': 'Download .vv (virt-viewer)',
    'reconnect': 'Reconnect',
    'logoff': 'Log off',
    'logoff.done': 'You have been logged off.',
    'desktop.back': 'Back to the portal',
    'desktop.connecting': 'Connecting to your desktop…',
    'desktop.closed': 'The desktop connection was closed.',
    'error.not-entitled': 'You are not allowed to use these desktops.',
    'error.pool-full': 'All desktops of this pool are in use. Try again in a few minutes.',
    'error.idp-down': 'The sign-in service cannot be reached right now. Try again in a few minutes.',
    'error.signin': 'Sign-in did not complete. Please sign in again.',
    'error.expired': 'Your sign-in has expired. Please sign in again.',
    'error.unavailable': 'The desktop cannot be reached right now. Try again in a moment.',
    'error.generic': 'Something went wrong ({status}). Try again; if it keeps happening, tell your administrator.',
    'error.invalid': 'The broker did not accept this: {detail}',
    'error.network': 'The broker cannot be reached. Check your network and try again.',
    'error.admin-only': 'This console is for desktop administrators. Your account does not have the vdi-admin role.',
    'kiosk.nopool': 'No desktop is assigned to this account.',
    // admin console
    'tab.hypervisors': 'Hypervisors', 'tab.pools': 'Pools', 'tab.sessions': 'Sessions', 'tab.desktops': 'Desktops',
    'tab.audit': 'Audit log', 'tab.nodes': 'Nodes',
    'hv.add': 'Add hypervisor', 'hv.id': 'Id', 'hv.driver': 'Driver', 'hv.endpoint': 'Endpoint',
    'hv.vcpus': 'vCPUs', 'hv.memory': 'Memory (MB)', 'hv.maxDesktops': 'Max desktops',
    'hv.maintenance': 'Maintenance', 'hv.maintenance.on': 'Start maintenance', 'hv.maintenance.off': 'End maintenance',
    'hv.health': 'Health',
    'delete': 'Delete', 'save': 'Save', 'edit': 'Edit', 'refresh': 'Refresh', 'saved': 'Saved.',
    'deleted': 'Deleted.',
    'pool.add': 'Create pool', 'pool.id': 'Id', 'pool.displayName': 'Display name', 'pool.assignment': 'Assignment',
    'pool.minSize': 'Min size', 'pool.spare': 'Spare', 'pool.maxSize': 'Max size', 'pool.protocols': 'Protocols',
    'pool.vcpus': 'vCPUs per desktop', 'pool.memoryMb': 'Memory per desktop (MB)',
    'pool.hypervisor': 'Hypervisor', 'pool.template': 'Template', 'pool.groups': 'Entitled groups (comma separated)',
    'pool.users': 'Entitled users (comma separated)', 'pool.groupStatus': 'Group check', 'pool.publish': 'Publish',
    'pool.publish.template': 'New template reference', 'pool.desktops': 'Desktops',
    'session.user': 'User', 'session.pool': 'Pool', 'session.state': 'State', 'session.desktop': 'Desktop',
    'session.forceLogoff': 'Force logoff', 'desktop.recycle': 'Recycle', 'desktop.name': 'Name',
    'desktop.state': 'State', 'desktop.host': 'Hypervisor',
    'audit.filter': 'Filter (text)', 'audit.time': 'Time', 'audit.actor': 'Actor', 'audit.action': 'Action',
    'audit.target': 'Target', 'audit.detail': 'Detail',
    'node.ready': 'Readiness', 'node.drain': 'Drain this node', 'node.checks': 'Checks',
    'node.count': 'The cluster has {n} member(s).', 'node.name': 'Member', 'node.role': 'Role',
    'node.draining': 'Draining', 'node.self': 'this node', 'node.coordinator': 'coordinator',
    'node.draining.yes': 'draining', 'node.draining.no': 'serving', 'node.this': 'This node',
    'pool.timeZone': 'Time zone (schedules)', 'pool.prewarm': 'Pre-warm ahead of predicted rushes',
    'pool.schedules': 'Schedules', 'pool.schedule': 'Schedule window {n}', 'pool.schedule.add': 'Add schedule window',
    'pool.schedule.remove': 'Remove window', 'pool.schedule.from': 'From (HH:mm)', 'pool.schedule.to': 'To (HH:mm)',
    'pool.schedules.hint': 'Other spare counts by weekday and time of day, in the pool\'s time zone; outside every window the pool\'s spare count applies. "To" is exclusive; 24:00 ends the day; windows must not overlap.',
    'day.MON': 'Mon', 'day.TUE': 'Tue', 'day.WED': 'Wed', 'day.THU': 'Thu', 'day.FRI': 'Fri', 'day.SAT': 'Sat',
    'day.SUN': 'Sun',
    'tab.charts': 'Charts', 'chart.range': 'Time range', 'chart.minutes': 'last {n} min',
    'chart.hint': 'What this node sampled since it started (kept in memory): ready spares against the target, the queue, and how long users waited for a desktop.',
    'chart.now': 'Now: {ready} ready, target {target}, {queue} waiting',
    'chart.nodata': 'No samples yet.', 'chart.nopools': 'There are no pools.',
    'chart.spares': 'Ready spares vs target', 'chart.ready': 'ready', 'chart.target': 'target',
    'chart.queue': 'Queue depth', 'chart.queue.line': 'waiting', 'chart.ttd': 'Time to desktop (distribution)', 'chart.ttd.time': 'Time to desktop over time',
    'chart.ttd.summary': '{n} desktop(s) assigned: median {p50} s, 90th percentile {p90} s, longest {max} s.',
    'chart.ttd.none': 'No desktop assigned in this time range.',
  },
};

const lang = TEXTS[(navigator.language || 'en').slice(0, 2)] ? (navigator.language || 'en').slice(0, 2) : 'en';

export function t(key, params = {}) {
  const text = TEXTS[lang][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** Fills every element with a data-text attribute (and data-label for aria-label) from the table. */
export function translate(root = document) {
  root.querySelectorAll('[data-text]').forEach((el) => { el.textContent = t(el.dataset.text); });
  root.querySelectorAll('[data-label]').forEach((el) => { el.setAttribute('aria-label', t(el.dataset.label)); });
  document.documentElement.lang = lang;
}
