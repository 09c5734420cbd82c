// Local writes to synced tables through the client (overlay + outbox, no server involved:
// autoSubscribe is off and uploads wait an hour): typed insert/update/delete in live
// queries, transactions, read-only tables, debug output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Electrolite, ElectroliteError } from '../../dist/js/index.js';
import { eventually } from './client-harness.mjs';

// A port nothing listens on: local-only tests never need the network.
const OFFLINE_URL = 'http://127.0.0.1:9';

async function openLocal(extra = {}) {
  return Electrolite.open({ url: OFFLINE_URL, autoSubscribe: false, uploadIntervalMs: 3600000, ...extra });
}

const task = (title, extra = {}) => ({ id: randomUUID(), user_id: 'u1', title, status: 'pending', priority: 1, ...extra });

test('typed writes to a synced table re-run a live query; unchanged rows keep identity; other tables and unseen columns do not', async () => {
  const db = await openLocal();
  try {
    const results = [];
    const stop = db.live('SELECT id, title, status FROM tasks ORDER BY title', [], (r) => results.push(r));
    await eventually(() => results.length === 1, 5000, 'first result');
    assert.deepEqual(results[0].rows, []);
    assert.ok(results[0].tables.map((t) => t.replace(/__(synced|overlay)$/, '')).includes('tasks'));

    const a = task('a');
    const b = task('b');
    await db.insert('tasks', a);
    await db.insert('tasks', b);
    await eventually(() => results.at(-1).rows.length === 2, 5000, 'two rows');
    const before = results.at(-1);

    await db.update('tasks', { id: b.id }, { status: 'completed' });
    await eventually(() => results.at(-1).rows[1].status === 'completed', 5000, 'update');
    const after = results.at(-1);
    assert.equal(after.rows[0], before.rows[0], 'unchanged row keeps its identity');
    assert.notEqual(after.rows[1], before.rows[1]);

    // A write to another table does not re-run this query.
    const n = results.length;
    await db.insert('environments', { id: randomUUID(), user_id: 'u1', name: 'e' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, n);

    // A write that leaves the result unchanged does not call back.
    await db.update('tasks', { id: a.id }, { priority: 5 });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, n, 'priority is not selected: same result, no callback');

    stop();
    await db.insert('tasks', task('c'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, n, 'no callback after unsubscribe');
  } finally {
    await db.close();
  }
});

test('liveQuery observer over a synced table sees an optimistic insert', async () => {
  const db = await openLocal();
  try {
    const q = db.liveQuery('SELECT count(*) AS n FROM tasks');
    await q.ready;
    assert.equal(Number(q.getSnapshot().rows[0].n), 0);
    let calls = 0;
    const off = q.subscribe(() => calls++);
    await db.insert('tasks', task('x'));
    await eventually(() => Number(q.getSnapshot().rows[0].n) === 1, 5000, 'count 1');
    assert.equal(calls, 1);
    off();
    q.dispose();
  } finally {
    await db.close();
  }
});

test('transaction: rows and outbox entries commit together, roll back on throw; other calls wait', async () => {
  const db = await openLocal();
  try {
    const t1 = task('t1');
    const t2 = task('t2');
    await db.transaction(async (tx) => {
      await tx.insert('tasks', t1);
      await tx.insert('tasks', t2);
      const inside = await tx.query('SELECT count(*) AS n FROM tasks');
      assert.equal(Number(inside.rows[0].n), 2);
    });
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n), 2);

    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.insert('tasks', task('t3'));
        throw new Error('app bug');
      }),
      /app bug/,
    );
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n), 2, 'rolled back');
    const pending = await db.pendingMutations();
    assert.equal(pending.length, 2, 'the rolled-back write left no outbox entry');

    // A call made while a transaction is open runs after it.
    let release;
    const gate = new Promise((r) => (release = r));
    const txDone = db.transaction(async (tx) => {
      await gate;
      await tx.insert('tasks', task('t4'));
    });
    const outside = db.query('SELECT count(*) AS n FROM tasks');
    release();
    await txDone;
    assert.equal(Number((await outside).rows[0].n), 3);
  } finally {
    await db.close();
  }
});

test('write errors: invalid input, unknown table, read-only table (read_only); closed database', async () => {
  const db = await openLocal();
  await assert.rejects(db.query('SELEKT 1'), (e) => e instanceof ElectroliteError && e.name === 'ElectroliteError' && typeof e.code === 'string');
  await assert.rejects(db.query(''), (e) => e.code === 'invalid_argument');
  await assert.rejects(db.query('SELECT 1', 'x'), (e) => e.code === 'invalid_argument');
  await assert.rejects(db.insert('tasks', null), (e) => e.code === 'invalid_argument');
  await assert.rejects(db.insert('no_such_table', { id: 1 }), (e) => e instanceof ElectroliteError);
  await assert.rejects(db.insert('workflows', { id: randomUUID(), user_id: 'u1', name: 'w', definition: '{}' }), (e) => e.code === 'read_only');
  const ok = await db.query('SELECT 1 AS one');
  assert.deepEqual(ok.rows, [{ one: 1 }]);
  await db.close();
  await assert.rejects(db.query('SELECT 1'), (e) => e.code === 'closed');
  await db.close(); // idempotent
});

test('debug logging: nothing when off; connection lines when on', async () => {
  const quiet = [];
  const db1 = await openLocal({ debug: false, logger: (l) => quiet.push(l) });
  await db1.insert('tasks', task('q'));
  await db1.close();
  assert.deepEqual(quiet, []);

  const lines = [];
  const db2 = await Electrolite.open({ url: OFFLINE_URL, debug: true, logger: (l) => lines.push(l), backoff: { initialMs: 50, maxMs: 100 } });
  try {
    await eventually(() => lines.some((l) => /\[electrolite\] connection: /.test(l)), 5000, 'a connection line');
  } finally {
    await db2.close();
  }
});

test('a local write is stamped with the current time even after the engine was idle', async () => {
  const db = await openLocal();
  try {
    await new Promise((r) => setTimeout(r, 1500)); // no engine input meanwhile (no network, no timers)
    const before = Date.now();
    const t = task('stamped');
    await db.insert('tasks', t);
    const { rows } = await db.query('SELECT created_at, updated_at FROM tasks WHERE id = $1', [t.id]);
    assert.ok(Date.parse(rows[0].updated_at) >= before - 50, `updated_at ${rows[0].updated_at} is not older than the write (${new Date(before).toISOString()})`);
  } finally {
    await db.close();
  }
});
