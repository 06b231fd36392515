// Optimistic UI state: a control shows the DJ's value at once and reconciles with the server's
// `state` messages. A local value is held until the server shows it, the server refuses it, or a
// state arriving `ackGraceMs` after its ack still says otherwise — then the server wins. (The ack
// comes when the change reaches the audio thread; the state reporting it may follow a little later,
// so a state right after the ack can still be stale.)

// Tight enough for tempo (a DJ reads 0.01 % of pitch), loose enough for float32 round trips.
const EPS = 1e-6;

function same(a, b) {
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= EPS * Math.max(1, Math.abs(a), Math.abs(b));
  }
  return a === b;
}

/** Flattens server state into keys like `a.tempo`, `b.eq-low`, `mixer.crossfader`. Accepts a
 * deck `state` message (`{deck:'a', position, …}`), a mixer one (`{mixer:{crossfader, a:{volume,…},
 * b:{…}}}`) and a battle's public state (`{decks:{a:{…},b:{…}}, mixer:{…}}`). Channel values share
 * the deck's prefix (`a.volume`). Arrays and nested objects stay values (`a.hotcues`). */
export function flattenState(msg) {
  const out = {};
  const addDeck = (d, obj) => {
    if (!obj || typeof obj !== 'object') return;
    for (const [k, v] of Object.entries(obj)) if (k !== 'type' && k !== 'deck') out[`${d}.${k}`] = v;
  };
  if (typeof msg.deck === 'string') addDeck(msg.deck, msg);
  if (msg.decks && typeof msg.decks === 'object') for (const [d, obj] of Object.entries(msg.decks)) addDeck(d, obj);
  if (msg.mixer && typeof msg.mixer === 'object') {
    for (const [k, v] of Object.entries(msg.mixer)) {
      if ((k === 'a' || k === 'b') && v && typeof v === 'object') addDeck(k, v);
      else if (k === 'channels' && v && typeof v === 'object') for (const [d, ch] of Object.entries(v)) addDeck(d, ch);
      else out[`mixer.${k}`] = v;
    }
  }
  return out;
}

export class OptimisticState {
  constructor({ holdMs = 2000, ackGraceMs = 500, now = () => performance.now() } = {}) {
    this.server = {};
    this.pending = new Map(); // key → {value, id, t, acked, ackedAt}
    this.byId = new Map(); // message id → key
    this.listeners = new Set();
    this.holdMs = holdMs;
    this.ackGraceMs = ackGraceMs;
    this.now = now;
    this.stateSeq = 0;
  }

  onChange(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  emit(key) { const v = this.get(key); for (const fn of this.listeners) fn(key, v); }

  get(key) {
    const p = this.pending.get(key);
    return p ? p.value : this.server[key];
  }

  isPending(key) { return this.pending.has(key); }

  /** The DJ moved a control: show `value` now. `id` is the control message's id (for ack/error). */
  setLocal(key, value, id) {
    const prev = this.pending.get(key);
    if (prev && prev.id !== undefined) this.byId.delete(prev.id);
    this.pending.set(key, { value, id, t: this.now(), acked: false, ackedAt: 0 });
    if (id !== undefined) this.byId.set(id, key);
    this.emit(key);
  }

  /** The server applied message `id`: the next state that disagrees is the truth. */
  ack(id) {
    const key = this.byId.get(id);
    if (key === undefined) return;
    this.byId.delete(id);
    const p = this.pending.get(key);
    if (p && p.id === id) { p.acked = true; p.ackedAt = this.now(); }
  }

  /** The server refused message `id`: show the server's value again. */
  reject(id) {
    const key = this.byId.get(id);
    if (key === undefined) return;
    this.byId.delete(id);
    const p = this.pending.get(key);
    if (p && p.id === id) { this.pending.delete(key); this.emit(key); }
  }

  /** A `state` message arrived (already flattened). Returns the keys whose shown value changed. */
  applyServer(flat) {
    this.stateSeq += 1;
    const changed = [];
    const t = this.now();
    for (const [key, value] of Object.entries(flat)) {
      const before = this.get(key);
      this.server[key] = value;
      const p = this.pending.get(key);
      if (p) {
        const confirmed = same(p.value, value);
        const overruled = p.acked && t - p.ackedAt >= this.ackGraceMs;
        if (confirmed || overruled || t - p.t > this.holdMs) {
          this.pending.delete(key);
          if (p.id !== undefined) this.byId.delete(p.id);
        }
      }
      if (!same(before, this.get(key))) changed.push(key);
    }
    // Pending values whose key the server never reports expire too.
    for (const [key, p] of this.pending) {
      if (t - p.t > this.holdMs && !(key in flat)) {
        this.pending.delete(key);
        if (p.id !== undefined) this.byId.delete(p.id);
        changed.push(key);
      }
    }
    for (const key of changed) this.emit(key);
    return changed;
  }
}

/** Deck playhead between state messages: the server reports the position ~10×/s; the display
 * extrapolates with the tempo while playing and eases small corrections instead of jumping. */
export class PlayheadClock {
  constructor(now = () => performance.now()) {
    this.now = now; this.base = 0; this.t0 = now(); this.rate = 0; this.offset = 0;
  }
  update(position, playing, tempo) {
    if (!Number.isFinite(position)) return;
    const predicted = this.position();
    this.rate = playing ? (Number.isFinite(tempo) ? tempo : 1) : 0;
    const err = position - predicted;
    this.base = position; this.t0 = this.now();
    // Keep the visual continuous for small errors (network jitter), snap for seeks and cues.
    this.offset = playing && Math.abs(err) < 0.08 ? -err : 0;
  }
  position() {
    const dt = (this.now() - this.t0) / 1000;
    const ease = Math.max(0, 1 - dt / 0.25);
    return this.base + dt * this.rate + this.offset * ease;
  }
}
