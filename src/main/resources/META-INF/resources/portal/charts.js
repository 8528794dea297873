// Small SVG charts for the admin console, drawn here (no library, no CDN). Colours and widths are SVG attributes,
// not style attributes, so the page's Content-Security-Policy (style-src 'self') allows them.
const NS = 'http://www.w3.org/2000/svg';
const W = 300;
const H = 150;
const PAD = { left: 34, right: 8, top: 34, bottom: 22 };
const COLOURS = { ready: '#1f5fbf', target: '#c25e00', queue: '#8a1111', bar: '#2e7d32' };

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  children.forEach((c) => e.append(c));
  return e;
}

function text(x, y, content, attrs = {}) {
  const e = svg('text', { x, y, 'font-size': 10, fill: '#1d2330', ...attrs });
  e.textContent = content;
  return e;
}

function frame(id, title, description) {
  const root = svg('svg', { id, viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': description,
    class: 'chart' });
  const t = svg('title');
  t.textContent = description;
  root.append(t, text(PAD.left, 13, title, { 'font-size': 11, 'font-weight': 'bold' }));
  return root;
}

/** The largest value rounded up to a readable axis maximum (1, 2, 5, 10, 20, ...). */
function niceMax(max) {
  if (max <= 1) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * step).find((v) => v >= max);
}

function axes(root, yMax, xLabels) {
  const x0 = PAD.left;
  const y0 = H - PAD.bottom;
  root.append(svg('line', { x1: x0, y1: PAD.top, x2: x0, y2: y0, stroke: '#5a6b82' }),
    svg('line', { x1: x0, y1: y0, x2: W - PAD.right, y2: y0, stroke: '#5a6b82' }),
    text(x0 - 4, PAD.top + 4, String(yMax), { 'text-anchor': 'end' }),
    text(x0 - 4, y0, '0', { 'text-anchor': 'end' }));
  xLabels.forEach(([x, label], i) => root.append(text(x, H - 6, label,
    { 'text-anchor': i === 0 ? 'start' : 'end' })));
}

const clock = (ms) => new Date(ms).toISOString().slice(11, 16);

/**
 * A line per series over time (stepped: a count holds until the next sample). {times} are epoch milliseconds;
 * each series is { name, values, kind }. The last value of each series is in its data-last attribute.
 */
export function lineChart({ id, title, times, series }) {
  const description = `${title}: ` + series.map((s) => `${s.name} ${s.values.length ? s.values[s.values.length - 1]
    : '-'}`).join(', ');
  const root = frame(id, title, description);
  const yMax = niceMax(Math.max(1, ...series.flatMap((s) => s.values)));
  const t0 = times[0] ?? 0;
  const span = Math.max(1, (times[times.length - 1] ?? 0) - t0);
  const x = (ms) => PAD.left + ((ms - t0) / span) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  axes(root, yMax, times.length ? [[PAD.left, clock(t0)], [W - PAD.right, clock(t0 + span)]] : []);
  series.forEach((s, n) => {
    const points = [];
    s.values.forEach((v, i) => {
      if (i > 0) points.push(`${x(times[i]).toFixed(1)},${y(s.values[i - 1]).toFixed(1)}`);
      points.push(`${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`);
    });
    if (s.values.length === 1) points.push(`${(W - PAD.right).toFixed(1)},${y(s.values[0]).toFixed(1)}`);
    root.append(svg('polyline', { points: points.join(' '), fill: 'none', stroke: COLOURS[s.kind] || '#333',
      'stroke-width': 2, 'stroke-dasharray': s.kind === 'target' ? '5 3' : 'none', 'data-series': s.kind,
      'data-samples': s.values.length, 'data-last': s.values.length ? s.values[s.values.length - 1] : '' }));
    // legend, in its own row under the title
    const lx = PAD.left + 70 * n;
    root.append(svg('line', { x1: lx, y1: 22, x2: lx + 12, y2: 22, stroke: COLOURS[s.kind] || '#333',
      'stroke-width': 2, 'stroke-dasharray': s.kind === 'target' ? '5 3' : 'none' }), text(lx + 15, 25, s.name));
  });
  if (!times.length) root.append(text(W / 2, H / 2, '…', { 'text-anchor': 'middle' }));
  return root;
}

/** One dot per event over time: {times} epoch milliseconds, {values} its size (e.g. seconds waited). */
export function dots({ id, title, times, values, from, to, unit }) {
  const description = `${title}: ${values.length}` + (values.length ? `, longest ${Math.max(...values)}${unit}` : '');
  const root = frame(id, title, description);
  root.setAttribute('data-count', values.length);
  const yMax = niceMax(Math.max(1, ...values));
  const span = Math.max(1, to - from);
  const x = (ms) => PAD.left + ((ms - from) / span) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  axes(root, `${yMax}${unit}`, [[PAD.left, clock(from)], [W - PAD.right, clock(to)]]);
  values.forEach((v, i) => root.append(svg('circle', { cx: x(times[i]).toFixed(1), cy: y(v).toFixed(1), r: 3,
    fill: COLOURS.bar, 'data-value': v })));
  return root;
}

/** How many values fall at or below each bound, and above the last: bars labelled "≤1s", ..., ">300s". */
export function histogram({ id, title, values, bounds, unit }) {
  const counts = new Array(bounds.length + 1).fill(0);
  values.forEach((v) => { const i = bounds.findIndex((b) => v <= b); counts[i < 0 ? bounds.length : i] += 1; });
  const labels = bounds.map((b) => `≤${b}${unit}`).concat(`>${bounds[bounds.length - 1]}${unit}`);
  const description = `${title}: ` + labels.map((l, i) => `${l} ${counts[i]}`).join(', ');
  const root = frame(id, title, description);
  root.setAttribute('data-count', values.length);
  const yMax = niceMax(Math.max(1, ...counts));
  axes(root, yMax, []);
  const slot = (W - PAD.left - PAD.right) / counts.length;
  counts.forEach((c, i) => {
    const h = (c / yMax) * (H - PAD.top - PAD.bottom);
    const x = PAD.left + i * slot + 2;
    root.append(svg('rect', { x, y: H - PAD.bottom - h, width: slot - 4, height: h, fill: COLOURS.bar,
      'data-bucket': labels[i], 'data-count': c }),
    text(x + (slot - 4) / 2, H - 6, labels[i], { 'text-anchor': 'middle', 'font-size': 7 }));
  });
  return root;
}

/** The p-th percentile (nearest rank) of values. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
