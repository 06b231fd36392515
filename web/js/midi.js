// Web MIDI layer: decodes raw MIDI, maps it to on-screen controls, learns new bindings and keeps
// one mapping per device in localStorage. The mapper is pure (bytes in, control events out) so it
// is tested by injecting messages; `attachWebMidi` feeds it from real devices.
//
// Control ids are relative to the DJ's own deck ("play", "eq-low", "hotcue.3", "jog") or global
// ("crossfader"), so one mapping serves either seat.

export const STORAGE_PREFIX = 'dju.midi.';

/** The default mapping of the design: note 60 play, 61 cue, 62–65 hotcues 1–4; CC 1 pitch,
 * 2 volume, 3/4/5 EQ high/mid/low, 6 crossfader; pitch bend → jog. Any MIDI channel. */
export const DEFAULT_BINDINGS = [
  { kind: 'note', number: 60, control: 'play' },
  { kind: 'note', number: 61, control: 'cue' },
  { kind: 'note', number: 62, control: 'hotcue.1' },
  { kind: 'note', number: 63, control: 'hotcue.2' },
  { kind: 'note', number: 64, control: 'hotcue.3' },
  { kind: 'note', number: 65, control: 'hotcue.4' },
  { kind: 'cc', number: 1, control: 'tempo' },
  { kind: 'cc', number: 2, control: 'volume' },
  { kind: 'cc', number: 3, control: 'eq-high' },
  { kind: 'cc', number: 4, control: 'eq-mid' },
  { kind: 'cc', number: 5, control: 'eq-low' },
  { kind: 'cc', number: 6, control: 'crossfader' },
  { kind: 'pitchbend', number: 0, control: 'jog', mode: 'velocity' },
];

/** Decodes one MIDI message (Uint8Array or array of bytes). Returns null for what we ignore
 * (clock, sysex, aftertouch). */
export function decodeMidi(bytes) {
  if (!bytes || bytes.length < 2) return null;
  const status = bytes[0] & 0xf0;
  const channel = bytes[0] & 0x0f;
  const d1 = bytes[1] & 0x7f;
  const d2 = (bytes[2] ?? 0) & 0x7f;
  switch (status) {
    case 0x90: return { kind: 'note', channel, number: d1, value: d2, on: d2 > 0 };
    case 0x80: return { kind: 'note', channel, number: d1, value: 0, on: false };
    case 0xb0: return { kind: 'cc', channel, number: d1, value: d2 };
    case 0xe0: return { kind: 'pitchbend', channel, number: 0, value: (d2 << 7) | d1 };
    default: return null;
  }
}

/** A relative encoder's tick count: two's complement (1…63 = +, 65…127 = −) or binary offset
 * (64 ± n), the two conventions controllers use for jog wheels. */
export function relativeTicks(value, encoding = 'twos') {
  if (encoding === 'offset') return value - 64;
  return value < 64 ? value : value - 128;
}

function bindingKey(b) {
  return `${b.kind}:${b.number}${b.channel === undefined || b.channel === null ? '' : `@${b.channel}`}`;
}

export class MidiMapper {
  /**
   * @param {object} opts
   * @param {Storage} [opts.storage] localStorage-like store
   * @param {(ev:{control:string,type:string,value:number,device:string})=>void} [opts.onControl]
   */
  constructor({ storage = globalThis.localStorage, onControl = () => {} } = {}) {
    this.storage = storage;
    this.onControl = onControl;
    this.maps = new Map(); // device → Map(key → binding)
    this.learning = false;
    this.captured = null; // last message seen while learning: {device, msg}
    this.armed = null; // control clicked while learning, waiting for a MIDI message
    this.listeners = new Set();
  }

  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  notify(ev) { for (const fn of this.listeners) fn(ev); }

  /** The device's bindings: stored ones, else the default mapping. */
  bindings(device) {
    if (!this.maps.has(device)) {
      let list = null;
      try {
        const raw = this.storage?.getItem(STORAGE_PREFIX + device);
        if (raw) {
          const parsed = JSON.parse(raw);
          if (parsed && Array.isArray(parsed.bindings)) list = parsed.bindings;
        }
      } catch { list = null; }
      const m = new Map();
      for (const b of list ?? DEFAULT_BINDINGS) m.set(bindingKey(b), { ...b });
      this.maps.set(device, m);
    }
    return this.maps.get(device);
  }

  hasStored(device) { return Boolean(this.storage?.getItem(STORAGE_PREFIX + device)); }

  save(device) {
    const list = [...this.bindings(device).values()];
    this.storage?.setItem(STORAGE_PREFIX + device, JSON.stringify({ version: 1, device, bindings: list }));
  }

  /** Forgets the device's learned bindings: back to the default mapping. */
  reset(device) {
    this.storage?.removeItem(STORAGE_PREFIX + device);
    this.maps.delete(device);
  }

  /** Drops the in-memory copy so the next use reads storage again (as a page reload would). */
  reload(device) { this.maps.delete(device); }

  startLearn() { this.learning = true; this.captured = null; this.armed = null; this.notify({ type: 'learn', on: true }); }
  stopLearn() { this.learning = false; this.captured = null; this.armed = null; this.notify({ type: 'learn', on: false }); }

  /** In learn mode the DJ clicked an on-screen control: bind it to the last moved MIDI control,
   * or arm it for the next one. Returns the binding made, or null when armed. */
  pickControl(control, options = {}) {
    if (!this.learning) return null;
    if (this.captured) {
      const b = this.bind(this.captured.device, this.captured.msg, control, options);
      this.captured = null;
      return b;
    }
    this.armed = { control, options };
    this.notify({ type: 'armed', control });
    return null;
  }

  /** Binds a decoded message to a control for a device (replacing any binding of that message
   * and any other binding of the same control on that device) and saves the device's mapping. */
  bind(device, msg, control, { mode } = {}) {
    const m = this.bindings(device);
    for (const [k, b] of m) if (b.control === control) m.delete(k);
    // A learned binding matches the exact channel; drop a channel-less default for the same message.
    m.delete(bindingKey({ kind: msg.kind, number: msg.number }));
    let bmode = mode;
    if (!bmode && control === 'jog') bmode = msg.kind === 'pitchbend' ? 'velocity' : 'relative';
    const b = { kind: msg.kind, number: msg.number, channel: msg.channel, control };
    if (bmode) b.mode = bmode;
    if (bmode === 'relative') b.encoding = msg.value > 32 && msg.value < 96 && msg.value !== 64 ? 'offset' : 'twos';
    m.set(bindingKey(b), b);
    this.save(device);
    this.notify({ type: 'bound', device, binding: b });
    return b;
  }

  lookup(device, msg) {
    const m = this.bindings(device);
    return m.get(bindingKey(msg)) ?? m.get(bindingKey({ kind: msg.kind, number: msg.number }));
  }

  /** Feeds one raw MIDI message from `device`. Returns the control event emitted, or null. */
  handle(device, bytes) {
    const msg = decodeMidi(bytes);
    if (!msg) return null;
    if (this.learning) {
      if (msg.kind === 'note' && !msg.on) return null; // the release of the learned pad
      if (this.armed) {
        const { control, options } = this.armed;
        this.armed = null;
        this.bind(device, msg, control, options);
        return null;
      }
      this.captured = { device, msg };
      this.notify({ type: 'captured', device, msg });
      return null;
    }
    const b = this.lookup(device, msg);
    if (!b) return null;
    const ev = this.toEvent(b, msg);
    ev.device = device;
    this.onControl(ev);
    return ev;
  }

  /** Binding + message → control event. `type`: press/release (buttons), absolute (0…1 of the
   * control's range), relative (encoder ticks), velocity (jog: −1…+1 around centre). */
  toEvent(b, msg) {
    if (msg.kind === 'note') return { control: b.control, type: msg.on ? 'press' : 'release', value: msg.on ? 1 : 0 };
    if (msg.kind === 'pitchbend') {
      const centred = (msg.value - 8192) / 8192;
      if (b.mode === 'velocity' || b.control === 'jog') return { control: b.control, type: 'velocity', value: centred };
      return { control: b.control, type: 'absolute', value: msg.value / 16383 };
    }
    if (b.mode === 'relative') return { control: b.control, type: 'relative', value: relativeTicks(msg.value, b.encoding) };
    if (b.mode === 'button') return { control: b.control, type: msg.value >= 64 ? 'press' : 'release', value: msg.value >= 64 ? 1 : 0 };
    return { control: b.control, type: 'absolute', value: msg.value / 127 };
  }
}

/** Connects every MIDI input to the mapper (and new ones as they are plugged in).
 * Resolves to the MIDIAccess, or null when the browser offers no Web MIDI. */
export async function attachWebMidi(mapper, onDevices = () => {}) {
  if (!navigator.requestMIDIAccess) return null;
  let access;
  try { access = await navigator.requestMIDIAccess({ sysex: false }); } catch { return null; }
  const hook = () => {
    const names = [];
    for (const input of access.inputs.values()) {
      const name = input.name || input.id;
      names.push(name);
      input.onmidimessage = (e) => mapper.handle(name, e.data);
    }
    onDevices(names);
  };
  access.onstatechange = hook;
  hook();
  return access;
}
