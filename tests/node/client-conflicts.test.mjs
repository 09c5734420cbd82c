// Two clients edit the same rows while offline, for each policy (last-write-wins,
// server-wins, importance, a custom resolver). B reconnects first, then A: both clients and
// PostgreSQL converge to the policy's answer; conflict events and metrics match.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, startFaultProxy, eventually, upToDate } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

// The custom policy needs the engine's resolver bindings (docs/engine-api.md setResolver/resolveConflict).
const hasResolvers = typeof (await loadEngineModule()).setResolver === 'function';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

async function pair(user, resolvers) {
  const proxies = [await startFaultProxy(stack.serverUrl), await startFaultProxy(stack.serverUrl)];
  const open = (p) =>
    Electrolite.open({ url: p.url, token: stack.token(user), uploadIntervalMs: 100, backoff: { initialMs: 100, maxMs: 500 }, resolvers });
  const [a, b] = [await open(proxies[0]), await open(proxies[1])];
  await Promise.all([upToDate(a), upToDate(b)]);
  const conflicts = { a: [], b: [] };
  let offsetsBefore = {};
  a.onConflict((c) => conflicts.a.push(c));
  b.onConflict((c) => conflicts.b.push(c));
  return {
    a, b, conflicts,
    async bothOffline() {
      offsetsBefore = Object.fromEntries(b.status.shapes.map((x) => [x.table, x.offset]));
      proxies.forEach((p) => p.down());
      await Promise.all([a.waitForStatus((s) => s.isOffline, 10000), b.waitForStatus((s) => s.isOffline, 10000)]);
    },
    /**
     * B reconnects and uploads first, then A. A's uploads are held back (503) until A's shape
     * stream for `table` has reached B's offset, so B's change arrives under A's pending edit:
     * A's engine decides the conflict locally (conflict events), then uploads and the server
     * decides the same way.
     */
    async reconnectBThenA(table) {
      proxies[1].up();
      await b.waitForStatus((s) => s.pendingChanges === 0 && !s.isOffline, 30000);
      const shapeOf = (db) => db.status.shapes.find((x) => x.table === table);
      // B's own writes came back on its stream: its offset moved and then stayed put for 500 ms.
      await eventually(() => shapeOf(b)?.isUpToDate && shapeOf(b).offset !== offsetsBefore[table], 30000, "B's write on B's stream");
      let target = shapeOf(b).offset;
      for (let still = 0; still < 5; ) {
        await new Promise((r) => setTimeout(r, 100));
        const now = shapeOf(b).offset;
        still = now === target ? still + 1 : 0;
        target = now;
      }
      proxies[0].inject({ kind: 'status', status: 503, headers: { 'retry-after': '0' }, match: /POST \/v1\/changes/, times: Infinity });
      proxies[0].up();
      await eventually(() => shapeOf(a)?.offset === target, 30000, `A's ${table} stream at B's offset`);
      proxies[0].clearFaults();
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

/** Conflicts counted in db.metrics() for table/policy (engine: metrics.writes.conflicts). */
function conflictCount(metrics, table, policy) {
  return (metrics.writes?.conflicts ?? [])
    .filter((c) => c.table === table && c.policy === policy)
    .reduce((n, c) => n + Number(c.count), 0);
}

/** Every conflict event of a client is counted once in its metrics, under the same table/policy. */
async function eventsMatchMetrics(db, events, table, policy) {
  assert.ok(events.every((c) => c.table === table && c.policy === policy), JSON.stringify(events));
  assert.equal(conflictCount(await db.metrics(), table, policy), events.length, 'metrics count every conflict event');
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
    await p.reconnectBThenA('tasks');
    const expected = [{ id: r1, title: 'A1' }, { id: r2, title: 'B2' }].sort((x, y) => (x.id < y.id ? -1 : 1));
    await converge(p, 'SELECT id, title FROM tasks WHERE id IN ($1, $2) ORDER BY id', [r1, r2], expected, 'lww convergence');
    const pgRows = await stack.sql('select id::text, title from tasks where id in ($1, $2) order by id', [r1, r2]);
    assert.deepEqual(pgRows, expected);
    // On A: r1 is kept (local is later), r2 yields to B's later write.
    await eventually(() => p.conflicts.a.some((c) => c.key.id === r1) && p.conflicts.a.some((c) => c.key.id === r2), 10000, 'conflict events on A');
    assert.ok(p.conflicts.a.filter((c) => c.key.id === r1).every((c) => c.outcome === 'local'), JSON.stringify(p.conflicts.a));
    assert.ok(p.conflicts.a.filter((c) => c.key.id === r2).every((c) => ['remote', 'rejected'].includes(c.outcome)), JSON.stringify(p.conflicts.a));
    await eventsMatchMetrics(p.a, p.conflicts.a, 'tasks', 'last-write-wins');
    await eventsMatchMetrics(p.b, p.conflicts.b, 'tasks', 'last-write-wins');
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
    await p.reconnectBThenA('agent_executions');
    await converge(p, 'SELECT status FROM agent_executions WHERE id = $1', [id], [{ status: 'failed' }], 'server-wins convergence');
    assert.deepEqual(await stack.sql('select status from agent_executions where id = $1', [id]), [{ status: 'failed' }]);
    await eventually(() => p.conflicts.a.some((c) => c.outcome === 'rejected'), 10000, 'A told its change was rejected');
    assert.ok(p.conflicts.a.every((c) => c.key.id === id && c.local.status === 'completed' && c.remote.status === 'failed'));
    assert.equal(p.conflicts.b.length, 0, 'B uploaded first: no conflict');
    await eventsMatchMetrics(p.a, p.conflicts.a, 'agent_executions', 'server-wins');
    assert.equal(conflictCount(await p.b.metrics(), 'agent_executions', 'server-wins'), 0);
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
    await p.reconnectBThenA('agent_memory');
    await converge(p, 'SELECT content, importance FROM agent_memory WHERE id = $1', [id], [{ content: 'A', importance: 9 }], 'importance convergence');
    assert.deepEqual(await stack.sql('select content, importance from agent_memory where id = $1', [id]), [{ content: 'A', importance: 9 }]);
    // B's change reached A under A's pending edit: A's (more important) version was kept.
    await eventually(() => p.conflicts.a.length >= 1, 10000, 'a conflict event on A');
    assert.ok(p.conflicts.a.some((c) => c.outcome === 'local'), JSON.stringify(p.conflicts.a.map((c) => c.outcome)));
    await eventsMatchMetrics(p.a, p.conflicts.a, 'agent_memory', 'importance');
    await eventsMatchMetrics(p.b, p.conflicts.b, 'agent_memory', 'importance');
  } finally {
    await p.close();
  }
});

test('custom resolver (agent_memory): both clients apply the app resolver', {
  skip: hasResolvers ? false : 'this engine build does not export setResolver/resolveConflict yet',
}, async () => {
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
    await p.reconnectBThenA('agent_memory');
    await converge(p, 'SELECT content, importance FROM agent_memory WHERE id = $1', [id], [{ content: 'A+B', importance: 7 }], 'custom convergence');
    assert.deepEqual(await stack.sql('select content, importance from agent_memory where id = $1', [id]), [{ content: 'A+B', importance: 7 }]);
    assert.ok(p.conflicts.a.some((c) => c.policy === 'custom'));
  } finally {
    await p.close();
  }
});
