// Workload `ingest`: initial sync of a recorded shape log of N `tasks` rows (bench/lib/
// shape-log.mjs; 100,000 rows = 44 MB JSON, 1,000 messages a response) replayed from
// memory through each client's real code, so only the client is measured:
//
//   electrolite          Electrolite.open (Node, wasm engine, memory VFS) + subscribe, fetch = replay
//   electrolite-engine   the same wasm engine driven directly (pollRequest/handleResponse), no JS client
//   pglite-sync-<m>      PGlite (in memory) + @electric-sql/pglite-sync, initialInsertMethod m
//   electric-client      @electric-sql/client ShapeStream + Shape into its in-memory Map
//   electrolite-sqlite-raw  raw prepared inserts of the same rows in our wasm build's SQLite
//   sqlite-wasm-raw      raw prepared inserts in @sqlite.org/sqlite-wasm (official build)
//   better-sqlite3       raw prepared inserts, native SQLite (the physical limit)
//
// All raw inserts: the same typed values, one transaction per 1,000 rows, in memory.
// Env: BENCH_INGEST_ROWS (default 100,000; 20,000 with --quick).
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { generateTasks, snapshotResponses, TASKS_SCHEMA_SQL } from '../lib/shape-log.mjs';
import { engineLoader, ingestEngine, prepareLog, rawInsertEngine, rawRows, rawSchema } from '../lib/engine-ingest.mjs';
import { QUICK, ROOT, done, emit, emitMissing, log, repeat, replayFetch, requireBuilt } from './common.mjs';

const ROWS = Number(process.env.BENCH_INGEST_ROWS ?? (QUICK ? 20000 : 100000));
const WORKLOAD = process.env.BENCH_INGEST_WORKLOAD ?? 'ingest';
const ONLY = process.env.BENCH_INGEST_SUBJECTS?.split(',');
const want = (s) => !ONLY || ONLY.includes(s);
requireBuilt('dist/js/index.js', 'dist/wasm/electrolite.wasm');

const rows = generateTasks(ROWS, { seed: 42 });
const responses = snapshotResponses(rows, { perResponse: 1000 });
const mb = responses.reduce((n, r) => n + r.body.length, 0) / 1e6;
log(`ingest: ${ROWS.toLocaleString('en-US')} rows, ${responses.length} responses, ${mb.toFixed(1)} MB JSON`);
const note = `${ROWS.toLocaleString('en-US')} tasks rows (${mb.toFixed(1)} MB shape log) replayed from memory`;
const rate = (ms) => (ROWS / ms) * 1000;
const result = (subject, msList, extraNote) => emit({
  workload: WORKLOAD, subject, values: msList.map(rate), unit: 'rows/s', better: 'higher',
  note: extraNote ? `${note}; ${extraNote}` : note,
});

/** Runs one subject; a failure is reported as not measured and the other subjects still run. */
async function guard(subject, fn) {
  try {
    await fn();
  } catch (err) {
    log(`ingest ${subject}: ${err.stack ?? err.message}`);
    emitMissing({ workload: WORKLOAD, subject, reason: err.message.split('\n')[0] });
  }
}

// ---- electrolite (the JS client, Node, in-process engine) ----
if (want('electrolite')) await guard('electrolite', async () => {
  const { Electrolite } = await import(pathToFileURL(join(ROOT, 'dist/js/index.js')).href);
  result('electrolite', await repeat(async () => {
    const fetch = replayFetch(responses);
    const db = await Electrolite.open({
      url: 'http://electric.bench', schemaSql: TASKS_SCHEMA_SQL, policies: {}, autoSubscribe: false,
      uploadIntervalMs: 3600000, fetch,
    });
    const t0 = performance.now();
    const id = await db.subscribe({ table: 'tasks' });
    await db.waitForStatus((s) => s.shapes.some((sh) => sh.id === id && sh.isUpToDate), 600000);
    const ms = performance.now() - t0;
    const n = Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n);
    await db.close();
    if (n !== ROWS) throw new Error(`electrolite ingested ${n} rows, expected ${ROWS}`);
    return ms;
  }), 'Node client: fetch → engine → SQLite, wall time from subscribe to up-to-date');
});

// ---- the engine alone, and the raw-insert ceiling of the same wasm build ----
const load = await engineLoader(ROOT);
const engineLog = prepareLog(responses);
const raw = rawRows(rows);
if (want('electrolite-engine')) await guard('electrolite-engine', async () => {
  result('electrolite-engine', await repeat(async () => {
    const m = await load();
    const r = ingestEngine(m, engineLog, { expectRows: ROWS });
    m.close(r.handle);
    return r.ms;
  }), 'wasm engine driven directly (decode + apply), as bench/ingest.mjs');
});
if (want('electrolite-sqlite-raw')) await guard('electrolite-sqlite-raw', async () => {
  result('electrolite-sqlite-raw', await repeat(async () => rawInsertEngine(await load(), raw.packed, ROWS).ms),
    'raw prepared inserts in our wasm build (same SQLite, same flags): the budget\'s "raw SQLite-wasm" ceiling');
});

// ---- @sqlite.org/sqlite-wasm raw inserts ----
const schema = rawSchema();
if (want('sqlite-wasm-raw')) {
  try {
    const { default: init } = await import('@sqlite.org/sqlite-wasm');
    const sqlite3 = await init();
    result('sqlite-wasm-raw', await repeat(async () => {
      const db = new sqlite3.oo1.DB(':memory:');
      db.exec(schema.table);
      const t0 = performance.now();
      const stmt = db.prepare(schema.insert);
      for (let i = 0; i < raw.values.length; i += 1000) {
        db.exec('BEGIN');
        const end = Math.min(raw.values.length, i + 1000);
        for (let j = i; j < end; j++) {
          stmt.bind(raw.values[j]).stepReset();
        }
        db.exec('COMMIT');
      }
      stmt.finalize();
      const ms = performance.now() - t0;
      const n = db.selectValue('SELECT count(*) FROM tasks');
      db.close();
      if (n !== ROWS) throw new Error(`sqlite-wasm inserted ${n}`);
      return ms;
    }), `@sqlite.org/sqlite-wasm ${sqlite3.version.libVersion}, oo1 prepared statement, in memory`);
  } catch (err) {
    emitMissing({ workload: WORKLOAD, subject: 'sqlite-wasm-raw', reason: err.message });
  }
}

// ---- better-sqlite3 (native) ----
if (want('better-sqlite3')) {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3');
    const values = raw.values;
    result('better-sqlite3', await repeat(async () => {
      const db = new Database(':memory:');
      db.exec(schema.table);
      db.defaultSafeIntegers(true);
      const t0 = performance.now();
      const stmt = db.prepare(schema.insert);
      const batch = db.transaction((from, to) => { for (let j = from; j < to; j++) stmt.run(values[j]); });
      for (let i = 0; i < values.length; i += 1000) batch(i, Math.min(values.length, i + 1000));
      const ms = performance.now() - t0;
      const n = Number(db.prepare('SELECT count(*) AS n FROM tasks').get().n);
      db.close();
      if (n !== ROWS) throw new Error(`better-sqlite3 inserted ${n}`);
      return ms;
    }), 'native SQLite via better-sqlite3 12, in memory');
  } catch (err) {
    emitMissing({ workload: WORKLOAD, subject: 'better-sqlite3', reason: err.message });
  }
}

// ---- @electric-sql/client Shape (in-memory Map) ----
if (want('electric-client')) await guard('electric-client', async () => {
  const { ShapeStream, Shape } = await import('@electric-sql/client');
  result('electric-client', await repeat(async () => {
    const stream = new ShapeStream({
      url: 'http://electric.bench/v1/shape', params: { table: 'tasks' }, fetchClient: replayFetch(responses),
    });
    const t0 = performance.now();
    const shape = new Shape(stream);
    const got = await shape.rows;
    const ms = performance.now() - t0;
    stream.unsubscribeAll();
    if (got.length !== ROWS) throw new Error(`electric-client got ${got.length}`);
    return ms;
  }), '@electric-sql/client Shape into its in-memory Map (no database)');
});

// ---- PGlite + pglite-sync ----
const methods = (process.env.BENCH_PGLITE_METHODS ?? (QUICK ? 'json' : 'insert,json,csv')).split(',');
for (const method of methods) {
  const subject = `pglite-sync-${method}`;
  if (!want(subject) && !want('pglite-sync')) continue;
  const { PGlite } = await import('@electric-sql/pglite');
  const { electricSync } = await import('@electric-sql/pglite-sync');
  const runs = QUICK ? 1 : 3; // each run also pays PGlite.create (not timed), ~2 s
  await guard(subject, async () => result(subject, await repeat(async () => {
    const pg = await PGlite.create({ extensions: { electric: electricSync() } });
    await pg.exec(TASKS_SCHEMA_SQL.replace(/\s*check \(status in \([^)]*\)\)/, ''));
    const fetchClient = replayFetch(responses);
    const t0 = performance.now();
    let sub;
    await new Promise((resolve, reject) => {
      pg.electric.syncShapeToTable({
        shape: { url: 'http://electric.bench/v1/shape', params: { table: 'tasks' }, fetchClient },
        table: 'tasks', primaryKey: ['id'], shapeKey: null, initialInsertMethod: method,
        onInitialSync: resolve, onError: reject,
      }).then((s) => { sub = s; }, reject);
    });
    const ms = performance.now() - t0;
    const n = (await pg.query('select count(*)::int as n from tasks')).rows[0].n;
    sub?.unsubscribe();
    await pg.close();
    if (n !== ROWS) throw new Error(`pglite-sync ${method} ingested ${n}`);
    return ms;
  }, { runs, warmup: 0 }), `PGlite in memory, initialInsertMethod '${method}'`));
}
done();
