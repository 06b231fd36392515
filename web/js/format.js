// Formatting helpers shared by every page: times, tempo, keys and their Camelot colours.

/** Seconds → "m:ss" (or "-m:ss" when negative, for remaining time). */
export function formatTime(seconds) {
  if (!Number.isFinite(seconds)) return '--:--';
  const sign = seconds < 0 ? '-' : '';
  const s = Math.floor(Math.abs(seconds));
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Seconds → "m:ss.t" for the deck displays, where tenths matter when cueing. */
export function formatTimeTenths(seconds) {
  if (!Number.isFinite(seconds)) return '--:--.-';
  const sign = seconds < 0 ? '-' : '';
  const t = Math.floor(Math.abs(seconds) * 10);
  const s = Math.floor(t / 10);
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}.${t % 10}`;
}

export function formatBpm(bpm) {
  return Number.isFinite(bpm) && bpm > 0 ? bpm.toFixed(1) : '---.-';
}

/** Tempo ratio → signed percent, e.g. 1.02 → "+2.00%". */
export function formatTempoPercent(ratio) {
  if (!Number.isFinite(ratio)) return '+0.00%';
  const p = (ratio - 1) * 100;
  return `${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(2)}%`;
}

export function formatDb(db) {
  if (!Number.isFinite(db)) return '−∞ dB';
  return `${db > 0 ? '+' : db < 0 ? '−' : ''}${Math.abs(db).toFixed(1)} dB`;
}

export function formatMs(ms) {
  return Number.isFinite(ms) ? `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms` : '— ms';
}

// Camelot wheel: musical key name → code. Minor keys are "A", major keys "B".
const CAMELOT = {
  'G# minor': '1A', 'Ab minor': '1A', 'B major': '1B', 'Cb major': '1B',
  'D# minor': '2A', 'Eb minor': '2A', 'F# major': '2B', 'Gb major': '2B',
  'A# minor': '3A', 'Bb minor': '3A', 'C# major': '3B', 'Db major': '3B',
  'F minor': '4A', 'Ab major': '4B', 'G# major': '4B',
  'C minor': '5A', 'Eb major': '5B', 'D# major': '5B',
  'G minor': '6A', 'Bb major': '6B', 'A# major': '6B',
  'D minor': '7A', 'F major': '7B',
  'A minor': '8A', 'C major': '8B',
  'E minor': '9A', 'G major': '9B',
  'B minor': '10A', 'D major': '10B',
  'F# minor': '11A', 'Gb minor': '11A', 'A major': '11B',
  'C# minor': '12A', 'Db minor': '12A', 'E major': '12B',
};

/** Accepts "8A", "A minor", "Am", "F#m" and returns the Camelot code, or '' when unknown. */
export function toCamelot(key) {
  if (typeof key !== 'string' || !key.trim()) return '';
  const k = key.trim();
  const code = /^(1[0-2]|[1-9])\s*([ABab])$/.exec(k);
  if (code) return `${code[1]}${code[2].toUpperCase()}`;
  const short = /^([A-Ga-g])([#b♯♭]?)\s*(m|min|minor|maj|major)?$/.exec(k);
  if (short) {
    const root = short[1].toUpperCase() + short[2].replace('♯', '#').replace('♭', 'b');
    const minor = short[3] && short[3].startsWith('m') && short[3] !== 'maj' && short[3] !== 'major';
    return CAMELOT[`${root} ${minor ? 'minor' : 'major'}`] || '';
  }
  const long = /^([A-Ga-g][#b♯♭]?)\s+(minor|major)$/i.exec(k);
  if (long) {
    const root = long[1][0].toUpperCase() + long[1].slice(1).replace('♯', '#').replace('♭', 'b');
    return CAMELOT[`${root} ${long[2].toLowerCase()}`] || '';
  }
  return '';
}

/** The colour of a Camelot code: the wheel's 12 positions spread over the hue circle
 * (1 = pink-red … 12 = magenta, as printed on the usual Camelot wheel); minor (A) is a little darker. */
export function camelotColor(key) {
  const code = toCamelot(key);
  if (!code) return '#8a8f98';
  const n = parseInt(code, 10);
  const minor = code.endsWith('A');
  const hue = ((n - 1) * 30 + 150) % 360;
  return `hsl(${hue} ${minor ? 70 : 80}% ${minor ? 58 : 66}%)`;
}

/** Two keys mix harmonically when they share a number, or a letter and neighbouring numbers. */
export function harmonicMatch(keyA, keyB) {
  const a = toCamelot(keyA), b = toCamelot(keyB);
  if (!a || !b) return false;
  const na = parseInt(a, 10), nb = parseInt(b, 10);
  if (na === nb) return true;
  const d = Math.min((na - nb + 12) % 12, (nb - na + 12) % 12);
  return d === 1 && a.slice(-1) === b.slice(-1);
}

/** Escapes text for insertion into HTML. */
export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
