// On-screen controls: knobs, faders, buttons and the jog wheel. Mouse, touch and pen through
// pointer events (touch-action: none on the control), keyboard through role=slider semantics.
// Each widget holds a value in its parameter's units; `set()` shows a value without emitting,
// `onInput` fires when the DJ moves it.

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  return e;
}
export { el };

class Continuous {
  constructor({ control, label, min, max, def = 0, format = (v) => v.toFixed(2), step, centred = false, onInput = () => {} }) {
    Object.assign(this, { control, label, min, max, def, format, step, onInput });
    // Centred controls (EQ: −26 … 0 … +6 dB) put the default at 12 o'clock, like a club mixer:
    // each half of the throw is linear on its own side.
    this.centred = centred && def > min && def < max;
    this.value = def;
    this.disabled = false;
  }
  norm(v = this.value) {
    if (this.centred) return v < this.def ? 0.5 * (v - this.min) / (this.def - this.min) : 0.5 + 0.5 * (v - this.def) / (this.max - this.def);
    return (v - this.min) / (this.max - this.min);
  }
  fromNorm(n) {
    const c = clamp(n, 0, 1);
    let v = this.centred
      ? (c < 0.5 ? this.min + (c / 0.5) * (this.def - this.min) : this.def + ((c - 0.5) / 0.5) * (this.max - this.def))
      : this.min + c * (this.max - this.min);
    if (this.step) v = Math.round(v / this.step) * this.step;
    return v;
  }
  /** Shows `v` (from the server or a reset) without emitting. */
  set(v) {
    if (!Number.isFinite(v)) return;
    this.value = clamp(v, this.min, this.max);
    this.render();
  }
  input(v) {
    if (this.disabled) return;
    const nv = clamp(v, this.min, this.max);
    if (nv === this.value) return;
    this.value = nv;
    this.render();
    this.onInput(nv);
  }
  setNorm(n) { this.input(this.fromNorm(n)); }
  setDisabled(d) { this.disabled = d; this.root.classList.toggle('disabled', d); this.root.setAttribute('aria-disabled', String(d)); this.root.tabIndex = d ? -1 : 0; }
  keys(e) {
    if (this.disabled) return;
    const fine = e.shiftKey ? 0.2 : 1;
    const stepN = this.step ? this.step / (this.max - this.min) : 0.025;
    let n = this.norm();
    switch (e.key) {
      case 'ArrowUp': case 'ArrowRight': n += stepN * fine; break;
      case 'ArrowDown': case 'ArrowLeft': n -= stepN * fine; break;
      case 'PageUp': n += 0.1; break;
      case 'PageDown': n -= 0.1; break;
      case 'Home': n = 0; break;
      case 'End': n = 1; break;
      case 'Delete': case 'Backspace': this.input(this.def); e.preventDefault(); return;
      default: return;
    }
    e.preventDefault();
    e.stopPropagation();
    this.setNorm(n);
  }
  aria() {
    this.root.setAttribute('aria-valuemin', this.min);
    this.root.setAttribute('aria-valuemax', this.max);
    this.root.setAttribute('aria-valuenow', this.value.toFixed(3));
    this.root.setAttribute('aria-valuetext', this.format(this.value));
  }
}

/** A rotary knob: drag up/down (Shift = fine), wheel, arrows; double-click resets. */
export class Knob extends Continuous {
  constructor(opts) {
    super(opts);
    this.bipolar = opts.bipolar ?? (this.min < 0 && this.max > 0);
    const root = el('div', `knob ${opts.className ?? ''}`, { role: 'slider', tabindex: '0', 'aria-label': opts.label, 'data-control': opts.control });
    this.dial = el('div', 'knob-dial');
    this.dial.appendChild(el('div', 'knob-pointer'));
    this.readout = el('div', 'knob-value');
    root.append(this.dial, el('div', 'knob-label', { text: opts.label }), this.readout);
    this.root = root;
    let startY = 0, startN = 0;
    root.addEventListener('pointerdown', (e) => {
      if (this.disabled || e.button > 0) return;
      root.setPointerCapture(e.pointerId); startY = e.clientY; startN = this.norm();
      root.classList.add('active'); e.preventDefault(); root.focus({ preventScroll: true });
    });
    root.addEventListener('pointermove', (e) => {
      if (!root.hasPointerCapture(e.pointerId)) return;
      const span = e.shiftKey ? 800 : 160; // pixels for the full range
      this.setNorm(startN + (startY - e.clientY) / span);
    });
    const end = (e) => { if (root.hasPointerCapture(e.pointerId)) root.releasePointerCapture(e.pointerId); root.classList.remove('active'); };
    root.addEventListener('pointerup', end);
    root.addEventListener('pointercancel', end);
    root.addEventListener('dblclick', () => this.input(this.def));
    root.addEventListener('wheel', (e) => { if (this.disabled) return; e.preventDefault(); this.setNorm(this.norm() - Math.sign(e.deltaY) * 0.02); }, { passive: false });
    root.addEventListener('keydown', (e) => this.keys(e));
    this.render();
  }
  render() {
    const n = this.norm();
    const deg = -135 + n * 270;
    this.dial.style.setProperty('--angle', `${deg}deg`);
    // Arc from the centre (bipolar) or from the minimum.
    const from = this.bipolar ? this.norm(this.def) : 0;
    const a0 = Math.min(from, n), a1 = Math.max(from, n);
    this.dial.style.setProperty('--arc-start', `${-135 + a0 * 270}deg`);
    this.dial.style.setProperty('--arc-len', `${(a1 - a0) * 270}deg`);
    this.readout.textContent = this.format(this.value);
    this.aria();
  }
}

/** A fader: vertical (channel, pitch) or horizontal (crossfader). Dragging the cap moves it
 * relatively (no jump on touch); a press on the track jumps there. `invert` puts the minimum on
 * top (pitch fader: + at the bottom, like a CDJ). */
export class Fader extends Continuous {
  constructor(opts) {
    super(opts);
    this.horizontal = Boolean(opts.horizontal);
    this.invert = Boolean(opts.invert);
    const root = el('div', `fader ${this.horizontal ? 'horizontal' : 'vertical'} ${opts.className ?? ''}`,
      { role: 'slider', tabindex: '0', 'aria-label': opts.label, 'aria-orientation': this.horizontal ? 'horizontal' : 'vertical', 'data-control': opts.control });
    this.track = el('div', 'fader-track');
    this.cap = el('div', 'fader-cap');
    this.track.appendChild(el('div', 'fader-centre'));
    this.track.appendChild(this.cap);
    this.readout = el('div', 'fader-value');
    root.append(el('div', 'fader-label', { text: opts.label }), this.track, this.readout);
    this.root = root;
    let start = null;
    const posN = (e) => {
      const r = this.track.getBoundingClientRect();
      let n = this.horizontal ? (e.clientX - r.left) / r.width : 1 - (e.clientY - r.top) / r.height;
      if (this.invert) n = 1 - n;
      return n;
    };
    root.addEventListener('pointerdown', (e) => {
      if (this.disabled || e.button > 0) return;
      root.setPointerCapture(e.pointerId);
      root.classList.add('active');
      root.focus({ preventScroll: true });
      if (e.target === this.cap) start = { n: this.norm(), p: posN(e) };
      else { start = { n: posN(e), p: posN(e) }; this.setNorm(start.n); }
      e.preventDefault();
    });
    root.addEventListener('pointermove', (e) => {
      if (!root.hasPointerCapture(e.pointerId) || !start) return;
      this.setNorm(start.n + (posN(e) - start.p) * (e.shiftKey ? 0.2 : 1));
    });
    const end = (e) => { if (root.hasPointerCapture(e.pointerId)) root.releasePointerCapture(e.pointerId); start = null; root.classList.remove('active'); };
    root.addEventListener('pointerup', end);
    root.addEventListener('pointercancel', end);
    root.addEventListener('dblclick', () => this.input(this.def));
    root.addEventListener('keydown', (e) => this.keys(e));
    this.render();
  }
  render() {
    let n = this.norm();
    if (this.invert) n = 1 - n;
    if (this.horizontal) this.cap.style.left = `${n * 100}%`;
    else this.cap.style.top = `${(1 - n) * 100}%`;
    this.readout.textContent = this.format(this.value);
    this.aria();
  }
}

/** A button for an action or a toggle. `hold` buttons report press and release (CDJ cue). */
export function makeButton({ control, label, title, className = '', hold = false, onPress = () => {}, onRelease = () => {} }) {
  const b = el('button', `pad ${className}`, { type: 'button', 'data-control': control, title: title ?? label });
  b.innerHTML = label;
  if (hold) {
    b.addEventListener('pointerdown', (e) => { if (e.button > 0 || b.disabled) return; b.setPointerCapture(e.pointerId); b.classList.add('held'); onPress(e); e.preventDefault(); });
    const up = (e) => { if (!b.classList.contains('held')) return; b.classList.remove('held'); onRelease(e); };
    b.addEventListener('pointerup', up);
    b.addEventListener('pointercancel', up);
    b.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) { e.preventDefault(); e.stopPropagation(); b.classList.add('held'); onPress(e); } });
    b.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); e.stopPropagation(); up(e); } });
  } else {
    b.addEventListener('click', (e) => onPress(e));
  }
  return b;
}

/** The jog wheel. Reports platter velocity in rate units (1 = the record turning at its playing
 * speed, 33⅓ rpm) while a hand is on it, and 0 on release. */
export class Jog {
  static REV_PER_S = 100 / 3 / 60;

  constructor({ control = 'jog', onTouch = () => {}, onMove = () => {}, onRelease = () => {} }) {
    this.canvas = el('canvas', 'jog', { 'data-control': control, role: 'img', 'aria-label': 'Jog wheel: drag to nudge or scratch' });
    this.angle = 0; this.touching = false; this.disabled = false;
    let last = null;
    const angleAt = (e) => {
      const r = this.canvas.getBoundingClientRect();
      return Math.atan2(e.clientY - (r.top + r.height / 2), e.clientX - (r.left + r.width / 2));
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      if (this.disabled) return;
      this.canvas.setPointerCapture(e.pointerId);
      const r = this.canvas.getBoundingClientRect();
      const dx = e.clientX - (r.left + r.width / 2), dy = e.clientY - (r.top + r.height / 2);
      const onTop = Math.hypot(dx, dy) < r.width * 0.36; // inner platter vs outer ring
      last = { a: angleAt(e), t: e.timeStamp };
      this.touching = true;
      onTouch({ onTop });
      e.preventDefault();
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!last || !this.canvas.hasPointerCapture(e.pointerId)) return;
      const a = angleAt(e);
      let d = a - last.a;
      if (d > Math.PI) d -= 2 * Math.PI; if (d < -Math.PI) d += 2 * Math.PI;
      const dt = Math.max(1, e.timeStamp - last.t) / 1000;
      this.angle += d;
      const revPerS = d / (2 * Math.PI) / dt;
      last = { a, t: e.timeStamp };
      onMove(clamp(revPerS / Jog.REV_PER_S, -8, 8));
    });
    const up = (e) => {
      if (!last) return;
      last = null; this.touching = false;
      if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
      onRelease();
    };
    this.canvas.addEventListener('pointerup', up);
    this.canvas.addEventListener('pointercancel', up);
  }

  /** Draws the platter; `turns` is the platter's rotation in revolutions (from the playhead). */
  draw(turns, { playing = false, accent = '#19e3ff' } = {}) {
    const c = this.canvas, g = c.getContext('2d');
    const dpr = devicePixelRatio || 1;
    const w = Math.round(c.clientWidth * dpr), h = Math.round(c.clientHeight * dpr);
    if (!w || !h) return;
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    const r = Math.min(w, h) / 2 - 2 * dpr, cx = w / 2, cy = h / 2;
    g.clearRect(0, 0, w, h);
    g.fillStyle = '#101219'; g.beginPath(); g.arc(cx, cy, r, 0, 2 * Math.PI); g.fill();
    g.lineWidth = 3 * dpr; g.strokeStyle = this.touching ? accent : '#2b3040'; g.stroke();
    // Grooves.
    g.strokeStyle = '#1a1e29'; g.lineWidth = 1 * dpr;
    for (let k = 0.45; k < 0.95; k += 0.08) { g.beginPath(); g.arc(cx, cy, r * k, 0, 2 * Math.PI); g.stroke(); }
    g.fillStyle = playing ? accent : '#3a4154';
    g.beginPath(); g.arc(cx, cy, r * 0.36, 0, 2 * Math.PI); g.fill();
    g.fillStyle = '#0b0d12'; g.beginPath(); g.arc(cx, cy, r * 0.06, 0, 2 * Math.PI); g.fill();
    const a = turns * 2 * Math.PI + this.angle - Math.PI / 2;
    g.strokeStyle = '#f4f6fb'; g.lineWidth = 4 * dpr; g.lineCap = 'round';
    g.beginPath(); g.moveTo(cx + Math.cos(a) * r * 0.4, cy + Math.sin(a) * r * 0.4);
    g.lineTo(cx + Math.cos(a) * r * 0.92, cy + Math.sin(a) * r * 0.92); g.stroke();
  }
}
