// Workloads `heap-100k` and `rss-100k`: memory with 100,000 `tasks` rows loaded, each subject
// in a fresh Node process. `heap-100k` is the size of the wasm linear memory (it only grows, so
// this is the peak the load needed); `rss-100k` the whole process's resident set after a GC
// (Node itself included: the note gives the process's RSS before the library was imported).
//
//   electrolite      Node client, 100k rows synced from a replayed shape log (memory VFS: the
//                    database file itself lives in the wasm heap until OPFS storage lands)
//   pglite           PGlite in memory, the same rows inserted with json_populate_recordset
//   sqlite-wasm-raw  @sqlite.org/sqlite-wasm :memory:, prepared inserts
//   better-sqlite3   native :memory: (no wasm heap; RSS only)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TASKS_SCHEMA_SQL, generateTasks, snapshotResponses } from '../lib/shape-log.mjs';
import { betterSqliteWithTasks, pgliteInsertTasks, sqliteWasmWithTasks } from '../lib/raw-sqlite.mjs';
import { QUICK, ROOT, done, emit, emitMissing, log, replayFetch, requireBuilt } from './common.mjs';

const ROWS = Number(process.env.BENCH_HEAP_ROWS ?? 100000);
const MB = 1024 * 1024;

async function child(subject) {
  const rssBefore = process.memoryUsage().rss;
  const rows = generateTasks(ROWS, { seed: 11 });
  let heap = null;
  let keep;
  if (subject === 'electrolite') {
    const { Electrolite } = await import(pathToFileURL(join(ROOT, 'dist/js/index.js')).href);
    const { loadEngineModule } = await import(pathToFileURL(join(ROOT, 'dist/js/wasm-loader.js')).href);
    let mod;
    const db = await Electrolite.open({
      url: 'http://electric.bench', schemaSql: TASKS_SCHEMA_SQL, policies: {}, autoSubscribe: false,
      uploadIntervalMs: 3600000, fetch: replayFetch(snapshotResponses(rows, { perResponse: 1000 })),
    }, { loadModule: async () => (mod = await loadEngineModule()) });
    const id = await db.subscribe({ table: 'tasks' });
    await db.waitForStatus((s) => s.shapes.some((sh) => sh.id === id && sh.isUpToDate), 600000);
    const n = Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n);
    if (n !== ROWS) throw new Error(`ingested ${n}`);
    heap = mod.HEAPU8.buffer.byteLength;
    keep = db;
  } else if (subject === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = await PGlite.create();
    await pg.exec(TASKS_SCHEMA_SQL);
    await pgliteInsertTasks(pg, rows);
    const n = (await pg.query('select count(*)::int as n from tasks')).rows[0].n;
    if (n !== ROWS) throw new Error(`inserted ${n}`);
    const m = pg.mod ?? pg.Module ?? pg.emp;
    heap = m?.HEAPU8?.buffer?.byteLength ?? null;
    keep = pg;
  } else if (subject === 'sqlite-wasm-raw') {
    const { sqlite3, db } = await sqliteWasmWithTasks(rows);
    heap = sqlite3.wasm.heap8u().buffer.byteLength;
    keep = db;
  } else if (subject === 'better-sqlite3') {
    const db = betterSqliteWithTasks(rows);
    keep = db;
  }
  rows.length = 0;
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 100));
  globalThis.gc?.();
  const rss = process.memoryUsage().rss;
  return { heap, rss, rssBefore, alive: Boolean(keep) };
}

if (process.argv[2]) {
  const r = await child(process.argv[2]);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

requireBuilt('dist/js/index.js', 'dist/wasm/electrolite.wasm');
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const self = fileURLToPath(import.meta.url);
for (const subject of ['electrolite', 'pglite', 'sqlite-wasm-raw', 'better-sqlite3']) {
  try {
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const out = execFileSync(process.execPath, ['--expose-gc', self, subject], { cwd: ROOT, encoding: 'utf8', timeout: 300000, maxBuffer: 1 << 20 });
      runs.push(JSON.parse(out.trim().split('\n').pop()));
    }
    const base = `${ROWS.toLocaleString('en-US')} tasks rows in memory`;
    const before = `process RSS before import ${(runs[0].rssBefore / MB).toFixed(0)} MB`;
    if (runs[0].heap !== null) {
      emit({ workload: 'heap-100k', subject, values: runs.map((r) => r.heap / MB), unit: 'MB',
        note: `${base}; wasm linear memory size${subject === 'electrolite' ? ' (includes the memory-VFS database file)' : ''}` });
    } else {
      emitMissing({ workload: 'heap-100k', subject, reason: subject === 'better-sqlite3' ? 'native: no wasm heap (see rss-100k)' : 'wasm memory not reachable from the public object' });
    }
    emit({ workload: 'rss-100k', subject, values: runs.map((r) => r.rss / MB), unit: 'MB', note: `${base}; ${before}` });
  } catch (err) {
    log(`heap ${subject}: ${err.message}`);
    emitMissing({ workload: 'heap-100k', subject, reason: err.message.split('\n')[0] });
  }
}
done();
