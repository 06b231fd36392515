// The fan-out bench's Chromium spectator: one real browser peer that joins a battle and stays,
// while scripts/bench adds webrtcbin spectators around it, and reports what its audio went through
// (getStats of the master's receiver). Driven by line commands on stdin; every reply is one JSON line.
//
//   node bench/chromium_watch.mjs --page URL --ws URL --join JSON
//     (first line, once joined and receiving:)  {"ready":true,"join_to_first_packet_ms":…} or {"error":…}
//   stats   {"packets","lost","concealed","concealment_events","received","jitter_ms","jb_delay_s",
//            "jb_count","jb_target_s","t_ms"} — cumulative counters (the caller takes differences)
//   settle SECONDS   waits until its jitter buffer has settled (as browser_latency.mjs judges it) or
//                    SECONDS passed: {"settled","seconds","trace":[ms per second]}
//   quit
import readline from 'node:readline';
import { launchChromium, prepare, pageStats } from './chromium_page.mjs';

function parseArgs(argv) {
  const o = {};
  for (let i = 2; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!o.page || !o.ws || !o.join) throw new Error('--page, --ws and --join are required');
  return { page: o.page, ws: o.ws, join: JSON.parse(o.join) };
}

const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

let chromium = null;
try {
  const cfg = parseArgs(process.argv);
  chromium = await launchChromium();
  const page = chromium.context.pages()[0] || await chromium.context.newPage();
  await page.goto(cfg.page);
  const r = await page.evaluate(prepare, { ws: cfg.ws, join: cfg.join, setup: [], on: null });
  if (r.error) throw new Error(r.error);
  say({ ready: true, join_to_first_packet_ms: r.firstPacket });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = line.trim();
    if (cmd === 'quit') break;
    if (cmd.startsWith('settle ')) {
      // Waits until the jitter buffer delay of each second has settled (the last 3 within 5 ms of
      // each other, within 25 ms of NetEq's target, at most 80 ms) or SECONDS have passed.
      const maxS = Number(cmd.split(/\s+/)[1]) || 30;
      const t0 = Date.now();
      const trace = [];
      let settled = false;
      let prev = await page.evaluate(pageStats);
      while ((Date.now() - t0) / 1000 < maxS && !settled) {
        await new Promise((r) => setTimeout(r, 1000));
        const cur = await page.evaluate(pageStats);
        const n = cur.jbCount - prev.jbCount;
        trace.push(n > 0 ? [1000 * (cur.jbDelay - prev.jbDelay) / n, 1000 * (cur.jbTarget - prev.jbTarget) / n] : null);
        prev = cur;
        const last = trace.slice(-3);
        settled = last.length === 3 && last.every((x) => x !== null)
          && Math.max(...last.map((x) => x[0])) - Math.min(...last.map((x) => x[0])) <= 5
          && last.every((x) => x[0] - x[1] <= 25 && x[0] <= 80);
      }
      say({ settled, seconds: (Date.now() - t0) / 1000, trace: trace.map((x) => (x === null ? null : Math.round(x[0]))) });
    } else if (cmd === 'stats') {
      try {
        const s = await page.evaluate(pageStats);
        say({ packets: s.packets, lost: s.lost, concealed: s.concealed, concealment_events: s.concealmentEvents,
          received: s.received, jitter_ms: s.jitter * 1000, jb_delay_s: s.jbDelay, jb_count: s.jbCount,
          jb_target_s: s.jbTarget, t_ms: s.t });
      } catch (e) {
        say({ error: String(e && e.message ? e.message : e) });
      }
    } else if (cmd) say({ error: `unknown command ${cmd}` });
  }
} catch (e) {
  say({ error: String(e && e.message ? e.message : e) });
} finally {
  if (chromium) await chromium.close().catch(() => {});
}
process.exit(0);
