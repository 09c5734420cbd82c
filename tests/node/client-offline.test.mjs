// Offline: the network is cut (the proxy refuses connections), 500 local writes across
// tables, then reconnect: every mutation is uploaded exactly once and in order, and every
// client and the database agree.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, eventually, upToDate, uploadedIds } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

test('500 offline writes across tables upload once, in order, after reconnect', async () => {
  const user = 'offline-user';
  const db = await Electrolite.open({ url: stack.proxy.url, token: stack.token(user), uploadIntervalMs: 200, backoff: { initialMs: 100, maxMs: 500 } });
  try {
    await upToDate(db);
    stack.proxy.down();
    await db.waitForStatus((s) => s.isOffline, 10000);

    const tasks = [];
    const order = [];
    for (let i = 0; i < 200; i++) {
      const id = randomUUID();
      tasks.push(id);
      order.push(await db.insert('tasks', { id, user_id: user, title: `t${i}`, status: 'pending', priority: i % 10 }));
    }
    for (let i = 0; i < 100; i++) {
      order.push(await db.update('tasks', { id: tasks[i] }, { title: `t${i} v2`, updated_at: new Date().toISOString() }));
    }
    for (let i = 0; i < 100; i++) {
      order.push(await db.insert('environments', { id: randomUUID(), user_id: user, name: `env ${i}` }));
    }
    for (let i = 0; i < 50; i++) {
      order.push(await db.insert('agent_memory', { id: randomUUID(), user_id: user, agent_type: 'planner', context_key: `k${i}`, content: `c${i}`, importance: 1 + (i % 10) }));
    }
    for (let i = 150; i < 200; i++) order.push(await db.delete('tasks', { id: tasks[i] }));
    assert.equal(order.length, 500);
    assert.equal(new Set(order).size, 500, 'every write has its own mutation id');

    // Local reads see the optimistic state while offline.
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n), 150);
    assert.equal(Number((await db.query(`SELECT count(*) AS n FROM tasks WHERE title LIKE '% v2'`)).rows[0].n), 100);
    const pending = await db.pendingMutations();
    assert.ok(pending.length > 0 && pending.length <= 500);
    assert.ok(db.status.pendingChanges > 0);

    stack.proxy.up();
    const synced = await db.syncNow(60000); // resolves once everything is uploaded and the shapes are up to date
    assert.equal(synced.pendingChanges, 0);
    assert.equal(synced.isUpToDate, true);
    await db.waitForStatus((s) => !s.isOffline, 10000);

    // Uploaded exactly once, in the order they were made.
    const sent = uploadedIds(stack.proxy);
    assert.equal(new Set(sent).size, sent.length, 'no mutation uploaded twice');
    const sentKnown = sent.filter((id) => order.includes(id));
    assert.deepEqual(sentKnown, order.filter((id) => sentKnown.includes(id)), 'uploaded in order');
    assert.equal(sentKnown.length, pending.length);

    // The database agrees.
    const [{ n: pgTasks }] = await stack.sql(`select count(*)::int as n from tasks where user_id = $1`, [user]);
    const [{ n: pgV2 }] = await stack.sql(`select count(*)::int as n from tasks where user_id = $1 and title like '% v2'`, [user]);
    const [{ n: pgEnv }] = await stack.sql(`select count(*)::int as n from environments where user_id = $1`, [user]);
    const [{ n: pgMem }] = await stack.sql(`select count(*)::int as n from agent_memory where user_id = $1`, [user]);
    assert.deepEqual([pgTasks, pgV2, pgEnv, pgMem], [150, 100, 100, 50]);

    // A second client agrees.
    const other = await Electrolite.open({ url: stack.url, token: stack.token(user) });
    try {
      await upToDate(other);
      for (const [table, n] of [['tasks', 150], ['environments', 100], ['agent_memory', 50]]) {
        assert.equal(Number((await other.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n), n, table);
      }
      const mine = (await db.query('SELECT id, title FROM tasks ORDER BY id')).rows;
      const theirs = (await other.query('SELECT id, title FROM tasks ORDER BY id')).rows;
      assert.deepEqual(theirs, mine);
    } finally {
      await other.close();
    }
  } finally {
    await db.close();
  }
});
