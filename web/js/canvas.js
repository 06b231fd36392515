// Canvases: one requestAnimationFrame loop for the whole page, waveforms, spectrum and VU meters.
// Drawing stays light so it never starves the audio: static layers (the waveform overview) are
// rendered once to an offscreen canvas, nothing allocates per frame, hidden tabs draw nothing.

export class Animator {
  constructor() {
    this.jobs = new Set();
    this.frameMs = 0; // smoothed cost of a frame's drawing
    this.fps = 0;
    this.last = 0;
    const tick = (t) => {
      requestAnimationFrame(tick);
      if (document.hidden) return;
      const t0 = performance.now();
      for (const job of this.jobs) { try { job(t); } catch (e) { console.error(e); this.jobs.delete(job); } }
      const cost = performance.now() - t0;
      this.frameMs = this.frameMs * 0.95 + cost * 0.05;
      if (this.last) this.fps = this.fps * 0.95 + (1000 / Math.max(1, t - this.last)) * 0.05;
      this.last = t;
    };
    requestAnimationFrame(tick);
  }
  add(job) { this.jobs.add(job); return () => this.jobs.delete(job); }
}

/** Sizes a canvas's backing store to its CSS size × devicePixelRatio; returns [w, h, dpr]. */
export function fit(canvas) {
  const dpr = devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  return [w, h, dpr];
}

/** Normalises what the server sends as a waveform overview into {peaks, low, mid, high}
 * (Float32Arrays of 0…1, same length; the band arrays may be null). Accepts an array of numbers,
 * an array of [min, max] pairs, or an object with `peaks`/`rms`/`low`/`mid`/`high` arrays. */
export function normaliseWaveform(w) {
  if (!w) return null;
  // djdeck's detailed waveform: base64 of points × 3 bytes (low, mid, high, 0–255).
  if (typeof w === 'object' && typeof w.b64 === 'string') {
    let bytes;
    try { bytes = Uint8Array.from(atob(w.b64), (c) => c.charCodeAt(0)); } catch { return null; }
    const n = Math.floor(bytes.length / 3);
    if (!n) return null;
    const low = new Float32Array(n), mid = new Float32Array(n), high = new Float32Array(n), peaks = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      low[i] = bytes[3 * i] / 255; mid[i] = bytes[3 * i + 1] / 255; high[i] = bytes[3 * i + 2] / 255;
      peaks[i] = Math.max(low[i], mid[i], high[i]);
    }
    return withColors({ peaks, low, mid, high, secondsPerPoint: Number(w.resolution) > 0 ? Number(w.resolution) : 0 });
  }
  const toArr = (a) => {
    if (!Array.isArray(a) || !a.length) return null;
    const out = new Float32Array(a.length);
    let max = 0;
    for (let i = 0; i < a.length; i++) {
      const v = Array.isArray(a[i]) ? Math.max(Math.abs(a[i][0]), Math.abs(a[i][1] ?? 0)) : Math.abs(Number(a[i]) || 0);
      out[i] = v; if (v > max) max = v;
    }
    if (max > 1) for (let i = 0; i < out.length; i++) out[i] /= max;
    return out;
  };
  if (Array.isArray(w)) { const peaks = toArr(w); return peaks && { peaks, low: null, mid: null, high: null }; }
  if (typeof w === 'object') {
    const peaks = toArr(w.peaks ?? w.peak ?? w.rms ?? w.data ?? w.overview);
    if (!peaks) return null;
    const band = (a) => { const b = toArr(a); return b && b.length === peaks.length ? b : null; };
    return withColors({ peaks, low: band(w.low), mid: band(w.mid), high: band(w.high) });
  }
  return null;
}

/** An "RGB" waveform colour per point (lows red, mids green, highs blue, as DJ software draws
 * them), computed once so drawing a frame allocates nothing. */
function withColors(w) {
  if (!w.low || !w.mid || !w.high) return w;
  w.colors = new Array(w.peaks.length);
  for (let i = 0; i < w.peaks.length; i++) {
    const l = w.low[i], m = w.mid[i], h = w.high[i], top = Math.max(l, m, h, 1e-6);
    const r = Math.round(90 + 165 * (l / top)), g = Math.round(60 + 170 * (m / top) * 0.85), b = Math.round(90 + 165 * (h / top));
    w.colors[i] = `rgb(${r},${g},${b})`;
  }
  return w;
}

const COLORS = { low: '#ff3b6b', mid: '#ffb020', high: '#19e3ff', plain: '#3d7cff', played: 0.35 };

/** Waveform overview (whole track) with playhead, hotcue and loop markers. */
export class Overview {
  constructor(canvas, { accent = '#19e3ff', onSeek = null } = {}) {
    this.canvas = canvas; this.accent = accent; this.wave = null; this.cache = null; this.cacheKey = '';
    if (onSeek) {
      canvas.style.cursor = 'pointer';
      canvas.addEventListener('pointerdown', (e) => {
        const r = canvas.getBoundingClientRect();
        onSeek((e.clientX - r.left) / r.width);
      });
    }
  }
  setWaveform(w) { this.wave = normaliseWaveform(w); this.cacheKey = ''; }
  render(w, h) {
    const off = this.cache ?? document.createElement('canvas');
    off.width = w; off.height = h;
    const g = off.getContext('2d');
    g.clearRect(0, 0, w, h);
    const wv = this.wave;
    if (!wv) return off;
    const n = wv.peaks.length, mid = h / 2;
    for (let x = 0; x < w; x++) {
      const i0 = Math.floor((x / w) * n), i1 = Math.max(i0 + 1, Math.floor(((x + 1) / w) * n));
      let p = 0, lo = 0, mi = 0, hi = 0;
      for (let i = i0; i < i1 && i < n; i++) {
        if (wv.peaks[i] > p) p = wv.peaks[i];
        if (wv.low && wv.low[i] > lo) lo = wv.low[i];
        if (wv.mid && wv.mid[i] > mi) mi = wv.mid[i];
        if (wv.high && wv.high[i] > hi) hi = wv.high[i];
      }
      g.fillStyle = wv.colors ? wv.colors[Math.min(n - 1, i0)] : COLORS.plain;
      const y = p * mid * 0.95;
      g.fillRect(x, mid - y, 1, Math.max(1, 2 * y));
    }
    return off;
  }
  /** @param {{position:number, duration:number, hotcues?:Array, loop?:{start,end,active}, cue?:number}} s */
  draw(s) {
    const [w, h, dpr] = fit(this.canvas);
    const g = this.canvas.getContext('2d');
    const key = `${w}x${h}`;
    if (key !== this.cacheKey) { this.cache = this.render(w, h); this.cacheKey = key; }
    g.clearRect(0, 0, w, h);
    g.fillStyle = '#0c0e14'; g.fillRect(0, 0, w, h);
    if (!this.wave) {
      g.fillStyle = '#5d6475'; g.font = `${12 * dpr}px system-ui`; g.textAlign = 'center'; g.textBaseline = 'middle';
      g.fillText(s.loaded === false ? 'No track loaded' : 'Waveform appears when the track is analysed', w / 2, h / 2);
      return;
    }
    g.drawImage(this.cache, 0, 0);
    const dur = s.duration > 0 ? s.duration : 0;
    if (!dur) return;
    const px = (t) => (t / dur) * w;
    const ph = px(Math.min(dur, Math.max(0, s.position)));
    g.fillStyle = `rgba(0,0,0,${COLORS.played})`; g.fillRect(0, 0, ph, h); // played part dimmed
    if (s.loop && s.loop.end > s.loop.start) {
      g.fillStyle = s.loop.active ? 'rgba(61,220,132,0.28)' : 'rgba(61,220,132,0.12)';
      g.fillRect(px(s.loop.start), 0, Math.max(2, px(s.loop.end) - px(s.loop.start)), h);
    }
    if (Number.isFinite(s.cue)) { g.fillStyle = '#ffb020'; g.fillRect(px(s.cue) - dpr, 0, 2 * dpr, h); }
    (s.hotcues || []).forEach((t, i) => {
      if (!Number.isFinite(t) || t < 0) return;
      const x = px(t);
      g.fillStyle = HOTCUE_COLORS[i % 8]; g.fillRect(x - dpr, 0, 2 * dpr, h);
      g.beginPath(); g.moveTo(x - 5 * dpr, 0); g.lineTo(x + 5 * dpr, 0); g.lineTo(x, 7 * dpr); g.fill();
    });
    g.fillStyle = '#ffffff'; g.fillRect(ph - dpr, 0, 2 * dpr, h);
  }
}

export const HOTCUE_COLORS = ['#ff3b6b', '#ff8a00', '#ffd400', '#3ddc84', '#19e3ff', '#3d7cff', '#b06bff', '#ff5ce1'];

/** The zoomed scrolling waveform: a few seconds around the playhead with the beat grid
 * (downbeats brighter), centred playhead, loop and hotcue markers. */
export class Zoom {
  constructor(canvas, { seconds = 8, accent = '#19e3ff' } = {}) {
    this.canvas = canvas; this.seconds = seconds; this.accent = accent; this.wave = null;
    this.strip = null; this.stripKey = '';
  }
  setWaveform(w) { this.wave = normaliseWaveform(w); this.stripKey = ''; }

  /** The whole track drawn once at the zoom's scale (an offscreen strip ≤ 32000 px wide); each
   * frame then copies the visible slice, so scrolling costs one drawImage. */
  renderStrip(h, pxPerS, dur) {
    const scale = Math.min(1, 32000 / Math.max(1, dur * pxPerS));
    const width = Math.max(1, Math.ceil(dur * pxPerS * scale));
    const strip = this.strip ?? document.createElement('canvas');
    strip.width = width; strip.height = h;
    const g = strip.getContext('2d');
    g.clearRect(0, 0, width, h);
    const wv = this.wave, n = wv.peaks.length, mid = h / 2;
    const perS = wv.secondsPerPoint ? 1 / wv.secondsPerPoint : n / dur;
    const sPerPx = 1 / (pxPerS * scale);
    for (let x = 0; x < width; x++) {
      const i0 = Math.floor(x * sPerPx * perS), i1 = Math.max(i0 + 1, Math.floor((x + 1) * sPerPx * perS));
      let p = 0, at = i0;
      for (let i = i0; i < i1 && i < n; i++) if (wv.peaks[i] > p) { p = wv.peaks[i]; at = i; }
      if (i0 >= n) break;
      g.fillStyle = wv.colors ? wv.colors[at] : COLORS.plain;
      const y = p * mid * 0.92;
      g.fillRect(x, mid - y, 1, Math.max(1, 2 * y));
    }
    this.stripScale = scale;
    return strip;
  }

  draw(s) {
    const [w, h, dpr] = fit(this.canvas);
    const g = this.canvas.getContext('2d');
    g.fillStyle = '#0c0e14'; g.fillRect(0, 0, w, h);
    const span = this.seconds, t0 = s.position - span / 2, pxPerS = w / span;
    const dur = s.duration || 0;
    if (this.wave && dur > 0) {
      const key = `${w}x${h}:${dur}`;
      if (key !== this.stripKey) { this.strip = this.renderStrip(h, pxPerS, dur); this.stripKey = key; }
      const k = this.stripScale;
      // Source rectangle in strip pixels; destination shifted when the window starts before 0 s.
      const sx = t0 * pxPerS * k, sw = w * k;
      const cx = Math.max(0, sx), dx = (cx - sx) / k;
      const cw = Math.min(this.strip.width - cx, sw - (cx - sx));
      if (cw > 0) g.drawImage(this.strip, cx, 0, cw, h, dx, 0, cw / k, h);
      g.fillStyle = 'rgba(0,0,0,0.3)'; g.fillRect(0, 0, w / 2, h); // already played
    }
    // Beat grid: beat n at firstBeat + n·60/bpm (track time); every 4th a downbeat.
    if (s.bpm > 0 && Number.isFinite(s.firstBeat)) {
      const period = 60 / s.bpm;
      const nStart = Math.ceil((t0 - s.firstBeat) / period), nEnd = Math.floor((t0 + span - s.firstBeat) / period);
      for (let k = nStart; k <= nEnd; k++) {
        const x = (s.firstBeat + k * period - t0) * pxPerS;
        const down = ((k % 4) + 4) % 4 === 0;
        g.fillStyle = down ? 'rgba(255,255,255,0.75)' : 'rgba(255,255,255,0.22)';
        g.fillRect(x - (down ? dpr : dpr / 2), 0, down ? 2 * dpr : dpr, h);
      }
    }
    if (s.loop && s.loop.end > s.loop.start) {
      g.fillStyle = s.loop.active ? 'rgba(61,220,132,0.25)' : 'rgba(61,220,132,0.1)';
      g.fillRect((s.loop.start - t0) * pxPerS, 0, (s.loop.end - s.loop.start) * pxPerS, h);
    }
    (s.hotcues || []).forEach((t, i) => {
      if (!Number.isFinite(t) || t < 0) return;
      const x = (t - t0) * pxPerS;
      if (x < -10 || x > w + 10) return;
      g.fillStyle = HOTCUE_COLORS[i % 8]; g.fillRect(x - dpr, 0, 2 * dpr, h);
      g.font = `bold ${11 * dpr}px system-ui`; g.fillText(String(i + 1), x + 3 * dpr, 12 * dpr);
    });
    g.fillStyle = this.accent; g.fillRect(w / 2 - dpr, 0, 2 * dpr, h);
  }
}

/** Log-frequency bar spectrum of an AnalyserNode (30 Hz – 16 kHz). */
export class Spectrum {
  constructor(canvas, { bars = 48, accent = '#19e3ff' } = {}) {
    this.canvas = canvas; this.bars = bars; this.accent = accent;
    this.levels = new Float32Array(bars); this.freq = null;
  }
  draw(analyser, { transparent = false } = {}) {
    const [w, h] = fit(this.canvas);
    const g = this.canvas.getContext('2d');
    g.clearRect(0, 0, w, h);
    if (!transparent) { g.fillStyle = '#0c0e14'; g.fillRect(0, 0, w, h); }
    if (analyser) {
      if (!this.freq || this.freq.length !== analyser.frequencyBinCount) this.freq = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(this.freq);
      const nyq = analyser.context.sampleRate / 2, bins = this.freq.length;
      for (let b = 0; b < this.bars; b++) {
        const f0 = 30 * Math.pow(16000 / 30, b / this.bars), f1 = 30 * Math.pow(16000 / 30, (b + 1) / this.bars);
        const i0 = Math.max(1, Math.floor((f0 / nyq) * bins)), i1 = Math.max(i0 + 1, Math.ceil((f1 / nyq) * bins));
        let m = -Infinity;
        for (let i = i0; i < i1 && i < bins; i++) if (this.freq[i] > m) m = this.freq[i];
        const v = Math.min(1, Math.max(0, (m + 90) / 80)); // −90 … −10 dBFS
        this.levels[b] = Math.max(v, this.levels[b] * 0.9); // fall-off
      }
    } else this.levels.fill(0);
    const bw = w / this.bars;
    const grad = g.createLinearGradient(0, h, 0, 0);
    grad.addColorStop(0, '#3d7cff'); grad.addColorStop(0.6, this.accent); grad.addColorStop(1, '#ff3b6b');
    g.fillStyle = grad;
    for (let b = 0; b < this.bars; b++) {
      const bh = this.levels[b] * h;
      g.fillRect(b * bw + 1, h - bh, Math.max(1, bw - 2), bh);
    }
  }
}

/** Stereo VU: RMS bar with peak hold, −48 … 0 dBFS, red above −3. */
export class VU {
  constructor(canvas) { this.canvas = canvas; this.hold = [-99, -99]; this.holdT = [0, 0]; this.shown = [-99, -99]; }
  draw(levels, now) {
    const [w, h] = fit(this.canvas);
    const g = this.canvas.getContext('2d');
    g.fillStyle = '#0c0e14'; g.fillRect(0, 0, w, h);
    const n = 2, gap = Math.max(2, w * 0.12), bw = (w - gap) / n;
    const y = (db) => h - Math.min(1, Math.max(0, (db + 48) / 48)) * h;
    for (let c = 0; c < n; c++) {
      const l = levels?.[c] ?? { rmsDb: -99, peakDb: -99 };
      this.shown[c] = Math.max(l.rmsDb, this.shown[c] - 1.2); // ballistic fall
      if (l.peakDb > this.hold[c] || now - this.holdT[c] > 1200) { this.hold[c] = l.peakDb; this.holdT[c] = now; }
      const x = c * (bw + gap);
      const top = y(this.shown[c]);
      const yGreen = y(-12), yRed = y(-3);
      g.fillStyle = '#3ddc84'; g.fillRect(x, Math.max(top, yGreen), bw, h - Math.max(top, yGreen));
      if (top < yGreen) { g.fillStyle = '#ffd400'; g.fillRect(x, Math.max(top, yRed), bw, yGreen - Math.max(top, yRed)); }
      if (top < yRed) { g.fillStyle = '#ff3b6b'; g.fillRect(x, top, bw, yRed - top); }
      g.fillStyle = '#ffffff'; g.fillRect(x, y(this.hold[c]) - 1, bw, 2);
    }
  }
}
