// The front end's logic that needs no server, run in Chromium itself: formatting, message
// building, optimistic state + reconciliation, the MIDI mapping layer (learn, save, reload,
// control), and the three pages loading and behaving with no server behind them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { newContext, staticServer, cleanupDirs, watchErrors, ensureArtifacts } from './lib.mjs';

let srv, ctx, page;
before(async () => {
  srv = await staticServer();
  ctx = await newContext();
  page = await ctx.newPage();
  await page.goto(`${srv.url}/blank.html`);
});
after(async () => { await ctx?.close(); await srv?.close(); cleanupDirs(); });

const inPage = (fn, arg) => page.evaluate(fn, arg);

test('formatting: times, tempo, Camelot keys and colours', async () => {
  const r = await inPage(async () => {
    const f = await import('/js/format.js');
    return {
      t: [f.formatTime(0), f.formatTime(61.9), f.formatTime(-75), f.formatTime(NaN)],
      tt: f.formatTimeTenths(83.46),
      tempo: [f.formatTempoPercent(1.02), f.formatTempoPercent(0.925)],
      keys: ['A minor', 'Am', '8A', '8a', 'C major', 'F#m', 'Gb minor', 'Db major', 'nonsense', ''].map(f.toCamelot),
      colors: [f.camelotColor('8A'), f.camelotColor('8B'), f.camelotColor('9A'), f.camelotColor('')],
      match: [f.harmonicMatch('8A', '9A'), f.harmonicMatch('8A', '8B'), f.harmonicMatch('12A', '1A'), f.harmonicMatch('8A', '10A'), f.harmonicMatch('8A', '9B')],
      esc: f.escapeHtml('<b a="x">&'),
    };
  });
  assert.deepEqual(r.t, ['0:00', '1:01', '-1:15', '--:--']);
  assert.equal(r.tt, '1:23.4');
  assert.deepEqual(r.tempo, ['+2.00%', '−7.50%']);
  assert.deepEqual(r.keys, ['8A', '8A', '8A', '8A', '8B', '11A', '11A', '3B', '', '']);
  assert.equal(new Set(r.colors.slice(0, 3)).size, 3, 'different keys get different colours');
  assert.equal(r.colors[3], '#8a8f98', 'unknown key is grey');
  assert.deepEqual(r.match, [true, true, true, false, false]);
  assert.equal(r.esc, '&lt;b a=&quot;x&quot;&gt;&amp;');
});

test('messages: parameters, actions, pitch ranges and seat permissions', async () => {
  const r = await inPage(async () => {
    const m = await import('/js/messages.js');
    const err = (fn) => { try { fn(); return null; } catch (e) { return e instanceof m.ControlError ? e.message : `other: ${e}`; } };
    return {
      eq: m.paramMessage('a', 'eq-low', -26),
      clampHigh: m.paramMessage('b', 'eq-high', 40).value,
      xf: m.paramMessage('a', 'crossfader', -3),
      kill: m.paramMessage('a', 'eq-mid-kill', 1),
      key: m.paramMessage('a', 'key-shift', 2.6).value,
      curve: m.paramMessage('a', 'crossfader-curve', 'cut'),
      badParam: err(() => m.paramMessage('a', 'bogus', 1)),
      badDeck: err(() => m.paramMessage('c', 'tempo', 1)),
      badValue: err(() => m.paramMessage('a', 'tempo', 'fast')),
      hot: m.actionMessage('a', 'hotcue', { index: 3 }),
      hotBad: [err(() => m.actionMessage('a', 'hotcue', { index: 9 })), err(() => m.actionMessage('a', 'hotcue', {}))],
      jump: m.actionMessage('b', 'beatjump', { value: -4 }),
      load: m.actionMessage('a', 'load', { track: 'house-124-am' }),
      loadBad: err(() => m.actionMessage('a', 'load', {})),
      play: m.actionMessage('a', 'play'),
      tempo: [m.faderToTempo(1, 8), m.faderToTempo(-1, 16), m.faderToTempo(0.5, 50), m.tempoToFader(1.04, 8), m.tempoToFader(1.3, 8)],
      range: [m.rangeForTempo(1.05, 8), m.rangeForTempo(1.1, 8), m.rangeForTempo(0.7, 8), m.rangeForTempo(1.02, 16)],
      may: [
        m.mayControl('a', 'a', 'tempo'), m.mayControl('b', 'a', 'tempo'), m.mayControl('spectator', 'a', 'tempo'),
        m.mayControl('a', 'a', 'crossfader', 'shared'), m.mayControl('a', 'a', 'crossfader', 'b'), m.mayControl('b', 'b', 'crossfader', 'b'),
        m.mayControl('spectator', null, 'crossfader', 'shared'),
        m.mayControl('a', 'a', 'crossfader', 'shared', ['deck.a', 'channel.a']), m.mayControl('a', 'a', 'eq-low', 'shared', ['deck.a', 'channel.a']),
      ],
    };
  });
  assert.deepEqual(r.eq, { type: 'control', deck: 'a', param: 'eq-low', value: -26 });
  assert.equal(r.clampHigh, 6);
  assert.deepEqual(r.xf, { type: 'control', param: 'crossfader', value: -1 }, 'the crossfader carries no deck');
  assert.equal(r.kill.value, true);
  assert.equal(r.key, 3);
  assert.deepEqual(r.curve, { type: 'control', param: 'crossfader-curve', value: 'cut' });
  assert.match(r.badParam, /unknown parameter/);
  assert.match(r.badDeck, /unknown deck/);
  assert.match(r.badValue, /not a number/);
  assert.deepEqual(r.hot, { type: 'control', deck: 'a', action: 'hotcue', index: 3 });
  assert.ok(r.hotBad.every((x) => /index 1–8/.test(x)));
  assert.deepEqual(r.jump, { type: 'control', deck: 'b', action: 'beatjump', value: -4 });
  assert.deepEqual(r.load, { type: 'control', deck: 'a', action: 'load', track: 'house-124-am' });
  assert.match(r.loadBad, /track id/);
  assert.deepEqual(r.play, { type: 'control', deck: 'a', action: 'play' });
  assert.deepEqual(r.tempo.map((x) => Math.round(x * 1e6) / 1e6), [1.08, 0.84, 1.25, 0.5, 1]);
  assert.deepEqual(r.range, [8, 16, 50, 16]);
  assert.deepEqual(r.may, [true, false, false, true, false, true, false, false, true]);
});

test('throttle: continuous controls coalesce and the last value always goes out', async () => {
  const r = await inPage(async () => {
    const { Throttle } = await import('/js/messages.js');
    const sent = [];
    const th = new Throttle((k, v) => sent.push([k, v]), 30);
    for (let i = 0; i <= 20; i++) { th.push('a.volume', i / 20); await new Promise((res) => setTimeout(res, 2)); }
    th.push('a.eq-low', -3);
    await new Promise((res) => setTimeout(res, 80));
    return sent;
  });
  const vol = r.filter(([k]) => k === 'a.volume');
  assert.ok(vol.length >= 2 && vol.length <= 6, `21 moves in ~50 ms → a few messages, got ${vol.length}`);
  assert.equal(vol[0][1], 0);
  assert.equal(vol.at(-1)[1], 1, 'the final position is sent');
  assert.deepEqual(r.filter(([k]) => k === 'a.eq-low'), [['a.eq-low', -3]], 'keys are throttled independently');
});

test('optimistic state: shows the local value at once and reconciles with the server', async () => {
  const r = await inPage(async () => {
    const { OptimisticState, flattenState, PlayheadClock } = await import('/js/state.js');
    let now = 0;
    const s = new OptimisticState({ holdMs: 1000, now: () => now });
    const seen = [];
    s.onChange((k, v) => seen.push([k, v]));
    const out = {};
    s.applyServer({ 'a.volume': 1, 'a.eq-low': 0, 'mixer.crossfader': 0 });
    s.setLocal('a.volume', 0.5, 1);
    out.immediate = s.get('a.volume');
    s.applyServer({ 'a.volume': 1 }); // a state sent before the server saw our change
    out.heldAgainstStale = s.get('a.volume');
    s.ack(1);
    s.applyServer({ 'a.volume': 0.5 });
    out.confirmed = [s.get('a.volume'), s.isPending('a.volume')];
    s.setLocal('a.eq-low', -10, 2);
    s.ack(2);
    s.applyServer({ 'a.eq-low': 0 }); // right after the ack a state may still be stale
    out.staleAfterAck = s.get('a.eq-low');
    now = 600;
    s.applyServer({ 'a.eq-low': -4 }); // later the server's state wins (e.g. it clamped or moved it)
    out.overruled = s.get('a.eq-low');
    s.setLocal('mixer.crossfader', -1, 3);
    s.reject(3); // refused (forbidden / out of range)
    out.rejected = s.get('mixer.crossfader');
    s.setLocal('a.filter', 0.3); // never confirmed, no ack
    now = 2700; s.applyServer({ 'a.filter': 0 });
    out.expired = s.get('a.filter');
    out.flatDeck = flattenState({ type: 'state', deck: 'b', position: 12.3, playing: true, hotcues: [1.5, null] });
    out.flatMixer = flattenState({ type: 'state', mixer: { crossfader: -0.2, 'crossfader-curve': 'linear', a: { volume: 0.8, 'eq-low': -3 }, b: { volume: 1 } } });
    out.flatBattle = flattenState({ id: 'x', decks: { a: { track: 't1', bpm: 124 } }, mixer: { crossfader: 0.5, b: { filter: 0.2 } } });
    s.applyServer({ 'a.tempo': 1 });
    out.smallTempo = s.applyServer({ 'a.tempo': 0.9996 }); // sync moved the pitch by −0.04 %
    out.seen = seen.length;
    // Playhead: extrapolates with the tempo while playing, eases small corrections, snaps for jumps.
    let t = 0;
    const c = new PlayheadClock(() => t);
    c.update(10, true, 1.0); t = 500; out.p1 = c.position();
    c.update(10.52, true, 1.0); out.p2 = c.position(); t = 1000; out.p3 = c.position();
    c.update(60, true, 1.5); out.p4 = c.position(); t = 2000; out.p5 = c.position();
    c.update(70, false, 1); t = 3000; out.p6 = c.position();
    return out;
  });
  assert.equal(r.immediate, 0.5);
  assert.equal(r.heldAgainstStale, 0.5, 'a stale state does not snap the control back');
  assert.deepEqual(r.confirmed, [0.5, false]);
  assert.equal(r.staleAfterAck, -10, 'a stale state just after the ack does not snap back');
  assert.equal(r.overruled, -4);
  assert.equal(r.rejected, 0);
  assert.equal(r.expired, 0);
  assert.deepEqual(r.flatDeck, { 'b.position': 12.3, 'b.playing': true, 'b.hotcues': [1.5, null] });
  assert.deepEqual(r.flatMixer, { 'mixer.crossfader': -0.2, 'mixer.crossfader-curve': 'linear', 'a.volume': 0.8, 'a.eq-low': -3, 'b.volume': 1 });
  assert.deepEqual(r.flatBattle, { 'a.track': 't1', 'a.bpm': 124, 'mixer.crossfader': 0.5, 'b.filter': 0.2 });
  assert.ok(r.seen >= 6);
  assert.deepEqual(r.smallTempo, ['a.tempo'], 'a 0.04 % tempo change reaches the pitch fader');
  assert.ok(Math.abs(r.p1 - 10.5) < 1e-9);
  assert.ok(Math.abs(r.p2 - 10.5) < 1e-9, 'a 20 ms correction is eased, not jumped');
  assert.ok(Math.abs(r.p3 - 11.02) < 1e-9);
  assert.equal(r.p4, 60, 'a seek snaps');
  assert.ok(Math.abs(r.p5 - 61.5) < 1e-9, 'extrapolates with tempo 1.5');
  assert.equal(r.p6, 70, 'paused: stays');
});

test("the server's analysis of the master: held back until heard, then shown", async () => {
  const r = await inPage(async () => {
    const { SpectrumFeed, MasterAnalysis, audibleDelayMs, levelFraction } = await import('/js/analysis.js');
    let now = 0, delay = 300;
    const feed = new SpectrumFeed({ delayMs: () => delay, now: () => now });
    const msg = (i, extra = {}) => ({ timestamp: i * 50e6, tempo: 124, sub: -20, bass: -10, 'low-mid': -30, mid: -40, 'high-mid': -50, treble: -60, presence: -70,
      chroma: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0.5], onset: false, ...extra });
    const out = {};
    // Messages every 50 ms; the first has an onset.
    for (let i = 0; i < 10; i++) { now = i * 50; feed.push(msg(i, { onset: i === 0 })); }
    now = 450;
    out.beforeDue = [feed.current()?.timestamp ?? null, feed.onsets()];  // 450 − 300 = 150 ms: messages 0–3 are due
    now = 460; delay = 0;
    out.allDue = feed.current().timestamp;
    out.onsetsOnce = [feed.onsets(), feed.onsets()];
    // A page in the background that never draws keeps at most `max` messages.
    const small = new SpectrumFeed({ delayMs: () => 1e9, now: () => 0, max: 4 });
    for (let i = 0; i < 10; i++) small.push(msg(i));
    out.bounded = small.queue.length;
    out.delays = [audibleDelayMs({ jitterBufferMs: 30, outputLatencyS: 0.02 }), audibleDelayMs({ jitterBufferMs: NaN }), audibleDelayMs({ jitterBufferMs: 0 })];
    out.fractions = [levelFraction(0), levelFraction(-30), levelFraction(-60), levelFraction(-120), levelFraction(NaN), levelFraction(6)];
    // The panel: tempo, band heights, chroma, the beat lamp lit after an onset and dark after.
    const root = document.createElement('div'); document.body.append(root);
    now = 0; delay = 0;
    const f2 = new SpectrumFeed({ delayMs: () => 0, now: () => now });
    const panel = new MasterAnalysis(root, f2);
    f2.push(msg(0, { onset: true }));
    panel.frame();
    out.tempo = root.querySelector('.tempo').textContent;
    out.heights = panel.fractions.map((f) => Math.round(f * 100));
    out.notesOn = panel.chroma;
    // The meters are drawn: the sub band's bar (67 % full) is lit near its foot, the presence band's (empty) is not.
    const c = root.querySelector('canvas.bands'), g = c.getContext('2d'), col = c.width / 7, foot = c.height - 16 * devicePixelRatio;
    const px = (x, y) => [...g.getImageData(Math.round(x), Math.round(y), 1, 1).data];
    out.subLit = px(col / 2, foot); out.airLit = px(6.5 * col, foot);
    const lamp = root.querySelector('.lamp');
    const first = lamp.getAnimations()[0];
    out.flashed = !!first;
    panel.frame(); // no new onset: no new flash
    out.flashedAgain = lamp.getAnimations().some((a) => a !== first);
    f2.push(msg(1, { tempo: 0 }));
    panel.frame();
    out.unlocked = root.querySelector('.tempo').textContent;
    const lean = document.createElement('div');
    const f3 = new SpectrumFeed({ delayMs: () => 0, now: () => now });
    f3.push(msg(2));
    new MasterAnalysis(lean, f3, { bands: false, chroma: false }).frame();
    out.full = [root.querySelectorAll('canvas.bands').length, root.querySelectorAll('canvas.chroma').length];
    out.lean = [lean.querySelectorAll('canvas.bands').length, lean.querySelectorAll('canvas.chroma').length, lean.querySelector('.tempo').textContent];
    return out;
  });
  assert.deepEqual(r.beforeDue, [150e6, 1], 'only what has been heard is shown, its onset counted once');
  assert.equal(r.allDue, 450e6);
  assert.deepEqual(r.onsetsOnce, [0, 0]);
  assert.equal(r.bounded, 4);
  assert.deepEqual(r.delays, [33, 23, 0]);
  assert.deepEqual(r.fractions, [1, 0.5, 0, 0, 0, 1]);
  assert.equal(r.tempo, '124.0');
  assert.deepEqual(r.heights, [67, 83, 50, 33, 17, 0, 0]);
  assert.deepEqual(r.notesOn, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0.5]);
  assert.ok(r.subLit[2] > 200 && r.airLit[2] < 60, `sub band drawn (${r.subLit}), presence empty (${r.airLit})`);
  assert.deepEqual([r.flashed, r.flashedAgain], [true, false], 'the beat lamp flashes on an onset, and only then');
  assert.equal(r.unlocked, '—', 'no tempo yet (not locked): a dash, not 0');
  assert.deepEqual(r.full, [1, 1], 'the full panel draws band meters and chroma');
  assert.deepEqual(r.lean, [0, 0, '124.0'], 'the overlay shows the beat and the tempo only');
});

test('waveforms: array, band object and djdeck base64 forms', async () => {
  const r = await inPage(async () => {
    const { normaliseWaveform } = await import('/js/canvas.js');
    const b64 = btoa(String.fromCharCode(255, 0, 0, 0, 255, 0, 0, 0, 51));
    const d = normaliseWaveform({ b64, points: 3, resolution: 0.01 });
    const a = normaliseWaveform([0.5, 2, [-1, 4]]);
    return { n: d.peaks.length, peaks: [...d.peaks].map((x) => +x.toFixed(2)), low: d.low[0], spp: d.secondsPerPoint, colors: d.colors,
      a: [...a.peaks], bad: [normaliseWaveform(null), normaliseWaveform({ b64: '%%%' }), normaliseWaveform([])] };
  });
  assert.equal(r.n, 3);
  assert.deepEqual(r.peaks, [1, 1, 0.2]);
  assert.equal(r.low, 1);
  assert.equal(r.spp, 0.01);
  assert.equal(r.colors.length, 3);
  assert.notEqual(r.colors[0], r.colors[1], 'a bass point and a mid point get different colours');
  assert.deepEqual(r.a, [0.125, 0.5, 1], 'scaled to 0…1 by the largest value');
  assert.deepEqual(r.bad, [null, null, null]);
});

test('MIDI mapping: default mapping, learn, save per device, reload, control', async () => {
  const r = await inPage(async () => {
    const { MidiMapper, decodeMidi, relativeTicks, DEFAULT_BINDINGS, STORAGE_PREFIX } = await import('/js/midi.js');
    localStorage.clear();
    const out = {};
    out.decode = [decodeMidi([0x90, 60, 100]), decodeMidi([0x93, 60, 0]), decodeMidi([0x80, 61, 64]), decodeMidi([0xb1, 7, 99]), decodeMidi([0xe0, 0, 64]), decodeMidi([0xf8]), decodeMidi([0xd0, 10])];
    out.ticks = [relativeTicks(1), relativeTicks(127), relativeTicks(3), relativeTicks(125), relativeTicks(66, 'offset'), relativeTicks(60, 'offset')];
    const events = [];
    const m = new MidiMapper({ onControl: (e) => events.push(e) });
    const dev = 'Pioneer DDJ-400', other = 'Akai MPK';
    // Default mapping of the design.
    m.handle(dev, [0x90, 60, 127]); m.handle(dev, [0x80, 60, 0]);
    m.handle(dev, [0x90, 61, 127]); m.handle(dev, [0x90, 61, 0]);
    m.handle(dev, [0x90, 64, 127]);
    m.handle(dev, [0xb0, 1, 127]); m.handle(dev, [0xb0, 5, 0]); m.handle(dev, [0xb0, 6, 64]);
    m.handle(dev, [0xe0, 0x7f, 0x7f]); m.handle(dev, [0xe0, 0, 0x40]);
    out.defaults = events.splice(0).map((e) => [e.control, e.type, Math.round(e.value * 1000) / 1000]);
    out.unmapped = m.handle(dev, [0xb0, 20, 10]);
    // Learn: move a knob (CC 20 on channel 2), then click the on-screen filter control.
    m.startLearn();
    m.handle(dev, [0xb1, 20, 90]);
    out.whileLearning = events.length;
    out.bound = m.pickControl('filter');
    // Learn the other order: click first (arm), then move a pad (note 36).
    m.pickControl('sync');
    m.handle(dev, [0x91, 36, 127]);
    // A jog wheel as a relative encoder on CC 33.
    m.pickControl('jog');
    m.handle(dev, [0xb1, 33, 1]);
    m.stopLearn();
    out.stored = JSON.parse(localStorage.getItem(STORAGE_PREFIX + dev));
    // Reload (a new page): the mapping comes back from storage.
    const m2 = new MidiMapper({ onControl: (e) => events.push(e) });
    m2.handle(dev, [0xb1, 20, 127]);
    m2.handle(dev, [0x91, 36, 127]);
    m2.handle(dev, [0xb1, 33, 3]); m2.handle(dev, [0xb1, 33, 126]);
    m2.handle(dev, [0xb0, 20, 127]); // same CC on another channel: not learned
    m2.handle(dev, [0x90, 60, 127]); // defaults still there
    out.afterReload = events.splice(0).map((e) => [e.control, e.type, e.value, e.device]);
    // Another device keeps the default mapping.
    out.otherDevice = [m2.handle(other, [0xb1, 20, 127]), m2.handle(other, [0x90, 60, 127])?.control];
    // Re-binding a control replaces its old binding.
    m2.startLearn(); m2.handle(dev, [0xb1, 21, 5]); m2.pickControl('filter'); m2.stopLearn();
    out.rebound = [m2.handle(dev, [0xb1, 20, 127]), m2.handle(dev, [0xb1, 21, 127])?.control];
    // Reset: back to the defaults, storage cleared.
    m2.reset(dev);
    out.reset = [localStorage.getItem(STORAGE_PREFIX + dev), m2.handle(dev, [0xb1, 21, 127]), m2.handle(dev, [0xb0, 3, 127])?.control];
    // Corrupt storage falls back to the defaults.
    localStorage.setItem(STORAGE_PREFIX + 'Broken', '{not json');
    out.corrupt = new MidiMapper({}).bindings('Broken').size === DEFAULT_BINDINGS.length;
    return out;
  });
  assert.deepEqual(r.decode[0], { kind: 'note', channel: 0, number: 60, value: 100, on: true });
  assert.equal(r.decode[1].on, false, 'note-on with velocity 0 is a release');
  assert.equal(r.decode[2].on, false);
  assert.deepEqual(r.decode[3], { kind: 'cc', channel: 1, number: 7, value: 99 });
  assert.equal(r.decode[4].value, 8192);
  assert.equal(r.decode[5], null); assert.equal(r.decode[6], null);
  assert.deepEqual(r.ticks, [1, -1, 3, -3, 2, -4]);
  assert.deepEqual(r.defaults, [
    ['play', 'press', 1], ['play', 'release', 0], ['cue', 'press', 1], ['cue', 'release', 0], ['hotcue.3', 'press', 1],
    ['tempo', 'absolute', 1], ['eq-low', 'absolute', 0], ['crossfader', 'absolute', 0.504],
    ['jog', 'velocity', 1], ['jog', 'velocity', 0],
  ]);
  assert.equal(r.unmapped, null);
  assert.equal(r.whileLearning, 0, 'learn mode does not act');
  assert.deepEqual(r.bound, { kind: 'cc', number: 20, channel: 1, control: 'filter' });
  assert.equal(r.stored.device, 'Pioneer DDJ-400');
  assert.ok(r.stored.bindings.some((b) => b.control === 'sync' && b.kind === 'note' && b.number === 36));
  assert.ok(r.stored.bindings.some((b) => b.control === 'jog' && b.mode === 'relative' && b.encoding === 'twos'));
  assert.deepEqual(r.afterReload, [
    ['filter', 'absolute', 1, 'Pioneer DDJ-400'], ['sync', 'press', 1, 'Pioneer DDJ-400'],
    ['jog', 'relative', 3, 'Pioneer DDJ-400'], ['jog', 'relative', -2, 'Pioneer DDJ-400'],
    ['play', 'press', 1, 'Pioneer DDJ-400'],
  ]);
  assert.deepEqual(r.otherDevice, [null, 'play']);
  assert.deepEqual(r.rebound, [null, 'filter']);
  assert.deepEqual(r.reset, [null, null, 'eq-high']);
  assert.equal(r.corrupt, true);
});

test('pages load with no server: lobby, DJ controller, spectator, overlay', async () => {
  const dir = ensureArtifacts();
  const p = await ctx.newPage();
  const errors = watchErrors(p);
  await p.goto(`${srv.url}/`);
  await p.waitForSelector('#create');
  assert.match(await p.textContent('#battles'), /Could not list battles/);

  await p.goto(`${srv.url}/dj/test-battle?seat=a&token=abc`);
  await p.waitForFunction(() => window.dju && document.querySelectorAll('.hotcue').length === 8);
  const dj = await p.evaluate(() => ({
    hotcues: document.querySelectorAll('#own-deck .hotcue').length,
    jog: Boolean(document.querySelector('#own-deck canvas.jog')),
    pitch: document.querySelector('[data-control="pitch-range"]').textContent,
    knobs: document.querySelectorAll('.strip.mine .knob:not(.disabled)').length,
    otherDisabled: document.querySelectorAll('.strip:not(.own) .knob.disabled').length,
    shortcuts: document.querySelectorAll('.shortcuts tr').length,
    canvases: document.querySelectorAll('canvas').length,
  }));
  assert.equal(dj.hotcues, 8);
  assert.ok(dj.jog);
  assert.equal(dj.pitch, '±8%');
  assert.equal(dj.knobs, 5, 'own strip: trim, high, mid, low, filter');
  assert.equal(dj.otherDisabled, 5, "opponent's strip is view-only");
  assert.ok(dj.shortcuts >= 15, 'keyboard shortcuts documented on the page');
  // The pitch range cycles 8 → 16 → 50 and the fader's tempo follows the range.
  await p.click('[data-control="pitch-range"]');
  assert.equal(await p.textContent('[data-control="pitch-range"]'), '±16%');
  await p.click('[data-control="pitch-range"]');
  assert.equal(await p.textContent('[data-control="pitch-range"]'), '±50%');
  // Dragging the pitch fader to the bottom (+) shows +50 % at once (optimistic).
  const track = await p.locator('#own-deck .pitch .fader-track').boundingBox();
  await p.mouse.move(track.x + track.width / 2, track.y + track.height / 2);
  await p.mouse.down();
  await p.mouse.move(track.x + track.width / 2, track.y + track.height + 20, { steps: 5 });
  await p.mouse.up();
  assert.equal(await p.evaluate(() => window.dju.state.get('a.tempo')), 1.5);
  // Keyboard: focus a knob and press arrows.
  await p.focus('.strip.mine [data-control="eq-low"]');
  await p.keyboard.press('PageDown');
  assert.ok(await p.evaluate(() => window.dju.state.get('a.eq-low')) < 0);

  // MIDI on the page: learn (move, click), saved, reload, then the controller moves the on-screen knob.
  await p.evaluate(() => localStorage.clear());
  await p.click('#midi-learn');
  assert.ok(await p.evaluate(() => document.body.classList.contains('learning')));
  await p.evaluate(() => window.dju.mapper.handle('Test Controller', [0xb2, 44, 30]));
  await p.click('.strip.mine [data-control="filter"]');
  await p.keyboard.press('Escape');
  assert.ok(await p.evaluate(() => !document.body.classList.contains('learning')));
  await p.reload();
  await p.waitForFunction(() => window.dju);
  await p.evaluate(() => window.dju.mapper.handle('Test Controller', [0xb2, 44, 127]));
  assert.equal(await p.evaluate(() => window.dju.state.get('a.filter')), 1, 'learned CC moves the filter after a reload');
  assert.match(await p.getAttribute('.strip.mine [data-control="filter"]', 'aria-valuetext'), /HP 100/);
  await p.evaluate(() => window.dju.mapper.handle('Test Controller', [0xb0, 5, 0]));
  assert.equal(await p.evaluate(() => window.dju.state.get('a.eq-low')), -40, 'default CC 5 → EQ low at its bottom (kill)');
  await p.screenshot({ path: path.join(dir, 'dj-no-server.png') });

  // Seat b's page puts its own deck on the right and cannot touch deck a's strip.
  await p.goto(`${srv.url}/dj/test-battle?seat=b&token=abc`);
  await p.waitForFunction(() => window.dju);
  assert.ok(await p.evaluate(() => document.querySelector('#dj').classList.contains('seat-b')));
  assert.equal(await p.locator('.strip.a .knob.disabled').count(), 5);

  await p.goto(`${srv.url}/watch/test-battle`);
  await p.waitForFunction(() => window.dju);
  const acting = await p.evaluate(() => [...document.querySelectorAll('button, input, select, [role=slider], [data-control]')]
    .filter((e) => !e.closest('#listen')).length);
  assert.equal(acting, 0, 'the spectator page has no controls');
  await p.goto(`${srv.url}/watch/test-battle?overlay=1`);
  await p.waitForFunction(() => window.dju?.overlay);
  assert.deepEqual(await p.evaluate(() => [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).backgroundColor]),
    ['rgba(0, 0, 0, 0)', 'rgba(0, 0, 0, 0)'], 'overlay page is transparent');
  assert.deepEqual(errors, []);
  await p.close();
});
