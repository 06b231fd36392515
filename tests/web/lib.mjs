// Helpers of the browser tests: Debian's Chromium through playwright-core, a static server for
// the pages alone, the artifacts folder.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceRoot = process.env.DJU_SOURCE_ROOT || path.resolve(here, '..', '..');
export const buildRoot = process.env.DJU_BUILD_ROOT || path.join(sourceRoot, 'build');
export const webRoot = path.join(sourceRoot, 'web');
export const artifactsDir = path.join(buildRoot, 'artifacts');

export const CHROMIUM = process.env.DJU_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
];

const dirs = [];
/** A browser context of its own (fresh profile), like a separate person on a separate machine. */
export async function newContext({ viewport = { width: 1600, height: 1000 } } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dju-chromium-'));
  dirs.push(dir);
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
  return ctx;
}
export function cleanupDirs() { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); }

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

/** Serves web/ as the real server does (pages at /, /dj/<id>, /watch/<id>); /api answers 503 so
 * the pages run with no server behind them. Resolves to {url, close}. */
export function staticServer() {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    let p = u.pathname;
    if (p.startsWith('/api/')) { res.writeHead(503, { 'Content-Type': 'application/json' }); res.end('{"error":"unavailable","message":"no server in this test"}'); return; }
    if (p === '/blank.html') { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<!doctype html><title>blank</title>'); return; }
    if (p === '/') p = '/index.html';
    else if (p.startsWith('/dj/')) p = '/dj.html';
    else if (p.startsWith('/watch/')) p = '/watch.html';
    const file = path.join(webRoot, path.normalize(p).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(webRoot) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) });
  }));
}

/** Collects page errors (uncaught exceptions) so a test can assert there were none. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

export function ensureArtifacts() { fs.mkdirSync(artifactsDir, { recursive: true }); return artifactsDir; }
