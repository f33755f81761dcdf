// The Braid ops console: follows GET /api/v1/state by long poll, draws the topology, the client
// classes and the links, and changes class weights through PUT /api/v1/classes/{name}/weight.
// Everything shown is set as text (never as HTML), so names from the configuration cannot inject markup.
'use strict';

const HISTORY_POINTS = 120;       // points kept per chart series (about four minutes at one per 2 s)
const POLL_TIMEOUT_MS = 25000;
const charts = {};
let stateVersion = 0;
let lastChartAt = 0;
let editing = null;               // the class whose weight field has focus: not redrawn under the user

const tokenInput = document.getElementById('token');
tokenInput.value = sessionStorage.getItem('braid-token') || '';
tokenInput.addEventListener('change', () => sessionStorage.setItem('braid-token', tokenInput.value));

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fmt(x, digits) {
  if (x === null || x === undefined) return '–';
  return Number(x).toFixed(digits === undefined ? 1 : digits);
}

function message(text, isError) {
  const m = document.getElementById('message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
}

function fillTable(id, rows) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren(...rows);
}

function row(cells) {
  const tr = el('tr');
  for (const c of cells) {
    if (c instanceof Node) { const td = el('td'); td.appendChild(c); tr.appendChild(td); }
    else if (typeof c === 'number') tr.appendChild(el('td', c, 'num'));
    else tr.appendChild(el('td', c));
  }
  return tr;
}

function drawSites(state) {
  fillTable('sites', state.sites.map(s => row([s.name, s.hostnames.join(', '), s.frontEnds.join(', '),
    s.backEnds.join(', '), fmt(s.load.frontEnds, 2), fmt(s.load.backEnds, 2)])));
}

function drawNodes(state) {
  const rows = [];
  for (const [role, list] of [['front-end', state.frontEnds], ['back-end', state.backEnds], ['redirector', state.redirectors]]) {
    for (const n of list) {
      const status = el('span', n.status, n.status);
      const version = el('span', n.configVersion === null ? '–' : n.configVersion);
      version.id = 'node-' + role + '-' + n.name + '-version';
      const refused = n.refused ? 'v' + n.refused.version + ': ' + n.refused.reason : '';
      const sites = n.sites ? n.sites.join(', ') + (n.lentSites && n.lentSites.length ? ' (' + n.lentSites.join(', ') + ')' : '') : '';
      rows.push(row([role, n.name, status, n.health || '–', fmt(n.load, 2), version, refused, sites,
        n.lastReportAgeMs === null ? 'never' : (n.lastReportAgeMs / 1000).toFixed(1) + ' s ago']));
    }
  }
  fillTable('nodes', rows);
}

function drawClasses(state) {
  if (editing) return;
  fillTable('classes', state.classes.map(c => {
    const input = el('input', null, 'weight');
    input.type = 'number'; input.min = 1; input.max = 1000; input.value = c.weight;
    input.id = 'class-weight-' + c.name;
    input.addEventListener('focus', () => { editing = c.name; });
    input.addEventListener('blur', () => { setTimeout(() => { if (editing === c.name) editing = null; }, 200); });
    const button = el('button', 'Apply');
    button.id = 'class-apply-' + c.name;
    button.addEventListener('click', () => setWeight(c.name, input.value));
    return row([c.name, c.ring, input, button, fmt(c.requestsPerSecond, 1), fmt(c.latencyMs, 1)]);
  }));
}

function allLinks(state) {
  const out = [];
  for (const list of [state.frontEnds, state.backEnds]) {
    for (const n of list) {
      for (const l of (n.links || [])) out.push(Object.assign({node: n.name}, l));
    }
  }
  return out;
}

function drawLinks(state) {
  fillTable('links', allLinks(state).map(l => row([l.node, l.peer, l.up ? 'yes' : 'no', l.carrier || '–',
    fmt(l.rttMs, 1), l.lossRate === null ? '–' : (100 * l.lossRate).toFixed(2) + ' %', fmt(l.windowPackets, 0),
    l.streams === null ? '–' : l.streams, fmt(l.sentBytesPerSecond, 0)])));
}

function drawAudit(entries) {
  fillTable('audit', entries.slice(-20).reverse().map(e => row([e.at, e.who, e.action,
    e.fromVersion === e.toVersion ? 'v' + e.toVersion : 'v' + e.fromVersion + ' → v' + e.toVersion, e.detail])));
}

function chart(id, unit) {
  if (!charts[id]) {
    charts[id] = new Chart(document.getElementById(id), {
      type: 'line',
      data: {labels: [], datasets: []},
      options: {animation: false, responsive: true, maintainAspectRatio: false,
        scales: {y: {beginAtZero: true, title: {display: true, text: unit}}},
        elements: {point: {radius: 0}}, plugins: {legend: {position: 'bottom'}}}
    });
  }
  return charts[id];
}

function push(c, label, values) {
  c.data.labels.push(label);
  for (const [name, value] of Object.entries(values)) {
    let ds = c.data.datasets.find(d => d.label === name);
    if (!ds) {
      ds = {label: name, data: new Array(c.data.labels.length - 1).fill(null), borderWidth: 2, spanGaps: true};
      c.data.datasets.push(ds);
    }
    ds.data.push(value);
  }
  for (const ds of c.data.datasets) {
    while (ds.data.length < c.data.labels.length) ds.data.push(null);
  }
  if (c.data.labels.length > HISTORY_POINTS) {
    c.data.labels.shift();
    for (const ds of c.data.datasets) ds.data.shift();
  }
  c.update('none');
}

function drawCharts(state) {
  const now = Date.now();
  if (now - lastChartAt < 1000) return;
  lastChartAt = now;
  const label = new Date(state.generatedAt).toLocaleTimeString();
  const rps = {}, lat = {}, rtt = {}, loss = {};
  for (const c of state.classes) { rps[c.name] = c.requestsPerSecond; lat[c.name] = c.latencyMs; }
  for (const l of allLinks(state)) {
    rtt[l.node + '→' + l.peer] = l.rttMs;
    loss[l.node + '→' + l.peer] = l.lossRate === null ? null : 100 * l.lossRate;
  }
  push(chart('chart-throughput', 'requests/s'), label, rps);
  push(chart('chart-latency', 'ms'), label, lat);
  push(chart('chart-rtt', 'ms'), label, rtt);
  push(chart('chart-loss', '%'), label, loss);
}

function draw(state) {
  document.getElementById('summary').textContent = 'configuration v' + state.configVersion
    + ' · state ' + state.stateVersion + ' · assignment loop on ' + (state.leader || 'no leader')
    + ' · ' + state.assignments.length + ' lent';
  drawSites(state);
  drawNodes(state);
  drawClasses(state);
  drawLinks(state);
  drawCharts(state);
}

function headers() {
  const h = {'Content-Type': 'application/json', 'Braid-Author': 'console'};
  if (tokenInput.value) h['Authorization'] = 'Bearer ' + tokenInput.value;
  return h;
}

async function setWeight(name, value) {
  editing = null;
  const weight = Number(value);
  const resp = await fetch('/api/v1/classes/' + encodeURIComponent(name) + '/weight',
    {method: 'PUT', headers: headers(), body: JSON.stringify({weight: weight})});
  const body = await resp.json().catch(() => ({}));
  if (resp.ok) {
    message('class ' + name + ': weight ' + weight + ' is configuration version ' + body.version
      + (body.changed ? '' : ' (unchanged)'));
  } else {
    message('class ' + name + ': ' + (body.errors ? body.errors.join('; ') : 'HTTP ' + resp.status), true);
  }
  refreshAudit();
}

async function refreshAudit() {
  try {
    const resp = await fetch('/api/v1/audit?limit=20');
    if (resp.ok) drawAudit((await resp.json()).entries);
  } catch (e) { /* shown again on the next change */ }
}

async function follow() {
  for (;;) {
    try {
      const url = stateVersion ? '/api/v1/state?after=' + stateVersion + '&timeoutMs=' + POLL_TIMEOUT_MS : '/api/v1/state';
      const resp = await fetch(url, {cache: 'no-store'});
      if (resp.status === 200) {
        const state = await resp.json();
        const configChanged = !window.lastConfigVersion || window.lastConfigVersion !== state.configVersion;
        window.lastConfigVersion = state.configVersion;
        stateVersion = state.stateVersion;
        draw(state);
        if (configChanged) refreshAudit();
      } else if (resp.status !== 304) {
        throw new Error('HTTP ' + resp.status);
      }
    } catch (e) {
      document.getElementById('summary').textContent = 'managers unreachable (' + e.message + '); retrying';
      await new Promise(r => setTimeout(r, 2000));
    }
  }
}

follow();
