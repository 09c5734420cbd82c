// On-demand sync end to end against the real dev server and a real PostgreSQL: a shape synced
// with `mode: 'on-demand'` holds nothing until subsets are loaded; pages load by `where`,
// `orderBy`, `limit` and `offset`; server writes racing a subset snapshot are neither lost nor
// applied twice; releasing a page removes its rows (live queries follow); a reopened database
// keeps the subsets it held. `mode: 'progressive'` serves the first screen from a subset and
// then holds the whole shape.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, eventually } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

const FAST = { backoff: { initialMs: 100, maxMs: 400 } };
let stack;
let dir;
before(async () => {
  stack = await startStack({ longPollMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'electrolite-on-demand-'));
});
after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function seed(user, n) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(randomUUID());
  await stack.sql(
    `INSERT INTO tasks (id, user_id, title, priority) SELECT id, $2, 'task ' || ord, ord::int
       FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, ord)`, [ids, user]);
  return ids;
}
const upToDate = (db, id) => db.waitForStatus((s) => s.shapes.some((x) => x.id === id && x.isUpToDate), 30000);
const localRows = async (db) => (await db.query('SELECT id, title, priority FROM tasks ORDER BY priority')).rows;
const pgRows = async (user, where = 'true', params = []) => (await stack.sql(
  `SELECT id::text, title, priority FROM tasks WHERE user_id = $1 AND (${where}) ORDER BY priority`, [user, ...params]));

test('pages load on demand, racing writes are neither lost nor doubled, release removes rows', async () => {
  const user = 'od-alice';
  await seed(user, 120);
  const db = await Electrolite.open({ url: stack.url, token: stack.token(user), autoSubscribe: false, ...FAST });
  try {
    const shapeId = await db.subscribe({ table: 'tasks', mode: 'on-demand' });
    await upToDate(db, shapeId);
    assert.equal((await localRows(db)).length, 0, 'on-demand: nothing before a subset');
    const counts = [];
    const stop = db.live('SELECT count(*) AS n FROM tasks', [], (r) => counts.push(Number(r.rows[0].n)));

    const page1 = await db.loadSubset(shapeId, { orderBy: 'priority', limit: 20 });
    assert.equal(page1.rows, 20);
    assert.deepEqual(await localRows(db), await pgRows(user, 'priority <= 20'));
    const page2 = await db.loadSubset(shapeId, { where: 'priority > $1', params: [20], orderBy: 'priority', limit: 20 });
    assert.equal(page2.rows, 20);
    assert.deepEqual(await localRows(db), await pgRows(user, 'priority <= 40'));
    await eventually(() => counts.at(-1) === 40, 5000, 'the live query sees both pages');

    // Writes to rows of page 3 race its snapshot: each row's title is bumped in its own
    // transaction while the page loads, then once more after.
    const page3Ids = (await pgRows(user, 'priority > 40 AND priority <= 60')).map((r) => r.id);
    const racing = (async () => {
      for (let round = 0; round < 5; round++) {
        for (const id of page3Ids) await stack.sql(`UPDATE tasks SET title = title || '+' WHERE id = $1`, [id]);
      }
    })();
    const page3 = await db.loadSubset(shapeId, { where: 'priority > 40 AND priority <= 60' });
    await racing;
    await stack.sql(`UPDATE tasks SET title = title || '!' WHERE id = ANY($1::uuid[])`, [page3Ids]);
    // A row inserted into the shape arrives through the stream; an update of a row no subset
    // holds does not bring it in.
    const fresh = randomUUID();
    await stack.sql(`INSERT INTO tasks (id, user_id, title, priority) VALUES ($1, $2, 'fresh', 1000)`, [fresh, user]);
    await stack.sql(`UPDATE tasks SET title = 'far away' WHERE user_id = $1 AND priority = 100`, [user]);
    await eventually(async () => {
      const l = await localRows(db);
      return JSON.stringify(l) === JSON.stringify(await pgRows(user, 'priority <= 60 OR priority = 1000')) || null;
    }, 20000, 'local pages equal Postgres after the racing writes');
    for (const r of (await localRows(db)).filter((x) => page3Ids.includes(x.id))) {
      assert.match(r.title, /^task \d+\+{5}!$/, 'every bump exactly once');
    }

    // Release page 1: its rows go (page 2 and 3 stay); releasing twice does nothing more.
    await page1.release();
    await page1.release();
    assert.deepEqual(await localRows(db), await pgRows(user, '(priority > 20 AND priority <= 60) OR priority = 1000'));
    await eventually(() => counts.at(-1) === 41, 5000, 'the live query sees the release');
    // Overlap: page 3 again under another definition, then page 3's first handle released: kept.
    const again = await db.loadSubset(shapeId, { where: 'priority > 50 AND priority <= 60' });
    await page3.release();
    assert.deepEqual((await localRows(db)).map((r) => r.priority).filter((p) => p > 40 && p <= 60),
      Array.from({ length: 10 }, (_, i) => 51 + i));
    // Page 2 loaded a second time (another component showing it): one subset held twice.
    const twice = await db.loadSubset(shapeId, { where: 'priority > $1', params: [20], orderBy: 'priority', limit: 20 });
    assert.equal(twice.id, page2.id);
    await twice.release();
    assert.equal((await localRows(db)).filter((r) => r.priority > 20 && r.priority <= 40).length, 20, 'still held once');
    await again.release();
    await page2.release();
    assert.deepEqual((await localRows(db)).map((r) => r.priority), [1000], 'only the stream-inserted row is left');
    stop();
  } finally {
    await db.close();
  }
});

test('a reopened database keeps the subsets it held and follows their rows', async () => {
  const user = 'od-bob';
  await seed(user, 30);
  const path = join(dir, 'reopen.db');
  let db = await Electrolite.open({ url: stack.url, token: stack.token(user), autoSubscribe: false, storage: { path }, ...FAST });
  const shapeId = await db.subscribe({ table: 'tasks', mode: 'on-demand' });
  await upToDate(db, shapeId);
  const page = await db.loadSubset(shapeId, { where: 'priority <= 10', id: 'first-ten' });
  assert.equal(page.id, 'first-ten');
  await db.close();
  await stack.sql(`UPDATE tasks SET title = 'while closed' WHERE user_id = $1 AND priority = 3`, [user]);
  db = await Electrolite.open({ url: stack.url, token: stack.token(user), autoSubscribe: false, storage: { path }, ...FAST });
  try {
    const held = await db.subsets();
    assert.deepEqual(held.map((s) => [s.id, s.state, s.rows]), [['first-ten', 'loaded', 10]]);
    assert.equal((await localRows(db)).length, 10, 'the rows are there before the network');
    await eventually(async () => (await localRows(db)).find((r) => r.priority === 3)?.title === 'while closed' || null,
      20000, 'a change made while closed arrives');
    const same = await db.loadSubset(shapeId, { where: 'priority <= 10', id: 'first-ten' });
    assert.equal(same.rows, 10);
    await same.release();
    assert.equal((await localRows(db)).length, 0);
    assert.deepEqual(await db.subsets(), []);
  } finally {
    await db.close();
  }
});

test('progressive: the first screen from a subset, then the whole shape', async () => {
  const user = 'od-carol';
  await seed(user, 300);
  const db = await Electrolite.open({ url: stack.url, token: stack.token(user), autoSubscribe: false, ...FAST });
  try {
    const shapeId = await db.subscribe({ table: 'tasks', mode: 'progressive' });
    const first = await db.loadSubset(shapeId, { orderBy: 'priority DESC', limit: 10 });
    const top = (await db.query('SELECT priority FROM tasks ORDER BY priority DESC LIMIT 10')).rows.map((r) => r.priority);
    assert.deepEqual(top, Array.from({ length: 10 }, (_, i) => 300 - i));
    await upToDate(db, shapeId);
    await eventually(() => db.status.shapes.length === 1 || null, 10000, 'the first-screen companion goes');
    assert.deepEqual(await localRows(db), await pgRows(user));
    await first.release();
    assert.equal((await localRows(db)).length, 300, 'the whole shape holds its rows');
    const later = await db.loadSubset(shapeId, { where: 'priority < 5' });
    assert.equal(later.rows, 0, 'subsets are no longer needed');
  } finally {
    await db.close();
  }
});
