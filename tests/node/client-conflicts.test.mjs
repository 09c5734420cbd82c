// Two clients edit the same rows while offline, for each policy (last-write-wins,
// server-wins, importance, a custom resolver). B reconnects first, then A: both clients and
// PostgreSQL converge to the policy's answer; conflict events and metrics match.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, startFaultProxy, eventually } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const upToDate = (db, ms = 30000) => db.waitForStatus((s) => s.isUpToDate && s.shapes.length > 0 && s.shapes.every((x) => x.isUpToDate), ms);

async function pair(user, resolvers) {
  const proxies = [await startFaultProxy(stack.serverUrl), await startFaultProxy(stack.serverUrl)];
  const open = (p) =>
    Electrolite.open({ url: p.url, token: stack.token(user), uploadIntervalMs: 100, backoff: { initialMs: 100, maxMs: 500 }, resolvers });
  const [a, b] = [await open(proxies[0]), await open(proxies[1])];
  await Promise.all([upToDate(a), upToDate(b)]);
  const conflicts = { a: [], b: [] };
  a.onConflict((c) => conflicts.a.push(c));
  b.onConflict((c) => conflicts.b.push(c));
  return {
    a, b, conflicts,
    async bothOffline() {
      proxies.forEach((p) => p.down());
      await Promise.all([a.waitForStatus((s) => s.isOffline, 10000), b.waitForStatus((s) => s.isOffline, 10000)]);
    },
    /** B reconnects and uploads first, then A. */
    async reconnectBThenA() {
      proxies[1].up();
      await b.waitForStatus((s) => s.pendingChanges === 0 && !s.isOffline, 30000);
      proxies[0].up();
      await a.waitForStatus((s) => s.pendingChanges === 0 && !s.isOffline, 30000);
    },
    async close() {
      await a.close();
      await b.close();
      for (const p of proxies) await p.close();
    },
  };
}

async function converge(p, sql, params, expected, what) {
  for (const db of [p.a, p.b]) {
    await eventually(async () => JSON.stringify((await db.query(sql, params)).rows) === JSON.stringify(expected), 30000, what);
  }
}

function conflictCount(metrics, table, policy) {
  // metrics.conflicts: by table/policy/outcome (engine metrics JSON).
  const c = metrics.conflicts ?? {};
  let n = 0;
  const walk = (v, path) => {
    if (typeof v === 'number') {
      if (path.includes(table) && path.includes(policy)) n += v;
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k, ...(typeof x === 'object' && !Array.isArray(x) ? [] : [])]);
      if (Array.isArray(v)) for (const x of v) if (x.table === table && x.policy === policy) n += Number(x.count ?? 1);
    }
  };
  walk(c, []);
  return n;
}

test('last-write-wins (tasks): the later updated_at wins whoever uploads last', async () => {
  const user = 'lww';
  const [r1, r2] = [randomUUID(), randomUUID()];
  await stack.sql(`insert into tasks (id, user_id, title, updated_at) values ($1, $3, 'orig1', '2026-01-01T00:00:00Z'), ($2, $3, 'orig2', '2026-01-01T00:00:00Z')`, [r1, r2, user]);
  const p = await pair(user);
  try {
    await p.bothOffline();
    // r1: A is later; r2: B is later. B uploads first in both cases.
    await p.a.update('tasks', { id: r1 }, { title: 'A1', updated_at: '2026-01-01T00:00:10Z' });
    await p.b.update('tasks', { id: r1 }, { title: 'B1', updated_at: '2026-01-01T00:00:05Z' });
    await p.a.update('tasks', { id: r2 }, { title: 'A2', updated_at: '2026-01-01T00:00:05Z' });
    await p.b.update('tasks', { id: r2 }, { title: 'B2', updated_at: '2026-01-01T00:00:10Z' });
    await p.reconnectBThenA();
    const expected = [{ id: r1, title: 'A1' }, { id: r2, title: 'B2' }].sort((x, y) => (x.id < y.id ? -1 : 1));
    await converge(p, 'SELECT id, title FROM tasks WHERE id IN ($1, $2) ORDER BY id', [r1, r2], expected, 'lww convergence');
    const pgRows = await stack.sql('select id::text, title from tasks where id in ($1, $2) order by id', [r1, r2]);
    assert.deepEqual(pgRows, expected);
    await eventually(() => p.conflicts.a.length >= 1, 10000, 'a conflict event on A');
    assert.ok(p.conflicts.a.every((c) => c.table === 'tasks' && c.policy === 'last-write-wins'));
    assert.ok(conflictCount(await p.a.metrics(), 'tasks', 'last-write-wins') >= p.conflicts.a.length);
  } finally {
    await p.close();
  }
});

test('server-wins (agent_executions): the later client is rejected and rolled back', async () => {
  const user = 'sw';
  const id = randomUUID();
  await stack.sql(`insert into agent_executions (id, user_id, agent_type, status) values ($1, $2, 'coder', 'running')`, [id, user]);
  const p = await pair(user);
  try {
    await p.bothOffline();
    await p.a.update('agent_executions', { id }, { status: 'completed' });
    await p.b.update('agent_executions', { id }, { status: 'failed' });
    await p.reconnectBThenA();
    await converge(p, 'SELECT status FROM agent_executions WHERE id = $1', [id], [{ status: 'failed' }], 'server-wins convergence');
    assert.deepEqual(await stack.sql('select status from agent_executions where id = $1', [id]), [{ status: 'failed' }]);
    await eventually(() => p.conflicts.a.length === 1, 10000, 'one conflict event on A');
    assert.equal(p.conflicts.a[0].policy, 'server-wins');
    assert.equal(p.conflicts.a[0].table, 'agent_executions');
    assert.equal(p.conflicts.b.length, 0);
    assert.ok(conflictCount(await p.a.metrics(), 'agent_executions', 'server-wins') >= 1);
  } finally {
    await p.close();
  }
});

test('importance (agent_memory): the more important version wins', async () => {
  const user = 'imp';
  const id = randomUUID();
  await stack.sql(`insert into agent_memory (id, user_id, agent_type, context_key, content, importance) values ($1, $2, 'planner', 'k', 'orig', 5)`, [id, user]);
  const p = await pair(user);
  try {
    await p.bothOffline();
    await p.a.update('agent_memory', { id }, { content: 'A', importance: 9 });
    await p.b.update('agent_memory', { id }, { content: 'B', importance: 3 });
    await p.reconnectBThenA();
    await converge(p, 'SELECT content, importance FROM agent_memory WHERE id = $1', [id], [{ content: 'A', importance: 9 }], 'importance convergence');
    assert.deepEqual(await stack.sql('select content, importance from agent_memory where id = $1', [id]), [{ content: 'A', importance: '9' }]);
    await eventually(() => p.conflicts.a.length >= 1, 10000, 'a conflict event on A');
    assert.equal(p.conflicts.a[0].policy, 'importance');
  } finally {
    await p.close();
  }
});

test('custom resolver (agent_memory): both clients apply the app resolver', async () => {
  const user = 'custom';
  const id = randomUUID();
  await stack.sql(`insert into agent_memory (id, user_id, agent_type, context_key, content, importance) values ($1, $2, 'planner', 'k', 'orig', 5)`, [id, user]);
  const merge = (local, remote) => ({
    ...remote,
    content: [remote.content, local.content].sort().join('+'),
    importance: Math.max(Number(local.importance), Number(remote.importance)),
  });
  const p = await pair(user, { agent_memory: merge });
  try {
    await p.bothOffline();
    await p.a.update('agent_memory', { id }, { content: 'A', importance: 4 });
    await p.b.update('agent_memory', { id }, { content: 'B', importance: 7 });
    await p.reconnectBThenA();
    await converge(p, 'SELECT content, importance FROM agent_memory WHERE id = $1', [id], [{ content: 'A+B', importance: 7 }], 'custom convergence');
    assert.deepEqual(await stack.sql('select content, importance from agent_memory where id = $1', [id]), [{ content: 'A+B', importance: '7' }]);
    assert.ok(p.conflicts.a.some((c) => c.policy === 'custom'));
  } finally {
    await p.close();
  }
});
