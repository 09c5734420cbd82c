// Subquery shapes end to end against the real dev server and a real PostgreSQL: "the tasks of my
// active environments". Environments turning active or inactive, tasks moving between them,
// and a second shape (subquery or plain) holding some of the same rows move rows in and out of the
// local database;
// after each step the local rows equal Postgres' answer to the same query, and a live query
// over them follows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, eventually } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

const ACTIVE = 'environment_id IN (SELECT id FROM environments WHERE is_active)';
const SHARED = "environment_id IN (SELECT id FROM environments WHERE name = 'shared')";
let stack;
before(async () => { stack = await startStack({ longPollMs: 1000 }); });
after(async () => { await stack?.stop(); });

const env = async (user, active, name = 'env') => {
  const id = randomUUID();
  await stack.sql('INSERT INTO environments (id, user_id, name, is_active) VALUES ($1, $2, $3, $4)', [id, user, name, active]);
  return id;
};
const task = async (user, envId, title) => {
  const id = randomUUID();
  await stack.sql('INSERT INTO tasks (id, user_id, title, environment_id) VALUES ($1, $2, $3, $4)', [id, user, title, envId]);
  return id;
};
/** Postgres' answer: the user's tasks in any of `wheres` (the server applies the user's rules). */
const want = async (user, wheres) => (await stack.sql(
  `SELECT id::text FROM tasks WHERE user_id = $1 AND (${wheres.map((w) => `(${w.replaceAll('environments WHERE', 'environments WHERE user_id = $1 AND')})`).join(' OR ')}) ORDER BY id`,
  [user])).map((r) => r.id);
const local = async (db) => (await db.query('SELECT id FROM tasks ORDER BY id')).rows.map((r) => r.id);
const same = (db, user, wheres, what) => eventually(async () => {
  const [l, w] = [await local(db), await want(user, wheres)];
  return JSON.stringify(l) === JSON.stringify(w) || null;
}, 30000, what);

test('membership changes move rows in and out; the local rows equal Postgres', async () => {
  const u = 'sq-alice';
  const [e1, e2, e3] = [await env(u, true, 'shared'), await env(u, false), await env(u, true)];
  const foreign = await env('sq-bob', true);
  const tasks = [];
  for (let i = 0; i < 24; i++) tasks.push(await task(u, [e1, e2, e3][i % 3], `t${i}`));
  await task('sq-bob', foreign, 'bob');
  await task(u, null, 'in no environment');
  const db = await Electrolite.open({ url: stack.url, token: stack.token(u), autoSubscribe: false });
  try {
    await db.subscribe({ table: 'tasks', where: ACTIVE });
    await db.waitForStatus((s) => s.shapes.length === 1 && s.shapes.every((x) => x.isUpToDate), 30000);
    assert.deepEqual(await local(db), await want(u, [ACTIVE]));
    assert.equal((await local(db)).length, 16);
    const counts = [];
    const stop = db.live('SELECT count(*) AS n FROM tasks', [], (r) => counts.push(Number(r.rows[0].n)));
    await eventually(() => counts.at(-1) === 16, 5000, 'first live result');

    // An environment leaves the subquery: its 8 tasks move out.
    await stack.sql('UPDATE environments SET is_active = false WHERE id = $1', [e1]);
    await same(db, u, [ACTIVE], 'move-out');
    assert.equal((await local(db)).length, 8);
    await eventually(() => counts.at(-1) === 8, 5000, 'the live query sees the move-out');
    // Another enters it: its 8 tasks move in.
    await stack.sql('UPDATE environments SET is_active = true WHERE id = $1', [e2]);
    await same(db, u, [ACTIVE], 'move-in');
    // A task moves between environments (removed_tags), one moves out of every active one.
    await stack.sql('UPDATE tasks SET environment_id = $2 WHERE id = $1', [tasks[1], e3]);
    await stack.sql('UPDATE tasks SET environment_id = $2 WHERE id = $1', [tasks[2], e1]);
    await same(db, u, [ACTIVE], 'tasks moved between environments');
    // A second shape holds e1's tasks (named 'shared'): they come back, and stay when e3 and e1 both flip.
    await db.subscribe({ table: 'tasks', where: SHARED });
    await same(db, u, [ACTIVE, SHARED], 'second shape');
    await stack.sql('UPDATE environments SET is_active = true WHERE id = $1', [e1]);
    await stack.sql('UPDATE environments SET is_active = false WHERE id = $1', [e1]);
    await same(db, u, [ACTIVE, SHARED], 'held by the second shape');
    assert.ok((await local(db)).includes(tasks[0]), "a row the second shape holds stays");
    await stack.sql("UPDATE environments SET name = 'renamed' WHERE id = $1", [e1]);
    await same(db, u, [ACTIVE, SHARED], 'left both shapes');
    assert.ok(!(await local(db)).includes(tasks[0]));
    // Deleting an environment moves its tasks out; a new task in an active one arrives.
    await stack.sql('DELETE FROM environments WHERE id = $1', [e3]);
    const late = await task(u, e2, 'late');
    await same(db, u, [ACTIVE, SHARED], 'environment deleted, task added');
    assert.ok((await local(db)).includes(late));
    // Another user's environment never brings rows.
    await stack.sql('UPDATE environments SET is_active = false WHERE id = $1', [foreign]);
    await stack.sql('UPDATE environments SET is_active = true WHERE id = $1', [foreign]);
    await same(db, u, [ACTIVE, SHARED], 'foreign environment');
    stop();
  } finally {
    await db.close();
  }
});

test('a plain shape and a subquery shape on one table: a row leaves only when neither holds it', async () => {
  const u = 'sq-carol';
  const PLAIN = "title LIKE 'p%'";
  const e = await env(u, true);
  const [p0, p1, q0, p2] = [await task(u, e, 'p0'), await task(u, e, 'p1'), await task(u, e, 'q0'),
    await task(u, null, 'p2')];
  const db = await Electrolite.open({ url: stack.url, token: stack.token(u), autoSubscribe: false });
  try {
    const plain = await db.subscribe({ table: 'tasks', where: PLAIN });
    await db.waitForStatus((s) => s.shapes.length === 1 && s.shapes.every((x) => x.isUpToDate), 30000);
    assert.deepEqual(await local(db), await want(u, [PLAIN]));
    // The subquery shape joins after the plain shape's snapshot.
    await db.subscribe({ table: 'tasks', where: ACTIVE });
    await same(db, u, [PLAIN, ACTIVE], 'both shapes');
    assert.ok((await local(db)).includes(q0));
    // The environment turns inactive: q0 leaves, the plain shape keeps p0 and p1.
    await stack.sql('UPDATE environments SET is_active = false WHERE id = $1', [e]);
    await same(db, u, [PLAIN, ACTIVE], 'moved out of the subquery shape');
    assert.ok((await local(db)).includes(p0) && !(await local(db)).includes(q0));
    // p0 leaves the plain shape's where too: gone.
    await stack.sql("UPDATE tasks SET title = 'x0' WHERE id = $1", [p0]);
    await same(db, u, [PLAIN, ACTIVE], 'left both shapes');
    assert.ok(!(await local(db)).includes(p0));
    // p1 leaves the plain shape while the subquery shape holds it again: it stays.
    await stack.sql('UPDATE environments SET is_active = true WHERE id = $1', [e]);
    await same(db, u, [PLAIN, ACTIVE], 'moved back in');
    await stack.sql("UPDATE tasks SET title = 'x1' WHERE id = $1", [p1]);
    await same(db, u, [PLAIN, ACTIVE], 'held by the subquery shape');
    assert.ok((await local(db)).includes(p1));
    // Unsubscribing the plain shape takes the rows only it held (p2).
    await db.unsubscribe(plain);
    await same(db, u, [ACTIVE], 'plain shape unsubscribed');
    assert.ok(!(await local(db)).includes(p2));
  } finally {
    await db.close();
  }
});
