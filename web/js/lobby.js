// Lobby: list live and past battles, create one, copy the DJ and spectator links.

import { api } from './api.js';
import { formatBpm, formatTime, toCamelot, escapeHtml } from './format.js';
import { toast, $ } from './views.js';

const absolute = (url) => new URL(url, location.origin).href;

async function loadTracks() {
  let tracks = [];
  try { tracks = await api.tracks(); } catch (e) { toast(`Library: ${e.message}`, { error: true }); }
  const opts = tracks.map((t) => `<option value="${escapeHtml(t.id)}">${escapeHtml(t.title || t.id)} · ${formatBpm(t.bpm)} BPM · ${escapeHtml(toCamelot(t.camelot || t.key) || t.key || '?')} · ${formatTime(t.duration_s)}</option>`).join('');
  const none = '<option value="">(empty deck)</option>';
  const form = $('#create');
  form.track_a.innerHTML = none + opts;
  form.track_b.innerHTML = none + opts;
  if (tracks.length) form.track_a.value = tracks[0].id;
  if (tracks.length > 1) form.track_b.value = tracks[1].id;
}

function linkRow(who, url, cls = '') {
  const id = `link-${who.replace(/\W+/g, '-').toLowerCase()}`;
  return `<div class="link"><span class="who ${cls}">${escapeHtml(who)}</span>
    <input id="${id}" readonly value="${escapeHtml(url)}" aria-label="${escapeHtml(who)} link">
    <button class="pad" type="button" data-copy="${id}">Copy</button>
    <a class="pad" href="${escapeHtml(url)}" target="_blank" rel="noopener" style="display:grid;place-items:center;text-decoration:none">Open</a></div>`;
}

function showLinks(b) {
  const a = absolute(b.seats.a.url), bb = absolute(b.seats.b.url), w = absolute(b.spectate_url);
  $('#links').innerHTML = `<p><b>${escapeHtml(b.name || b.battle?.name || 'Battle')}</b> is ready. Send each DJ their own link (it is their key to the deck — keep it private).</p>
    ${linkRow('DJ A', a)}${linkRow('DJ B', bb)}${linkRow('Spectators', w)}${linkRow('OBS overlay', `${w}${w.includes('?') ? '&' : '?'}overlay=1`)}`;
}

document.addEventListener('click', async (e) => {
  const id = e.target.closest('[data-copy]')?.dataset.copy;
  if (!id) return;
  const input = document.getElementById(id);
  try { await navigator.clipboard.writeText(input.value); toast('Link copied'); } catch { input.select(); document.execCommand('copy'); toast('Link copied'); }
});

$('#create').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  const spec = { name: f.name.value.trim() || 'Battle', crossfader: f.crossfader.value, duration_s: Number(f.duration_s.value) };
  const tracks = {};
  if (f.track_a.value) tracks.a = f.track_a.value;
  if (f.track_b.value) tracks.b = f.track_b.value;
  if (Object.keys(tracks).length) spec.tracks = tracks;
  $('#create-btn').disabled = true; $('#create-msg').textContent = 'Creating…';
  try {
    const b = await api.createBattle(spec, f.admin.value.trim());
    showLinks(b);
    $('#create-msg').textContent = 'Battle created.';
    loadBattles();
  } catch (err) {
    $('#create-msg').textContent = `Could not create the battle: ${err.message}`;
  } finally { $('#create-btn').disabled = false; }
});

async function loadBattles() {
  let list = [];
  try { list = await api.battles(); } catch (e) { $('#battles').innerHTML = `<li class="dim">Could not list battles: ${escapeHtml(e.message)}</li>`; return; }
  list.sort((x, y) => (y.created_at ?? 0) - (x.created_at ?? 0));
  $('#battles').innerHTML = list.map((b) => {
    const sc = b.scores ? `${Math.round(b.scores.a?.total ?? 0)} : ${Math.round(b.scores.b?.total ?? 0)}` : '';
    const when = b.created_at ? new Date(b.created_at).toLocaleString() : '';
    const result = b.result?.winner ? ` · ${b.result.winner === 'draw' ? 'draw' : `DJ ${b.result.winner.toUpperCase()} won`}` : '';
    return `<li><div><b>${escapeHtml(b.name || b.id)}</b> <span class="badge ${escapeHtml(b.state)}">${escapeHtml(b.state)}</span>
      <div class="meta">${escapeHtml(when)} · ${b.spectators ?? 0} watching · score ${escapeHtml(sc)}${escapeHtml(result)}</div></div>
      <a class="pad" href="/watch/${encodeURIComponent(b.id)}" style="display:grid;place-items:center;text-decoration:none">Watch</a>
      ${b.recording_url ? `<a class="pad" href="${escapeHtml(b.recording_url)}" download style="display:grid;place-items:center;text-decoration:none">Recording</a>` : '<span></span>'}</li>`;
  }).join('') || '<li class="dim">No battles yet — create the first one.</li>';
}

loadTracks();
loadBattles();
setInterval(loadBattles, 5000);
