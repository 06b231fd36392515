// Browser glass-to-glass latency on loopback: Debian's Chromium (playwright-core) joins WebRTC
// senders that speak DJ Universe's WebSocket protocol (the battle server, and dju-bench-floor, a bare
// webrtcbin sender), then repeatedly sends a control that switches the audio on and times how long
// until its WebAudio analyser sees the change. Prints one JSON object on stdout.
//
//   node bench/browser_latency.mjs --targets JSON [--samples 40] [--warmup-min 5] [--warmup-max 40]
//                                  [--jb-target 0] [--budget 600]
//
// --targets is a list of {"name", "page", "ws", "join", "setup": [messages], "on", "off"}.
//
// Method, the same for every target:
// 1. All targets connect at once (one page each, one browser) and play with the control on.
// 2. Warm-up until Chromium's jitter buffer has settled on every page: Chromium holds several hundred
//    ms for the first seconds after connecting, then drains towards its target. Once a second the
//    jitter buffer delay of that second is read from getStats (Δ jitterBufferDelay /
//    Δ jitterBufferEmittedCount); settled = the last 3 seconds within 5 ms of each other, within
//    25 ms of NetEq's own target (Δ jitterBufferTargetDelay / Δ jitterBufferEmittedCount) and at
//    most 80 ms, after at least --warmup-min s. At --warmup-max s the measurement goes ahead and
//    says it did not settle.
// 3. The samples are interleaved (floor, battle, floor, battle …) so that the machine's load hits
//    every target alike. One sample: send OFF, wait for 120 ms of silence, wait 100–300 ms more (off
//    the frame grid), send ON and time until the audio crosses a quarter of the level measured with
//    the control on (the analyser's median 43 ms peak): an AudioWorklet on the same input checks
//    every 128-frame block and posts the moment it crosses, so the page does not poll (if the
//    worklet cannot load, the page polls the analyser instead; the result says which).
// Each receiver gets jitterBufferTarget = --jb-target (ms; default 0 = no added delay; Chromium's
// own minimum target stays 20 ms), the same on every target. --budget (s) caps warm-up plus samples
// on a starved machine: past it, no further warm-up and no further samples (at least 3 each).
//
// Output: {"<name>": result, …, "warmup": {seconds, settled, trace: {name: [ms per second]}}}, each
// result with samples_ms, p50_ms, p95_ms, max_ms, missed, join_to_first_packet_ms,
// net_of_jitter_buffer_p50/p95_ms (each sample minus the jitter buffer delay over that sample's
// off → on → heard window, getStats), sample_jitter_buffer_p50_ms and, over the
// measured window (getStats): jitter_buffer_ms, jitter_buffer_target_ms, playout_ms (media-playout:
// Δ totalPlayoutDelay / Δ totalSamplesCount), rtt_ms (candidate pair), concealed_share; and
// ack_latency_ms (server-side latency_ms of each control, when the sender reports it), threshold.
import { launchChromium, prepare, pageStats } from './chromium_page.mjs';

const SETTLE_WINDOWS = 3;
const SETTLE_SPREAD_MS = 5;
const SETTLE_ABOVE_TARGET_MS = 25;
const SETTLE_MAX_MS = 80;  // small: on an idle machine it settles near 32 ms

function parseArgs(argv) {
  const o = { samples: 40, 'warmup-min': 5, 'warmup-max': 40, 'jb-target': 0, budget: 600 };
  for (let i = 2; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!o.targets) throw new Error('--targets is required');
  return { targets: JSON.parse(o.targets), samples: Number(o.samples), warmupMin: Number(o['warmup-min']),
    warmupMax: Number(o['warmup-max']), jbTarget: Number(o['jb-target']), budget: Number(o.budget) };
}

// The level with the control on (median of 43 ms peaks over 2 s; music that has only just started,
// or a receiver catching up, gets a few more tries); sets the detection threshold.
async function calibrate() {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const d = window.__dju;
  let onLevel = 0;
  for (let attempt = 0; attempt < 6 && !(onLevel > 0.01); attempt++) {
    const peaks = [];
    for (let i = 0; i < 40; i++) { await sleep(50); peaks.push(d.peak()); }
    peaks.sort((a, b) => a - b);
    onLevel = peaks[Math.floor(peaks.length / 2)];
  }
  if (!(onLevel > 0.01)) return { error: `no sound with the control on (level ${onLevel}, errors: ${JSON.stringify(d.errors)})` };
  d.onLevel = onLevel;
  d.threshold = Math.max(0.01, onLevel * 0.25);
  return { ok: true, onLevel, threshold: d.threshold };
}

// One sample: OFF, silence, ON, time until the analyser crosses the threshold. Returns
// {ms (null when not heard within 3 s), ack (server latency_ms or null)}.
async function sampleOnce(cfg) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const d = window.__dju;
  d.ws.send(JSON.stringify(cfg.off));
  const tOff = performance.now();
  let quietSince = null;
  while (performance.now() - tOff < 3000) {
    if (d.peak() < d.threshold * 0.2) { if (quietSince === null) quietSince = performance.now(); else if (performance.now() - quietSince > 120) break; }
    else quietSince = null;
    await sleep(5);
  }
  const s0 = await d.stats();  // the jitter buffer around this sample: from here to after the onset
  await sleep(100 + Math.random() * 200);  // off the frame grid
  const id = ++d.id;
  let t0;
  let t1;
  if (d.detector) {
    // The worklet arms, then posts when a block crosses the threshold; the page only waits.
    const heard = new Promise((resolve) => { d.detector.port.onmessage = () => resolve(performance.now()); });
    d.detector.port.postMessage({ armed: true, threshold: d.threshold });
    await sleep(20);  // the arming message reaches the audio thread before the control leaves
    t0 = performance.now();
    d.ws.send(JSON.stringify({ ...cfg.on, id }));
    t1 = await Promise.race([heard, sleep(3000).then(() => null)]);
    d.detector.port.postMessage({ armed: false, threshold: d.threshold });
  } else {
    t0 = performance.now();
    d.ws.send(JSON.stringify({ ...cfg.on, id }));
    t1 = await new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        const now = performance.now();
        if (d.peak() > d.threshold) resolve(now);
        else if (now - t0 > 3000) resolve(null);
        else ch.port2.postMessage(0);
      };
      ch.port2.postMessage(0);
    });
  }
  await sleep(50);
  const s1 = await d.stats();
  const ack = d.acks.get(id);
  const emitted = s1.jbCount - s0.jbCount;
  return { ms: t1 === null ? null : t1 - t0, ack: ack && typeof ack.latency_ms === 'number' ? ack.latency_ms : null,
    detector: d.detector ? 'worklet' : 'analyser',
    jb: emitted > 0 ? 1000 * (s1.jbDelay - s0.jbDelay) / emitted : null };
}

async function finish() {
  const d = window.__dju;
  const r = { audio_base_latency_ms: d.ctx.baseLatency * 1000, audio_output_latency_ms: (d.ctx.outputLatency || 0) * 1000,
    errors: d.errors };
  d.ws.close();
  d.pc.close();
  return r;
}

const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const per = (a, b, num, den) => (b[den] - a[den] > 0 ? 1000 * (b[num] - a[num]) / (b[den] - a[den]) : null);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const cfg = parseArgs(process.argv);
const results = {};
const tStart = Date.now();
const overBudget = () => (Date.now() - tStart) / 1000 > cfg.budget;
try {
  const chromium = await launchChromium();
  const browser = chromium.context;
  try {
    const pages = [];
    for (const t of cfg.targets) {
      const page = pages.length === 0 && browser.pages()[0] ? browser.pages()[0] : await browser.newPage();
      await page.goto(t.page);
      pages.push(page);
    }
    const targetCfg = (t) => ({ ...t, jbTarget: cfg.jbTarget });
    const prepared = await Promise.all(cfg.targets.map((t, i) =>
      pages[i].evaluate(prepare, targetCfg(t)).catch((e) => ({ error: String(e) }))));
    const live = [];
    cfg.targets.forEach((t, i) => {
      if (prepared[i].error) results[t.name] = { error: prepared[i].error };
      else live.push(i);
    });

    // Warm-up: until the jitter buffer delay of each second is settled on every live page.
    const trace = {};
    const targetTrace = {};
    live.forEach((i) => { trace[cfg.targets[i].name] = []; targetTrace[cfg.targets[i].name] = []; });
    const settledOne = (xs, ts) => {
      if (xs.length < SETTLE_WINDOWS) return false;
      const last = xs.slice(-SETTLE_WINDOWS);
      const lastT = ts.slice(-SETTLE_WINDOWS);
      if (last.some((x) => x === null)) return false;
      const spread = Math.max(...last) - Math.min(...last);
      const above = Math.max(...last.map((x, k) => x - (lastT[k] || 0)));
      return spread <= SETTLE_SPREAD_MS && above <= SETTLE_ABOVE_TARGET_MS && Math.max(...last) <= SETTLE_MAX_MS;
    };
    const tWarm = Date.now();
    let prev = await Promise.all(live.map((i) => pages[i].evaluate(pageStats)));
    let settled = false;
    while ((Date.now() - tWarm) / 1000 < cfg.warmupMax && !overBudget()) {
      await sleep(1000);
      const cur = await Promise.all(live.map((i) => pages[i].evaluate(pageStats)));
      live.forEach((i, k) => {
        const name = cfg.targets[i].name;
        const jb = per(prev[k], cur[k], 'jbDelay', 'jbCount');
        trace[name].push(jb === null ? null : Math.round(jb * 10) / 10);
        targetTrace[name].push(per(prev[k], cur[k], 'jbTarget', 'jbCount'));
      });
      prev = cur;
      settled = live.every((i) => settledOne(trace[cfg.targets[i].name], targetTrace[cfg.targets[i].name]));
      if (settled && (Date.now() - tWarm) / 1000 >= cfg.warmupMin) break;
    }
    results.warmup = { seconds: (Date.now() - tWarm) / 1000, settled, trace,
      target_trace: Object.fromEntries(Object.entries(targetTrace).map(([k, v]) => [k, v.map((x) => (x === null ? null : Math.round(x * 10) / 10))])) };

    // Calibrate, then interleave the samples.
    const cal = await Promise.all(live.map((i) => pages[i].evaluate(calibrate).catch((e) => ({ error: String(e) }))));
    const measured = [];
    live.forEach((i, k) => {
      if (cal[k].error) results[cfg.targets[i].name] = { error: cal[k].error };
      else measured.push(i);
    });
    const acc = {};
    const before = {};
    for (const i of measured) {
      acc[i] = { samples: [], acks: [], netJb: [], jb: [] };
      before[i] = await pages[i].evaluate(pageStats);
    }
    let taken = 0;
    for (let n = 0; n < cfg.samples && !(n >= 3 && overBudget()); n++, taken++) {
      for (const i of measured) {
        const s = await pages[i].evaluate(sampleOnce, cfg.targets[i]);
        if (s.ms !== null) acc[i].samples.push(s.ms);
        acc[i].detector = s.detector;
        if (s.ms !== null && s.jb !== null) { acc[i].netJb.push(s.ms - s.jb); acc[i].jb.push(s.jb); }
        if (s.ack !== null) acc[i].acks.push(s.ack);
      }
    }
    for (const i of measured) {
      const after = await pages[i].evaluate(pageStats);
      const b = before[i];
      const fin = await pages[i].evaluate(finish);
      const xs = acc[i].samples;
      results[cfg.targets[i].name] = {
        samples_ms: xs.map((x) => Math.round(x * 10) / 10), missed: taken - xs.length, controls: taken,
        p50_ms: pct(xs, 0.5), p95_ms: pct(xs, 0.95), max_ms: pct(xs, 1.0),
        join_to_first_packet_ms: prepared[i].firstPacket,
        // Each sample minus the jitter buffer delay around it: what the rest of the path took.
        net_of_jitter_buffer_p50_ms: pct(acc[i].netJb, 0.5), net_of_jitter_buffer_p95_ms: pct(acc[i].netJb, 0.95),
        sample_jitter_buffer_p50_ms: pct(acc[i].jb, 0.5), detector: acc[i].detector,
        jitter_buffer_ms: per(b, after, 'jbDelay', 'jbCount'),
        jitter_buffer_target_ms: per(b, after, 'jbTarget', 'jbCount'),
        jitter_buffer_target_setting: after.jbTargetSetting,
        playout_ms: per(b, after, 'playoutDelay', 'playoutCount'),
        rtt_ms: after.rtt === null ? null : after.rtt * 1000,
        concealed_share: after.received - b.received > 0 ? (after.concealed - b.concealed) / (after.received - b.received) : null,
        ack_latency_ms: acc[i].acks, ...fin,
      };
    }
  } finally {
    await chromium.close();
  }
} catch (e) {
  results.error = String(e && e.message ? e.message : e);
}
process.stdout.write(JSON.stringify(results) + '\n');
process.exit(results.error ? 1 : 0);
