/**
 * The console's two pages, self-contained: no CDN, no build step, no
 * framework (a store's operators may have no internet). The script builds the
 * DOM with textContent only, so nothing read from the store is ever parsed as
 * HTML; the inline script and style carry the answer's CSP nonce.
 */

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#667085; --line:#d0d5dd; --ok:#12805c; --bad:#c4320a; --warn:#b54708; --acc:#3056d3; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; gap:16px; align-items:center; padding:10px 20px; background:#101828; color:#fff; }
header h1 { font-size:17px; margin:0; }
header .meta { color:#c0c6d4; font-size:12px; flex:1; }
main { display:grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap:14px; padding:14px 20px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size:15px; margin:0 0 8px; }
h3 { font-size:13px; margin:10px 0 4px; color:var(--mute); }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:4px 6px; border-bottom:1px solid #eaecf0; vertical-align:top; }
th { color:var(--mute); font-weight:600; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
.empty { color:var(--mute); font-style:italic; }
.err { color:var(--bad); font-family:ui-monospace, monospace; font-size:12px; white-space:pre-wrap; word-break:break-word; }
.status-up, .s-DONE { color:var(--ok); font-weight:600; }
.status-down, .s-STUCK { color:var(--bad); font-weight:600; }
.s-WAITING { color:var(--warn); font-weight:600; }
.s-RUNNING { color:var(--acc); font-weight:600; }
button { font:inherit; font-size:12px; padding:3px 9px; margin:1px 2px; border-radius:5px; border:1px solid var(--line); background:#fff; cursor:pointer; }
button.primary { background:var(--acc); color:#fff; border-color:var(--acc); }
button.danger { color:var(--bad); border-color:#f4b5a4; }
#toast { position:fixed; right:16px; bottom:16px; max-width:520px; padding:10px 14px; border-radius:8px; background:#101828; color:#fff; display:none; white-space:pre-wrap; }
#toast.show { display:block; }
#toast.bad { background:var(--bad); }
svg text { font:12px system-ui, sans-serif; }
.charts { display:grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap:10px; }
.chart h3 { margin:0 0 2px; }
canvas { width:100%; height:150px; border:1px solid #eaecf0; border-radius:4px; }
.legend span { margin-right:12px; font-size:12px; color:var(--mute); }
.sw { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; }
.sw1 { background:#3056d3; } .sw2 { background:#b54708; } .sw3 { background:#c4320a; } .sw4 { background:#12805c; }
form.login { max-width:380px; margin:12vh auto; background:#fff; padding:24px; border:1px solid var(--line); border-radius:8px; }
form.login input { width:100%; padding:8px; margin:10px 0; font:inherit; }
`;

export function loginPage(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>monolith-first console: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><style nonce="${nonce}">${STYLE}</style></head>
<body><form class="login" id="login">
<h2>Operator console</h2>
<p>The admin token (CONSOLE_TOKEN) of this deployment:</p>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
<button class="primary" type="submit">Log in</button>
<p class="err" id="error"></p>
</form>
<script nonce="${nonce}">
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  // Posted as JSON, never in the URL: the server answers with an HttpOnly, SameSite=Strict session cookie.
  const response = await fetch('/console/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: document.getElementById('token').value }), credentials: 'same-origin' });
  if (response.ok) { location.reload(); return; }
  const problem = await response.json().catch(() => ({}));
  document.getElementById('error').textContent = problem.detail || ('refused: ' + response.status);
});
</script></body></html>`;
}

export function consolePage(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>monolith-first console</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><style nonce="${nonce}">${STYLE}</style></head>
<body>
<header><h1>monolith-first · operator console</h1><div class="meta" id="meta">loading…</div><button id="logout">Log out</button></header>
<main>
  <section class="wide" id="map-section"><h2>Modules: where each runs now</h2><div id="map"></div></section>
  <section class="wide"><h2>Traffic (this process, live)</h2>
    <div>Route: <select id="route"></select></div>
    <div class="charts">
      <div class="chart"><h3 id="rate-title">requests per second</h3><canvas id="c-rate" width="600" height="300"></canvas><div class="legend"><span><i class="sw sw1"></i>answered/s</span><span><i class="sw sw4"></i>sagas ended/s</span></div></div>
      <div class="chart"><h3>latency (ms)</h3><canvas id="c-latency" width="600" height="300"></canvas><div class="legend"><span><i class="sw sw1"></i>p50</span><span><i class="sw sw2"></i>p95</span><span><i class="sw sw3"></i>p99</span></div></div>
      <div class="chart"><h3>refusals per second</h3><canvas id="c-refused" width="600" height="300"></canvas><div class="legend"><span><i class="sw sw3"></i>HTTP 429/503 and at the door</span><span><i class="sw sw2"></i>sagas refused at admission</span></div></div>
    </div>
  </section>
  <section class="wide"><h2>Workflows: stuck</h2><div id="stuck"></div></section>
  <section><h2>Workflows by definition, version and state</h2><div id="counts"></div></section>
  <section><h2>Workflows waiting</h2><div id="waiting"></div></section>
  <section><h2>Workflows in flight</h2><div id="inflight"></div></section>
  <section><h2>Workflows you acted on: where they stand now</h2><div id="watched"></div></section>
  <section><h2>Outboxes</h2><div id="outboxes"></div></section>
  <section><h2>Event consumers: lag</h2><div id="consumers"></div></section>
  <section class="wide"><h2>Dead letters</h2><div id="dead"></div></section>
</main>
<div id="toast" role="status"></div>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>`;
}

const SCRIPT = `
'use strict';
const POLL_MS = 2000, HISTORY = 90;
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v); else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}
function svg(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}
function table(headers, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'empty' }, empty);
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}
const when = (iso) => iso ? new Date(iso).toLocaleString() : '–';
function toast(text, bad) {
  const t = $('toast'); t.textContent = text; t.className = 'show' + (bad ? ' bad' : '');
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.className = ''; }, 12000);
}
// The sagas this operator acted on (this tab), followed by key: a retried one is seen to finish.
const watched = JSON.parse(sessionStorage.getItem('mf-console-watched') || '[]');
function follow(module, saga, key) {
  const id = module + '/' + saga + '/' + key;
  if (!watched.includes(id)) { watched.push(id); while (watched.length > 20) watched.shift(); sessionStorage.setItem('mf-console-watched', JSON.stringify(watched)); }
}
async function act(module, body, saga) {
  if (saga && body.key) follow(module, saga, body.key);
  const response = await fetch('/console/api/modules/' + encodeURIComponent(module) + '/actions', {
    method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status === 401) { location.reload(); return; }
  const answer = await response.json().catch(() => ({}));
  if (response.ok) toast(answer.message); else toast(answer.detail || ('failed: ' + response.status), true);
  poll();
}
function signalButton(module, saga, key, name) {
  return el('button', { onclick: () => {
    const signal = name || prompt('Signal name for ' + saga + ' ' + key + ' (e.g. shipping.ShipmentDelivered)');
    if (signal) act(module, { op: 'signal', saga, key, name: signal }, saga);
  } }, name ? 'signal ' + name : 'signal…');
}
function cancelButton(module, saga, key) {
  return el('button', { class: 'danger', onclick: () => { if (confirm('Cancel ' + saga + ' ' + key + '? It gives up and undoes what it did.')) act(module, { op: 'cancel', key, saga }, saga); } }, 'cancel');
}

// The module map: a circle of modules; calls solid, event flows dashed (publisher to subscriber).
function drawMap(modules) {
  const W = Math.max(640, $('map').clientWidth || 900), H = 380, cx = W / 2, cy = H / 2, rx = Math.min(W / 2 - 90, 420), ry = H / 2 - 50;
  const at = new Map(modules.map((m, i) => { const a = -Math.PI / 2 + (2 * Math.PI * i) / modules.length; return [m.name, { x: cx + rx * Math.cos(a), y: cy + ry * Math.sin(a) }]; }));
  const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', height: H, role: 'img', 'aria-label': 'module map' });
  const defs = svg('defs');
  for (const [id, color] of [['call', '#3056d3'], ['event', '#b54708']]) {
    defs.append(svg('marker', { id: 'arrow-' + id, viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: color })));
  }
  root.append(defs);
  const edge = (from, to, kind, label) => {
    const a = at.get(from), b = at.get(to); if (!a || !b) return;
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1, ux = dx / len, uy = dy / len;
    const off = kind === 'event' ? 6 : -6, ox = -uy * off, oy = ux * off;
    const line = svg('line', { x1: a.x + ux * 62 + ox, y1: a.y + uy * 30 + oy, x2: b.x - ux * 62 + ox, y2: b.y - uy * 30 + oy, stroke: kind === 'call' ? '#3056d3' : '#b54708', 'stroke-width': '1.6', 'marker-end': 'url(#arrow-' + kind + ')' });
    if (kind === 'event') line.setAttribute('stroke-dasharray', '5 4');
    line.append(svg('title', {}, label));
    root.append(line);
  };
  for (const m of modules) {
    for (const callee of m.calls) edge(m.name, callee, 'call', m.name + ' calls ' + callee);
    for (const flow of m.events) edge(flow.publisher, m.name, 'event', flow.events.join(', ') + ' → ' + m.name + '.' + flow.subscription);
  }
  for (const m of modules) {
    const p = at.get(m.name), up = m.status === 'up';
    // Without NATS there is no roll call to take: the module runs in this process, replicas unknown.
    const replicas = m.instances === null ? (m.location === 'local' ? 'in this process' : 'replicas: ?') : m.instances.length + (m.instances.length === 1 ? ' replica' : ' replicas');
    const g = svg('g', { 'data-module': m.name });
    g.append(svg('rect', { x: p.x - 62, y: p.y - 30, width: 124, height: 60, rx: 8, fill: up ? '#ecfdf3' : '#fef3f2', stroke: up ? '#12805c' : '#c4320a', 'stroke-width': '1.5' }));
    g.append(svg('text', { x: p.x, y: p.y - 11, 'text-anchor': 'middle', 'font-weight': '700' }, m.name));
    g.append(svg('text', { x: p.x, y: p.y + 5, 'text-anchor': 'middle', fill: '#475467' }, m.location + ' · ' + m.status));
    g.append(svg('text', { x: p.x, y: p.y + 20, 'text-anchor': 'middle', fill: '#475467' }, replicas));
    g.append(svg('title', {}, m.instances && m.instances.length ? m.instances.map((i) => i.instance + ' [' + i.hosts.join(', ') + ']' + (i.gateway ? ' gateway' : '')).join('\\n') : (m.instances === null ? 'one process: no NATS to take a roll call on' : 'no process answered the roll call')));
    root.append(g);
  }
  const legend = svg('g', {});
  legend.append(svg('line', { x1: 10, y1: H - 28, x2: 40, y2: H - 28, stroke: '#3056d3', 'stroke-width': '1.6', 'marker-end': 'url(#arrow-call)' }), svg('text', { x: 46, y: H - 24 }, 'calls'));
  legend.append(svg('line', { x1: 10, y1: H - 10, x2: 40, y2: H - 10, stroke: '#b54708', 'stroke-width': '1.6', 'stroke-dasharray': '5 4', 'marker-end': 'url(#arrow-event)' }), svg('text', { x: 46, y: H - 6 }, 'events'));
  root.append(legend);
  $('map').replaceChildren(root);
}

// Live charts from two readings of cumulative counters: rates and histogram percentiles.
const history = [];
let previous, chosenRoute;
function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0, lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === null) return lowerBound * 1000;
      const inBucket = count - lowerCount;
      return (lowerBound + (bound - lowerBound) * (inBucket > 0 ? (rank - lowerCount) / inBucket : 0)) * 1000;
    }
    lowerBound = bound === null ? lowerBound : bound; lowerCount = count;
  }
  return lowerBound * 1000;
}
function sample(metrics, at) {
  const select = $('route');
  const routes = metrics.routes.slice().sort((a, b) => b.count - a.count);
  const ids = routes.map((r) => r.method + ' ' + r.route);
  if (select.options.length !== ids.length || ids.some((id, i) => select.options[i].value !== id)) {
    select.replaceChildren(...ids.map((id) => el('option', { value: id }, id)));
  }
  // Until the operator picks one, the busiest write (in the store: checkouts), whichever it is now.
  const busiestWrite = routes.find((r) => r.method === 'POST');
  const wanted = chosenRoute && ids.includes(chosenRoute) ? chosenRoute : busiestWrite ? busiestWrite.method + ' ' + busiestWrite.route : (ids[0] || '');
  if (select.value !== wanted) { select.value = wanted; history.length = 0; previous = undefined; }
  const pick = (m) => m.routes.find((r) => r.method + ' ' + r.route === select.value);
  const now = pick(metrics), before = previous && pick(previous.metrics);
  const point = { at, rate: 0, sagas: 0, refused: 0, sagaRefused: 0, p50: null, p95: null, p99: null };
  if (previous) {
    const dt = (at - previous.at) / 1000;
    if (now && dt > 0) {
      const b0 = before ? before.buckets : [];
      const delta = now.buckets.map(([bound, count], i) => [bound, count - (b0[i] ? b0[i][1] : 0)]);
      point.rate = ((now.count - now.refused) - (before ? before.count - before.refused : 0)) / dt;
      point.refused = (now.refused - (before ? before.refused : 0)) / dt;
      point.p50 = quantile(delta, 0.5); point.p95 = quantile(delta, 0.95); point.p99 = quantile(delta, 0.99);
    }
    const sum = (m, f) => m.sagas.reduce((s, x) => s + x[f], 0);
    if (dt > 0) { point.sagas = (sum(metrics, 'ended') - sum(previous.metrics, 'ended')) / dt; point.sagaRefused = (sum(metrics, 'refused') - sum(previous.metrics, 'refused')) / dt; }
    history.push(point);
    if (history.length > HISTORY) history.shift();
  }
  previous = { at, metrics };
  $('rate-title').textContent = (select.value || 'requests') + ' per second';
  chart('c-rate', [['sagas', '#12805c'], ['rate', '#3056d3']]);
  chart('c-latency', [['p50', '#3056d3'], ['p95', '#b54708'], ['p99', '#c4320a']]);
  chart('c-refused', [['refused', '#c4320a'], ['sagaRefused', '#b54708']]);
}
function chart(id, series) {
  const canvas = $(id), ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height, pad = 44;
  ctx.clearRect(0, 0, W, H);
  const values = history.flatMap((p) => series.map(([k]) => p[k])).filter((v) => v !== null && Number.isFinite(v));
  const top = Math.max(1, ...values) * 1.15;
  ctx.strokeStyle = '#eaecf0'; ctx.fillStyle = '#667085'; ctx.font = '20px system-ui'; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = H - pad + ((pad * 2 - H) * i) / 4 + 0;
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(W - 6, y); ctx.stroke();
    ctx.fillText((top * i / 4).toFixed(top < 10 ? 1 : 0), 2, y + 6);
  }
  const x = (i) => pad + ((W - pad - 6) * i) / (HISTORY - 1);
  const y = (v) => H - pad - ((H - pad * 2) * v) / top;
  for (const [key, color] of series) {
    ctx.strokeStyle = color; ctx.lineWidth = 3; ctx.beginPath();
    let drawing = false;
    history.forEach((p, i) => {
      const v = p[key];
      if (v === null || !Number.isFinite(v)) { drawing = false; return; }
      const px = x(i + HISTORY - history.length), py = y(v);
      if (drawing) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      drawing = true;
    });
    ctx.stroke();
  }
  const last = history[history.length - 1];
  if (last) { ctx.fillStyle = '#101828'; ctx.fillText(series.map(([k]) => k + ' ' + (last[k] === null ? '–' : last[k].toFixed(1))).join('   '), pad, 24); }
}

function render(data) {
  $('meta').textContent = 'this process: ' + data.process.instance + ' · hosts [' + data.process.hosts.join(', ') + ']' + (data.process.gateway ? ' · gateway' : '') + ' · updated ' + new Date(data.at).toLocaleTimeString();
  drawMap(data.modules);
  const ops = Object.entries(data.operations);
  const readable = ops.filter(([, o]) => !o.error);
  const unreadable = ops.filter(([, o]) => o.error).map(([m, o]) => el('p', { class: 'err' }, m + ': ' + o.error));
  const stuck = readable.flatMap(([m, o]) => o.sagas.stuck.map((s) => el('tr', { 'data-saga': s.saga, 'data-key': s.key },
    el('td', {}, m), el('td', {}, s.saga), el('td', {}, s.key), el('td', {}, s.step), el('td', { class: 'num' }, s.attempts), el('td', {}, when(s.since)),
    el('td', { class: 'err' }, s.lastError || ''),
    el('td', {}, el('button', { class: 'primary', onclick: () => act(m, { op: 'retry', key: s.key }, s.saga) }, 'retry'), signalButton(m, s.saga, s.key), cancelButton(m, s.saga, s.key)))));
  $('stuck').replaceChildren(...unreadable, table(['module', 'saga', 'key', 'step', 'attempts', 'since', 'error', ''], stuck, 'nothing is stuck'));
  $('counts').replaceChildren(table(['module', 'saga', 'version', 'state', 'sagas'], readable.flatMap(([m, o]) => o.sagas.counts.map((c) =>
    el('tr', {}, el('td', {}, m), el('td', {}, c.saga), el('td', {}, c.version === null ? '–' : 'v' + c.version), el('td', { class: 's-' + c.status }, c.status), el('td', { class: 'num' }, (c.approximate ? '≈ ' : '') + c.count)))), 'no sagas yet'));
  const waiting = readable.flatMap(([m, o]) => o.sagas.inFlight.filter((s) => s.status === 'WAITING').map((s) => el('tr', {},
    el('td', {}, m), el('td', {}, s.saga + ' v' + s.version), el('td', {}, s.key), el('td', {}, s.step),
    el('td', {}, s.awaiting.length ? s.awaiting.join(' | ') : 'time (sleep)'), el('td', {}, when(s.until)),
    el('td', {}, s.awaiting.map((name) => signalButton(m, s.saga, s.key, name)), cancelButton(m, s.saga, s.key)))));
  $('waiting').replaceChildren(table(['module', 'saga', 'key', 'step', 'waits for', 'until', ''], waiting, 'none waiting'));
  const inflight = readable.flatMap(([m, o]) => o.sagas.inFlight.filter((s) => s.status !== 'WAITING').map((s) => el('tr', {},
    el('td', {}, m), el('td', {}, s.saga + ' v' + s.version), el('td', {}, s.key), el('td', { class: 's-' + s.status }, s.status), el('td', {}, s.step), el('td', {}, s.cancelReason ? 'cancel asked (' + s.cancelReason + ')' : ''))));
  $('inflight').replaceChildren(table(['module', 'saga', 'key', 'state', 'step', ''], inflight, 'none in flight'));
  const followed = readable.flatMap(([m, o]) => o.sagas.watched.map((s) => el('tr', { 'data-saga': s.saga, 'data-key': s.key },
    el('td', {}, m), el('td', {}, s.saga + ' v' + s.version), el('td', {}, s.key), el('td', { class: 's-' + s.status }, s.status + (s.failureReason ? ' (' + s.failureReason + ')' : '')), el('td', {}, s.step), el('td', {}, when(s.updatedAt)))));
  $('watched').replaceChildren(table(['module', 'saga', 'key', 'state', 'step', 'since'], followed, 'retry, signal or cancel a saga to follow it here'));
  $('outboxes').replaceChildren(table(['module', 'pending', 'oldest pending', 'dead', ''], readable.map(([m, o]) => el('tr', {},
    el('td', {}, m), el('td', { class: 'num' }, o.outbox.pending), el('td', { class: 'num' }, (o.outbox.oldestPendingAgeMs / 1000).toFixed(1) + ' s'), el('td', { class: 'num' }, o.outbox.dead),
    el('td', {}, o.outbox.dead > 0 ? el('button', { onclick: () => act(m, { op: 'replay' }) }, 'replay all') : ''))), 'no module readable'));
  const lag = readable.flatMap(([m, o]) => [
    ...o.outbox.subscribers.map((s) => el('tr', {}, el('td', {}, s.subscriber), el('td', {}, m), el('td', {}, 'outbox'), el('td', { class: 'num' }, s.pending), el('td', { class: 'num' }, s.dead))),
    ...o.consumers.map((c) => el('tr', {}, el('td', {}, c.consumer), el('td', {}, c.publisher), el('td', {}, 'stream'), el('td', { class: 'num' }, c.pending), el('td', { class: 'num' }, c.unacknowledged + ' unacked, ' + c.redelivered + ' redelivered'))),
  ]);
  $('consumers').replaceChildren(table(['consumer', 'from', 'via', 'lag (events)', 'dead / unacked'], lag, 'no consumers'));
  const dead = readable.flatMap(([m, o]) => o.outbox.deadLetters.map((d) => el('tr', {},
    el('td', {}, m), el('td', {}, d.name), el('td', {}, d.subscriber), el('td', {}, d.aggregateId), el('td', { class: 'num' }, d.attempts), el('td', {}, when(d.occurredAt)),
    el('td', { class: 'err' }, d.lastError || ''), el('td', {}, el('button', { onclick: () => act(m, { op: 'replay', eventId: d.eventId }) }, 'replay')))));
  $('dead').replaceChildren(table(['module', 'event', 'subscriber', 'aggregate', 'attempts', 'occurred', 'error', ''], dead, 'no dead letters'));
  sample(data.metrics, Date.parse(data.at));
}
let polling = false;
async function poll() {
  if (polling) return; polling = true;
  try {
    const query = watched.map((id) => 'watch=' + encodeURIComponent(id)).join('&');
    const response = await fetch('/console/api/overview' + (query ? '?' + query : ''), { credentials: 'same-origin' });
    if (response.status === 401) { location.reload(); return; }
    if (!response.ok) throw new Error('overview answered ' + response.status);
    render(await response.json());
  } catch (error) { $('meta').textContent = 'cannot read the overview: ' + error.message; }
  finally { polling = false; }
}
$('logout').addEventListener('click', async () => { await fetch('/console/logout', { method: 'POST', credentials: 'same-origin' }); location.reload(); });
$('route').addEventListener('change', () => { chosenRoute = $('route').value; history.length = 0; previous = undefined; });
poll();
setInterval(poll, POLL_MS);
`;
