// useSubset's observer (react/subset-observer.ts), without React, on the real client and wasm
// engine against the dev server over a real PostgreSQL: loading until the subset's rows are
// local, the rows count; a remount within the keep-alive loads nothing again; a component that
// moves to the next page keeps the last page's rows until the keep-alive lets them go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Electrolite } from '../../dist/js/index.js';
import { SubsetObserver } from '../../dist/react/index.js';
import { eventually } from './client-harness.mjs';
import { startStack } from './react-support.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

async function seed(user, n) {
  for (let i = 1; i <= n; i++) {
    await stack.sql.query('INSERT INTO tasks (id, user_id, title, priority) VALUES ($1, $2, $3, $4)', [randomUUID(), user, `t${i}`, i]);
  }
}
const priorities = async (db) => (await db.query('SELECT priority FROM tasks ORDER BY priority')).rows.map((r) => r.priority);
function watch(observer) {
  const seen = [observer.getSnapshot()];
  const stop = observer.subscribe(() => seen.push(observer.getSnapshot()));
  return { seen, stop };
}

test('useSubset observer: loading → rows local; remount reuses; the next page replaces the last', async () => {
  const user = 'rs-alice';
  await seed(user, 30);
  const db = await Electrolite.open({ url: stack.url, token: await stack.token(user), autoSubscribe: false });
  try {
    const shape = { table: 'tasks' };
    const page1 = new SubsetObserver(db, shape, { orderBy: 'priority', limit: 10 });
    const a = watch(page1);
    assert.equal(a.seen[0].loading, true);
    await eventually(() => page1.getSnapshot().loading === false || null, 20000, 'page 1 loads');
    assert.deepEqual(page1.getSnapshot(), { loading: false, error: null, rows: 10 });
    assert.deepEqual(await priorities(db), Array.from({ length: 10 }, (_, i) => i + 1));
    // Unmount and remount (StrictMode, a route change and back): nothing is loaded again.
    a.stop();
    const b = watch(page1);
    assert.equal(b.seen[0].loading, false);
    assert.equal((await db.subsets()).length, 1);
    // The next page: its rows arrive while page 1's are still there; then page 1's go.
    const page2 = new SubsetObserver(db, shape, { orderBy: 'priority', limit: 10, offset: 10 });
    const c = watch(page2);
    b.stop();
    await eventually(() => page2.getSnapshot().loading === false || null, 20000, 'page 2 loads');
    assert.equal((await priorities(db)).length, 20, 'both pages while the keep-alive runs');
    await eventually(async () => (await priorities(db))[0] === 11 || null, 15000, 'page 1 released after the keep-alive');
    assert.deepEqual(await priorities(db), Array.from({ length: 10 }, (_, i) => i + 11));
    c.stop();
    await page2.release();
    assert.deepEqual(await priorities(db), []);
    assert.deepEqual(await db.subsets(), []);
    // A refused subset ends loading with the server's error.
    const bad = new SubsetObserver(db, shape, { where: 'no_such_column = 1' });
    const d = watch(bad);
    await eventually(() => bad.getSnapshot().loading === false || null, 20000, 'the refusal arrives');
    assert.ok(bad.getSnapshot().error instanceof Error);
    d.stop();
  } finally {
    await db.close();
  }
});
