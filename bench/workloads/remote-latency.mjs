// Workloads `remote-latency-<proto>-<tables>` and `remote-reconnect-<proto>`: a commit in
// PostgreSQL → the row in a live query of a page in headless Chromium, through the real dev
// server (dist/server `createServer`, which also serves the page, /electrolite.js, /worker.js
// and the wasm from a folder mirroring dist/demo), over HTTP/1.1 (`h1`) and over HTTPS with
// HTTP/2 (`h2`, a self-signed certificate made with openssl; Chromium runs with
// --ignore-certificate-errors).
//
// Table sets: `7` = the demo tables (schema/schema.sql, schema/policies.json); `20` = those
// plus extra_01..13 (id uuid pk, user_id, title, updated_at), declared to the server with its
// `tables` option and to the clients with `schemaSql`/`policies` (ours subscribes every declared
// table: autoSubscribe).
//
// Each configuration runs once per subject, one after the other (never two clients at once: on
// HTTP/1.1 they would share Chromium's six connections per host), each with its own user so it
// starts from empty shapes:
//   electrolite  BrowserElectrolite.open({storage: ':memory:' (BENCH_RL_STORAGE), schemaSql,
//                policies}); one db.live('SELECT id FROM <t>') per table on the main thread.
//   pglite-sync  PGlite (memory://) + pglite-sync in a dedicated worker, one syncShapeToTable and
//                one pg.live.query per table; the worker posts new ids to the page
//                (remote-latency/pglite-sync-worker.mjs).
// Once the page holds every live query, Node commits single-row INSERTs through `pg` into a
// random table every 300–700 ms (BENCH_RL_COMMITS, default 40 quick / 150 full), each INSERT
// returning PostgreSQL's clock_timestamp(); the page notes Date.now() when the row's id first
// shows in its table's live result (the same machine clock). A sample = arrival − commit. Rows
// that had not arrived BENCH_RL_DRAIN_MS (default 25 s, longer than the server's 20 s long-poll)
// after the last commit are counted at that limit (a lower bound) and the figure carries a caveat.
// Reported: p50 (median), p95, p99, max and the worst per-table p95 (the goal is per table).
//
// remote-reconnect: with the page live on the 7 tables, the dev server is closed, 2 s pass, a new
// one listens on the same port; its first successful answer (a /v1/health probe right after
// listen) is the restart time; one row is committed at once into a random table; a sample = its
// arrival − restart (BENCH_RL_RESTARTS, default 3 quick / 8 full).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import { QUICK, ROOT, done, emit, emitMissing, log, nodeStubPlugin, percentile, requireBuilt, sleep } from './common.mjs';

requireBuilt('dist/server/index.js', 'dist/demo/electrolite.js', 'dist/demo/worker.js', 'dist/demo/wasm/electrolite.wasm');
const { createServer, createAuth } = await import(pathToFileURL(join(ROOT, 'dist/server/index.js')).href);
const { startPostgres } = await import(pathToFileURL(join(ROOT, 'tests/support/postgres.mjs')).href);

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--ignore-certificate-errors'];
const COMMITS = Number(process.env.BENCH_RL_COMMITS ?? (QUICK ? 40 : 150));
const RESTARTS = Number(process.env.BENCH_RL_RESTARTS ?? (QUICK ? 3 : 8));
const DRAIN_MS = Number(process.env.BENCH_RL_DRAIN_MS ?? 25000);
const STORAGE = process.env.BENCH_RL_STORAGE ?? ':memory:';
const list = (name, all) => (process.env[name] ? process.env[name].split(',') : all).filter((x) => x !== 'none');
const PROTOS = list('BENCH_RL_PROTOS', ['h1', 'h2']);
const SETS = list('BENCH_RL_TABLES', ['7', '20']).map(Number);
const SUBJECTS = list('BENCH_RL_SUBJECTS', ['electrolite', 'pglite-sync']);
const COMMIT_TABLES = process.env.BENCH_RL_COMMIT_TABLES?.split(','); // debugging: commit into these only
const RECONNECT = list('BENCH_RL_RECONNECT', QUICK ? ['h1'] : ['h1', 'h2']);
const SECRET = 'remote-latency-secret';
const SERVER_DEBUG = Boolean(process.env.BENCH_RL_SERVER_DEBUG);
const PROTOCOL_NAME = { h1: 'HTTP/1.1', h2: 'HTTP/2 over TLS' };

// ---- tables ----
const SCHEMA_SQL = readFileSync(join(ROOT, 'schema/schema.sql'), 'utf8');
const POLICIES = JSON.parse(readFileSync(join(ROOT, 'schema/policies.json'), 'utf8'));
delete POLICIES.$comment;
const DEMO_TABLES = Object.keys(POLICIES);
const EXTRA = Array.from({ length: 13 }, (_, i) => `extra_${String(i + 1).padStart(2, '0')}`);
const EXTRA_SQL = EXTRA.map((t) => `create table ${t} (id uuid primary key, user_id text not null, title text, ` +
  `updated_at timestamptz not null default now());\ncreate index on ${t} (user_id);\n`).join('');
const EXTRA_POLICIES = Object.fromEntries(EXTRA.map((t) => [t, { policy: 'last-write-wins', timestamp: 'updated_at', writable: true }]));
// Each table's required columns, for a single-row insert (id and user_id come first).
const REQUIRED = {
  tasks: { title: 'rl' }, environments: { name: 'rl' }, agent_executions: { agent_type: 'rl' },
  observability_events: { event_type: 'rl' }, agent_memory: { agent_type: 'rl', context_key: 'rl', content: 'rl' },
  workflows: { name: 'rl', definition: '{}' }, workflow_executions: {},
};
const insertSql = (t) => {
  const cols = Object.keys(REQUIRED[t] ?? { title: 'rl' });
  return `insert into ${t} (id, user_id${cols.map((c) => `, ${c}`).join('')}) values ($1, $2${cols.map((_, i) => `, $${i + 3}`).join('')})`;
};
const insertValues = (t, id, user) => [id, user, ...Object.values(REQUIRED[t] ?? { title: 'rl' })];
const tableSet = (n) => (n === 7 ? DEMO_TABLES : [...DEMO_TABLES, ...EXTRA]);
const clientSchema = (n) => (n === 7
  ? { schemaSql: SCHEMA_SQL, policies: POLICIES }
  : { schemaSql: `${SCHEMA_SQL}\n${EXTRA_SQL}`, policies: { ...POLICIES, ...EXTRA_POLICIES } });
// PGlite gets the same DDL without cross-table foreign keys: each table is its own shape, applied
// in its own transaction (the pglite-sync docs' advice); the rows here never reference others.
const pgliteDdl = (n) => `${SCHEMA_SQL}\n${n === 20 ? EXTRA_SQL : ''}`.replace(/\s+references\s+\w+\s*\(\w+\)(\s+on delete cascade)?/gi, '');

// ---- static folder: dist/demo mirrored, the pages, the pglite-sync worker ----
const DEMO = join(ROOT, 'dist/demo');
const work = mkdtempSync(join(tmpdir(), 'el-bench-rl-'));
const STATIC = join(work, 'static');
mkdirSync(STATIC);
for (const f of readdirSync(DEMO)) symlinkSync(join(DEMO, f), join(STATIC, f));
await build({
  entryPoints: [join(ROOT, 'bench/workloads/remote-latency/pglite-sync-worker.mjs')], outfile: join(STATIC, 'rl-pglite-worker.js'),
  bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, logLevel: 'error',
  plugins: [nodeStubPlugin], absWorkingDir: ROOT,
});
const pgDist = join(ROOT, 'node_modules/@electric-sql/pglite/dist');
for (const f of ['pglite.wasm', 'pglite.data', 'initdb.wasm']) copyFileSync(join(pgDist, f), join(STATIC, f));
const page = (body) => `<!doctype html><meta charset="utf-8"><title>remote-latency</title><script type="module">
window.__arrivals = []; window.__errors = [];
const arrived = (table, ids) => { const t = Date.now(); for (const id of ids) window.__arrivals.push([table, id, t]); };
const protocol = () => performance.getEntriesByType('navigation')[0]?.nextHopProtocol ?? '';
${body}
window.__loaded = true;
</script>`;
writeFileSync(join(STATIC, 'rl-electrolite.html'), page(`import { BrowserElectrolite } from '/electrolite.js';
window.__start = async (cfg) => {
  const db = await BrowserElectrolite.open({ url: location.origin, token: cfg.token, storage: cfg.storage,
    schemaSql: cfg.schemaSql, policies: cfg.policies, uploadIntervalMs: 3600000,
    ...(cfg.debug ? { debug: true, logger: (line) => console.log(Date.now() + ' ' + line) } : {}) });
  window.__db = db;
  await db.waitForStatus((s) => s.shapes.length === cfg.tables.length && s.shapes.every((sh) => sh.isUpToDate), 120000);
  await Promise.all(cfg.tables.map((table) => new Promise((resolve) => {
    const seen = new Set();
    db.live('SELECT id FROM ' + table, [], (r) => {
      const ids = [];
      for (const row of r.rows) if (!seen.has(row.id)) { seen.add(row.id); ids.push(row.id); }
      if (ids.length) arrived(table, ids);
      resolve();
    }, (err) => window.__errors.push(table + ': ' + err.message));
  })));
  return { storage: db.status.storage, protocol: protocol() };
};`));
writeFileSync(join(STATIC, 'rl-pglite-sync.html'), page(`window.__start = (cfg) => new Promise((resolve, reject) => {
  const w = new Worker('/rl-pglite-worker.js', { type: 'module' });
  w.onerror = (e) => reject(new Error('worker: ' + e.message));
  w.onmessage = (e) => {
    const m = e.data;
    if (m.t === 'rows') arrived(m.table, m.ids);
    else if (m.t === 'ready') resolve({ storage: 'memory://', protocol: protocol() });
    else if (m.t === 'error') { window.__errors.push(m.message); if (m.fatal) reject(new Error(m.message)); }
  };
  w.postMessage({ op: 'start', url: location.origin, token: cfg.token, ddl: cfg.ddl, tables: cfg.tables });
});`));

// ---- PostgreSQL, TLS, Chromium ----
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
  '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem')], { stdio: 'ignore' });
const TLS = { cert: readFileSync(join(work, 'cert.pem')), key: readFileSync(join(work, 'key.pem')) };
const cluster = await startPostgres();
const pool = new pg.Pool({ connectionString: cluster.url, max: 4 });
pool.on('error', () => {});
await pool.query(`${SCHEMA_SQL}\n${EXTRA_SQL}`);
const auth = createAuth({ secret: SECRET });

async function startServer(proto, n, port = 0) {
  const server = await createServer({
    databaseUrl: cluster.url, authSecret: SECRET, staticDir: STATIC, tables: n === 20 ? EXTRA : undefined,
    tls: proto === 'h2' ? TLS : null, debug: SERVER_DEBUG,
    // A stack trace's first line says enough here (all of it with BENCH_RL_SERVER_DEBUG, with times).
    log: (line) => { if (line.trim()) log(`  server: ${SERVER_DEBUG ? `${Date.now()} ${line}` : line.split('\n')[0]}`); },
  });
  await server.listen(port);
  return server;
}

/** Time of the restarted server's first successful answer (a health probe right after listen). */
async function firstAnswer(url) {
  const https = url.startsWith('https') ? await import('node:https') : await import('node:http');
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = https.get(`${url}/v1/health`, { rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode === 200); });
      req.on('error', () => resolve(false));
    });
    if (ok) return Date.now();
    await sleep(5);
  }
}

const { chromium } = await import('playwright-core');
const profile = mkdtempSync(join(tmpdir(), 'el-bench-rl-chromium-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });

/** Opens the subject's page on `server` and starts it on `tables`; resolves once every live query holds. */
async function openPage(server, subject, n, user) {
  const p = await context.newPage();
  const consoleLines = [];
  p.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning' || process.env.BENCH_DEBUG) consoleLines.push(`${m.type()}: ${m.text()}`); });
  p.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await p.goto(`${server.url}/rl-${subject}.html`);
  await p.waitForFunction(() => window.__loaded === true, null, { timeout: 30000 });
  const cfg = {
    token: auth.issue(user), tables: tableSet(n), storage: STORAGE, ddl: pgliteDdl(n), ...clientSchema(n),
    debug: Boolean(process.env.BENCH_DEBUG),
  };
  const t0 = Date.now();
  if (process.env.BENCH_DEBUG) log(`page start ${t0}`);
  try {
    const info = await p.evaluate((c) => window.__start(c), cfg);
    info.readyMs = Date.now() - t0;
    return { p, info, consoleLines };
  } catch (err) {
    await p.close();
    err.message += consoleLines.length ? ` (page console: ${consoleLines.slice(-5).join(' | ').slice(0, 600)})` : '';
    throw err;
  }
}

const arrivals = async (p) => new Map((await p.evaluate(() => window.__arrivals)).map(([, id, t]) => [id, t]));

// The commit time is PostgreSQL's clock at the end of the INSERT (autocommit, fsync off: the
// commit follows at once). Node's Date.now() after the query returned lagged by its event
// loop's delays (up to 61 ms seen), which made some samples negative.
async function commit(table, user) {
  const id = randomUUID();
  const { rows: [row] } = await pool.query(`${insertSql(table)} returning extract(epoch from clock_timestamp()) * 1000 as t`,
    insertValues(table, id, user));
  const t = Math.round(Number(row.t));
  if (process.env.BENCH_DEBUG) log(`${t} commit ${table} ${id}`);
  return { table, id, t };
}

function summarize(samples) {
  const v = samples.map((s) => s.ms);
  const byTable = new Map();
  for (const s of samples) byTable.set(s.table, [...(byTable.get(s.table) ?? []), s.ms]);
  const perTable = [...byTable].map(([table, xs]) => ({ table, n: xs.length, p95: percentile(xs, 95) }))
    .sort((a, b) => b.p95 - a.p95);
  return { v, p50: percentile(v, 50), p95: percentile(v, 95), p99: percentile(v, 99), perTable };
}

async function measureLatency(proto, n, subject) {
  const workload = `remote-latency-${proto}-${n}`;
  const user = `rl-${proto}-${n}-${subject}-${randomUUID().slice(0, 8)}`;
  const server = await startServer(proto, n);
  let opened;
  try {
    opened = await openPage(server, subject, n, user);
    const { p, info } = opened;
    log(`${workload} ${subject}: ready in ${info.readyMs} ms (page over ${info.protocol}, storage ${info.storage})`);
    const tables = COMMIT_TABLES ?? tableSet(n);
    const commits = [];
    for (let i = 0; i < COMMITS; i++) {
      await sleep(300 + Math.random() * 400);
      commits.push(await commit(tables[Math.floor(Math.random() * tables.length)], user));
    }
    const deadline = Date.now() + DRAIN_MS;
    let got = await arrivals(p);
    while (commits.some((c) => !got.has(c.id)) && Date.now() < deadline) {
      await sleep(250);
      got = await arrivals(p);
    }
    const errors = await p.evaluate(() => window.__errors);
    const missing = commits.filter((c) => !got.has(c.id));
    const samples = commits.map((c) => ({ table: c.table, ms: (got.get(c.id) ?? deadline) - c.t }));
    if (process.env.BENCH_DEBUG) for (const c of commits) log(`sample ${c.t} ${c.table} ${c.id} ${(got.get(c.id) ?? NaN) - c.t}`);
    const s = summarize(samples);
    const worst = s.perTable[0];
    const late = s.perTable.filter((x) => x.p95 > (proto === 'h1' ? 1500 : 300)).length;
    emit({
      workload, subject, values: s.v, unit: 'ms',
      note: `${COMMITS} single-row commits (one every 300–700 ms into a random one of ${n} tables) → the row in that table's ` +
        `live query on the page; ${PROTOCOL_NAME[proto]} (page loaded over ${info.protocol}); storage ${info.storage}; ` +
        `open + initial sync of every table + live queries held ${info.readyMs} ms; ` +
        `worst table p95 ${worst.p95} ms (${worst.table}, n=${worst.n}); ${late} of ${s.perTable.length} tables over the goal` +
        `${errors.length ? `; page errors: ${errors.slice(0, 3).join(' | ').slice(0, 300)}` : ''}`,
      extra: {
        median: s.p50, p95: s.p95, p99: s.p99, tableP95Worst: worst.p95, tableWorst: worst.table, perTable: s.perTable,
        protocol: info.protocol, storage: info.storage, readyMs: info.readyMs, arrived: commits.length - missing.length, commits: commits.length,
        ...(missing.length ? { caveat: `${missing.length} of ${commits.length} rows had not arrived ${DRAIN_MS / 1000} s after the last commit (counted at that limit: a lower bound)` } : {}),
      },
    });
  } finally {
    if (process.env.BENCH_DEBUG && opened) log(opened.consoleLines.join('\n'));
    await opened?.p.close().catch(() => undefined);
    await server.close().catch(() => undefined);
  }
}

async function measureReconnect(proto, subject) {
  const workload = `remote-reconnect-${proto}`;
  const user = `rl-reconnect-${proto}-${subject}-${randomUUID().slice(0, 8)}`;
  let server = await startServer(proto, 7);
  const port = Number(new URL(server.url).port);
  let opened;
  try {
    opened = await openPage(server, subject, 7, user);
    const { p } = opened;
    const samples = [];
    const sinceCommit = [];
    for (let r = 0; r < RESTARTS; r++) {
      await sleep(1000);
      const closing = Date.now();
      await server.close();
      const closeMs = Date.now() - closing;
      await sleep(2000);
      server = await startServer(proto, 7, port);
      const up = await firstAnswer(server.url);
      if (process.env.BENCH_DEBUG) log(`${up} restarted (closed at ${closing})`);
      const c = await commit(DEMO_TABLES[Math.floor(Math.random() * DEMO_TABLES.length)], user);
      const deadline = Date.now() + 60000;
      let got = await arrivals(p);
      while (!got.has(c.id) && Date.now() < deadline) {
        await sleep(50);
        got = await arrivals(p);
      }
      if (!got.has(c.id)) {
        const errors = await p.evaluate(() => window.__errors);
        throw new Error(`restart ${r + 1}: the row (${c.table}) had not arrived 60 s after the restart` +
          `${errors.length ? ` (page errors: ${errors.slice(-3).join(' | ').slice(0, 300)})` : ''}`);
      }
      samples.push(got.get(c.id) - up);
      sinceCommit.push(got.get(c.id) - c.t);
      log(`${workload} ${subject}: restart ${r + 1} (close took ${closeMs} ms) → row after ${samples.at(-1)} ms`);
    }
    emit({
      workload, subject, values: samples, unit: 'ms',
      note: `dev server closed, 2 s down, restarted on the same port (${PROTOCOL_NAME[proto]}, 7 tables); restart (first answer) → ` +
        `a row committed at once into a random one of the tables shows in the page's live query; ${RESTARTS} restarts; commit → row p50 ${percentile(sinceCommit, 50)} ms`,
      extra: { median: percentile(samples, 50), p95: percentile(samples, 95) },
    });
  } finally {
    if (process.env.BENCH_DEBUG && opened) log(opened.consoleLines.join('\n'));
    await opened?.p.close().catch(() => undefined);
    await server.close().catch(() => undefined);
  }
}

async function guarded(workload, subject, fn) {
  try {
    await fn();
  } catch (err) {
    log(`${workload} ${subject}: ${err.stack ?? err.message}`);
    emitMissing({ workload, subject, reason: err.message.split('\n')[0].slice(0, 300) });
  }
}

try {
  for (const proto of PROTOS) {
    for (const n of SETS) {
      for (const subject of SUBJECTS) await guarded(`remote-latency-${proto}-${n}`, subject, () => measureLatency(proto, n, subject));
    }
  }
  for (const proto of RECONNECT) {
    for (const subject of SUBJECTS) await guarded(`remote-reconnect-${proto}`, subject, () => measureReconnect(proto, subject));
  }
} finally {
  await context.close().catch(() => undefined);
  await pool.end().catch(() => undefined);
  await cluster.stop().catch(() => undefined);
  rmSync(profile, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
done();
