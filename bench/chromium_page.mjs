// What the bench's Chromium probes share: launching Debian's Chromium (playwright-core) and the page
// side of joining a DJ Universe WebRTC sender (the battle server or dju-bench-floor) over its
// WebSocket protocol. Used by browser_latency.mjs (glass-to-glass) and chromium_watch.mjs (the
// fan-out's Chromium spectator).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.DJU_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Pages not in front must not have their timers throttled: every page is measured in turn.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

// A fresh profile in a temporary folder; close() also removes it.
export async function launchChromium() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dju-bench-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    return {
      context,
      async close() {
        try { await context.close(); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
      },
    };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

// Runs inside the page (page.evaluate(prepare, cfg)): join cfg.join over cfg.ws, answer the offer,
// feed the master (first m-line) into a WebAudio analyser, wait for the first RTP packet, send
// cfg.setup then cfg.on (if any). cfg.jbTarget (ms) sets the receiver's jitterBufferTarget. Leaves
// its state in window.__dju; returns {ok, firstPacket} or {error}.
export async function prepare(cfg) {
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
  // The onset detector: an AudioWorklet on the same input checks each 128-frame block (the mono
  // downmix, as the analyser sees it) while armed and posts once it crosses the threshold. Nothing
  // polls on the page's main thread, which shares the machine's cores with Chromium's WebRTC threads.
  let detector = null;
  try {
    const code = `class DjuDetect extends AudioWorkletProcessor {
      constructor() { super(); this.armed = false; this.threshold = 1;
        this.port.onmessage = (e) => { this.armed = e.data.armed; this.threshold = e.data.threshold; }; }
      process(inputs) {
        const ch = inputs[0];
        if (this.armed && ch && ch.length) {
          const a = ch[0], b = ch.length > 1 ? ch[1] : ch[0];
          for (let i = 0; i < a.length; i++) {
            if (Math.abs(0.5 * (a[i] + b[i])) > this.threshold) { this.armed = false; this.port.postMessage(currentTime); break; }
          }
        }
        return true;
      }
    }
    registerProcessor('dju-detect', DjuDetect);`;
    await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([code], { type: 'application/javascript' })));
    detector = new AudioWorkletNode(ctx, 'dju-detect', { numberOfOutputs: 1, outputChannelCount: [1] });
    detector.connect(sink);
  } catch (e) {
    detector = null;  // falls back to polling the analyser
  }
  const keep = [];
  pc.ontrack = (ev) => {
    // The first m-line is the master (a DJ's second one is the headphone cue).
    if (pc.getTransceivers().indexOf(ev.transceiver) !== 0) return;
    if (typeof cfg.jbTarget === 'number') {
      try { ev.receiver.jitterBufferTarget = cfg.jbTarget; } catch (e) { /* not supported */ }
    }
    const ms = new MediaStream([ev.track]);
    const el = new Audio();  // Chromium only feeds WebAudio from a remote track that a media element plays
    el.muted = true;
    el.srcObject = ms;
    el.play().catch(() => {});
    keep.push(el);
    const src = ctx.createMediaStreamSource(ms);
    src.connect(analyser);
    if (detector) src.connect(detector);
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
  // Cumulative counters of the master's receiver (getStats).
  const stats = async () => {
    const out = { packets: 0, lost: 0, jbDelay: 0, jbCount: 0, jbTarget: 0, playoutDelay: 0, playoutCount: 0, rtt: null,
      concealed: 0, concealmentEvents: 0, received: 0, jitter: 0, jbTargetSetting: null, t: performance.now() };
    let playoutId = null;
    const all = await pc.getStats();
    all.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && out.packets === 0) {
        out.packets = s.packetsReceived || 0; out.lost = s.packetsLost || 0; out.jbDelay = s.jitterBufferDelay || 0;
        out.jbCount = s.jitterBufferEmittedCount || 0; out.jbTarget = s.jitterBufferTargetDelay || 0;
        out.concealed = s.concealedSamples || 0; out.concealmentEvents = s.concealmentEvents || 0;
        out.received = s.totalSamplesReceived || 0; out.jitter = s.jitter || 0;
        playoutId = s.playoutId || null;
      }
      if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) out.rtt = s.currentRoundTripTime;
    });
    all.forEach((s) => {
      if (s.type === 'media-playout' && (playoutId === null || s.id === playoutId)) {
        out.playoutDelay = s.totalPlayoutDelay || 0; out.playoutCount = s.totalSamplesCount || 0;
      }
    });
    const r = pc.getReceivers()[0];
    if (r && 'jitterBufferTarget' in r) out.jbTargetSetting = r.jitterBufferTarget;
    return out;
  };

  const tJoin = performance.now();
  ws.send(JSON.stringify(cfg.join));
  let firstPacket = null;
  while (performance.now() - tJoin < 30000) {
    if ((await stats()).packets > 0) { firstPacket = performance.now() - tJoin; break; }
    await sleep(5);
  }
  if (firstPacket === null) return { error: `no audio packet within 30 s (joined: ${joined}, errors: ${JSON.stringify(errors)})` };
  for (const m of cfg.setup || []) { ws.send(JSON.stringify(m)); await sleep(50); }
  if (cfg.on) ws.send(JSON.stringify(cfg.on));
  window.__dju = { ws, pc, ctx, peak, acks, errors, stats, firstPacket, keep, detector, id: 1000 };
  return { ok: true, firstPacket };
}

// Runs inside the page after prepare(): the receiver's cumulative counters.
export async function pageStats() { return window.__dju.stats(); }
