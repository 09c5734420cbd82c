// npm run bench:ingest — initial-sync ingest of a generated Electric shape log of
// 100,000 `tasks` rows (responses of 1,000 messages) through the wasm engine on the
// memory VFS, driven by its sans-IO loop exactly as the JS host drives it:
// pollRequest → (recorded response) → handleResponse.
//
// Printed next to it, from the same wasm build and the same run: raw SQLite
// prepared-insert rows/s of the same rows (benchRawInsert, bench-only export), and the
// ratio (budget: ingest ≥ 50 % of raw). Then the native numbers when
// build/native/bench/native/ingest_bench exists, and the wasm + glue size (budget
// ≤ 400 KB gzipped; KB = 1024 bytes here).
//
// Env: ROWS=100000, PER_RESPONSE=1000, RUNS=3, WASM_DIR=dist/wasm (a folder holding
// another build's electrolite.mjs/.wasm, to compare optimisation levels).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  TASKS_SCHEMA_SQL,
  TASK_COLUMNS,
  generateTasks,
  packRows,
  snapshotResponses,
  sqliteValues,
} from './lib/shape-log.mjs';

const ROWS = Number(process.env.ROWS ?? 100000);
const PER_RESPONSE = Number(process.env.PER_RESPONSE ?? 1000);
const RUNS = Number(process.env.RUNS ?? 3);
const root = fileURLToPath(new URL('..', import.meta.url));
const wasmDir = process.env.WASM_DIR ? resolve(process.env.WASM_DIR) : join(root, 'dist/wasm');
const glue = join(wasmDir, 'electrolite.mjs');
const wasmFile = join(wasmDir, 'electrolite.wasm');
const loaderFile = join(root, 'dist/js/wasm-loader.js');
const nativeBench = join(root, 'build/native/bench/native/ingest_bench');

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Wall and CPU time of `fn`. CPU time (user + system of this process) is what the ratio
// uses: it stays meaningful when other work shares the machine's cores.
function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

for (const f of [glue, wasmFile, loaderFile]) {
  if (!existsSync(f)) {
    console.error(`missing ${f}: run \`npm run build\` first`);
    process.exit(1);
  }
}

function ok(json, what) {
  const r = JSON.parse(json);
  if (r.ok === false) throw new Error(`${what}: ${r.code}: ${r.message}`);
  return r;
}

// ---------------------------------------------------------------- the shape log
const tGen = performance.now();
const rows = generateTasks(ROWS, { seed: 42 });
const responses = snapshotResponses(rows, { perResponse: PER_RESPONSE });
const encoder = new TextEncoder();
// Bodies arrive from fetch as bytes: encode them once, outside the timed region.
const bodies = responses.map((r) => encoder.encode(r.body));
const headerJson = responses.map((r) => JSON.stringify(r.headers));
const byOffset = new Map(responses.map((r, i) => [r.offset, i]));
const logBytes = bodies.reduce((n, b) => n + b.length, 0);
console.log(`shape log: ${fmt(ROWS)} tasks rows in ${responses.length} responses of ≤ ${fmt(PER_RESPONSE)} messages, ` +
  `${(logBytes / 1e6).toFixed(1)} MB JSON (generated in ${fmt(performance.now() - tGen)} ms)`);

// Every run gets a fresh module instance (its own memory and memory VFS), so runs do not
// inherit each other's databases or heap, and each pays memory growth like a real first sync.
const { loadEngineModule } = await import(loaderFile);
// The .wasm (and a split build's second part) from wasmDir too, not the loader's default
// dist/wasm: WASM_DIR compares another build's module, not only its glue.
const loadModule = () => loadEngineModule({ moduleUrl: pathToFileURL(glue), wasmUrl: pathToFileURL(wasmFile) });
const tLoad = performance.now();
await loadModule();
console.log(`module: compiled + instantiated in ${(performance.now() - tLoad).toFixed(1)} ms`);

// ---------------------------------------------------------------- engine ingest
let runId = 0;
async function ingestOnce() {
  const m = await loadModule();
  const now = Date.UTC(2026, 0, 10);
  const opened = ok(m.open(JSON.stringify({
    path: `bench-ingest-${++runId}.db`, baseUrl: 'http://electric.bench', clientId: 'bench',
    nowMs: now, schemaSql: TASKS_SCHEMA_SQL, autoSubscribe: true,
  })), 'open');
  const h = opened.handle;
  let answered = 0;
  const t = timed(() => {
    for (;;) {
      const text = m.pollRequest(h, now);
      if (text === '') throw new Error(`engine issued no request after ${answered} responses`);
      const req = JSON.parse(text);
      if (req.ok === false) throw new Error(`pollRequest: ${req.message}`);
      const url = new URL(req.url);
      if (url.searchParams.get('live') === 'true') return; // up to date: now long-polling
      const i = byOffset.get(url.searchParams.get('offset'));
      if (i === undefined) throw new Error(`no recorded response for ${req.url}`);
      ok(m.handleResponse(h, now, req.id, 200, headerJson[i], bodies[i]), `handleResponse #${i}`);
      answered++;
      for (let ev = m.pollEvent(h); ev !== ''; ev = m.pollEvent(h)) {
        const e = JSON.parse(ev);
        if (e.type === 'error') throw new Error(`engine error event: ${e.code}: ${e.message}`);
      }
    }
  });
  const count = ok(m.query(h, 'SELECT count(*) FROM tasks', '[]'), 'count').rows[0][0];
  ok(m.close(h), 'close');
  if (Number(count) !== ROWS) throw new Error(`ingested ${count} rows, expected ${ROWS}`);
  return { wallMs: t.wallMs, cpuMs: t.cpuMs, answered };
}

// ---------------------------------------------------------------- raw inserts
// The same rows, typed as the engine stores them, in a table of the same shape, with
// one transaction per 1,000 rows like one per response.
const packed = packRows(rows.map((r) => sqliteValues(r)));
const rawTable = `CREATE TABLE tasks (${TASK_COLUMNS.map((c) => {
  const type = c.type === 'int4' ? 'INTEGER' : 'TEXT';
  return `${c.name} ${type}${c.pkIndex === 0 ? ' PRIMARY KEY' : ''}${c.notNull ? ' NOT NULL' : ''}`;
}).join(', ')})`;
const rawInsert = `INSERT INTO tasks VALUES (${TASK_COLUMNS.map(() => '?').join(', ')})`;
async function rawOnce() {
  const m = await loadModule();
  const t = timed(() => ok(m.benchRawInsert(`bench-raw-${++runId}.db`, rawTable, rawInsert,
    TASK_COLUMNS.length, PER_RESPONSE, packed), 'benchRawInsert'));
  if (t.value.rows !== ROWS) throw new Error(`raw inserted ${t.value.rows} rows, expected ${ROWS}`);
  return { wallMs: t.wallMs, cpuMs: t.cpuMs };
}

// Warm-up (JIT tiers, memory growth), then alternate so drift hits both equally.
await ingestOnce();
await rawOnce();
const ingest = [];
const raw = [];
for (let i = 0; i < RUNS; i++) {
  ingest.push(await ingestOnce());
  raw.push(await rawOnce());
}
const rate = (runs, key) => (ROWS / median(runs.map((r) => r[key]))) * 1000;
const line = (label, runs) => `${label}: ${fmt(rate(runs, 'cpuMs')).padStart(9)} rows/s by CPU time, ` +
  `${fmt(rate(runs, 'wallMs')).padStart(9)} rows/s wall  (median of ${RUNS}; wall ms ${runs.map((r) => fmt(r.wallMs)).join(', ')})`;
const ratio = rate(ingest, 'cpuMs') / rate(raw, 'cpuMs');
console.log('');
console.log(line('wasm engine ingest', ingest) + `; ${ingest[0].answered} responses`);
console.log(line('wasm raw inserts  ', raw));
console.log(`ratio ingest / raw : ${(ratio * 100).toFixed(1)} % by CPU time, ` +
  `${((rate(ingest, 'wallMs') / rate(raw, 'wallMs')) * 100).toFixed(1)} % wall  (budget ≥ 50 %: ${ratio >= 0.5 ? 'met' : 'MISSED'})`);

// ---------------------------------------------------------------- native
if (existsSync(nativeBench)) {
  // The engine engineer's native bench (bench/native/ingest_bench.cc) generates an
  // equivalent tasks log itself (same row count and response size, its own values).
  try {
    const out = execFileSync(nativeBench, [String(ROWS), String(PER_RESPONSE)], { encoding: 'utf8' });
    console.log('');
    console.log(`native (build/native/bench/native/ingest_bench ${ROWS} ${PER_RESPONSE}):`);
    process.stdout.write(out.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n'));
  } catch (err) {
    console.log(`native bench failed: ${err.message}`);
  }
} else {
  console.log(`\nnative: ${nativeBench} not built (cmake --build build/native)`);
}

// ---------------------------------------------------------------- size
const wasmBytes = readFileSync(wasmFile);
const glueBytes = readFileSync(glue);
const loaderBytes = readFileSync(loaderFile);
const gz = (b) => gzipSync(b, { level: 9 }).length;
const total = gz(wasmBytes) + gz(glueBytes);
let opt = '';
if (!process.env.WASM_DIR) {
  try {
    const cache = readFileSync(join(root, 'build/wasm/CMakeCache.txt'), 'utf8');
    const level = (name) => cache.match(new RegExp(`^${name}:STRING=(.*)$`, 'm'))?.[1] ?? '?';
    opt = `engine ${level('EL_WASM_OPT')}, SQLite ${level('EL_WASM_SQLITE_OPT')}`;
  } catch { /* built elsewhere */ }
}
console.log('');
console.log(`size${opt ? ` (${opt})` : ''}: electrolite.wasm ${kb(wasmBytes.length)} (${kb(gz(wasmBytes))} gz), ` +
  `electrolite.mjs ${kb(glueBytes.length)} (${kb(gz(glueBytes))} gz), wasm-loader.js ${kb(loaderBytes.length)} (${kb(gz(loaderBytes))} gz)`);
console.log(`wasm + glue gzipped: ${kb(total)} = ${fmt(total)} bytes  (budget ≤ 400 KB: ${total <= 400 * 1024 ? 'met' : 'MISSED'}); ` +
  `with wasm-loader.js: ${kb(total + gz(loaderBytes))}`);
const deferredFile = join(wasmDir, 'electrolite.deferred.wasm');
if (existsSync(deferredFile)) {
  const rest = readFileSync(deferredFile);
  console.log(`  split build: electrolite.wasm is the part the first query needs; electrolite.deferred.wasm ` +
    `${kb(rest.length)} (${kb(gz(rest))} gz) loads after it (wasm/split-module.mjs); all of it: ${kb(total + gz(rest))} gz`);
}
