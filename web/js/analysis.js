// The server's own analysis of the master (djspectrum: band levels, running tempo, onsets, chroma),
// shown in step with the sound. A `spectrum` message leaves the server as soon as djspectrum has
// measured its 50 ms; the audience hears that audio only after Opus, the network, the browser's
// jitter buffer and the output device. SpectrumFeed holds each message back by that delay, so the
// beat lamp flashes with the kick you hear, not a third of a second before it.

import { fit } from './canvas.js';

/** djspectrum's band fields, low to high, with the names a DJ reads. */
export const BANDS = [['sub', 'Sub'], ['bass', 'Bass'], ['low-mid', 'Lo-mid'], ['mid', 'Mid'],
  ['high-mid', 'Hi-mid'], ['treble', 'Treble'], ['presence', 'Air']];
const NOTES = ['C', 'C♯', 'D', 'D♯', 'E', 'F', 'F♯', 'G', 'G♯', 'A', 'A♯', 'B'];

/** A band level in dB → 0…1 of a meter that shows `floorDb` … 0 dB. */
export function levelFraction(db, floorDb = -60) {
  if (!Number.isFinite(db)) return 0;
  return Math.min(1, Math.max(0, (db - floorDb) / -floorDb));
}

/** The delay from a message's arrival to when its audio is heard (ms): the receiver's current
 * jitter buffer (getStats, over the last second), the output device's latency, and Opus's frame and
 * look-ahead on the server, less half a message interval (the message comes at its interval's end,
 * its audio is centred half an interval earlier). */
export function audibleDelayMs({ jitterBufferMs = NaN, outputLatencyS = 0, intervalMs = 50 } = {}) {
  const jb = Number.isFinite(jitterBufferMs) ? jitterBufferMs : 40;  // before the first reading: NetEq's usual
  const out = Number.isFinite(outputLatencyS) ? outputLatencyS * 1000 : 0;
  return Math.max(0, jb + out + 8 - intervalMs / 2);
}

/** Holds spectrum messages until their audio is heard. `current()` gives the latest message due now;
 * `onsets()` how many of the messages that came due since its last call had an onset. */
export class SpectrumFeed {
  constructor({ delayMs = () => 0, now = () => performance.now(), max = 128 } = {}) {
    this.delayMs = delayMs; this.now = now; this.max = max;
    this.queue = [];    // {at, msg}, oldest first; none of them due yet
    this.shown = null;  // the latest due message
    this.dueOnsets = 0; // onsets among the messages that came due since onsets() was last called
  }
  push(msg) {
    if (!msg || typeof msg !== 'object') return;
    this.queue.push({ at: this.now(), msg });
    // A page in the background draws nothing and may not call current(): the oldest make way.
    while (this.queue.length > this.max) this.take();
  }
  take() {
    const { msg } = this.queue.shift();
    if (msg.onset === true) this.dueOnsets++;
    this.shown = msg;
  }
  advance(due) {
    while (this.queue.length && this.queue[0].at <= due) this.take();
  }
  current() {
    this.advance(this.now() - this.delayMs());
    return this.shown;
  }
  onsets() { const n = this.dueOnsets; this.dueOnsets = 0; return n; }
}

/** The battle's `spectrum` messages as a page hears them: a feed of what `conn` receives, held back
 * by `rtc`'s current jitter buffer and `audio`'s output latency. */
export function heardSpectrumFeed(conn, rtc, audio) {
  const feed = new SpectrumFeed({ delayMs: () => audibleDelayMs({ jitterBufferMs: rtc.stats.jitterBufferNowMs, outputLatencyS: audio.ctx.outputLatency }) });
  conn.on('spectrum', (m) => feed.push(m));
  return feed;
}

/** The panel: a beat lamp and the master's running tempo, seven band meters and the chroma
 * (which notes sound); the OBS overlay shows the beat and the tempo only. Called once per frame, it
 * draws at most once per message (~20 Hz): the meters on canvases, which unlike DOM bars cost the
 * page no style or layout work; only the tempo is text, and it changes rarely. */
export class MasterAnalysis {
  constructor(root, feed, { bands = true, chroma = true } = {}) {
    this.root = root; this.feed = feed;
    root.classList.add('analysis');
    root.innerHTML = `<div class="beat" title="Onsets the server detects in the master"><i class="lamp"></i>`
      + `<span class="tempo" title="The master's running tempo, measured by the server">—</span><span class="k">BPM</span></div>`
      + (bands ? `<canvas class="bands" role="img" aria-label="Band levels: ${BANDS.map(([, l]) => l).join(', ')}"></canvas>` : '')
      + (chroma ? '<canvas class="chroma" role="img" aria-label="Which notes sound (chroma)"></canvas>' : '');
    this.lamp = root.querySelector('.lamp');
    this.tempoEl = root.querySelector('.tempo');
    this.bandsCanvas = root.querySelector('canvas.bands');
    this.chromaCanvas = root.querySelector('canvas.chroma');
    this.last = { msg: null, tempo: '' };
    this.values = null;  // what the panel shows now (for tests and the page's own diagnostics)
    this.fractions = BANDS.map(() => 0);  // the band meters, 0…1
    this.chroma = NOTES.map(() => 0);     // the chroma cells, 0…1 of the strongest
    this.flash = null;   // the lamp's running animation
  }
  frame() {
    const m = this.feed.current();
    if (this.feed.onsets() > 0) {
      // The lamp flashes and fades: an opacity animation, which the compositor runs.
      this.flash?.cancel();
      this.flash = this.lamp.animate([{ opacity: 1 }, { opacity: 0.15 }], { duration: 300, easing: 'ease-out' });
    }
    if (!m || m === this.last.msg) return;
    this.last.msg = m;
    const tempo = Number(m.tempo) > 0 ? Number(m.tempo).toFixed(1) : '—';
    if (tempo !== this.last.tempo) { this.tempoEl.textContent = tempo; this.last.tempo = tempo; }
    BANDS.forEach(([k], i) => { this.fractions[i] = levelFraction(m[k]); });
    if (Array.isArray(m.chroma) && m.chroma.length === 12) {
      const top = Math.max(1e-9, ...m.chroma);
      m.chroma.forEach((c, i) => { this.chroma[i] = Math.min(1, Math.max(0, c / top)) || 0; });
    }
    if (this.bandsCanvas) this.drawBands();
    if (this.chromaCanvas) this.drawChroma();
    this.values = { tempo: Number(m.tempo) || 0, timestamp: m.timestamp, ...Object.fromEntries(BANDS.map(([k]) => [k, m[k]])) };
  }
  drawBands() {
    const [w, h, dpr] = fit(this.bandsCanvas);
    const g = this.bandsCanvas.getContext('2d');
    g.clearRect(0, 0, w, h);
    const label = 14 * dpr, barH = h - label, col = w / BANDS.length, bw = Math.min(34 * dpr, col - 6 * dpr);
    const grad = g.createLinearGradient(0, barH, 0, 0);
    grad.addColorStop(0, '#2f6bff'); grad.addColorStop(1, '#19e3ff');
    g.font = `600 ${10 * dpr}px system-ui, sans-serif`; g.textAlign = 'center'; g.textBaseline = 'bottom';
    BANDS.forEach(([, name], i) => {
      const x = i * col + (col - bw) / 2;
      g.fillStyle = '#1a1d27'; g.fillRect(x, 0, bw, barH);
      const bh = this.fractions[i] * barH;
      g.fillStyle = grad; g.fillRect(x, barH - bh, bw, bh);
      g.fillStyle = '#8a91a3'; g.fillText(name.toUpperCase(), i * col + col / 2, h);
    });
  }
  drawChroma() {
    const [w, h, dpr] = fit(this.chromaCanvas);
    const g = this.chromaCanvas.getContext('2d');
    g.clearRect(0, 0, w, h);
    const gap = 3 * dpr, cw = (w - 11 * gap) / 12;
    g.font = `700 ${11 * dpr}px system-ui, sans-serif`; g.textAlign = 'center'; g.textBaseline = 'middle';
    NOTES.forEach((n, i) => {
      const on = this.chroma[i], x = i * (cw + gap);
      g.fillStyle = `rgba(255, 176, 32, ${0.08 + 0.8 * on})`; g.fillRect(x, 0, cw, h);
      g.fillStyle = `rgba(233, 236, 244, ${0.35 + 0.65 * on})`; g.fillText(n, x + cw / 2, h / 2);
    });
  }
}
