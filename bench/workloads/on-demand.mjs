// Workloads `subset-page`, `first-screen` and `paging-heap`: on-demand sync (a shape with
// `mode: 'on-demand'` or `'progressive'`, js/subsets.ts) against the dev server on a throw-away
// PostgreSQL (tests/support/server.mjs), from the same Node process over loopback, so client
// and server share the 2 cores. The `tasks` table holds N rows of one user (index on priority,
// as an app paging by it would have).
//
//   subset-page   rows/s of one 10,000-row subset page (keyset: `priority > $1`, ordered by
//                 priority), from loadSubset to the rows being local (server query included).
//   first-screen  ms from subscribe until the first screen (50 rows by priority DESC) is local:
//                 `progressive` (a 50-row subset, the whole shape behind it) vs `full` (the
//                 whole shape up to date, then the query); on a fresh database each run, with
//                 the server's shapes already created by an untimed first run.
//   paging-heap   the wasm heap (linear memory, only grows: the peak) after paging through the
//                 whole table 10,000 rows at a time, each page released once the next is in;
//                 the note gives the rows/s of the walk. DESIGN.md budgets 64 MB for a 100k-row
//                 database: paging never holds more than two pages.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { QUICK, ROOT, done, emit, log, requireBuilt } from './common.mjs';

requireBuilt('dist/server/index.js', 'dist/js/index.js', 'dist/wasm/electrolite.wasm');
const { startStack } = await import(pathToFileURL(join(ROOT, 'tests/support/server.mjs')).href);
const { Electrolite } = await import(pathToFileURL(join(ROOT, 'dist/js/index.js')).href);
const { loadEngineModule } = await import(pathToFileURL(join(ROOT, 'dist/js/wasm-loader.js')).href);

const N = Number(process.env.BENCH_ON_DEMAND_ROWS ?? (QUICK ? 100000 : 1000000));
const SCREEN_ROWS = Number(process.env.BENCH_FIRST_SCREEN_TABLE ?? 100000);
const PAGE = 10000;
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const MB = 1024 * 1024;
const s = await startStack({ server: { longPollMs: 20000 } });

async function open() {
  let mod;
  const db = await Electrolite.open({ url: s.url, autoSubscribe: false, uploadIntervalMs: 3600000 },
    { loadModule: async () => (mod = await loadEngineModule()) });
  return { db, heap: () => mod.HEAPU8.buffer.byteLength };
}
const upToDate = (db, id) => db.waitForStatus((st) => st.shapes.some((x) => x.id === id && x.isUpToDate), 600000);

try {
  log(`on-demand: seeding ${N} tasks`);
  await s.sql(`INSERT INTO tasks (id, user_id, title, description, status, priority)
    SELECT gen_random_uuid(), 'u', 'task ' || g, 'description of task ' || g || ' with some text to make it realistic',
           (array['pending','in_progress','completed','failed','cancelled'])[1 + g % 5], g
    FROM generate_series(1, $1::int) g`, [N]);
  await s.sql('CREATE INDEX tasks_priority ON tasks (priority)');
  await s.sql('ANALYZE tasks');

  // ---- one subset page ----
  const rates = [];
  for (let run = 0; run < RUNS; run++) {
    const { db } = await open();
    const shapeId = await db.subscribe({ table: 'tasks', mode: 'on-demand' });
    await upToDate(db, shapeId);
    const from = Math.floor(N / 2) + run * PAGE;
    const t0 = performance.now();
    const page = await db.loadSubset(shapeId, { where: 'priority > $1', params: [from], orderBy: 'priority', limit: PAGE, timeoutMs: 120000 });
    const ms = performance.now() - t0;
    if (page.rows !== PAGE) throw new Error(`page held ${page.rows}`);
    rates.push(PAGE / (ms / 1000));
    await db.close();
  }
  emit({ workload: 'subset-page', subject: 'electrolite', values: rates, unit: 'rows/s', better: 'higher',
    note: `${PAGE}-row page of a ${N}-row table, dev server + PostgreSQL on loopback` });

  // ---- paging through the whole table ----
  // Before the first-screen runs: their UPDATEs of every row keep the server's replication busy
  // for seconds after, which the walk would measure instead of its pages.
  {
    const { db, heap } = await open();
    const shapeId = await db.subscribe({ table: 'tasks', mode: 'on-demand' });
    await upToDate(db, shapeId);
    const heapBefore = heap();
    let last = 0;
    let held;
    let seen = 0;
    let maxLocal = 0;
    const spent = { load: 0, release: 0, query: 0 }; // ms per step, summed over the walk
    let pages = 0;
    const t0 = performance.now();
    for (;;) {
      let t = performance.now();
      const page = await db.loadSubset(shapeId, { where: 'priority > $1', params: [last], orderBy: 'priority', limit: PAGE, timeoutMs: 120000 });
      spent.load += performance.now() - t;
      t = performance.now();
      await held?.release();
      spent.release += performance.now() - t;
      held = page;
      if (page.rows === 0) break;
      seen += page.rows;
      pages++;
      t = performance.now();
      const r = await db.query('SELECT count(*) AS n, max(priority) AS top FROM tasks');
      spent.query += performance.now() - t;
      maxLocal = Math.max(maxLocal, Number(r.rows[0].n));
      last = Number(r.rows[0].top);
    }
    const secs = (performance.now() - t0) / 1000;
    await held?.release();
    if (seen !== N) throw new Error(`paged ${seen} of ${N}`);
    emit({ workload: 'paging-heap', subject: 'electrolite', values: [heap() / MB], unit: 'MB',
      note: `${N} rows paged ${PAGE} at a time in ${secs.toFixed(1)} s (${Math.round(N / secs)} rows/s); per page ${Math.round(spent.load / pages)} ms loading, ${Math.round(spent.release / pages)} ms releasing the last, ${Math.round(spent.query / pages)} ms querying; at most ${maxLocal} rows local; heap after open ${(heapBefore / MB).toFixed(1)} MB` });
    await db.close();
  }
  // ---- first screen: progressive vs full (on the first SCREEN_ROWS rows: a user's table) ----
  await s.sql(`UPDATE tasks SET user_id = 'screen' WHERE priority <= $1`, [SCREEN_ROWS]);
  for (const mode of ['progressive', 'full']) {
    const times = [];
    for (let run = -1; run < RUNS; run++) { // run -1: the server's shapes are created (not timed)
      const { db } = await open();
      const t0 = performance.now();
      const shapeId = await db.subscribe({ table: 'tasks', where: "user_id = 'screen'", mode });
      if (mode === 'progressive') {
        await db.loadSubset(shapeId, { orderBy: 'priority DESC', limit: 50, timeoutMs: 120000 });
      } else {
        await upToDate(db, shapeId);
      }
      const top = await db.query('SELECT priority FROM tasks ORDER BY priority DESC LIMIT 50');
      if (run >= 0) times.push(performance.now() - t0);
      if (top.rows.length !== 50 || top.rows[0].priority !== SCREEN_ROWS) throw new Error(`${mode}: wrong first screen`);
      await db.close();
    }
    emit({ workload: 'first-screen', subject: mode, values: times, unit: 'ms',
      note: `${SCREEN_ROWS}-row shape; 50 rows by priority DESC` });
  }
  await s.sql(`UPDATE tasks SET user_id = 'u' WHERE user_id = 'screen'`);

} finally {
  await s.stop();
  done();
}
