// On-demand paging through a 1,000,000-row table (ELECTROLITE_TEST_ROWS to change) against the
// real dev server and a real PostgreSQL: every row is seen exactly once, in order, the local
// table never holds more than two pages, and the wasm heap stays within the 64 MB budget
// (DESIGN: heap ≤ 64 MB at 100k rows; here 1M rows pass through it). No timing is asserted;
// bench/workloads/on-demand.mjs measures the walk's speed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

const N = Number(process.env.ELECTROLITE_TEST_ROWS ?? 1_000_000);
const PAGE = 10_000;
const HEAP_BUDGET = 64 * 1024 * 1024;
const USER = 'million';
let stack;

before(async () => {
  stack = await startStack({ longPollMs: 1000 });
  // Seeded before any shape exists, without the change-capture triggers (replica role):
  // no client could have seen these rows as changes, and the server need not harvest them.
  await stack.sql(`DO $$ BEGIN
    SET LOCAL session_replication_role = replica;
    INSERT INTO tasks (id, user_id, title, description, status, priority)
      SELECT gen_random_uuid(), '${USER}', 'task ' || g, 'description of task ' || g,
             (array['pending','in_progress','completed'])[1 + g % 3], g
      FROM generate_series(1, ${N}) g;
  END $$`);
  await stack.sql('CREATE UNIQUE INDEX tasks_priority_million ON tasks (priority) WHERE user_id = \'million\'');
  await stack.sql('ANALYZE tasks');
});
after(async () => { await stack?.stop(); });

test(`paging through ${N.toLocaleString('en')} rows on demand: each row once, two pages local at most, heap within budget`, async (t) => {
  let mod;
  const db = await Electrolite.open(
    { url: stack.url, token: stack.token(USER), autoSubscribe: false, uploadIntervalMs: 3_600_000 },
    { loadModule: async () => (mod = await loadEngineModule()) });
  try {
    const shapeId = await db.subscribe({ table: 'tasks', mode: 'on-demand' });
    await db.waitForStatus((s) => s.shapes.some((x) => x.id === shapeId && x.isUpToDate), 60_000);
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n), 0, 'nothing local before a subset');
    let last = 0;
    let held;
    let seen = 0;
    let maxLocal = 0;
    let maxHeap = mod.HEAPU8.buffer.byteLength;
    for (;;) {
      const page = await db.loadSubset(shapeId, { where: 'priority > $1', params: [last], orderBy: 'priority', limit: PAGE, timeoutMs: 120_000 });
      const r = (await db.query('SELECT count(*) AS n, min(priority) AS lo, max(priority) AS hi FROM tasks WHERE priority > ?', [last])).rows[0];
      maxLocal = Math.max(maxLocal, Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n));
      await held?.release();
      held = page;
      if (page.rows === 0) break;
      assert.equal(Number(r.n), page.rows, `page after ${last}: the rows it loaded are local`);
      assert.equal(Number(r.lo), last + 1, `page after ${last} starts right after it`);
      seen += page.rows;
      last = Number(r.hi);
      maxHeap = Math.max(maxHeap, mod.HEAPU8.buffer.byteLength);
    }
    await held?.release();
    assert.equal(seen, N, 'every row seen once');
    assert.equal(last, N, 'up to the last row');
    assert.ok(maxLocal <= 2 * PAGE, `at most two pages local (${maxLocal})`);
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n), 0, 'all released at the end');
    t.diagnostic(`${N} rows in ${PAGE}-row pages; at most ${maxLocal} rows local; wasm heap at most ${(maxHeap / 1048576).toFixed(1)} MB`);
    assert.ok(maxHeap <= HEAP_BUDGET, `wasm heap ${(maxHeap / 1048576).toFixed(1)} MB within ${HEAP_BUDGET / 1048576} MB`);
  } finally {
    await db.close();
  }
});
