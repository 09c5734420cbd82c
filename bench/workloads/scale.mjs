// Workloads `scale-ingest-<n>` and `scale-query-<n>` for n = 10k, 100k, 1M rows (--quick:
// 10k, 100k): how ingest and query cost grow with the table.
//
//   scale-ingest-<n>  rows/s of an initial sync of n tasks rows: our wasm engine driven directly
//                     (bench/lib/engine-ingest.mjs), vs better-sqlite3 prepared inserts (native).
//   scale-query-<n>   ms to run the first screen's query (50 latest by updated_at) and a
//                     GROUP BY status count on that table: engine.query vs better-sqlite3.
//
// The shape log is generated chunk by chunk and kept only as encoded bytes (1M rows: 440 MB),
// before the timed region.
import { createRequire } from 'node:module';
import { TASK_COLUMNS, generateTasks, rowKey, snapshotResponses, sqliteValues } from '../lib/shape-log.mjs';
import { engineLoader, ingestEngine, rawSchema } from '../lib/engine-ingest.mjs';
import { QUICK, ROOT, done, emit, emitMissing, log, median, requireBuilt } from './common.mjs';

requireBuilt('dist/wasm/electrolite.wasm');
const SIZES = (process.env.BENCH_SCALE_SIZES ?? (QUICK ? '10000,100000' : '10000,100000,1000000')).split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const QUERIES = [
  'SELECT id, title, status, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50',
  'SELECT status, count(*) AS n FROM tasks GROUP BY status',
];
const label = (n) => (n >= 1e6 ? `${n / 1e6}m` : `${n / 1000}k`);
const PER = 1000;

/** Rows of chunk c (deterministic, unique ids across chunks). */
const chunkRows = (c) => generateTasks(PER, { seed: 1000 + c, startMs: Date.UTC(2026, 0, 5) + c * PER * 8000 });

/** A generated shape log in the form ingestEngine reads (bytes only; no row objects kept). */
function makeLog(n) {
  const chunks = Math.ceil(n / PER);
  const template = snapshotResponses(generateTasks(2 * PER, { seed: 1 }), { perResponse: PER })[1];
  const encoder = new TextEncoder();
  const body = (c) => {
    const msgs = chunkRows(c).map((value) => ({ key: rowKey('tasks', value.id), value, headers: { operation: 'insert', relation: ['public', 'tasks'] } }));
    if (c === chunks - 1) {
      msgs.push({ headers: { control: 'snapshot-end', xmin: '7613', xmax: '7613', xip_list: [] } });
      msgs.push({ headers: { control: 'up-to-date', global_last_seen_lsn: '26800584' } });
    }
    return encoder.encode(JSON.stringify(msgs));
  };
  const byOffset = new Map(Array.from({ length: chunks }, (_, c) => [c === 0 ? '-1' : `0_${c - 1}`, c]));
  return {
    byOffset,
    bodies: Array.from({ length: chunks }, (_, c) => body(c)),
    headerJson: Array.from({ length: chunks }, (_, c) => JSON.stringify({ ...template.headers, 'electric-offset': `0_${c}` })),
  };
}

const load = await engineLoader(ROOT);
const Database = (() => {
  try { return createRequire(import.meta.url)('better-sqlite3'); } catch { return null; }
})();

// Warm-up (JIT tiers) so the smallest size is not penalised.
{
  const m = await load();
  m.close(ingestEngine(m, makeLog(2000)).handle);
}
for (const n of SIZES) {
  log(`scale: ${n} rows`);
  const shapeLog = makeLog(n);
  const ingest = { ours: [], native: [] };
  const query = { ours: [], native: [] };
  for (let run = 0; run < (n >= 1e6 ? 1 : RUNS); run++) {
    const m = await load();
    const r = ingestEngine(m, shapeLog, { expectRows: n });
    const q = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      for (const sql of QUERIES) {
        const res = JSON.parse(m.query(r.handle, sql, '[]'));
        if (res.ok === false) throw new Error(res.message);
      }
      q.push(performance.now() - t0);
    }
    query.ours.push(median(q));
    m.close(r.handle);
    ingest.ours.push(n / r.ms * 1000);
    if (Database) {
      const db = new Database(':memory:');
      const s = rawSchema();
      db.exec(s.table);
      const ins = db.prepare(s.insert);
      const tx = db.transaction((vals) => { for (const v of vals) ins.run(v); });
      let insertMs = 0;
      for (let c = 0; c < Math.ceil(n / PER); c++) {
        const vals = chunkRows(c).map((row) => sqliteValues(row, TASK_COLUMNS));
        const t0 = performance.now();
        tx(vals);
        insertMs += performance.now() - t0;
      }
      ingest.native.push(n / insertMs * 1000);
      const stmts = QUERIES.map((sql) => db.prepare(sql));
      const qn = [];
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        for (const st of stmts) st.all();
        qn.push(performance.now() - t0);
      }
      query.native.push(median(qn));
      db.close();
    }
  }
  const note = `${n.toLocaleString('en-US')} tasks rows`;
  emit({ workload: `scale-ingest-${label(n)}`, subject: 'electrolite-engine', values: ingest.ours, unit: 'rows/s', better: 'higher',
    note: `${note}; wasm engine driven directly (decode + apply), log in memory` });
  emit({ workload: `scale-query-${label(n)}`, subject: 'electrolite-engine', values: query.ours, unit: 'ms',
    note: `${note}; first-screen query + GROUP BY count through engine query (view over synced + overlay), median of 5` });
  if (Database) {
    emit({ workload: `scale-ingest-${label(n)}`, subject: 'better-sqlite3', values: ingest.native, unit: 'rows/s', better: 'higher',
      note: `${note}; native prepared inserts, 1,000 per transaction` });
    emit({ workload: `scale-query-${label(n)}`, subject: 'better-sqlite3', values: query.native, unit: 'ms',
      note: `${note}; the same two queries on a plain table, median of 5` });
  } else {
    emitMissing({ workload: `scale-ingest-${label(n)}`, subject: 'better-sqlite3', reason: 'better-sqlite3 not loadable' });
  }
}
done();
