// The floor of a durable write and the engine's part of it: `node bench/profile/durable-write.mjs [writes]`.
//  1. Chromium, a page served cross-origin isolated (COOP/COEP, so performance.now() has 5 µs
//     resolution instead of the bench pages' 100 µs): in a dedicated worker, an OPFS sync access
//     handle's write of a WAL-commit-sized block at the end of a file, then flush() — for 0, one
//     WAL frame (4,120 bytes), two, and eight (33,000: what one db.insert commits today) — and a
//     bare page → worker → page echo (the round trip every subject pays).
//     Then our client as the bench uses it (dist/demo's electrolite.js and its worker), same
//     isolated page: a call that does nothing in the engine (`query('SELECT 1')`: page → worker →
//     engine → reply, the fixed cost of any call), and db.insert on ':memory:', on OPFS with
//     synchronous NORMAL and with FULL (each its own database).
//  2. Node, fresh processes: db.insert (row + overlay + outbox) on ':memory:' (the engine's own
//     work, Embind and JSON included), and on a file (fs) with synchronous FULL and NORMAL.
// Prints medians and means (of the fastest 90 %; the first 10 % of the writes are skipped).
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITES = Number(process.argv[2] ?? 300);
const stats = (xs) => {
  const s = xs.slice(Math.floor(xs.length / 10)).sort((a, b) => a - b);
  const fast = s.slice(0, Math.ceil(s.length * 0.9));
  return [s[Math.floor(s.length / 2)], fast.reduce((a, b) => a + b, 0) / fast.length];
};
const fmt = ([m, a]) => `median ${m.toFixed(3)} ms, mean ${a.toFixed(3)} ms`;

// ---- child: one Node variant ----
if (process.argv[3]) {
  const [storage, synchronous] = process.argv[3].split(':');
  const { Electrolite } = await import(pathToFileURL(join(ROOT, 'dist/js/index.js')).href);
  const { generateTasks } = await import(pathToFileURL(join(ROOT, 'bench/lib/shape-log.mjs')).href);
  const dir = mkdtempSync(join(tmpdir(), 'el-prof-'));
  const db = await Electrolite.open({ url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3600000,
    storage: storage === 'fs' ? { path: join(dir, 'p.db') } : ':memory:', synchronous });
  const times = [];
  for (const row of generateTasks(WRITES, { seed: 3 })) {
    const t0 = performance.now();
    await db.insert('tasks', { ...row, priority: Number(row.priority) });
    times.push(performance.now() - t0);
  }
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(stats(times)));
  process.exit(0);
}

// ---- Chromium: the OPFS floor and the worker round trip ----
const FLOOR_WORKER = `
const ready = navigator.storage.getDirectory().then((root) => root.getFileHandle('floor', { create: true }))
  .then((f) => f.createSyncAccessHandle());
self.onmessage = async (e) => {
  if (e.data.op === 'echo') { self.postMessage({}); return; }
  const h = await ready; const { size, n } = e.data; const buf = new Uint8Array(size).fill(7); let at = h.getSize();
  const w = [], s = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now(); if (size) { h.write(buf, { at }); at += size; } const t1 = performance.now();
    h.flush(); const t2 = performance.now(); w.push(t1 - t0); s.push(t2 - t1);
  }
  self.postMessage({ w, s });
};`;
const SIZES = [0, 4120, 8240, 33000];
const PAGE = `<script type="module">
  const w = new Worker('/floor-worker.js', { type: 'module' });
  const ask = (m) => new Promise((r) => { w.onmessage = (e) => r(e.data); w.postMessage(m); });
  const echo = []; for (let i = 0; i < ${WRITES}; i++) { const t0 = performance.now(); await ask({ op: 'echo' }); echo.push(performance.now() - t0); }
  const out = { echo, isolated: crossOriginIsolated };
  // Twice round the sizes, in turn, so a slow start of the disk falls on none in particular.
  for (const round of [0, 1]) for (const size of ${JSON.stringify(SIZES)}) {
    const r = await ask({ size, n: ${Math.ceil(WRITES / 2)} });
    (out['write ' + size] ??= []).push(...r.w); (out['flush ' + size] ??= []).push(...r.s);
  }
  window.__result = out;</script>`;
const OURS = `<script type="module">
  const { BrowserElectrolite } = await import('/electrolite.js');
  const rows = await (await fetch('/rows.json')).json();
  const out = {};
  for (const [name, storage, synchronous] of [['memory', ':memory:', 'full'], ['opfs normal', 'prof-n.db', 'normal'], ['opfs full', 'prof-f.db', 'full']]) {
    const db = await BrowserElectrolite.open({ url: location.origin, storage, synchronous, autoSubscribe: false,
      uploadIntervalMs: 3600000, liveTimeoutMs: 3600000 });
    if (name === 'memory') {
      const q = []; for (let i = 0; i < rows.length; i++) { const t0 = performance.now(); await db.query('SELECT 1'); q.push(performance.now() - t0); }
      out['query SELECT 1'] = q;
    }
    const t = []; for (const row of rows) { const t0 = performance.now(); await db.insert('tasks', row); t.push(performance.now() - t0); }
    out['insert ' + name + ' (' + db.status.storage + ')'] = t;
    await db.close();
  }
  window.__result = out;</script>`;
const rowsJson = JSON.stringify((await import(pathToFileURL(join(ROOT, 'bench/lib/shape-log.mjs')).href))
  .generateTasks(WRITES, { seed: 5 }).map((r) => ({ ...r, priority: Number(r.priority) })));
const DEMO = join(ROOT, 'dist/demo');
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.sql': 'text/plain' };
const HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (status, type, body) => { res.writeHead(status, { ...HEADERS, 'content-type': type }); res.end(body); };
  if (url.pathname.startsWith('/v1/')) { req.on('close', () => res.destroy()); return; } // held: nothing syncs
  if (url.pathname === '/') return send(200, 'text/html', PAGE);
  if (url.pathname === '/ours') return send(200, 'text/html', OURS);
  if (url.pathname === '/floor-worker.js') return send(200, 'text/javascript', FLOOR_WORKER);
  if (url.pathname === '/rows.json') return send(200, 'application/json', rowsJson);
  const file = join(DEMO, normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
  if (!existsSync(file) || statSync(file).isDirectory()) return send(404, 'text/plain', '');
  send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { chromium } = await import('playwright-core');
const profile = mkdtempSync(join(tmpdir(), 'el-prof-chromium-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'] });
try {
  const p = await context.newPage();
  await p.goto(`http://127.0.0.1:${server.address().port}/`);
  await p.waitForFunction(() => window.__result !== undefined, null, { timeout: 120000, polling: 100 });
  const r = await p.evaluate(() => window.__result);
  console.log(`Chromium, OPFS in a dedicated worker (crossOriginIsolated: ${r.isolated}), ${WRITES} each:`);
  console.log(`  page → worker → page echo                ${fmt(stats(r.echo))}`);
  for (const size of SIZES) {
    console.log(`  write ${String(size).padStart(6)} B at the end          ${fmt(stats(r[`write ${size}`]))}`);
    console.log(`  flush() after it                         ${fmt(stats(r[`flush ${size}`]))}`);
  }
  await p.goto(`http://127.0.0.1:${server.address().port}/ours`);
  await p.waitForFunction(() => window.__result !== undefined, null, { timeout: 240000, polling: 100 });
  const o = await p.evaluate(() => window.__result);
  console.log('Chromium, our client (dist/demo/electrolite.js + worker.js), from the page:');
  for (const [k, v] of Object.entries(o)) console.log(`  ${k.padEnd(40)} ${fmt(stats(v))}`);
} finally {
  await context.close().catch(() => undefined);
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

// ---- Node: the engine's own work, and the same write on a file ----
console.log(`Node, db.insert (row + overlay + outbox), ${WRITES} in a fresh process each:`);
for (const variant of ['memory:full', 'fs:full', 'fs:normal']) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(WRITES), variant], { encoding: 'utf8' });
  console.log(`  ${variant.padEnd(40)} ${fmt(JSON.parse(out.trim().split('\n').pop()))}`);
}
