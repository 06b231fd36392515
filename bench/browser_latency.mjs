// Browser glass-to-glass latency on loopback: Debian's Chromium (playwright-core) joins a WebRTC
// sender that speaks DJ Universe's WebSocket protocol (the battle server, or dju-bench-floor), then
// repeatedly sends a control that switches the audio on and times how long until its WebAudio
// analyser sees the change. Prints one JSON object on stdout.
//
//   node bench/browser_latency.mjs --targets JSON [--samples 20] [--warmup 8]
//
// --targets is a list of {"name", "page", "ws", "join", "setup": [messages], "on", "off"}. All
// targets connect and warm up at once (one page each, one browser), then are measured one after
// the other. Output: {"<name>": result, …}, each result with samples_ms (each control → analyser), p50_ms, p90_ms, max_ms, join_to_first_packet_ms,
// jitter_buffer_ms (getStats: jitterBufferDelay / jitterBufferEmittedCount over the measured
// window), rtt_ms (candidate pair), acks (server-side latency_ms of each control, when the sender
// reports it), threshold.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.DJU_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'];

function parseArgs(argv) {
  const o = { samples: 20, warmup: 8 };
  for (let i = 2; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!o.targets) throw new Error('--targets is required');
  return { targets: JSON.parse(o.targets), samples: Number(o.samples), warmup: Number(o.warmup) };
}

// Runs inside the page: join, receive, warm up; leaves its state in window.__dju for measure().
async function prepare(cfg) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const ws = new WebSocket(cfg.ws);
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('websocket failed')); });
  const pc = new RTCPeerConnection();
  const ctx = new AudioContext({ latencyHint: 'interactive' });
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;  // a 43 ms window: silence and level are judged on it; onsets show at once
  const sink = ctx.createGain();
  sink.gain.value = 0;
  analyser.connect(sink).connect(ctx.destination);
  const buf = new Float32Array(analyser.fftSize);
  const peak = () => {
    analyser.getFloatTimeDomainData(buf);
    let p = 0;
    for (let i = 0; i < buf.length; i++) { const a = Math.abs(buf[i]); if (a > p) p = a; }
    return p;
  };
  const keep = [];
  pc.ontrack = (ev) => {
    // The first m-line is the master (a DJ's second one is the headphone cue).
    if (pc.getTransceivers().indexOf(ev.transceiver) !== 0) return;
    const ms = new MediaStream([ev.track]);
    const el = new Audio();  // Chromium only feeds WebAudio from a remote track that a media element plays
    el.muted = true;
    el.srcObject = ms;
    el.play().catch(() => {});
    keep.push(el);
    ctx.createMediaStreamSource(ms).connect(analyser);
  };
  pc.onicecandidate = (ev) => {
    if (ev.candidate && ev.candidate.candidate)
      ws.send(JSON.stringify({ type: 'ice', candidate: ev.candidate.candidate, sdpMLineIndex: ev.candidate.sdpMLineIndex }));
  };
  const acks = new Map();
  const errors = [];
  let joined = false;
  let chain = Promise.resolve();
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    chain = chain.then(async () => {
      if (m.type === 'joined') joined = true;
      else if (m.type === 'offer') {
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        ws.send(JSON.stringify({ type: 'answer', sdp: answer.sdp }));
      } else if (m.type === 'ice' && m.candidate) {
        try { await pc.addIceCandidate({ candidate: m.candidate, sdpMLineIndex: m.sdpMLineIndex }); } catch (e) { /* ignored */ }
      } else if (m.type === 'ack') acks.set(m.id, m);
      else if (m.type === 'error') errors.push(m);
    }).catch((e) => errors.push({ code: 'page', message: String(e) }));
  };
  const inbound = async () => {
    const out = { packets: 0, jbDelay: 0, jbCount: 0, rtt: null };
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && out.packets === 0) {
        out.packets = s.packetsReceived || 0; out.jbDelay = s.jitterBufferDelay || 0; out.jbCount = s.jitterBufferEmittedCount || 0;
      }
      if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) out.rtt = s.currentRoundTripTime;
    });
    return out;
  };

  const tJoin = performance.now();
  ws.send(JSON.stringify(cfg.join));
  let firstPacket = null;
  while (performance.now() - tJoin < 15000) {
    if ((await inbound()).packets > 0) { firstPacket = performance.now() - tJoin; break; }
    await sleep(5);
  }
  if (firstPacket === null) return { error: `no audio packet within 15 s (joined: ${joined}, errors: ${JSON.stringify(errors)})` };
  for (const m of cfg.setup) { ws.send(JSON.stringify(m)); await sleep(50); }

  // Warm up: Chromium's jitter buffer holds several hundred ms for the first seconds, then drains.
  ws.send(JSON.stringify(cfg.on));
  await sleep(cfg.warmup * 1000);
  window.__dju = { ws, pc, ctx, peak, acks, errors, inbound, firstPacket, keep };
  return { ok: true };
}

// Runs inside the page after prepare().
async function measure(cfg) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const { ws, pc, ctx, peak, acks, errors, inbound, firstPacket } = window.__dju;
  // The level with the control on (median of 43 ms peaks over 2 s; music that has only just
  // started, or a receiver catching up, gets a few more tries).
  let onLevel = 0;
  for (let attempt = 0; attempt < 6 && !(onLevel > 0.01); attempt++) {
    const peaks = [];
    for (let i = 0; i < 40; i++) { await sleep(50); peaks.push(peak()); }
    peaks.sort((a, b) => a - b);
    onLevel = peaks[Math.floor(peaks.length / 2)];
  }
  if (!(onLevel > 0.01)) return { error: `no sound with the control on (level ${onLevel}, errors: ${JSON.stringify(errors)})` };
  const threshold = Math.max(0.01, onLevel * 0.25);

  const samples = [];
  const ackLatency = [];
  const before = await inbound();
  let id = 1000;
  for (let n = 0; n < cfg.samples; n++) {
    ws.send(JSON.stringify(cfg.off));
    const tOff = performance.now();
    let quietSince = null;
    while (performance.now() - tOff < 3000) {
      if (peak() < threshold * 0.2) { if (quietSince === null) quietSince = performance.now(); else if (performance.now() - quietSince > 120) break; }
      else quietSince = null;
      await sleep(5);
    }
    await sleep(100 + Math.random() * 200);  // off the frame grid
    const cmd = { ...cfg.on, id: ++id };
    const t0 = performance.now();
    ws.send(JSON.stringify(cmd));
    const t1 = await new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        const now = performance.now();
        if (peak() > threshold) resolve(now);
        else if (now - t0 > 3000) resolve(null);
        else ch.port2.postMessage(0);
      };
      ch.port2.postMessage(0);
    });
    if (t1 !== null) samples.push(t1 - t0);
    await sleep(50);
    const ack = acks.get(id);
    if (ack && typeof ack.latency_ms === 'number') ackLatency.push(ack.latency_ms);
  }
  const after = await inbound();
  ws.close();
  pc.close();
  const jbCount = after.jbCount - before.jbCount;
  return {
    samples_ms: samples, missed: cfg.samples - samples.length, join_to_first_packet_ms: firstPacket,
    jitter_buffer_ms: jbCount > 0 ? 1000 * (after.jbDelay - before.jbDelay) / jbCount : null,
    rtt_ms: after.rtt === null ? null : after.rtt * 1000, ack_latency_ms: ackLatency, threshold, on_level: onLevel,
    audio_base_latency_ms: ctx.baseLatency * 1000, errors,
  };
}

const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

const cfg = parseArgs(process.argv);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dju-bench-chromium-'));
const results = {};
try {
  const browser = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const pages = [];
    for (const t of cfg.targets) {
      const page = pages.length === 0 && browser.pages()[0] ? browser.pages()[0] : await browser.newPage();
      await page.goto(t.page);
      pages.push(page);
    }
    const prepared = await Promise.all(cfg.targets.map((t, i) =>
      pages[i].evaluate(prepare, { ...t, samples: cfg.samples, warmup: cfg.warmup }).catch((e) => ({ error: String(e) }))));
    for (let i = 0; i < cfg.targets.length; i++) {
      const t = cfg.targets[i];
      let r = prepared[i];
      if (!r.error) r = await pages[i].evaluate(measure, { ...t, samples: cfg.samples, warmup: cfg.warmup }).catch((e) => ({ error: String(e) }));
      if (r.samples_ms) {
        r.p50_ms = pct(r.samples_ms, 0.5);
        r.p90_ms = pct(r.samples_ms, 0.9);
        r.max_ms = pct(r.samples_ms, 1.0);
      }
      results[t.name] = r;
    }
  } finally {
    await browser.close();
  }
} catch (e) {
  results.error = String(e && e.message ? e.message : e);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(results) + '\n');
process.exit(results.error ? 1 : 0);
