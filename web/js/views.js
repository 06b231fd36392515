// Views shared by the DJ and spectator pages: a deck display (track, readouts, waveforms), the
// judge panel, the score line and timer, the connection panel and toasts.

import { formatBpm, formatTempoPercent, formatTime, formatTimeTenths, formatMs, camelotColor, toCamelot, escapeHtml } from './format.js';
import { Overview, Zoom } from './canvas.js';
import { PlayheadClock } from './state.js';

export function $(sel, root = document) { return root.querySelector(sel); }

let toastTimer = 0;
export function toast(text, { error = false, ms = 2600 } = {}) {
  let t = $('#toast');
  if (!t) { t = document.createElement('div'); t.id = 'toast'; t.className = 'toast'; t.setAttribute('role', 'status'); document.body.appendChild(t); }
  t.textContent = text; t.classList.toggle('error', error); t.classList.add('show');
  clearTimeout(toastTimer); toastTimer = setTimeout(() => t.classList.remove('show'), ms);
}

/** The read-only part of a deck: title, BPM, key, tempo, elapsed/remaining, overview + zoom. */
export class DeckView {
  constructor(root, deck, { onSeek = null } = {}) {
    this.root = root; this.deck = deck;
    root.classList.add('deck', deck);
    root.innerHTML = `
      <div class="deck-head">
        <div class="deck-letter">${deck.toUpperCase()}</div>
        <div class="track-name"><div class="title">—</div><div class="artist">No track loaded</div></div>
        <div class="readouts">
          <div class="readout"><div class="v bpm num" data-r="bpm">---.-</div><div class="k">BPM</div></div>
          <div class="readout"><div class="v num" data-r="key"><span class="keychip">—</span></div><div class="k">Key</div></div>
          <div class="readout"><div class="v tempo num" data-r="tempo">+0.00%</div><div class="k">Pitch</div></div>
          <div class="readout"><div class="v time num" data-r="time">0:00.0</div><div class="k" data-r="remain">−0:00</div></div>
        </div>
      </div>
      <canvas class="wave-overview" aria-label="Waveform overview of deck ${deck.toUpperCase()}"></canvas>
      <canvas class="wave-zoom" aria-label="Zoomed waveform with beat grid, deck ${deck.toUpperCase()}"></canvas>
      <div class="beatbar"><div class="beats"><i></i><i></i><i></i><i></i></div><span class="num" data-r="bar">Bar —</span>
        <span class="phase-wrap" title="Beat phase against the other deck: centred = beats aligned"><span class="dim">phase</span><span class="phase"><b></b></span></span>
        <span class="num dim" data-r="delta"></span></div>
      <div class="deck-controls"></div>`;
    this.beatCells = [...root.querySelectorAll('.beats i')];
    this.phaseMark = $('.phase b', root);
    this.lastBeat = -1;
    this.controls = $('.deck-controls', root);
    this.overview = new Overview($('.wave-overview', root), { onSeek });
    this.zoom = new Zoom($('.wave-zoom', root), { accent: deck === 'a' ? '#19e3ff' : '#ffb020' });
    this.clock = new PlayheadClock();
    this.s = { position: 0, duration: 0, playing: false, tempo: 1, bpm: 0, firstBeat: 0, hotcues: [], loop: null, cue: NaN, key: '' };
    this.lastText = {};
  }

  text(key, value, html = false) {
    if (this.lastText[key] === value) return;
    this.lastText[key] = value;
    const e = $(`[data-r="${key}"]`, this.root);
    if (e) { if (html) e.innerHTML = value; else e.textContent = value; }
  }

  /** Track metadata (from the library entry or a `track` message). */
  setTrack(t) {
    if (!t) return;
    $('.title', this.root).textContent = t.title || t.track || t.id || '—';
    $('.artist', this.root).textContent = [t.artist, t.genre].filter(Boolean).join(' · ') || ' ';
    const key = t.camelot || t.key || '';
    if (key) this.s.key = key;
    if (Number.isFinite(t.bpm)) this.s.bpm = t.bpm;
    const fb = t['first-beat'] ?? t.first_beat_s ?? t.first_beat;
    if (Number.isFinite(fb)) this.s.firstBeat = fb;
    const dur = t.duration ?? t.duration_s;
    if (Number.isFinite(dur)) this.s.duration = dur;
    let wave = t.waveform;
    if (typeof wave === 'string') wave = { b64: wave, points: t['waveform-points'], resolution: t['waveform-resolution'] };
    const id = t.id || t.track;
    if (id && id !== this.trackId) this.detailed = false; // another track: its own waveform
    // Keep a detailed waveform (from the deck's `track` message) over the library's overview.
    if (wave && !(this.detailed && !wave.b64)) {
      this.overview.setWaveform(wave); this.zoom.setWaveform(wave);
      this.detailed = Boolean(wave.b64);
    }
    this.trackId = id || this.trackId;
    this.renderKey();
  }

  renderKey() {
    const code = toCamelot(this.s.key) || this.s.key || '—';
    this.text('key', `<span class="keychip" style="background:${camelotColor(this.s.key)}">${escapeHtml(code)}</span>`, true);
  }

  /** Deck fields from a flattened state (`get(name)` reads `<deck>.<name>`). */
  update(get) {
    const s = this.s;
    const num = (k) => { const v = get(k); return typeof v === 'number' && Number.isFinite(v) ? v : undefined; };
    s.playing = Boolean(get('playing'));
    s.tempo = num('tempo') ?? s.tempo;
    s.duration = num('duration') ?? s.duration;
    s.bpm = num('bpm') ?? s.bpm;
    const fb = num('first-beat'); if (fb !== undefined) s.firstBeat = fb;
    const pos = num('position');
    if (pos !== undefined) this.clock.update(pos, s.playing, s.tempo);
    else this.clock.rate = s.playing ? s.tempo : 0;
    // Hotcues: djdeck reports `hotcue-1` … `hotcue-8` in seconds (−1 = empty); an array also works.
    const hc = get('hotcues');
    if (Array.isArray(hc)) s.hotcues = hc.map((h) => (typeof h === 'number' ? h : h && typeof h === 'object' ? (h.position ?? h.time ?? NaN) : NaN));
    else if (get('hotcue-1') !== undefined) s.hotcues = Array.from({ length: 8 }, (_, i) => { const v = get(`hotcue-${i + 1}`); return typeof v === 'number' && v >= 0 ? v : NaN; });
    const ls = num('loop-start'), le = num('loop-end');
    s.loop = ls !== undefined && le !== undefined && le > ls ? { start: ls, end: le, active: Boolean(get('loop-active')) } : null;
    const cue = num('cue'); if (cue !== undefined) s.cue = cue;
    const key = get('camelot') || get('key'); if (typeof key === 'string' && key && key !== s.key) { s.key = key; this.renderKey(); }
    this.root.classList.toggle('playing', s.playing);
  }

  /** Beat index (fractional) at the playhead, or NaN without a grid. */
  beatAt() {
    const s = this.s;
    return s.bpm > 0 && s.duration ? (s.position - (s.firstBeat || 0)) / (60 / s.bpm) : NaN;
  }

  /** Per frame: playhead, waveforms, readouts. `other` is the other deck's view (phase meter). */
  frame(other = null) {
    const s = this.s;
    s.position = Math.max(0, Math.min(s.duration || Infinity, this.clock.position()));
    this.overview.draw({ ...s, loaded: Boolean(this.trackId || s.duration) });
    this.zoom.draw(s);
    this.text('bpm', formatBpm(s.bpm > 0 ? s.bpm * (s.tempo || 1) : NaN));
    this.text('tempo', formatTempoPercent(s.tempo));
    this.text('time', formatTimeTenths(s.position));
    this.text('remain', s.duration ? `−${formatTime(s.duration - s.position)}` : 'Remain');
    const beat = this.beatAt();
    const whole = Number.isFinite(beat) ? Math.floor(beat) : -1;
    if (whole !== this.lastBeat) {
      this.lastBeat = whole;
      const inBar = whole >= 0 ? whole % 4 : -1;
      this.beatCells.forEach((c, i) => c.classList.toggle('on', i === inBar));
      this.text('bar', whole >= 0 ? `Bar ${Math.floor(whole / 4) + 1}.${inBar + 1}` : 'Bar —');
    }
    // Phase against the other deck: −0.5 … +0.5 beat; shown only when both have a grid and play.
    const ob = other?.beatAt();
    if (other && Number.isFinite(beat) && Number.isFinite(ob) && s.playing && other.s.playing) {
      let d = (beat - ob) % 1; if (d > 0.5) d -= 1; if (d < -0.5) d += 1;
      this.phaseMark.style.left = `${(45 + d * 90).toFixed(1)}%`;
      this.phaseMark.style.opacity = '1';
      const myBpm = s.bpm * (s.tempo || 1), otherBpm = other.s.bpm * (other.s.tempo || 1);
      const dBpm = myBpm - otherBpm;
      this.text('delta', `Δ ${dBpm >= 0 ? '+' : '−'}${Math.abs(dBpm).toFixed(2)} BPM`);
    } else {
      this.phaseMark.style.opacity = '0.2';
      this.text('delta', '');
    }
  }
}

const BREAKDOWN = [['beat-alignment', 'Beats'], ['tempo-match', 'Tempo'], ['key-compatibility', 'Key'], ['bass-clash', 'Bass'],
  ['level-continuity', 'Level'], ['clipping', 'Clip'], ['phrase-alignment', 'Phrase']];

/** The judge panel: the live hint while a transition runs, its score breakdown, and every
 * transition's final score and feedback. */
export class JudgePanel {
  constructor(root) {
    this.root = root;
    root.innerHTML = `<h2>Judge</h2>
      <div class="hint" aria-live="polite"><span class="dim">The judge scores each transition: beats aligned, tempo and key matched, no bass clash, steady level, no clipping, started on a phrase.</span></div>
      <div class="breakdown">${BREAKDOWN.map(([k, label]) => `<div class="part" data-part="${k}"><div class="bar"><i></i></div><span>${label}</span></div>`).join('')}</div>
      <ul class="transitions"></ul>`;
    this.hint = $('.hint', root); this.list = $('.transitions', root);
    this.parts = new Map(BREAKDOWN.map(([k]) => [k, $(`[data-part="${k}"] i`, root)]));
  }
  judge(m) {
    const score = Number.isFinite(m.score) ? Math.round(m.score) : null;
    const who = m.seat ? `DJ ${m.seat.toUpperCase()}` : '';
    const final = m.phase === 'final';
    const text = final ? (m.feedback || m.hint || '') : (m.hint || m.feedback || '');
    this.hint.innerHTML = `${score !== null ? `<span class="score" style="color:${scoreColor(score)}">${score}</span>` : ''}`
      + `<span class="dim">${final ? 'Transition' : 'Mixing'}${who ? ` · ${escapeHtml(who)}` : ''}:</span> ${escapeHtml(text)}`;
    for (const [k, bar] of this.parts) {
      const v = m[k];
      bar.style.height = Number.isFinite(v) ? `${Math.max(2, Math.min(100, v))}%` : '0';
      bar.style.background = scoreColor(v);
    }
    if (final) this.addTransition(m);
  }
  addTransition(m) {
    const li = document.createElement('li');
    const seat = m.seat || '';
    const note = m.counted === false ? ' <span class="dim">(practice: not counted)</span>' : '';
    li.innerHTML = `<span class="who ${escapeHtml(seat)}">${escapeHtml(seat.toUpperCase())}</span><span class="pts" style="color:${scoreColor(m.score)}">${Number.isFinite(m.score) ? Math.round(m.score) : '—'}</span><span>${escapeHtml(m.feedback || '')}${note}</span>`;
    this.list.prepend(li);
  }
  history(transitions) {
    this.list.innerHTML = '';
    for (const t of transitions || []) this.addTransition({ ...t, phase: 'final' });
  }
}

export function scoreColor(score) {
  if (!Number.isFinite(score)) return 'var(--dim)';
  return score >= 75 ? 'var(--good)' : score >= 50 ? 'var(--warn)' : 'var(--bad)';
}

/** Battle state: badge, timer (counting down from the server's remaining_s) and the score line. */
export class BattleClock {
  constructor({ badge, timer, scoreA, scoreB, onCountdown = () => {} }) {
    Object.assign(this, { badge, timer, scoreA, scoreB, onCountdown });
    this.state = 'lobby'; this.remaining = NaN; this.at = performance.now(); this.lastTimer = '';
  }
  apply(b) {
    if (!b) return;
    if (b.state) {
      this.state = b.state;
      this.badge.textContent = b.state;
      this.badge.className = `badge ${b.state}`;
    }
    if (Number.isFinite(b.remaining_s)) { this.remaining = b.remaining_s; this.at = performance.now(); }
    else if (b.state === 'lobby' && Number.isFinite(b.duration_s)) { this.remaining = b.duration_s; this.at = performance.now(); }
    if (b.state === 'countdown') this.onCountdown(b.countdown_s ?? 0);
    if (b.scores) this.scores(b.scores);
    if (b.result?.scores) this.scores(b.result.scores);
  }
  scores(sc) {
    const v = (x) => (typeof x === 'number' ? x : x?.total);
    if (Number.isFinite(v(sc.a))) this.scoreA.textContent = Math.round(v(sc.a));
    if (Number.isFinite(v(sc.b))) this.scoreB.textContent = Math.round(v(sc.b));
  }
  frame() {
    let r = this.remaining;
    if (this.state === 'live' && Number.isFinite(r)) r -= (performance.now() - this.at) / 1000;
    const text = Number.isFinite(r) ? formatTime(Math.max(0, Math.ceil(r))) : '--:--';
    if (text !== this.lastTimer) { this.timer.textContent = text; this.lastTimer = text; }
  }
}

/** Connection panel: RTT, jitter, loss, bitrate (getStats), command latency (acks), ping RTT. */
export class ConnectionPanel {
  constructor(root, { conn, rtc, showAck = true }) {
    this.root = root; this.conn = conn; this.rtc = rtc;
    const stat = (k, label) => `<div class="stat" data-s="${k}"><div class="v">—</div><div class="k">${label}</div></div>`;
    root.insertAdjacentHTML('beforeend', `<div class="stats">
      ${stat('rtt', 'Network RTT')}${stat('jitter', 'Audio jitter')}${stat('loss', 'Packet loss')}
      ${showAck ? stat('ack', 'Command → audio') : ''}${stat('ws', 'Control RTT')}${stat('kbps', 'Audio in')}</div>`);
    setInterval(() => this.refresh(), 1000);
  }
  set(k, text, level) {
    const e = $(`[data-s="${k}"]`, this.root);
    if (!e) return;
    $('.v', e).textContent = text;
    e.className = `stat ${level || ''}`;
  }
  async refresh() {
    const s = await this.rtc.sample().catch(() => this.rtc.stats);
    const lvl = (v, warn, bad) => (!Number.isFinite(v) ? '' : v >= bad ? 'bad' : v >= warn ? 'warn' : 'good');
    this.set('rtt', formatMs(s.rttMs), lvl(s.rttMs, 80, 200));
    this.set('jitter', formatMs(s.jitterMs), lvl(s.jitterMs, 20, 50));
    this.set('loss', Number.isFinite(s.lossPct) ? `${s.lossPct.toFixed(1)} %` : '— %', lvl(s.lossPct, 1, 5));
    this.set('kbps', Number.isFinite(s.kbps) ? `${Math.round(s.kbps)} kb/s` : '— kb/s', s.state === 'connected' ? 'good' : '');
    const ack = this.conn.ackLatencyMs();
    this.set('ack', formatMs(ack), lvl(ack, 60, 150));
    const ws = this.conn.rttMs();
    this.set('ws', formatMs(ws), lvl(ws, 80, 200));
  }
}
