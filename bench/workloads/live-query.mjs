// Workloads `live-query-10k` and `live-query-100k`: local write → live query callback, Node.
// The table holds N `tasks` rows; a live query lists the 50 most recently updated tasks
// (ORDER BY updated_at DESC LIMIT 50, no index: none of the subjects can index it the same
// way, since ours is a view over the synced table and the overlay); each sample updates one
// row's status and updated_at (so the row moves to the top) and waits for the callback.
//
//   electrolite      rows synced from a replayed shape log; db.update (row + overlay + outbox
//                    in one transaction) → engine tables-changed with the changed key → one
//                    statement for that row, merged into the kept top 50 → db.live callback
//   pglite           PGlite (in memory) + live extension: UPDATE → live.query callback
//   better-sqlite3 / sqlite-wasm-raw   the floor without any change tracking: UPDATE, then run
//                    the same query again synchronously (what a live query costs at least)
//
// median = p50 of all samples; min/max = fastest/slowest sample; runs = samples; p99 given.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TASKS_SCHEMA_SQL, generateTasks, snapshotResponses } from '../lib/shape-log.mjs';
import { betterSqliteWithTasks, pgliteInsertTasks, sqliteWasmWithTasks } from '../lib/raw-sqlite.mjs';
import { QUICK, ROOT, done, emit, emitMissing, log, percentile, replayFetch, requireBuilt, sleep } from './common.mjs';

requireBuilt('dist/js/index.js', 'dist/wasm/electrolite.wasm');
const SIZES = (process.env.BENCH_LIVE_SIZES ?? '10000,100000').split(',').map(Number);
const ITER = Number(process.env.BENCH_LIVE_ITER ?? (QUICK ? 25 : 200));
const LIST_SQL = 'SELECT id, title, status, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50';
const TASKS_POLICIES = { tasks: { policy: 'last-write-wins', timestamp: 'updated_at', writable: true } };
const STATUSES = ['pending', 'in_progress', 'completed'];
const label = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));

function report(workload, subject, samples, note) {
  emit({
    workload, subject, values: samples, unit: 'ms', note,
    extra: { median: percentile(samples, 50), p99: percentile(samples, 99) },
  });
}

// Timestamps that sort after every generated row, one per sample.
const stamp = (i) => new Date(Date.UTC(2027, 0, 1) + i * 1000).toISOString();

async function electrolite(rows, workload) {
  const { Electrolite } = await import(pathToFileURL(join(ROOT, 'dist/js/index.js')).href);
  const db = await Electrolite.open({
    url: 'http://electric.bench', schemaSql: TASKS_SCHEMA_SQL, policies: TASKS_POLICIES, autoSubscribe: false,
    uploadIntervalMs: 3600000, fetch: replayFetch(snapshotResponses(rows, { perResponse: 1000 })),
  });
  const id = await db.subscribe({ table: 'tasks' });
  await db.waitForStatus((s) => s.shapes.some((sh) => sh.id === id && sh.isUpToDate), 600000);
  let pending;
  let first = true;
  const stop = db.live(LIST_SQL, [], () => {
    if (first) first = false;
    pending?.();
  });
  await sleep(200);
  const samples = [];
  for (let i = 0; i < ITER; i++) {
    const fired = new Promise((resolve) => (pending = resolve));
    const t0 = performance.now();
    await db.update('tasks', { id: rows[i].id }, { status: STATUSES[i % 3], updated_at: stamp(i) });
    await fired;
    samples.push(performance.now() - t0);
  }
  stop();
  await db.close();
  report(workload, 'electrolite', samples, 'Node client, synced table: db.update (row + overlay + outbox) → db.live callback with the new top 50, maintained incrementally from the changed key');
}

async function pglite(rows, workload) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { live } = await import('@electric-sql/pglite/live');
  const pg = await PGlite.create({ extensions: { live } });
  await pg.exec(TASKS_SCHEMA_SQL);
  await pgliteInsertTasks(pg, rows);
  let pending;
  const q = await pg.live.query(LIST_SQL, [], () => pending?.());
  await sleep(200);
  const samples = [];
  for (let i = 0; i < ITER; i++) {
    const fired = new Promise((resolve) => (pending = resolve));
    const t0 = performance.now();
    await pg.query('update tasks set status = $1, updated_at = $2 where id = $3', [STATUSES[i % 3], stamp(i), rows[i].id]);
    await fired;
    samples.push(performance.now() - t0);
  }
  await q.unsubscribe();
  await pg.close();
  report(workload, 'pglite', samples, 'PGlite in memory + live extension: UPDATE → live.query callback');
}

function floor(subject, db, rows, workload) {
  const samples = [];
  for (let i = 0; i < ITER; i++) {
    const t0 = performance.now();
    db.update(STATUSES[i % 3], stamp(i), rows[i].id);
    const top = db.list();
    samples.push(performance.now() - t0);
    if (top[0] === undefined) throw new Error(`${subject}: empty result`);
  }
  report(workload, subject, samples, 'no change tracking: UPDATE, then the same query re-run synchronously (the floor)');
}

for (const n of SIZES) {
  const workload = `live-query-${label(n)}`;
  const rows = generateTasks(n, { seed: 7 });
  log(`${workload}: ${n} rows, ${ITER} samples`);
  for (const [subject, fn] of [
    ['electrolite', () => electrolite(rows, workload)],
    ['pglite', () => pglite(rows, workload)],
    ['better-sqlite3', () => {
      const db = betterSqliteWithTasks(rows);
      const upd = db.prepare('UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?');
      const list = db.prepare(LIST_SQL);
      floor('better-sqlite3', { update: (...a) => upd.run(...a), list: () => list.all() }, rows, workload);
      db.close();
    }],
    ['sqlite-wasm-raw', async () => {
      const { db } = await sqliteWasmWithTasks(rows);
      const upd = db.prepare('UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?');
      floor('sqlite-wasm-raw', {
        update: (...a) => upd.bind(a).stepReset(),
        list: () => db.selectArrays(LIST_SQL),
      }, rows, workload);
      upd.finalize();
      db.close();
    }],
  ]) {
    if (process.env.BENCH_LIVE_SUBJECTS && !process.env.BENCH_LIVE_SUBJECTS.split(',').includes(subject)) continue;
    try {
      await fn();
    } catch (err) {
      log(`${workload} ${subject}: ${err.stack}`);
      emitMissing({ workload, subject, reason: err.message });
    }
  }
}
done();
