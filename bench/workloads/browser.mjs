// Workloads `first-visit-browser`, `cold-start-browser` and `durable-write`, in headless Chromium (playwright-core,
// Debian's /usr/bin/chromium, fresh profile). One loopback server serves dist/demo (our
// browser client, worker and wasm), the peers' worker bundles (bench/workloads/browser/
// peer-worker.mjs built with esbuild, assets beside them) and a replay of a recorded
// 10,000-row `tasks` shape log at /v1/shape, so our client syncs real protocol bytes.
//
// first-visit-browser: each run a new browser profile (empty HTTP cache and OPFS): navigation
//   start → first screen (the same query as below, on the empty database it creates), for us and
//   each peer; for us, whether the split build's second part was requested before that.
// cold-start-browser: a database with 10,000 tasks rows is created and persisted by a first
//   page; then each run opens a new page (same origin, same profile) and measures from
//   navigation start to the first screen's query result (the 50 latest tasks).
//   electrolite: BrowserElectrolite.open({storage:'bench.db'}) — the status says which storage
//   it really got; while the OPFS VFS is not in the build it says 'memory', nothing persists,
//   and the figure is labelled (caveat) as such.  pglite: PGlite on opfs-ahp:// in a worker.
//   sqlite-wasm-raw: @sqlite.org/sqlite-wasm on opfs-sahpool in a worker.
// durable-write: single-row inserts, one at a time, each awaited from the main thread (round
//   trip through the worker included for every subject). electrolite: db.insert (row + overlay +
//   outbox in one transaction); pglite: INSERT on opfs-ahp; sqlite-wasm-raw: INSERT on
//   opfs-sahpool (autocommit). p50 as median; p99 given; in-worker time for peers in the note.
// hook-render: local write → React commit of the re-rendered list, ours (ElectricProvider +
//   useLiveQuery) vs PGlite (PGliteWorker + pglite-react); see browser/hook-render.mjs.
// BENCH_BROWSER_ONLY=hook-render (comma list of workload ids) runs some of them.
import http from 'node:http';
import { build } from 'esbuild';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { generateTasks, snapshotResponses } from '../lib/shape-log.mjs';
import { HOOK_PAGES, HOOK_SAMPLES, buildHookBundles, hookTargets, runHookRender } from './browser/hook-render.mjs';
import { QUICK, ROOT, RUNS, done, emit, nodeStubPlugin, emitMissing, log, percentile, requireBuilt } from './common.mjs';

requireBuilt('dist/demo/electrolite.js', 'dist/demo/worker.js', 'dist/demo/wasm/electrolite.wasm');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// BENCH_CHROMIUM_FLAGS: extra command-line flags (space-separated) for measuring floors, e.g.
// `--js-flags=--liftoff-only` (no TurboFan tier-up competing with the page for the cores).
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
  ...(process.env.BENCH_CHROMIUM_FLAGS ?? '').split(' ').filter(Boolean)];
const ROWS = 10000;
const WRITES = Number(process.env.BENCH_WRITES ?? (QUICK ? 100 : 500));
const COLD_RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 3 : 7));
// How long a first-visit page of ours stays after its first screen (the second wasm part's request is watched meanwhile).
const LINGER_MS = 1500;
const DEMO = join(ROOT, 'dist/demo');
const PEERS = [['pglite', 'pglite', 'opfs-ahp'], ['sqlite', 'sqlite-wasm-raw', 'opfs-sahpool']]
  .filter(([p]) => !process.env.BENCH_PEERS || process.env.BENCH_PEERS.split(',').includes(p));
const OURS = !process.env.BENCH_PEERS || process.env.BENCH_PEERS.split(',').includes('electrolite');
const RUN = (workload) => !process.env.BENCH_BROWSER_ONLY || process.env.BENCH_BROWSER_ONLY.split(',').includes(workload);

// ---- peer bundles ----
const peers = mkdtempSync(join(tmpdir(), 'el-bench-peers-'));
for (const peer of ['pglite', 'sqlite']) {
  await build({
    entryPoints: [join(ROOT, 'bench/workloads/browser/peer-worker.mjs')], outfile: join(peers, `${peer}-worker.js`),
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, logLevel: 'error',
    define: { PEER: JSON.stringify(peer), PGLITE_DIR: JSON.stringify(process.env.BENCH_PGLITE_DIR ?? 'opfs-ahp://bench') }, plugins: [nodeStubPlugin],
    absWorkingDir: ROOT,
  });
}
const pgDist = join(ROOT, 'node_modules/@electric-sql/pglite/dist');
for (const f of ['pglite.wasm', 'initdb.wasm', 'pglite.data']) copyFileSync(join(pgDist, f), join(peers, f));
copyFileSync(join(ROOT, 'node_modules/@sqlite.org/sqlite-wasm/dist/sqlite3.wasm'), join(peers, 'sqlite3.wasm'));
await buildHookBundles(peers);

// ---- data ----
const rows = generateTasks(ROWS, { seed: 21 });
const log10k = new Map(snapshotResponses(rows, { perResponse: 1000 }).map((r) => [r.offset, r]));
const rowsJson = JSON.stringify(rows);
const writeRows = generateTasks(WRITES * 2 + 50, { seed: 99 });
const hookTargetsJson = hookTargets(rows, HOOK_SAMPLES);

// ---- pages ----
const RPC = `const rpc = (w, msg) => new Promise((resolve, reject) => {
  const id = Math.random(); const on = (e) => { if (e.data.id !== id) return; w.removeEventListener('message', on);
  e.data.ok ? resolve(e.data) : reject(new Error(e.data.error)); }; w.addEventListener('message', on); w.postMessage({ ...msg, id }); });`;
// ?persistence=idb: the IndexedDB storage (what browsers without OPFS sync access handles get), in its own database.
const openOurs = (storage) => `const { BrowserElectrolite } = await import('/electrolite.js');
  const persistence = new URLSearchParams(location.search).get('persistence') ?? 'auto';
  const db = await BrowserElectrolite.open({ url: location.origin, storage: persistence === 'idb' ? 'idb-${storage}' : '${storage}', persistence, autoSubscribe: false, uploadIntervalMs: 3600000, liveTimeoutMs: 3600000 });`;
const OURS_OPEN = openOurs('bench.db');
const OURS_SYNC = `const id = await db.subscribe({ table: 'tasks' });
  await db.waitForStatus((s) => s.shapes.some((sh) => sh.id === id && sh.isUpToDate), 120000);
  const n = Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n);
  const storage = db.status.storage; await db.close(); window.__result = { n, storage };`;
const LIST = 'SELECT id, title, status, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50';
const page = (body) => `<!doctype html><meta charset="utf-8"><title>bench</title><script type="module">
${RPC}
try { ${body} } catch (err) { window.__result = { error: String(err && err.stack || err) }; }
</script>`;
const PAGES = {
  '/ours-setup.html': page(`${OURS_OPEN}
  ${OURS_SYNC}`),
  '/ours-hook-setup.html': page(`${openOurs('bench-hook.db')}
  ${OURS_SYNC}`),
  ...HOOK_PAGES,
  '/ours-cold.html': page(`const tScript = performance.now();
  ${OURS_OPEN.replace('const db = await', 'const tImported = performance.now(); const db = await')}
  const tOpened = performance.now();
  const first = await db.query(${JSON.stringify(LIST)});
  const ms = performance.now();
  const phases = { script: tScript, import: tImported - tScript, open: tOpened - tImported, query: ms - tOpened };
  // ?linger=MS (first visit): the page stays open that long after its first screen, so that
  // the split build's second part, asked for once the page has shown it, is seen being fetched.
  const linger = Number(new URLSearchParams(location.search).get('linger') ?? 0);
  if (linger > 0) await new Promise((resolve) => setTimeout(resolve, linger));
  const n = Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n);
  const worker = (await db.metrics()).open;
  const storage = db.status.storage; await db.close(); window.__result = { ms, n, storage, listed: first.rows.length, phases, worker, origin: performance.timeOrigin };`),
  '/ours-write.html': page(`${OURS_OPEN}
  const rows = await (await fetch('/write-rows.json')).json();
  const samples = [];
  for (let i = 0; i < rows.length; i++) { const t0 = performance.now(); await db.insert('tasks', rows[i]); samples.push(performance.now() - t0); }
  const storage = db.status.storage; const pending = (await db.pendingMutations()).length; await db.close();
  window.__result = { samples, storage, pending };`),
  '/peer-setup.html': page(`const w = new Worker('/peers/' + new URLSearchParams(location.search).get('peer') + '-worker.js', { type: 'module' });
  await rpc(w, { op: 'open' });
  const rows = await (await fetch('/rows.json')).json();
  const n = (await rpc(w, { op: 'setup', rows })).value; await rpc(w, { op: 'close' }); w.terminate(); window.__result = { n };`),
  '/peer-cold.html': page(`const w = new Worker('/peers/' + new URLSearchParams(location.search).get('peer') + '-worker.js', { type: 'module' });
  await rpc(w, { op: 'open' }); const listed = (await rpc(w, { op: 'list' })).value; const ms = performance.now();
  const n = (await rpc(w, { op: 'count' })).value; await rpc(w, { op: 'close' }); w.terminate(); window.__result = { ms, n, listed, origin: performance.timeOrigin };`),
  '/peer-write.html': page(`const w = new Worker('/peers/' + new URLSearchParams(location.search).get('peer') + '-worker.js', { type: 'module' });
  await rpc(w, { op: 'open' });
  const rows = await (await fetch('/write-rows.json')).json();
  const samples = []; const inner = [];
  for (const row of rows) { const t0 = performance.now(); const r = await rpc(w, { op: 'insert', row }); samples.push(performance.now() - t0); inner.push(r.ms); }
  await rpc(w, { op: 'close' }); w.terminate(); window.__result = { samples, inner };`),
};

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.sql': 'text/plain', '.data': 'application/octet-stream' };
let writeSlice = '[]';
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/v1/shape') {
    const r = url.searchParams.get('live') === 'true' ? undefined : log10k.get(url.searchParams.get('offset') ?? '-1');
    if (!r) { req.on('close', () => res.destroy()); return; } // a long-poll with nothing new: held
    res.writeHead(200, { ...r.headers, 'access-control-expose-headers': '*' });
    res.end(r.body);
    return;
  }
  if (url.pathname === '/v1/changes') { req.on('close', () => res.destroy()); return; }
  if (PAGES[url.pathname]) { res.writeHead(200, { 'content-type': TYPES['.html'] }); res.end(PAGES[url.pathname]); return; }
  if (url.pathname === '/rows.json') { res.writeHead(200, { 'content-type': TYPES['.json'] }); res.end(rowsJson); return; }
  if (url.pathname === '/hook-targets.json') { res.writeHead(200, { 'content-type': TYPES['.json'] }); res.end(hookTargetsJson); return; }
  if (url.pathname === '/write-rows.json') { res.writeHead(200, { 'content-type': TYPES['.json'] }); res.end(writeSlice); return; }
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = rel.startsWith('/peers/') ? join(peers, rel.slice(7)) : join(DEMO, rel);
  if (!existsSync(file) || statSync(file).isDirectory()) { log(`bench server: 404 ${url.pathname}`); res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const { chromium } = await import('playwright-core');
const profile = mkdtempSync(join(tmpdir(), 'el-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });

async function visit(path, timeoutMs = Number(process.env.BENCH_PAGE_TIMEOUT ?? 240000), ctx = context) {
  const p = await ctx.newPage();
  const consoleLines = [];
  p.on('console', (m) => { if (m.type() === 'error' || process.env.BENCH_DEBUG) consoleLines.push(`${m.type()}: ${m.text()}`); });
  p.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  ctx.on('weberror', (e) => consoleLines.push(`weberror: ${e.error().message}`));
  try {
    await p.goto(`${origin}${path}`);
    await p.waitForFunction(() => window.__result !== undefined, null, { timeout: timeoutMs, polling: 50 });
    const r = await p.evaluate(() => window.__result);
    if (r.error) throw new Error(`${path}: ${r.error}`);
    return r;
  } catch (err) {
    if (consoleLines.length) err.message += ` (page console: ${consoleLines.slice(-5).join(' | ').slice(0, 600)})`;
    throw err;
  } finally {
    await p.close();
  }
}

async function measure(name, fn) {
  try {
    await fn();
  } catch (err) {
    log(`browser ${name}: ${err.stack ?? err.message}`);
    emitMissing({ workload: name.split(':')[0], subject: name.split(':')[1], reason: err.message.split('\n')[0].slice(0, 300) });
  }
}

const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
/** Our subjects: OPFS (the default where it works) and IndexedDB (persistence: 'idb'). */
const OUR_VARIANTS = [['electrolite', '', 'opfs'], ['electrolite-idb', '?persistence=idb', 'idb']];
const storageCaveat = (storage) => (storage === 'opfs' || storage === 'idb' ? undefined
  : `storage '${storage}': the OPFS VFS is not in this build, so nothing persisted and the page opened an empty in-memory database`);

/**
 * first-visit-browser: each run is a new browser profile (empty HTTP cache, empty OPFS), so the
 * page downloads and compiles everything and creates its database. Requests for a split build's
 * second part are timed against the first screen: it must not be fetched before.
 */
async function firstVisit(path, deferredFile) {
  const dir = mkdtempSync(join(tmpdir(), 'el-bench-first-'));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const fetched = [];
  ctx.on('request', (req) => { if (deferredFile && req.url().endsWith(deferredFile)) fetched.push(Date.now()); });
  try {
    const r = await visit(path, undefined, ctx);
    // ms after navigation start at which the second part was asked for (negative: before the first screen)
    return { ...r, deferredAfterScreen: fetched.map((t) => t - r.origin - r.ms) };
  } finally {
    await ctx.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  // ---- first-visit-browser ----
  if (RUN('first-visit-browser')) {
    const subjects = [...(OURS ? [['electrolite', `/ours-cold.html?linger=${LINGER_MS}`, 'opfs']] : []),
      ...PEERS.map(([peer, subject, vfs]) => [subject, `/peer-cold.html?peer=${peer}`, vfs])];
    // Rounds interleave the subjects, so the machine's drift falls on all of them alike.
    const visits = new Map(subjects.map(([subject]) => [subject, []]));
    const failed = new Map();
    for (let i = 0; i < COLD_RUNS; i++) {
      for (const [subject, path] of subjects.filter(([subject]) => !failed.has(subject))) {
        try {
          visits.get(subject).push(await firstVisit(path, subject === 'electrolite' ? 'electrolite.deferred.wasm' : undefined));
        } catch (err) {
          failed.set(subject, err);
        }
      }
    }
    for (const [subject, , want] of subjects) await measure(`first-visit-browser:${subject}`, async () => {
      if (failed.has(subject)) throw failed.get(subject);
      const runs = visits.get(subject);
      if (runs.some((r) => r.n !== 0)) throw new Error(`a first visit found ${runs.map((r) => r.n)} rows`);
      // Every run must ask for the second part, and only after its first screen.
      const early = runs.flatMap((r) => r.deferredAfterScreen).filter((d) => d < 0);
      const unasked = runs.filter((r) => r.deferredAfterScreen.length === 0).length;
      const after = runs.flatMap((r) => r.deferredAfterScreen).filter((d) => d >= 0);
      const deferredHeld = early.length === 0 && unasked === 0;
      const deferredNote = subject !== 'electrolite' ? ''
        : (early.length ? `; the second wasm part was fetched before the first screen in ${early.length} of ${runs.length} runs (${early.map((d) => d.toFixed(0)).join(', ')} ms)`
          : '; the second wasm part was never fetched before the first screen') +
          (unasked ? `; in ${unasked} of ${runs.length} runs it was not asked for within ${LINGER_MS} ms after it`
            : after.length ? ` (asked for ${Math.min(...after).toFixed(0)}–${Math.max(...after).toFixed(0)} ms after it in every run)` : '');
      const phases = subject === 'electrolite' ? `; median phases: page script starts ${medianOf(runs.map((r) => r.phases.script))} ms, import ${medianOf(runs.map((r) => r.phases.import))} ms, open ${medianOf(runs.map((r) => r.phases.open))} ms, first query ${medianOf(runs.map((r) => r.phases.query))} ms` : '';
      emit({
        workload: 'first-visit-browser', subject, values: runs.map((r) => r.ms), unit: 'ms',
        note: `new browser profile per run (nothing cached, empty ${want}): navigation start → first screen (50 latest tasks of an empty database)${phases}${deferredNote}`,
        extra: { storage: runs[0].storage ?? want, ...(subject === 'electrolite' ? { deferredBeforeScreen: early.length, deferredNotAsked: unasked, deferredAfterScreen: deferredHeld } : {}),
          ...(subject === 'electrolite' && runs[0].storage !== want ? { caveat: `storage '${runs[0].storage}', not ${want}` } : {}) },
      });
    });
  }

  // ---- cold-start-browser ----
  // Each subject stores its 10,000 rows first; then rounds interleave the subjects' cold pages,
  // so the machine's drift falls on all of them alike.
  const coldSubjects = [
    ...OUR_VARIANTS.filter(() => OURS).map(([subject, query, want]) => ({
      subject,
      async setup() {
        const setup = await visit(`/ours-setup.html${query}`);
        log(`cold-start-browser ${subject} setup: ${setup.n} rows synced, storage ${setup.storage}`);
      },
      cold: () => visit(`/ours-cold.html${query}`),
      report(runs) {
        const storage = runs[0].storage;
        const persisted = runs.every((r) => r.n === ROWS);
        emit({
          workload: 'cold-start-browser', subject, values: runs.map((r) => r.ms), unit: 'ms',
          note: `navigation start → first screen (50 latest of ${runs[0].n} rows) on a new page; storage '${storage}'; ` +
            `median phases: page script starts ${medianOf(runs.map((r) => r.phases.script))} ms, import ${medianOf(runs.map((r) => r.phases.import))} ms, ` +
            `open (worker, wasm, ${want === 'idb' ? 'IndexedDB load' : 'OPFS'}, engine) ${medianOf(runs.map((r) => r.phases.open))} ms, first query ${medianOf(runs.map((r) => r.phases.query))} ms; ` +
            `in the worker (metrics().open): started ${medianOf(runs.map((r) => r.worker?.workerStartMs ?? NaN))} ms after its creation, then module ready at ${medianOf(runs.map((r) => r.worker?.moduleReadyMs ?? NaN))} ms, ` +
            `storage at ${medianOf(runs.map((r) => r.worker?.storageReadyMs ?? NaN))} ms, engine open from ${medianOf(runs.map((r) => r.worker?.engineStartedMs ?? NaN))} ms for ${medianOf(runs.map((r) => r.worker?.engineMs ?? NaN))} ms`,
          extra: { storage, rowsFound: runs[0].n, ...(persisted && storage === want ? {} : { caveat: storageCaveat(storage) ?? `found ${runs[0].n} of ${ROWS} rows` }) },
        });
      },
    })),
    ...PEERS.map(([peer, subject, vfs]) => ({
      subject,
      async setup() {
        const setup = await visit(`/peer-setup.html?peer=${peer}`);
        if (setup.n !== ROWS) throw new Error(`setup stored ${setup.n} rows`);
      },
      cold: () => visit(`/peer-cold.html?peer=${peer}`),
      report(runs) {
        if (runs.some((r) => r.n !== ROWS)) throw new Error(`reopened with ${runs.map((r) => r.n)} rows`);
        emit({
          workload: 'cold-start-browser', subject, values: runs.map((r) => r.ms), unit: 'ms',
          note: `navigation start → first screen (50 latest of ${ROWS} persisted rows) on a new page; ${vfs} in a worker`,
          extra: { storage: vfs },
        });
      },
    })),
  ].filter(() => RUN('cold-start-browser'));
  const coldFailed = new Map();
  const coldRuns = new Map(coldSubjects.map((c) => [c.subject, []]));
  for (const c of coldSubjects) await c.setup().catch((err) => coldFailed.set(c.subject, err));
  for (let i = 0; i < COLD_RUNS; i++) {
    for (const c of coldSubjects.filter((x) => !coldFailed.has(x.subject))) {
      try {
        coldRuns.get(c.subject).push(await c.cold());
      } catch (err) {
        coldFailed.set(c.subject, err);
      }
    }
  }
  for (const c of coldSubjects) {
    await measure(`cold-start-browser:${c.subject}`, async () => {
      if (coldFailed.has(c.subject)) throw coldFailed.get(c.subject);
      c.report(coldRuns.get(c.subject));
    });
  }

  // ---- durable-write ----
  writeSlice = JSON.stringify(writeRows.slice(0, WRITES).map((r) => ({ ...r, priority: Number(r.priority) })));
  for (const [subject, query, want] of OUR_VARIANTS.filter(() => OURS && RUN('durable-write'))) await measure(`durable-write:${subject}`, async () => {
    const r = await visit(`/ours-write.html${query}`);
    const samples = r.samples.slice(Math.min(20, r.samples.length / 10)); // first inserts warm the JIT
    emit({
      workload: 'durable-write', subject, values: samples, unit: 'ms',
      note: `${samples.length} single-row db.insert (row + overlay + outbox), main-thread round trip through the worker; storage '${r.storage}'`,
      extra: { median: percentile(samples, 50), p99: percentile(samples, 99), storage: r.storage,
        ...(r.storage === want ? {} : { caveat: `storage '${r.storage}', not the ${want} asked for: not durable` }) },
    });
  });
  for (const [peer, subject, vfs] of PEERS.filter(() => RUN('durable-write'))) {
    await measure(`durable-write:${subject}`, async () => {
      const r = await visit(`/peer-write.html?peer=${peer}`);
      const skip = Math.min(20, r.samples.length / 10);
      const samples = r.samples.slice(skip);
      const inner = r.inner.slice(skip);
      emit({
        workload: 'durable-write', subject, values: samples, unit: 'ms',
        note: `${samples.length} single-row INSERTs on ${vfs}, main-thread round trip through the worker; in the worker p50 ${percentile(inner, 50).toFixed(3)} ms`,
        extra: { median: percentile(samples, 50), p99: percentile(samples, 99), storage: vfs, workerP50: percentile(inner, 50) },
      });
    });
  }

  // ---- hook-render ----
  if (RUN('hook-render')) await runHookRender({ visit, measure, ours: OURS, pglite: PEERS.some(([p]) => p === 'pglite'), rows: ROWS });
} finally {
  await context.close().catch(() => undefined);
  server.closeAllConnections();
  server.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(peers, { recursive: true, force: true });
}
done();
