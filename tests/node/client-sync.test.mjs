// End to end against the real dev server and a real PostgreSQL: initial sync of 10,000
// tasks, then server-side insert/update/delete arrive in a live query; another user's rows
// never arrive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, eventually } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

let stack;
before(async () => {
  stack = await startStack();
  await stack.sql(
    `insert into tasks (id, user_id, title, status, priority)
     select gen_random_uuid(), 'alice', 'task ' || g, 'pending', g % 10 from generate_series(1, 10000) g`,
  );
  await stack.sql(`insert into tasks (id, user_id, title) values (gen_random_uuid(), 'bob', 'bob secret task')`);
});
after(async () => {
  await stack?.stop();
});

test('10,000 tasks sync, then live server-side insert/update/delete reach a live query', async () => {
  const t0 = Date.now();
  const db = await Electrolite.open({ url: stack.url, token: stack.token('alice') });
  try {
    await db.waitForStatus((s) => s.isUpToDate && s.shapes.length > 0 && s.shapes.every((sh) => sh.isUpToDate), 60000);
    const initialMs = Date.now() - t0;
    const { rows } = await db.query('SELECT count(*) AS n FROM tasks');
    assert.equal(Number(rows[0].n), 10000);
    const foreign = await db.query(`SELECT count(*) AS n FROM tasks WHERE user_id <> 'alice'`);
    assert.equal(Number(foreign.rows[0].n), 0, "another user's rows must not reach the client");
    assert.equal(db.status.connection, 'connected');
    assert.ok(db.status.lastSyncedAt > 0);
    console.log(`# initial sync of 10,000 tasks: ${initialMs} ms`);

    const results = [];
    const stop = db.live(`SELECT id, title, status FROM tasks WHERE title LIKE 'live %' ORDER BY title`, [], (r) => results.push(r));
    await eventually(() => results.length >= 1, 5000, 'first live result');
    assert.deepEqual(results.at(-1).rows, []);

    const a = randomUUID();
    const b = randomUUID();
    await stack.sql(`insert into tasks (id, user_id, title) values ($1, 'alice', 'live a'), ($2, 'alice', 'live b')`, [a, b]);
    await eventually(() => results.at(-1).rows.length === 2, 30000, 'server insert in the live query');
    const afterInsert = results.at(-1);
    assert.deepEqual(afterInsert.rows.map((r) => r.id), [a, b]);

    await stack.sql(`update tasks set status = 'completed', updated_at = now() where id = $1`, [b]);
    await eventually(() => results.at(-1).rows[1]?.status === 'completed', 30000, 'server update in the live query');
    const afterUpdate = results.at(-1);
    assert.equal(afterUpdate.rows[0], afterInsert.rows[0], 'the unchanged row keeps its identity');
    assert.notEqual(afterUpdate.rows[1], afterInsert.rows[1]);

    await stack.sql(`delete from tasks where id = $1`, [a]);
    await eventually(() => results.at(-1).rows.length === 1, 30000, 'server delete in the live query');
    assert.equal(results.at(-1).rows[0], afterUpdate.rows[1], 'the surviving row keeps its identity');

    // A live query is re-run only for tables it reads: a change to environments does not re-run it.
    const runs = results.length;
    await stack.sql(`insert into environments (id, user_id, name) values ($1, 'alice', 'env')`, [randomUUID()]);
    await eventually(async () => Number((await db.query('SELECT count(*) AS n FROM environments')).rows[0].n) === 1, 30000, 'environment synced');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, runs, 'no callback for an unrelated table');
    stop();

    const final = await db.query('SELECT count(*) AS n FROM tasks');
    assert.equal(Number(final.rows[0].n), 10001);
  } finally {
    await db.close();
  }
});

test('an added shape with a where clause syncs, and dropping it stops it', async () => {
  const env = randomUUID();
  await stack.sql(`insert into tasks (id, user_id, title, environment_id) values ($1, 'alice', 'in env', $2)`, [randomUUID(), env]);
  const db = await Electrolite.open({ url: stack.url, token: stack.token('alice'), autoSubscribe: false });
  try {
    const id = await db.subscribe({ table: 'tasks', where: 'environment_id = $1', params: [env] });
    assert.equal(typeof id, 'string');
    await eventually(async () => Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n) === 1, 30000, 'where-shape rows');
    const { rows } = await db.query('SELECT title FROM tasks');
    assert.equal(rows[0].title, 'in env');
    await db.unsubscribe(id);
    assert.ok(!db.status.shapes.some((s) => s.id === id) || (await db.waitForStatus((s) => !s.shapes.some((x) => x.id === id), 5000)));
  } finally {
    await db.close();
  }
});

test('debug logging: connection events, each sync with shape/rows/bytes/ms, periodic performance line', async () => {
  const lines = [];
  const db = await Electrolite.open({ url: stack.url, token: stack.token('alice'), debug: true, logger: (l) => lines.push(l), perfLogIntervalMs: 200 });
  try {
    await db.waitForStatus((s) => s.isUpToDate && s.shapes.every((x) => x.isUpToDate), 60000);
    await eventually(() => lines.some((l) => l.includes('perf:')), 5000, 'a perf line');
    assert.ok(lines.some((l) => /^\[electrolite\] connection: .*-> connected/.test(l)), 'connection event');
    const sync = lines.find((l) => l.includes('sync: shape=tasks'));
    assert.match(sync, /sync: shape=tasks table=tasks rows=\d+ bytes=[\d.]+(B|KB|MB) ms=\d+/);
    assert.match(lines.find((l) => l.includes('perf:')), /requests=\d+ failed=\d+ in=[\d.]+(B|KB|MB) out=/);
  } finally {
    await db.close();
  }
  // Quiet by default: no logger calls at all.
  const quiet = [];
  const db2 = await Electrolite.open({ url: stack.url, token: stack.token('alice'), logger: (l) => quiet.push(l) });
  await db2.waitForStatus((s) => s.isUpToDate, 60000);
  await db2.close();
  assert.deepEqual(quiet, []);
});

test('a hidden page pauses the shape stream; on return the client catches up', async () => {
  const db = await Electrolite.open({ url: stack.url, token: stack.token('alice') });
  try {
    await db.waitForStatus((s) => s.isUpToDate && s.shapes.every((x) => x.isUpToDate), 60000);
    const before = Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n);
    await db.setVisible(false);
    await new Promise((r) => setTimeout(r, 200)); // requests already on the wire reach the proxy
    const mark = stack.proxy.log.length;
    await stack.sql(`insert into tasks (id, user_id, title) values ($1, 'alice', 'while hidden')`, [randomUUID()]);
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(stack.proxy.log.slice(mark).filter((r) => r.url.startsWith('/v1/shape')).map((r) => r.url), [], 'no shape requests while hidden');
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n), before);
    await db.setVisible(true);
    await eventually(async () => Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n) === before + 1, 30000, 'catch-up after return');
  } finally {
    await db.close();
  }
});

test('offline from the platform (navigator.onLine events): no requests, status offline, resumes online', async () => {
  const db = await Electrolite.open({ url: stack.url, token: stack.token('alice') });
  try {
    await db.waitForStatus((s) => s.isUpToDate && s.shapes.every((x) => x.isUpToDate), 60000);
    await db.setOnline(false);
    assert.equal(db.status.isOffline, true);
    await new Promise((r) => setTimeout(r, 200)); // requests already on the wire reach the proxy
    const mark = stack.proxy.log.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(stack.proxy.log.slice(mark).map((r) => r.url), [], 'no requests while offline');
    await db.setOnline(true);
    await db.waitForStatus((s) => !s.isOffline && s.connection === 'connected', 30000);
  } finally {
    await db.close();
  }
});
