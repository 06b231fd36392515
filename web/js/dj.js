// The DJ controller page: the DJ's own deck in full, the opponent's deck in view, the mixer, the
// library, the judge and the connection panel. Every control answers at once (optimistic state)
// and reconciles with the server's `state`.

import { Connection, parseBattleLocation } from './protocol.js';
import { Receiver } from './rtc.js';
import { AudioOut } from './audio.js';
import { OptimisticState, flattenState } from './state.js';
import { DECK_PARAMS, MIXER_PARAMS, PITCH_RANGES, paramMessage, actionMessage, faderToTempo, rangeForTempo, mayControl, Throttle } from './messages.js';
import { MidiMapper, attachWebMidi } from './midi.js';
import { Knob, Fader, Jog, makeButton, el } from './widgets.js';
import { Animator, Spectrum, VU, HOTCUE_COLORS } from './canvas.js';
import { DeckView, JudgePanel, BattleClock, ConnectionPanel, toast, $ } from './views.js';
import { api } from './api.js';
import { MasterAnalysis, heardSpectrumFeed } from './analysis.js';
import { formatBpm, formatTime, formatDb, camelotColor, toCamelot, escapeHtml, harmonicMatch } from './format.js';

const loc = parseBattleLocation();
const seat = loc.seat === 'b' ? 'b' : 'a';
const other = seat === 'a' ? 'b' : 'a';
const validSeat = loc.seat === 'a' || loc.seat === 'b';

const conn = new Connection({ battle: loc.battle, seat, token: loc.token });
const audio = new AudioOut();
const rtc = new Receiver(conn, { onTracks: (streams) => audio.setStreams(streams) });
const state = new OptimisticState();
const animator = new Animator();
const widgets = new Map(); // state key → {set(v)}
const actions = new Map(); // control id (own-deck relative) → {press, release, absolute, relative, velocity}
let battle = { crossfader_owner: 'shared', state: 'lobby' };
let permissions = null;
let library = [];
let pitchRange = 8;
let vinyl = true;
let headphoneCue = true;

const key = (param) => (param in MIXER_PARAMS || param === 'crossfader-curve' ? `mixer.${param}` : `${seat}.${param}`);

// ---------------------------------------------------------------- sending
const throttle = new Throttle((k, { param, value }) => {
  try {
    const msg = paramMessage(seat, param, value);
    const id = conn.control(msg);
    if (id !== null) state.setLocal(k, msg.value, id);
  } catch (e) { toast(e.message, { error: true }); }
}, 30);

function setParam(param, value) {
  if (!mayControl(seat, seat, param, battle.crossfader_owner, permissions)) { toast('That control is not yours in this battle', { error: true }); return; }
  const k = key(param);
  state.setLocal(k, value);
  throttle.push(k, { param, value });
}

function act(action, opts = {}) {
  try {
    const id = conn.control(actionMessage(seat, action, opts));
    if (id === null) toast('Not connected', { error: true });
    return id;
  } catch (e) { toast(e.message, { error: true }); return null; }
}

// Jog and nudge are streams: coalesce to ≤ 50 messages/s.
const jogThrottle = new Throttle((_k, { action, value }) => act(action, { value }), 20);

// ---------------------------------------------------------------- own deck
const ownRoot = $('#own-deck');
const ownView = new DeckView(ownRoot, seat, {
  onSeek: (frac) => { if (ownView.s.duration > 0) setParam('position', frac * ownView.s.duration); },
});
ownRoot.classList.add(seat);
const otherView = new DeckView($('#other-deck'), other);
$('#other-deck').classList.add('compact');
$('#dj').classList.toggle('seat-b', seat === 'b');
document.body.style.setProperty('--accent', seat === 'a' ? 'var(--deck-a)' : 'var(--deck-b)');
$('#seat-label').textContent = validSeat ? `You are DJ ${seat.toUpperCase()}` : 'No seat';

function buildDeckControls() {
  const c = ownView.controls;
  const body = el('div', 'deck-body');
  // Jog
  const jogWrap = el('div', 'jog-wrap');
  let jogMode = null;
  const jog = new Jog({
    onTouch: ({ onTop }) => {
      jogMode = (vinyl && onTop) || !ownView.s.playing ? 'scratch' : 'nudge';
      if (jogMode === 'scratch') { act('scratch', { value: 1 }); }
    },
    onMove: (v) => {
      if (jogMode === 'scratch') jogThrottle.push('jog', { action: 'jog', value: v });
      else jogThrottle.push('nudge', { action: 'nudge', value: Math.max(-0.5, Math.min(0.5, v * 0.08)) });
    },
    onRelease: () => {
      if (jogMode === 'scratch') { jogThrottle.push('jog', { action: 'jog', value: 0 }); setTimeout(() => act('scratch', { value: 0 }), 25); }
      else jogThrottle.push('nudge', { action: 'nudge', value: 0 });
      jogMode = null;
    },
  });
  jog.canvas.dataset.control = 'jog';
  const vinylBtn = makeButton({ control: 'vinyl', label: 'VINYL<span class="sub">scratch on top</span>', className: 'on', onPress: () => { vinyl = !vinyl; vinylBtn.classList.toggle('on', vinyl); } });
  jogWrap.append(jog.canvas, vinylBtn);
  animator.add(() => jog.draw(ownView.s.position * (100 / 3 / 60) * 1.8, { playing: ownView.s.playing, accent: seat === 'a' ? '#19e3ff' : '#ffb020' }));

  // Transport
  const tr = el('div', 'transport');
  const playBtn = makeButton({ control: 'play', label: '▶❚❚<span class="sub">PLAY</span>', className: 'big play', onPress: () => togglePlay() });
  const cueBtn = makeButton({ control: 'cue', label: 'CUE', className: 'big cue', hold: true, onPress: () => act('cue', { value: 1 }), onRelease: () => act('cue', { value: 0 }) });
  const syncBtn = makeButton({ control: 'sync', label: 'SYNC', onPress: () => { act('sync'); syncBtn.classList.add('flash'); setTimeout(() => syncBtn.classList.remove('flash'), 150); } });
  const keylockBtn = makeButton({ control: 'keylock', label: 'KEYLOCK', onPress: () => setParam('keylock', !state.get(key('keylock'))) });
  const keyDown = makeButton({ control: 'key-down', label: 'KEY −', onPress: () => setParam('key-shift', (state.get(key('key-shift')) || 0) - 1) });
  const keyUp = makeButton({ control: 'key-up', label: 'KEY +', onPress: () => setParam('key-shift', (state.get(key('key-shift')) || 0) + 1) });
  const keyRead = el('div', 'pad num', { 'aria-live': 'off', title: 'Key shift (semitones); click to reset' });
  keyRead.style.display = 'grid'; keyRead.style.placeItems = 'center';
  keyRead.textContent = '±0 st';
  keyRead.addEventListener('click', () => setParam('key-shift', 0));
  const nudgeDown = makeButton({ control: 'nudge-down', label: '◀<span class="sub">NUDGE −</span>', hold: true, onPress: () => act('nudge', { value: -0.04 }), onRelease: () => act('nudge', { value: 0 }) });
  const nudgeUp = makeButton({ control: 'nudge-up', label: '▶<span class="sub">NUDGE +</span>', hold: true, onPress: () => act('nudge', { value: 0.04 }), onRelease: () => act('nudge', { value: 0 }) });
  tr.append(cueBtn, playBtn, syncBtn, keylockBtn, nudgeDown, nudgeUp, keyDown, keyRead, keyUp);
  cueBtn.classList.add('wide'); playBtn.classList.add('wide');
  const keyWidget = { set: (v) => { keyRead.textContent = `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v || 0)} st`; } };
  widgets.set(key('key-shift'), keyWidget);
  widgets.set(key('keylock'), { set: (v) => keylockBtn.classList.toggle('on', Boolean(v)) });
  widgets.set(key('playing'), { set: (v) => playBtn.classList.toggle('on', Boolean(v)) });

  // Pitch fader with range
  const pitch = el('div', 'pitch');
  const tempoFader = new Fader({ control: 'tempo', label: 'Pitch', min: 1 - pitchRange / 100, max: 1 + pitchRange / 100, def: 1, invert: true,
    format: (v) => `${v >= 1 ? '+' : '−'}${Math.abs((v - 1) * 100).toFixed(2)}%`, onInput: (v) => setParam('tempo', v) });
  const rangeBtn = makeButton({ control: 'pitch-range', label: `±${pitchRange}%`, onPress: () => {
    pitchRange = PITCH_RANGES[(PITCH_RANGES.indexOf(pitchRange) + 1) % PITCH_RANGES.length];
    applyRange();
  } });
  const resetBtn = makeButton({ control: 'tempo-reset', label: '0%', title: 'Tempo back to the original', onPress: () => { tempoFader.set(1); setParam('tempo', 1); } });
  function applyRange() {
    rangeBtn.innerHTML = `±${pitchRange}%`;
    tempoFader.min = 1 - pitchRange / 100; tempoFader.max = 1 + pitchRange / 100;
    tempoFader.set(state.get(key('tempo')) ?? 1);
  }
  pitch.append(rangeBtn, tempoFader.root, resetBtn);
  widgets.set(key('tempo'), { set: (v) => {
    const r = rangeForTempo(v, pitchRange);
    if (r !== pitchRange) { pitchRange = r; applyRange(); }
    tempoFader.set(v);
  } });
  body.append(jogWrap, tr, pitch);

  // Hotcues
  const hot = el('div', 'hotcues');
  const hotBtns = [];
  for (let i = 1; i <= 8; i++) {
    const b = makeButton({ control: `hotcue.${i}`, label: `${i}`, className: 'hotcue', title: `Hotcue ${i}: jump (or set when empty); Shift+click clears`,
      onPress: (e) => act(e?.shiftKey ? 'hotcue-clear' : 'hotcue', { index: i }) });
    b.style.setProperty('--hc', HOTCUE_COLORS[i - 1]);
    hotBtns.push(b); hot.appendChild(b);
  }
  hotBtns.forEach((b, i) => widgets.set(key(`hotcue-${i + 1}`), { set: (v) => b.classList.toggle('set', typeof v === 'number' && v >= 0) }));

  // Loops and beatjump
  const loops = el('div', 'loops');
  const L = (control, label, fn, title) => makeButton({ control, label, onPress: fn, title });
  const loopBtns = [
    L('loop-in', 'IN', () => act('loop-in'), 'Loop in'), L('loop-out', 'OUT', () => act('loop-out'), 'Loop out'),
    L('reloop', 'RELOOP', () => act('reloop')), L('loop-exit', 'EXIT', () => act('loop-exit')),
    L('loop-halve', '½', () => act('loop-halve'), 'Halve the loop'), L('loop-double', '×2', () => act('loop-double'), 'Double the loop'),
    L('beatjump.-1', '◀ 1', () => act('beatjump', { value: -1 }), 'Beatjump back 1 beat'), L('beatjump.1', '1 ▶', () => act('beatjump', { value: 1 }), 'Beatjump forward 1 beat'),
  ];
  for (const n of [1, 2, 4, 8, 16, 32]) loopBtns.push(L(`beatloop.${n}`, `${n}`, () => act('beatloop', { value: n }), `${n}-beat loop`));
  loopBtns.push(L('beatjump.-16', '◀ 16', () => act('beatjump', { value: -16 }), 'Beatjump back 16 beats'), L('beatjump.16', '16 ▶', () => act('beatjump', { value: 16 }), 'Beatjump forward 16 beats'));
  loops.append(el('div', 'group-label', { text: 'Loop · beatjump' }), ...loopBtns);
  loops.querySelector('.group-label').style.gridColumn = '1 / -1';
  widgets.set(key('loop-active'), { set: (v) => loopBtns[2].classList.toggle('on', Boolean(v)) });

  c.append(body, el('div', 'group-label', { text: 'Hotcues' }), hot, loops);

  // Actions reachable from MIDI / keyboard.
  actions.set('play', { press: () => togglePlay() });
  actions.set('cue', { press: () => act('cue', { value: 1 }), release: () => act('cue', { value: 0 }) });
  actions.set('sync', { press: () => act('sync') });
  actions.set('keylock', { press: () => setParam('keylock', !state.get(key('keylock'))) });
  for (let i = 1; i <= 8; i++) actions.set(`hotcue.${i}`, { press: () => act('hotcue', { index: i }) });
  for (const a of ['loop-in', 'loop-out', 'reloop', 'loop-exit', 'loop-halve', 'loop-double']) actions.set(a, { press: () => act(a) });
  for (const n of [1, 2, 4, 8, 16, 32]) actions.set(`beatloop.${n}`, { press: () => act('beatloop', { value: n }) });
  for (const n of [-16, -1, 1, 16]) actions.set(`beatjump.${n}`, { press: () => act('beatjump', { value: n }) });
  actions.set('tempo', { absolute: (n) => { const v = faderToTempo(n * 2 - 1, pitchRange); widgets.get(key('tempo')).set(v); setParam('tempo', v); } });
  actions.set('nudge-down', { press: () => act('nudge', { value: -0.04 }), release: () => act('nudge', { value: 0 }) });
  actions.set('nudge-up', { press: () => act('nudge', { value: 0.04 }), release: () => act('nudge', { value: 0 }) });
  actions.set('key-down', { press: () => setParam('key-shift', (state.get(key('key-shift')) || 0) - 1) });
  actions.set('key-up', { press: () => setParam('key-shift', (state.get(key('key-shift')) || 0) + 1) });
  let jogRelease = 0;
  const midiJog = (v) => {
    const scratch = vinyl || !ownView.s.playing;
    if (scratch && !jogScratching) { jogScratching = true; act('scratch', { value: 1 }); }
    jogThrottle.push('jog', { action: scratch ? 'jog' : 'nudge', value: scratch ? v : Math.max(-0.5, Math.min(0.5, v * 0.08)) });
    clearTimeout(jogRelease);
    jogRelease = setTimeout(() => {
      jogThrottle.push('jog', { action: jogScratching ? 'jog' : 'nudge', value: 0 });
      if (jogScratching) setTimeout(() => act('scratch', { value: 0 }), 25);
      jogScratching = false;
    }, 80);
  };
  let jogScratching = false;
  actions.set('jog', { velocity: (v) => midiJog(v * 2), relative: (ticks) => midiJog(ticks * 0.25) });
}

function togglePlay() {
  const playing = Boolean(state.get(key('playing')));
  state.setLocal(key('playing'), !playing);
  const id = act(playing ? 'pause' : 'play');
  if (id !== null) state.setLocal(key('playing'), !playing, id);
}

// ---------------------------------------------------------------- mixer
function buildMixer() {
  const m = $('#mixer');
  m.innerHTML = '<h2>Mixer</h2>';
  const strips = el('div', 'mixer-strips');
  const makeStrip = (d) => {
    const own = d === seat;
    const s = el('div', `strip ${d} ${own ? 'mine' : ''}`);
    s.appendChild(el('div', 'strip-name', { text: `${d.toUpperCase()}${own ? ' · YOU' : ''}` }));
    // Trim first, as on a club mixer: set the channel's level before the EQ and the fader.
    const trim = new Knob({ control: own ? 'trim' : `${d}.trim`, label: 'Trim', min: DECK_PARAMS.trim.min, max: DECK_PARAMS.trim.max, def: 0, centred: true, format: formatDb, onInput: (v) => setParam('trim', v) });
    if (!own) trim.setDisabled(true);
    s.appendChild(trim.root);
    widgets.set(`${d}.trim`, trim);
    if (own) actions.set('trim', { absolute: (n) => { const v = trim.fromNorm(n); trim.set(v); setParam('trim', v); }, relative: (t) => trim.setNorm(trim.norm() + t / 64) });
    for (const band of ['high', 'mid', 'low']) {
      const p = `eq-${band}`;
      const row = el('div', 'eqrow');
      const k = new Knob({ control: own ? p : `${d}.${p}`, label: band, min: DECK_PARAMS[p].min, max: DECK_PARAMS[p].max, def: 0, centred: true, format: (v) => (v <= DECK_PARAMS[p].min + 0.05 ? 'kill' : formatDb(v)), onInput: (v) => setParam(p, v) });
      const killP = `eq-${band}-kill`;
      const kill = makeButton({ control: own ? killP : `${d}.${killP}`, label: 'KILL', className: 'kill', title: `Kill ${band}`, onPress: () => setParam(killP, !state.get(key(killP))) });
      if (!own) { k.setDisabled(true); kill.disabled = true; }
      row.append(k.root, kill);
      s.appendChild(row);
      widgets.set(`${d}.${p}`, k);
      widgets.set(`${d}.${killP}`, { set: (v) => kill.classList.toggle('on', Boolean(v)) });
      if (own) {
        actions.set(p, { absolute: (n) => { const v = k.fromNorm(n); k.set(v); setParam(p, v); }, relative: (t) => k.setNorm(k.norm() + t / 64) });
        actions.set(killP, { press: () => setParam(killP, !state.get(key(killP))) });
      }
    }
    const f = new Knob({ control: own ? 'filter' : `${d}.filter`, label: 'Filter', min: -1, max: 1, def: 0,
      format: (v) => (Math.abs(v) < 0.02 ? 'off' : v < 0 ? `LP ${Math.round(-v * 100)}` : `HP ${Math.round(v * 100)}`), onInput: (v) => setParam('filter', v) });
    if (!own) f.setDisabled(true);
    s.appendChild(f.root);
    widgets.set(`${d}.filter`, f);
    const vol = new Fader({ control: own ? 'volume' : `${d}.volume`, label: 'Channel', min: 0, max: 1, def: 1, format: (v) => `${Math.round(v * 100)}`, onInput: (v) => setParam('volume', v) });
    if (!own) vol.setDisabled(true);
    s.appendChild(vol.root);
    widgets.set(`${d}.volume`, vol);
    if (own) {
      actions.set('filter', { absolute: (n) => { const v = f.fromNorm(n); f.set(v); setParam('filter', v); }, relative: (t) => f.setNorm(f.norm() + t / 64) });
      actions.set('volume', { absolute: (n) => { vol.set(n); setParam('volume', n); } });
    }
    return s;
  };
  const vuCol = el('div', 'vu-col');
  const vuCanvas = el('canvas', 'vu', { 'aria-label': 'Master level' });
  vuCol.append(vuCanvas, el('div', 'knob-label', { text: 'Master' }));
  strips.append(makeStrip('a'), vuCol, makeStrip('b'));
  m.appendChild(strips);

  const xf = new Fader({ control: 'crossfader', label: 'Crossfader', horizontal: true, min: -1, max: 1, def: 0, className: 'xfader',
    format: (v) => (Math.abs(v) < 0.02 ? 'centre' : v < 0 ? `A ${Math.round(-v * 100)}` : `B ${Math.round(v * 100)}`), onInput: (v) => setParam('crossfader', v) });
  const xfNote = el('div', 'xfader-note');
  m.append(xf.root, xfNote);
  widgets.set('mixer.crossfader', xf);
  actions.set('crossfader', { absolute: (n) => { const v = n * 2 - 1; if (!xf.disabled) { xf.set(v); setParam('crossfader', v); } } });
  const updateXf = () => {
    const mine = mayControl(seat, seat, 'crossfader', battle.crossfader_owner, permissions);
    xf.setDisabled(!mine);
    const owner = battle.crossfader_owner;
    xfNote.textContent = owner === 'shared' ? 'Crossfader shared by both DJs' : mine ? 'The crossfader is yours' : `Crossfader belongs to DJ ${String(owner).toUpperCase()}`;
  };
  updateXf();
  buildMixer.updateXf = updateXf;

  // Headphones
  const hp = el('div', 'headphones');
  const pfl = makeButton({ control: 'headphone-cue', label: 'HP CUE', className: 'on', title: 'Headphones: your cue mix (on) or the master (off)', onPress: () => setHeadphoneCue(!headphoneCue) });
  const cueMix = new Knob({ control: 'cue-mix', label: 'Cue mix', min: 0, max: 1, def: 0.5, bipolar: false,
    format: (v) => (v < 0.03 ? 'cue' : v > 0.97 ? 'master' : `${Math.round(v * 100)}% mst`), onInput: (v) => setParam('cue-mix', v) });
  widgets.set(key('cue-mix'), cueMix);
  actions.set('cue-mix', { absolute: (n) => { cueMix.set(n); setParam('cue-mix', n); } });
  actions.set('headphone-cue', { press: () => setHeadphoneCue(!headphoneCue) });
  const out = el('select', '', { 'aria-label': 'Headphone output', 'data-control': 'headphone-output' });
  out.innerHTML = '<option value="off">Headphones off</option><option value="split">Split cue: master left ear, cue right ear</option>';
  out.addEventListener('change', () => routeHeadphones());
  out.addEventListener('focus', () => listOutputs(out), { once: true });
  listOutputs(out);
  hp.append(pfl, el('div', 'dim', { text: 'Headphone cue (pre-fader)' }), cueMix.root, out);
  m.append(el('h2', '', { text: 'Headphones' }), hp);
  function setHeadphoneCue(on) { headphoneCue = on; pfl.classList.toggle('on', on); audio.cueEnabled = on; audio.route(); }
  function routeHeadphones() {
    const v = out.value;
    if (v === 'off' || v === 'split') audio.setCueOutput(v);
    else audio.setCueOutput('device', v.slice(4));
    audio.resume();
  }

  const spec = el('canvas', 'spectrum', { 'aria-label': 'Master spectrum' });
  m.append(spec);
  const spectrum = new Spectrum(spec, { accent: seat === 'a' ? '#19e3ff' : '#ffb020' });
  const vu = new VU(vuCanvas);
  animator.add((t) => { spectrum.draw(audio.analyser); vu.draw(audio.levels(), t); });
}

async function listOutputs(select) {
  const devices = await AudioOut.outputDevices();
  const keep = select.value;
  [...select.querySelectorAll('option[data-dev]')].forEach((o) => o.remove());
  devices.forEach((d, i) => {
    const o = el('option', '', { value: `dev:${d.deviceId}`, 'data-dev': '1' });
    o.textContent = `Output: ${d.label || (d.deviceId === 'default' ? 'System default' : `device ${i + 1}`)}`;
    select.appendChild(o);
  });
  select.value = keep;
}

// ---------------------------------------------------------------- library
function buildLibrary() {
  const root = $('#library');
  root.innerHTML = `<h2>Library</h2>
    <div class="lib-tools"><input type="search" placeholder="Search title, artist, genre, key…" aria-label="Search the library"></div>
    <div class="tracklist"><table><thead><tr><th>Title</th><th>BPM</th><th>Key</th><th>Time</th><th></th></tr></thead><tbody></tbody></table></div>
    <div class="dropzone" tabindex="0">Drop audio files here to upload (or onto your deck to upload and load)</div>`;
  const search = $('input', root), tbody = $('tbody', root), drop = $('.dropzone', root);
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const ownKey = ownView.s.key;
    const rows = library.filter((t) => !q || [t.title, t.artist, t.genre, t.key, t.camelot, t.id, String(Math.round(t.bpm || 0))].some((x) => String(x ?? '').toLowerCase().includes(q)));
    tbody.innerHTML = rows.map((t) => {
      const k = t.camelot || t.key || '';
      const match = ownKey && harmonicMatch(k, ownKey) ? ' title="Harmonic match with your deck"' : '';
      return `<tr draggable="true" data-id="${escapeHtml(t.id)}" class="${t.id === ownView.trackId ? 'loaded' : ''}">
        <td class="t"><b>${escapeHtml(t.title || t.id)}</b><br><span class="dim">${escapeHtml(t.artist || t.genre || '')}</span></td>
        <td class="num">${formatBpm(t.bpm)}</td>
        <td><span class="keychip"${match} style="background:${camelotColor(k)}">${escapeHtml(toCamelot(k) || k || '—')}</span></td>
        <td class="num">${formatTime(t.duration_s ?? t.duration)}</td>
        <td><button class="pad" type="button" data-load="${escapeHtml(t.id)}">Load</button></td></tr>`;
    }).join('') || '<tr><td colspan="5" class="dim">No tracks match.</td></tr>';
  };
  buildLibrary.render = render;
  search.addEventListener('input', render);
  tbody.addEventListener('click', (e) => { const id = e.target.closest('[data-load]')?.dataset.load; if (id) loadTrack(id); });
  tbody.addEventListener('dragstart', (e) => { const tr = e.target.closest('tr[data-id]'); if (tr) e.dataTransfer.setData('text/x-dju-track', tr.dataset.id); });
  const dropTarget = (node, onDrop) => {
    node.addEventListener('dragover', (e) => { e.preventDefault(); node.classList.add(node === drop ? 'over' : 'dragover'); });
    node.addEventListener('dragleave', () => node.classList.remove('over', 'dragover'));
    node.addEventListener('drop', (e) => { e.preventDefault(); node.classList.remove('over', 'dragover'); onDrop(e.dataTransfer); });
  };
  dropTarget(drop, (dt) => uploadFiles(dt.files, false));
  dropTarget(ownRoot, (dt) => {
    const id = dt.getData('text/x-dju-track');
    if (id) loadTrack(id); else if (dt.files?.length) uploadFiles(dt.files, true);
  });
  refreshLibrary();
}

async function refreshLibrary() {
  try { library = await api.tracks(); } catch (e) { toast(`Library: ${e.message}`, { error: true }); }
  buildLibrary.render?.();
  for (const [d, view] of [[seat, ownView], [other, otherView]]) {
    const id = state.get(`${d}.track`);
    const t = library.find((x) => x.id === id);
    if (t && view.trackId !== id) view.setTrack(t);
  }
}

async function uploadFiles(files, loadFirst) {
  for (const f of files) {
    toast(`Uploading ${f.name}… (analysing)`, { ms: 10000 });
    try {
      const t = await api.upload(f);
      toast(`${t.title || t.id} added: ${formatBpm(t.bpm)} BPM, ${t.camelot || t.key || '?'}`);
      await refreshLibrary();
      if (loadFirst) { loadTrack(t.id); loadFirst = false; }
    } catch (e) { toast(`Upload refused: ${e.message}`, { error: true, ms: 5000 }); }
  }
}

function loadTrack(id) {
  if (ownView.s.playing && battle.state === 'live' && !confirm('Your deck is playing. Load a new track anyway?')) return;
  const t = library.find((x) => x.id === id);
  if (t) ownView.setTrack(t);
  act('load', { track: id });
  buildLibrary.render?.();
}

// ---------------------------------------------------------------- connection, MIDI, shortcuts
const SHORTCUTS = [
  ['Space', 'Play / pause'], ['C (hold)', 'CDJ cue'], ['1 … 8', 'Hotcue (Shift: clear)'],
  ['Q / W', 'Loop in / out'], ['E', 'Reloop / exit'], ['L', '4-beat loop'], ['[ / ]', 'Loop ½ / ×2'],
  ['← / →', 'Beatjump 1 (Shift: 16)'], [', / . (hold)', 'Nudge − / +'], ['↑ / ↓', 'Pitch −/+ 0.05 % (Shift ×10)'],
  ['S', 'Sync'], ['K', 'Keylock'], ['- / =', 'Key shift'], ['B / N / M', 'Kill low / mid / high'],
  ['R / F', 'Channel fader up / down'], ['A / D', 'Crossfader left / right'], ['H', 'Headphone cue'], ['Esc', 'Leave MIDI learn'],
];

function buildConnection() {
  const root = $('#connection');
  root.innerHTML = '<h2>Connection</h2>';
  new ConnectionPanel(root, { conn, rtc });
  root.insertAdjacentHTML('beforeend', `<h2 style="margin-top:12px">MIDI</h2>
    <div class="midi-bar"><button class="pad" type="button" id="midi-learn">MIDI learn</button>
    <button class="pad" type="button" id="midi-reset" title="Back to the default mapping">Reset mapping</button>
    <span class="status" id="midi-status">No MIDI device</span></div>
    <details style="margin-top:10px" id="help" open><summary>Keyboard shortcuts</summary>
    <table class="shortcuts">${SHORTCUTS.map(([k, v]) => `<tr><td><kbd>${escapeHtml(k)}</kbd></td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
    <p class="dim" style="font-size:12px">Knobs and faders: drag (Shift = fine), mouse wheel, arrow keys when focused; double-click resets. Jog: drag the platter top to scratch (VINYL on), the ring to nudge.</p></details>`);
}

const mapper = new MidiMapper({ onControl: (ev) => applyMidi(ev) });
let midiDevices = [];
let lastDevice = 'keyboard';
function applyMidi(ev) {
  lastDevice = ev.device;
  const a = actions.get(ev.control);
  if (!a) return;
  if (ev.type === 'press') (a.press ?? (() => a.absolute?.(1)))();
  else if (ev.type === 'release') a.release?.();
  else if (ev.type === 'absolute') { if (a.absolute) a.absolute(ev.value); else if (ev.value >= 0.5) a.press?.(); }
  else if (ev.type === 'relative') a.relative?.(ev.value);
  else if (ev.type === 'velocity') a.velocity?.(ev.value);
}
function midiStatus(text) { const s = $('#midi-status'); if (s) s.textContent = text; }
mapper.on((ev) => {
  if (ev.type === 'learn') {
    document.body.classList.toggle('learning', ev.on);
    $('#midi-learn')?.classList.toggle('on', ev.on);
    midiStatus(ev.on ? 'Learn: move a control on your controller, then click the on-screen control (Esc to stop)' : deviceText());
  } else if (ev.type === 'captured') midiStatus(`Learn: got ${ev.msg.kind} ${ev.msg.number} (ch ${ev.msg.channel + 1}) from ${ev.device} — now click the on-screen control`);
  else if (ev.type === 'armed') midiStatus(`Learn: move the controller's control for “${ev.control}”`);
  else if (ev.type === 'bound') { midiStatus(`Bound ${ev.binding.kind} ${ev.binding.number} → ${ev.binding.control} (saved for ${ev.device})`); toast(`MIDI: ${ev.binding.kind} ${ev.binding.number} → ${ev.binding.control}`); document.querySelectorAll('.armed').forEach((x) => x.classList.remove('armed')); }
});
function deviceText() { return midiDevices.length ? `Devices: ${midiDevices.join(', ')}` : 'No MIDI device (plug one in; default mapping per device)'; }

function wireMidiUi() {
  $('#midi-learn').addEventListener('click', () => (mapper.learning ? mapper.stopLearn() : mapper.startLearn()));
  $('#midi-reset').addEventListener('click', () => { for (const d of new Set([...midiDevices, lastDevice])) mapper.reset(d); toast('MIDI mapping back to the default'); });
  // In learn mode, a click on any on-screen control picks it instead of acting.
  document.addEventListener('pointerdown', (e) => {
    if (!mapper.learning) return;
    const t = e.target.closest('[data-control]');
    if (!t || t.id === 'midi-learn') return;
    e.preventDefault(); e.stopPropagation();
    t.classList.add('armed');
    const b = mapper.pickControl(t.dataset.control);
    if (b) t.classList.remove('armed');
  }, true);
  document.addEventListener('click', (e) => { if (mapper.learning && e.target.closest('[data-control]') && e.target.id !== 'midi-learn') { e.preventDefault(); e.stopPropagation(); } }, true);
  attachWebMidi(mapper, (names) => { midiDevices = names; if (!mapper.learning) midiStatus(deviceText()); });
}

function wireKeyboard() {
  const held = new Set();
  // Shortcuts work everywhere except while typing; a focused knob/fader keeps the arrow keys it
  // handles (it stops their propagation), a focused button keeps Space/Enter.
  const isTyping = (t) => t.closest('input, select, textarea');
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && mapper.learning) { mapper.stopLearn(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    if ((e.key === ' ' || e.key === 'Enter') && e.target.closest('button')) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (held.has(k) && e.repeat) { e.preventDefault(); return; }
    const step = (p, d) => { const w = widgets.get(key(p)); const v = (state.get(key(p)) ?? w.def ?? 0) + d; w.set?.(v); setParam(p, Math.min(w.max ?? Infinity, Math.max(w.min ?? -Infinity, v))); };
    let handled = true;
    const digit = /^Digit([1-8])$/.exec(e.code);
    if (digit) act(e.shiftKey ? 'hotcue-clear' : 'hotcue', { index: Number(digit[1]) });
    else switch (k) {
      case ' ': togglePlay(); break;
      case 'c': held.add(k); act('cue', { value: 1 }); break;
      case 'q': act('loop-in'); break;
      case 'w': act('loop-out'); break;
      case 'e': act(state.get(key('loop-active')) ? 'loop-exit' : 'reloop'); break;
      case 'l': act('beatloop', { value: 4 }); break;
      case '[': act('loop-halve'); break;
      case ']': act('loop-double'); break;
      case 'ArrowLeft': act('beatjump', { value: e.shiftKey ? -16 : -1 }); break;
      case 'ArrowRight': act('beatjump', { value: e.shiftKey ? 16 : 1 }); break;
      case ',': held.add(k); act('nudge', { value: -0.04 }); break;
      case '.': held.add(k); act('nudge', { value: 0.04 }); break;
      case 'ArrowUp': step('tempo', -(e.shiftKey ? 0.005 : 0.0005)); break;
      case 'ArrowDown': step('tempo', e.shiftKey ? 0.005 : 0.0005); break;
      case 's': act('sync'); break;
      case 'k': setParam('keylock', !state.get(key('keylock'))); break;
      case '-': setParam('key-shift', (state.get(key('key-shift')) || 0) - 1); break;
      case '=': case '+': setParam('key-shift', (state.get(key('key-shift')) || 0) + 1); break;
      case 'b': setParam('eq-low-kill', !state.get(key('eq-low-kill'))); break;
      case 'n': setParam('eq-mid-kill', !state.get(key('eq-mid-kill'))); break;
      case 'm': setParam('eq-high-kill', !state.get(key('eq-high-kill'))); break;
      case 'r': step('volume', 0.05); break;
      case 'f': step('volume', -0.05); break;
      case 'a': if (!widgets.get('mixer.crossfader').disabled) step('crossfader', e.shiftKey ? -2 : -0.1); break;
      case 'd': if (!widgets.get('mixer.crossfader').disabled) step('crossfader', e.shiftKey ? 2 : 0.1); break;
      case 'h': actions.get('headphone-cue').press(); break;
      case '?': { const h = $('#help'); h.open = !h.open; break; }
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });
  document.addEventListener('keyup', (e) => {
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (!held.delete(k)) return;
    if (k === 'c') act('cue', { value: 0 });
    if (k === ',' || k === '.') act('nudge', { value: 0 });
  });
}

// ---------------------------------------------------------------- server events
function applyFlat(flat) {
  state.applyServer(flat);
  ownView.update((k) => state.get(`${seat}.${k}`));
  otherView.update((k) => state.get(`${other}.${k}`));
  for (const d of [seat, other]) {
    const id = flat[`${d}.track`];
    const view = d === seat ? ownView : otherView;
    if (typeof id === 'string' && id && view.trackId !== id) {
      const t = library.find((x) => x.id === id);
      if (t) { view.setTrack(t); if (d === seat) buildLibrary.render?.(); }
    }
  }
}

state.onChange((k, v) => { const w = widgets.get(k); if (w) w.set(v); });

const clock = new BattleClock({ badge: $('#battle-state'), timer: $('#timer'), scoreA: $('#score-a'), scoreB: $('#score-b'), onCountdown: (n) => countdown(n) });
const judge = new JudgePanel($('#judge'));
// Under the judge, what it hears: the server's analysis of the master (beat, running tempo, bands,
// notes), shown when its audio is heard.
$('#judge').append(el('h2', 'sub', { text: 'Master · what the judge hears' }));
const analysis = new MasterAnalysis($('#judge').appendChild(el('div', '', { 'aria-label': "The server's analysis of the master: beat, tempo, bands, notes" })), heardSpectrumFeed(conn, rtc, audio));
animator.add(() => analysis.frame());

function countdown(n) {
  let box = $('#countdown');
  if (!box) {
    box = el('div', 'overlay-msg', { id: 'countdown' });
    box.innerHTML = '<div class="box"><div class="dim">Battle starts in</div><div class="count num">5</div></div>';
    document.body.appendChild(box);
  }
  let left = Math.ceil(n || 0);
  const tick = () => {
    if (left <= 0 || clock.state !== 'countdown') { box.remove(); return; }
    $('.count', box).textContent = left; left -= 1; setTimeout(tick, 1000);
  };
  tick();
}

function applyBattle(b) {
  battle = { ...battle, ...b };
  if (b.name) { $('#battle-name').textContent = b.name; document.title = `DJ ${seat.toUpperCase()} · ${b.name} — DJ Universe`; }
  clock.apply(b);
  buildMixer.updateXf?.();
  const ready = $('#ready');
  const mine = b.seats?.[seat];
  if (mine?.ready) { ready.textContent = 'Ready ✓'; ready.disabled = true; }
  ready.classList.toggle('hidden', battle.state !== 'lobby');
  if (Array.isArray(b.transitions)) judge.history(b.transitions);
}

conn.on('joined', (m) => {
  permissions = Array.isArray(m.permissions) ? m.permissions : null;
  if (m.battle) { applyBattle(m.battle); applyFlat(flattenState(m.battle)); }
  toast(`Joined as DJ ${seat.toUpperCase()}`);
});
conn.on('state', (m) => applyFlat(flattenState(m)));
conn.on('track', (m) => {
  const view = m.deck === seat ? ownView : m.deck === other ? otherView : null;
  if (!view) return;
  const lib = library.find((x) => x.id === m.track);
  view.setTrack({ ...(lib || {}), ...m, id: m.track, title: m.title || lib?.title || m.track });
  buildLibrary.render?.();
});
conn.on('ack', (m) => state.ack(m.id));
conn.on('error', (m) => {
  if (m.id !== undefined) state.reject(m.id);
  toast(`${m.code}: ${m.message}`, { error: true, ms: 4000 });
});
conn.on('battle', (m) => {
  if (m.event === 'seat' && m.seat) { battle.seats = { ...(battle.seats || {}), [m.seat]: { joined: m.joined, ready: m.ready } }; }
  applyBattle(m);
  if (m.state === 'live' && m.event === 'live') toast('Live! The battle is on.');
  if (m.state === 'ended') toast(`Battle over${m.result?.winner ? ` — ${m.result.winner === 'draw' ? 'draw' : `DJ ${m.result.winner.toUpperCase()} wins`}` : ''}`, { ms: 8000 });
});
conn.on('judge', (m) => judge.judge(m));
conn.on('score', (m) => clock.scores(m.scores || {}));
conn.on('status', (m) => { if (m.status === 'reconnecting') toast('Connection lost — reconnecting…', { error: true }); });

// ---------------------------------------------------------------- start
buildDeckControls();
buildMixer();
buildLibrary();
buildConnection();
wireMidiUi();
wireKeyboard();
$('#ready').addEventListener('click', () => { conn.send({ type: 'ready' }); audio.resume(); $('#ready').textContent = 'Waiting for the other DJ…'; $('#ready').disabled = true; });
document.addEventListener('pointerdown', () => audio.resume(), { once: true });
animator.add(() => { ownView.frame(otherView); otherView.frame(ownView); clock.frame(); });

if (!loc.battle || !validSeat) {
  $('#battle-name').textContent = 'This DJ link is incomplete';
  toast('Open the DJ link from the lobby (it carries the battle, your seat and your token).', { error: true, ms: 10000 });
} else conn.connect();

// For diagnostics and the browser tests.
window.dju = { conn, rtc, audio, state, mapper, seat, widgets, actions, animator, ownView, otherView, applyMidi, analysis };
