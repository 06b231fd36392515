// The controls a DJ can move and the WebSocket messages that move them (docs/PROTOCOL.md).
// Pure: no DOM, no network, so every rule here is tested in the browser alone.

/** Continuous and boolean parameters of one deck and its mixer channel. `min`/`max` are the server's
 * accepted range; the client never sends a value outside it. */
export const DECK_PARAMS = {
  tempo: { min: 0.5, max: 1.5, def: 1, label: 'Pitch' },
  keylock: { bool: true, def: false, label: 'Keylock' },
  'key-shift': { min: -12, max: 12, def: 0, step: 1, label: 'Key' },
  // djeq's band range: −40 dB (the bottom of the knob is a full kill) … +6 dB.
  'eq-high': { min: -40, max: 6, def: 0, label: 'High' },
  'eq-mid': { min: -40, max: 6, def: 0, label: 'Mid' },
  'eq-low': { min: -40, max: 6, def: 0, label: 'Low' },
  'eq-high-kill': { bool: true, def: false, label: 'Kill high' },
  'eq-mid-kill': { bool: true, def: false, label: 'Kill mid' },
  'eq-low-kill': { bool: true, def: false, label: 'Kill low' },
  filter: { min: -1, max: 1, def: 0, label: 'Filter' },
  // The channel trim (djmixer's sink pad `gain`): −24 … +12 dB, 0 = unity, before the fader.
  trim: { min: -24, max: 12, def: 0, label: 'Trim' },
  volume: { min: 0, max: 1, def: 1, label: 'Fader' },
  // The DJ's headphone mix: 0 = own deck only … 1 = master only.
  'cue-mix': { min: 0, max: 1, def: 0.5, label: 'Cue mix' },
  position: { min: 0, max: 86400, def: 0, label: 'Position' },
};

export const MIXER_PARAMS = {
  crossfader: { min: -1, max: 1, def: 0, label: 'Crossfader' },
};
export const CROSSFADER_CURVES = ['constant-power', 'linear', 'cut'];

/** Deck actions (the djdeck `action` names). `index` = needs an index, `value` = carries a value. */
export const DECK_ACTIONS = {
  play: {}, pause: {}, cue: { value: true }, hotcue: { index: [1, 8] }, 'hotcue-set': { index: [1, 8] },
  'hotcue-clear': { index: [1, 8] }, 'loop-in': {}, 'loop-out': {}, 'loop-exit': {}, reloop: {},
  beatloop: { value: true }, 'loop-halve': {}, 'loop-double': {}, beatjump: { value: true },
  nudge: { value: true }, jog: { value: true }, scratch: { value: true }, sync: {}, load: { track: true },
};

export const DECKS = ['a', 'b'];
export const PITCH_RANGES = [8, 16, 50];

export class ControlError extends Error {}

function checkDeck(deck) {
  if (!DECKS.includes(deck)) throw new ControlError(`unknown deck "${deck}"`);
}

/** Clamps `value` into the parameter's range (booleans pass through as booleans). */
export function clampParam(spec, value) {
  if (spec.bool) return Boolean(value);
  let v = Number(value);
  if (!Number.isFinite(v)) throw new ControlError('value is not a number');
  if (spec.step) v = Math.round(v / spec.step) * spec.step;
  return Math.min(spec.max, Math.max(spec.min, v));
}

/** A parameter change: `{type:'control', deck, param, value}`; the crossfader has no deck. */
export function paramMessage(deck, param, value) {
  if (param === 'crossfader-curve') {
    if (!CROSSFADER_CURVES.includes(value)) throw new ControlError(`unknown crossfader curve "${value}"`);
    return { type: 'control', param, value };
  }
  if (param in MIXER_PARAMS) {
    return { type: 'control', param, value: clampParam(MIXER_PARAMS[param], value) };
  }
  checkDeck(deck);
  const spec = DECK_PARAMS[param];
  if (!spec) throw new ControlError(`unknown parameter "${param}"`);
  return { type: 'control', deck, param, value: clampParam(spec, value) };
}

/** A deck action: `{type:'control', deck, action[, index][, value][, track]}`. */
export function actionMessage(deck, action, { index, value, track } = {}) {
  checkDeck(deck);
  const spec = DECK_ACTIONS[action];
  if (!spec) throw new ControlError(`unknown action "${action}"`);
  const msg = { type: 'control', deck, action };
  if (spec.index) {
    const i = Number(index);
    if (!Number.isInteger(i) || i < spec.index[0] || i > spec.index[1]) {
      throw new ControlError(`${action} needs an index ${spec.index[0]}–${spec.index[1]}`);
    }
    msg.index = i;
  }
  if (spec.value) {
    const v = Number(value ?? 0);
    if (!Number.isFinite(v)) throw new ControlError(`${action} needs a numeric value`);
    msg.value = v;
  }
  if (spec.track) {
    if (typeof track !== 'string' || !track) throw new ControlError('load needs a track id');
    msg.track = track;
  }
  return msg;
}

/** Pitch fader position (-1 … +1) and range (percent) → tempo ratio, and back. */
export function faderToTempo(position, rangePercent) {
  const p = Math.min(1, Math.max(-1, Number(position) || 0));
  return 1 + p * rangePercent / 100;
}
export function tempoToFader(tempo, rangePercent) {
  return Math.min(1, Math.max(-1, ((Number(tempo) || 1) - 1) * 100 / rangePercent));
}

/** Smallest pitch range that shows `tempo` without clipping the fader. */
export function rangeForTempo(tempo, current) {
  const pct = Math.abs(((Number(tempo) || 1) - 1) * 100);
  if (pct <= current + 1e-9) return current;
  return PITCH_RANGES.find((r) => pct <= r + 1e-9) ?? PITCH_RANGES[PITCH_RANGES.length - 1];
}

/** Which seat may move which control. The crossfader rule is the battle's `crossfader_owner`:
 * shared | a | b. When the server sent `permissions` (e.g. ["deck.a","channel.a","crossfader"]),
 * they decide. */
export function mayControl(seat, deck, param, crossfaderRule = 'shared', permissions = null) {
  if (seat !== 'a' && seat !== 'b') return false;
  const mixerParam = param === 'crossfader' || param === 'crossfader-curve';
  if (Array.isArray(permissions)) {
    if (mixerParam) return permissions.includes('crossfader');
    return permissions.includes(`deck.${deck}`) || permissions.includes(`channel.${deck}`);
  }
  if (mixerParam) return crossfaderRule === 'shared' || crossfaderRule === seat;
  return deck === seat;
}

/** Continuous controls are coalesced: at most one message per key every `intervalMs`, and the
 * last value always goes out. `send(key, value)` is called with the newest value. */
export class Throttle {
  constructor(send, intervalMs = 25, now = () => performance.now(), timers = globalThis) {
    this.send = send; this.intervalMs = intervalMs; this.now = now; this.timers = timers;
    this.last = new Map(); this.waiting = new Map();
  }
  push(key, value) {
    const t = this.now();
    const last = this.last.get(key) ?? -Infinity;
    if (t - last >= this.intervalMs && !this.waiting.has(key)) {
      this.last.set(key, t);
      this.send(key, value);
      return;
    }
    const w = this.waiting.get(key);
    if (w) { w.value = value; return; }
    const entry = { value };
    this.waiting.set(key, entry);
    this.timers.setTimeout(() => {
      this.waiting.delete(key);
      this.last.set(key, this.now());
      this.send(key, entry.value);
    }, Math.max(0, this.intervalMs - (t - last)));
  }
}
