// Spectator page and OBS overlay (?overlay=1): the master audio, both decks, spectrum, scores and
// the judge. Nothing here acts on the battle: the page only joins as a spectator and listens.

import { Connection, parseBattleLocation } from './protocol.js';
import { Receiver } from './rtc.js';
import { AudioOut } from './audio.js';
import { OptimisticState, flattenState } from './state.js';
import { Animator, Spectrum, VU } from './canvas.js';
import { DeckView, JudgePanel, BattleClock, ConnectionPanel, toast, $ } from './views.js';
import { api } from './api.js';
import { MasterAnalysis, heardSpectrumFeed } from './analysis.js';
import { formatBpm, toCamelot, formatTempoPercent, escapeHtml } from './format.js';

const loc = parseBattleLocation();
const conn = new Connection({ battle: loc.battle, seat: 'spectator' });
const audio = new AudioOut();
const rtc = new Receiver(conn, { onTracks: (streams) => { audio.setStreams(streams.slice(0, 1)); tryPlay(); } });
const state = new OptimisticState();
const animator = new Animator();
let library = [];

if (loc.overlay) buildOverlay();

const views = loc.overlay ? null : { a: new DeckView($('#deck-a'), 'a'), b: new DeckView($('#deck-b'), 'b') };
const clock = new BattleClock({
  badge: $('#battle-state') || document.createElement('span'), timer: $('#timer'),
  scoreA: $('#score-a'), scoreB: $('#score-b'),
});
const judge = new JudgePanel($('#judge') || document.createElement('div'));

function buildOverlay() {
  document.body.classList.add('overlay');
  document.documentElement.classList.add('overlay'); // the page background must be transparent too
  document.body.innerHTML = `<div class="ov">
    <div class="ov-top"><div class="ov-score a" id="score-a">0</div>
      <div class="ov-mid"><div class="ov-title" id="battle-name">DJ Universe</div><div class="ov-timer" id="timer">--:--</div><div id="analysis"></div></div>
      <div class="ov-score b" id="score-b">0</div></div>
    <div class="ov-hint" id="ov-hint"></div>
    <div class="ov-bottom">
      <div class="ov-deck a"><div class="t" id="ov-title-a">Deck A</div><div class="m" id="ov-meta-a">—</div></div>
      <canvas class="ov-spec" id="spectrum"></canvas>
      <div class="ov-deck b"><div class="t" id="ov-title-b">Deck B</div><div class="m" id="ov-meta-b">—</div></div>
    </div></div>`;
}

async function tryPlay() {
  const s = await audio.resume();
  if (s !== 'running' && !loc.overlay) $('#listen')?.classList.remove('hidden');
}
$('#listen-btn')?.addEventListener('click', async () => { await audio.resume(); $('#listen').classList.add('hidden'); });

const ovTrack = { a: null, b: null };
function overlayDeck(d) {
  const get = (k) => state.get(`${d}.${k}`);
  const t = library.find((x) => x.id === get('track')) || ovTrack[d] || {};
  const title = t.title || get('track') || `Deck ${d.toUpperCase()}`;
  const bpm = get('bpm') ?? t.bpm;
  const tempo = get('tempo') ?? 1;
  const key = toCamelot(get('camelot') || get('key') || t.camelot || t.key);
  $(`#ov-title-${d}`).textContent = `${get('playing') ? '▶ ' : ''}${title}`;
  $(`#ov-meta-${d}`).textContent = `${formatBpm(bpm * tempo)} BPM · ${key || '—'} · ${formatTempoPercent(tempo)}`;
}

function applyFlat(flat) {
  state.applyServer(flat);
  const xf = state.get('mixer.crossfader');
  const mark = $('#xf-mark');
  if (mark && Number.isFinite(xf)) mark.style.left = `${((xf + 1) / 2) * 100}%`;
  for (const d of ['a', 'b']) {
    if (views) {
      views[d].update((k) => state.get(`${d}.${k}`));
      const id = state.get(`${d}.track`);
      if (typeof id === 'string' && id && views[d].trackId !== id) { const t = library.find((x) => x.id === id); if (t) views[d].setTrack(t); }
    } else overlayDeck(d);
  }
}

function applyBattle(b) {
  if (b.name) { $('#battle-name').textContent = b.name; document.title = `${b.name} — DJ Universe`; }
  clock.apply(b);
  if (Array.isArray(b.transitions)) judge.history(b.transitions);
}

conn.on('joined', (m) => { if (m.battle) { applyBattle(m.battle); applyFlat(flattenState(m.battle)); } });
conn.on('state', (m) => applyFlat(flattenState(m)));
conn.on('track', (m) => {
  const lib = library.find((x) => x.id === m.track);
  const t = { ...(lib || {}), ...m, id: m.track, title: m.title || lib?.title || m.track };
  if (views?.[m.deck]) views[m.deck].setTrack(t); else if (m.deck in ovTrack) { ovTrack[m.deck] = t; overlayDeck(m.deck); }
});
conn.on('battle', (m) => applyBattle(m));
conn.on('judge', (m) => {
  judge.judge(m);
  const h = $('#ov-hint');
  if (h) {
    h.textContent = `${m.seat ? `DJ ${m.seat.toUpperCase()} · ` : ''}${Number.isFinite(m.score) ? `${Math.round(m.score)} · ` : ''}${m.feedback || ''}`;
    clearTimeout(applyBattle.hintTimer); applyBattle.hintTimer = setTimeout(() => { h.textContent = ''; }, 8000);
  }
});
conn.on('score', (m) => clock.scores(m.scores || {}));
conn.on('error', (m) => toast(`${m.code}: ${m.message}`, { error: true }));

// The server's djspectrum readings, shown when their audio is heard.
const analysis = new MasterAnalysis($('#analysis'), heardSpectrumFeed(conn, rtc, audio), { bands: !loc.overlay, chroma: !loc.overlay });
if (loc.overlay) setInterval(() => rtc.sample().catch(() => {}), 1000); // elsewhere the connection panel samples

const spectrum = new Spectrum($('#spectrum'), { bars: loc.overlay ? 64 : 72 });
const vu = $('#vu') ? new VU($('#vu')) : null;
animator.add((t) => {
  spectrum.draw(audio.analyser, { transparent: loc.overlay });
  vu?.draw(audio.levels(), t);
  analysis.frame();
  if (views) { views.a.frame(views.b); views.b.frame(views.a); }
  clock.frame();
});
if (!loc.overlay) new ConnectionPanel($('#conn'), { conn, rtc, showAck: false });

api.tracks().then((t) => { library = t; applyFlat({}); }).catch(() => {});
if (!loc.battle) { $('#battle-name').textContent = 'No battle in this link'; } else conn.connect();
document.addEventListener('pointerdown', () => audio.resume(), { once: true });

window.dju = { conn, rtc, audio, state, analysis, overlay: loc.overlay };
