// The live view: the list of envs alive now and the recent recordings (/), or one env live
// (/?instance=ID): its frames pushed as server-sent events, drawn on a canvas, and its episode
// returns plotted in SVG. Plain browser JavaScript, no library, no build step.
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const instance = params.get('instance');

function status(text) {
  $('status').textContent = text;
}

function formatReturn(r) {
  if (r === null || r === undefined) return '–';
  return Number.isInteger(r) ? String(r) : r.toFixed(2);
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// ---- the list ----

async function refreshEnvs() {
  try {
    const res = await fetch('/live/envs', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const { envs } = await res.json();
    const body = $('envs').tBodies[0];
    body.replaceChildren();
    for (const env of envs) {
      const row = body.insertRow();
      const link = document.createElement('a');
      link.href = '/?instance=' + encodeURIComponent(env.instance);
      link.textContent = env.instance;
      row.insertCell().append(link);
      cell(row, env.env_id);
      cell(row, env.front);
      cell(row, env.steps.toLocaleString(), 'num');
      cell(row, env.episodes.toLocaleString(), 'num');
      cell(row, formatReturn(env.last_return), 'num');
    }
    $('envs-empty').hidden = envs.length > 0;
    status('updated ' + new Date().toLocaleTimeString());
  } catch (err) {
    status('cannot reach the server (' + err.message + ')');
  }
}

async function refreshRecordings() {
  const box = $('recordings');
  let list;
  try {
    const res = await fetch('/v1/recordings', { cache: 'no-store' });
    if (res.status === 404) {
      box.innerHTML = '<p class="note">This server keeps no recordings (GET /v1/recordings is not served).</p>';
      return;
    }
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const data = await res.json();
    list = Array.isArray(data) ? data : data.recordings || [];
  } catch (err) {
    box.innerHTML = '<p class="note">Recordings could not be listed (' + err.message + ').</p>';
    return;
  }
  if (list.length === 0) {
    box.innerHTML = '<p class="note">No recordings yet: an episode with rendered steps becomes one when it ends.</p>';
    return;
  }
  const table = document.createElement('table');
  table.id = 'recordings-table';
  table.createTHead().innerHTML = '<tr><th>recording</th><th>env</th><th>instance</th><th class="num">frames</th><th class="num">KB</th><th>created</th></tr>';
  const body = table.createTBody();
  for (const rec of list.slice(0, 50)) {
    const row = body.insertRow();
    const video = document.createElement('video');
    video.controls = true;
    video.preload = 'none';
    video.src = rec.url;
    const first = row.insertCell();
    first.append(video, document.createTextNode(rec.id ?? ''));
    cell(row, rec.env_id ?? rec.envId ?? '');
    cell(row, rec.instance ?? '');
    cell(row, rec.frames ?? '', 'num');
    cell(row, rec.bytes === undefined ? '' : (rec.bytes / 1024).toFixed(0), 'num');
    // `created` is in seconds since the epoch (GET /v1/recordings).
    cell(row, rec.created ? new Date(rec.created * 1000).toLocaleString() : '');
  }
  box.replaceChildren(table);
}

// ---- one env ----

const returns = []; // returns[i] is the return of episode firstEpisode + i
let firstEpisode = 0;
const KEPT = 1000;

function plotReturns() {
  const svg = $('returns');
  const W = 600, H = 400, left = 50, right = 10, top = 10, bottom = 30;
  const n = returns.length;
  svg.setAttribute('data-points', String(n));
  const parts = [];
  parts.push(`<line class="axis" x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}"/>`);
  parts.push(`<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}"/>`);
  if (n === 0) {
    parts.push(`<text x="${left + 10}" y="${(H - bottom) / 2}">no episode has ended yet</text>`);
    svg.innerHTML = parts.join('');
    return;
  }
  let lo = Math.min(...returns), hi = Math.max(...returns);
  if (lo === hi) { lo -= 1; hi += 1; }
  const x0 = firstEpisode, x1 = firstEpisode + Math.max(1, n - 1);
  const x = (i) => left + ((firstEpisode + i - x0) / (x1 - x0)) * (W - left - right);
  const y = (r) => H - bottom - ((r - lo) / (hi - lo)) * (H - top - bottom);
  for (const t of [lo, (lo + hi) / 2, hi]) {
    parts.push(`<line class="grid" x1="${left}" y1="${y(t)}" x2="${W - right}" y2="${y(t)}"/>`);
    parts.push(`<text x="4" y="${y(t) + 4}">${formatReturn(Math.round(t * 100) / 100)}</text>`);
  }
  parts.push(`<text x="${left}" y="${H - 8}">episode ${x0}</text>`);
  parts.push(`<text x="${W - right - 90}" y="${H - 8}">episode ${firstEpisode + n - 1}</text>`);
  const points = returns.map((r, i) => `${x(i).toFixed(1)},${y(r).toFixed(1)}`);
  parts.push(`<polyline class="line" points="${points.join(' ')}"/>`);
  if (n <= 200) for (const p of points) {
    const [cx, cy] = p.split(',');
    parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5"/>`);
  }
  svg.innerHTML = parts.join('');
}

async function drawFrame(frame) {
  const canvas = $('frame');
  const bytes = Uint8Array.from(atob(frame.png), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
  if (canvas.width !== frame.width || canvas.height !== frame.height) {
    canvas.width = frame.width;
    canvas.height = frame.height;
  }
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
  canvas.dataset.frames = String(Number(canvas.dataset.frames || 0) + 1);
  $('frame-info').textContent = `#${frame.n} (episode ${frame.episode}, step ${frame.step})`;
}

function watch(id) {
  $('env-view').hidden = false;
  $('env-name').textContent = id;
  document.title = 'gym-tcp live: ' + id;
  plotReturns();
  let drawing = false;
  let next = null;
  // Frames are drawn one at a time; one arriving meanwhile waits, and a newer one replaces it.
  const draw = (frame) => {
    if (drawing) { next = frame; return; }
    drawing = true;
    drawFrame(frame).catch(() => {}).finally(() => {
      drawing = false;
      if (next) { const f = next; next = null; draw(f); }
    });
  };
  const events = new EventSource('/live/envs/' + encodeURIComponent(id) + '/events');
  events.addEventListener('open', () => status('live'));
  events.addEventListener('env', (e) => {
    const env = JSON.parse(e.data);
    $('env-name').textContent = env.env_id + ' · ' + env.instance;
    $('front').textContent = env.front;
  });
  events.addEventListener('frame', (e) => draw(JSON.parse(e.data)));
  events.addEventListener('state', (e) => {
    const s = JSON.parse(e.data);
    $('steps').textContent = s.steps.toLocaleString();
    $('episodes').textContent = s.episodes.toLocaleString();
    if (returns.length === 0) firstEpisode = s.from;
    // The returns since the last state; a gap (the stream fell behind the kept ones) restarts the plot there.
    if (s.from !== firstEpisode + returns.length) { returns.length = 0; firstEpisode = s.from; }
    returns.push(...s.returns);
    if (returns.length > KEPT) { firstEpisode += returns.length - KEPT; returns.splice(0, returns.length - KEPT); }
    if (returns.length) $('last-return').textContent = formatReturn(returns[returns.length - 1]);
    if (s.returns.length) plotReturns();
  });
  events.addEventListener('gone', () => {
    events.close();
    status('the environment is closed');
  });
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) status('not alive (closed, or unknown here)');
    else status('reconnecting…');
  });
}

if (instance) {
  watch(instance);
} else {
  $('list-view').hidden = false;
  refreshEnvs();
  refreshRecordings();
  setInterval(refreshEnvs, 2000);
  setInterval(refreshRecordings, 10000);
}
