// End to end against the real dev server and PostgreSQL: local retention (old
// executions/events and expired memory pruned locally, never on the server, and not back on
// the next sync), prefetching (a task's executions local before the first query, dropped
// after release), the client-side user check and excluded columns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startStack, eventually, upToDate } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

let stack;
before(async () => {
  stack = await startStack({ longPollMs: 1000 });
});
after(async () => {
  await stack?.stop();
});

const count = async (db, sql, params = []) => Number((await db.query(sql, params)).rows[0].n);

test('retention: old executions/events and expired memory are pruned locally only, and stay pruned', async () => {
  const user = 'ret';
  const old = [randomUUID(), randomUUID(), randomUUID()];
  const fresh = [randomUUID(), randomUUID()];
  for (const id of old) {
    await stack.sql(`insert into agent_executions (id, user_id, agent_type, started_at) values ($1, $2, 'coder', now() - interval '40 days')`, [id, user]);
  }
  for (const id of fresh) {
    await stack.sql(`insert into agent_executions (id, user_id, agent_type, started_at) values ($1, $2, 'coder', now() - interval '1 day')`, [id, user]);
  }
  await stack.sql(
    `insert into observability_events (id, user_id, execution_id, event_type, timestamp) values
       ($1, $3, $4, 'old', now() - interval '10 days'), ($2, $3, $4, 'new', now() - interval '1 hour')`,
    [randomUUID(), randomUUID(), user, fresh[0]],
  );
  await stack.sql(
    `insert into agent_memory (id, user_id, agent_type, context_key, content, expires_at) values
       ($1, $4, 'coder', 'k1', 'expired', now() - interval '1 hour'),
       ($2, $4, 'coder', 'k2', 'later', now() + interval '1 day'),
       ($3, $4, 'coder', 'k3', 'forever', null)`,
    [randomUUID(), randomUUID(), randomUUID(), user],
  );
  const db = await Electrolite.open({ url: stack.url, token: stack.token(user) });
  try {
    await upToDate(db);
    await eventually(async () => (await count(db, 'SELECT count(*) AS n FROM agent_executions')) === 2, 10000, 'executions pruned');
    await eventually(async () => (await count(db, 'SELECT count(*) AS n FROM observability_events')) === 1, 10000, 'events pruned');
    await eventually(async () => (await count(db, 'SELECT count(*) AS n FROM agent_memory')) === 2, 10000, 'memory expired');
    const left = (await db.query('SELECT content FROM agent_memory ORDER BY content')).rows.map((r) => r.content);
    assert.deepEqual(left, ['forever', 'later']);
    // The server keeps everything; nothing was uploaded.
    const server = await stack.sql(`select (select count(*) from agent_executions where user_id = $1)::int as e,
      (select count(*) from observability_events where user_id = $1)::int as o, (select count(*) from agent_memory where user_id = $1)::int as m`, [user]);
    assert.deepEqual(server[0], { e: 5, o: 2, m: 3 });
    assert.equal((await db.pendingMutations()).length, 0);
    const m = await db.metrics();
    assert.equal(m.retention.rowsPruned, 5);
    assert.deepEqual(m.retention.byTable, { agent_executions: 3, agent_memory: 1, observability_events: 1 });

    // The next sync carries an update of a pruned execution: it does not come back.
    const marker = randomUUID();
    await stack.sql(`update agent_executions set status = 'failed', updated_at = now() where id = $1`, [old[0]]);
    await stack.sql(`insert into agent_executions (id, user_id, agent_type) values ($1, $2, 'marker')`, [marker, user]);
    await eventually(async () => (await count(db, 'SELECT count(*) AS n FROM agent_executions WHERE id = $1', [marker])) === 1, 30000, 'marker synced');
    assert.equal(await count(db, 'SELECT count(*) AS n FROM agent_executions WHERE id = $1', [old[0]]), 0);
    assert.equal(await count(db, 'SELECT count(*) AS n FROM agent_executions'), 3);
  } finally {
    await db.close();
  }
});

test('prefetch: a task\'s executions are local before the first query; release drops them after the grace period', async () => {
  const user = 'pf';
  const [t1, t2, w1] = [randomUUID(), randomUUID(), randomUUID()];
  await stack.sql(`insert into tasks (id, user_id, title) values ($1, $3, 'one'), ($2, $3, 'two')`, [t1, t2, user]);
  for (let i = 0; i < 3; i++) await stack.sql(`insert into agent_executions (id, user_id, task_id, agent_type) values ($1, $2, $3, 'coder')`, [randomUUID(), user, t1]);
  for (let i = 0; i < 2; i++) await stack.sql(`insert into agent_executions (id, user_id, task_id, agent_type) values ($1, $2, $3, 'coder')`, [randomUUID(), user, t2]);
  await stack.sql(`insert into workflows (id, user_id, name, definition) values ($1, $2, 'wf', '{}')`, [w1, user]);
  for (let i = 0; i < 2; i++) await stack.sql(`insert into workflow_executions (id, user_id, workflow_id) values ($1, $2, $3)`, [randomUUID(), user, w1]);

  const db = await Electrolite.open({ url: stack.url, token: stack.token(user), autoSubscribe: false, prefetchGraceMs: 300 });
  try {
    await db.subscribe({ table: 'tasks' });
    await upToDate(db);
    assert.equal(await count(db, 'SELECT count(*) AS n FROM agent_executions'), 0);
    const release = await db.prefetch('tasks', t1);
    // The first query for them already finds them.
    assert.equal(await count(db, 'SELECT count(*) AS n FROM agent_executions WHERE task_id = $1', [t1]), 3);
    assert.equal(await count(db, 'SELECT count(*) AS n FROM agent_executions WHERE task_id = $1', [t2]), 0, 'only the opened task\'s children');
    const releaseWf = await db.prefetch('workflows', { id: w1 });
    assert.equal(await count(db, 'SELECT count(*) AS n FROM workflow_executions'), 2);
    let m = await db.metrics();
    assert.equal(m.prefetch.active, 2);

    // A child added on the server while prefetched arrives live.
    await stack.sql(`insert into agent_executions (id, user_id, task_id, agent_type) values ($1, $2, $3, 'late')`, [randomUUID(), user, t1]);
    await eventually(async () => (await count(db, 'SELECT count(*) AS n FROM agent_executions WHERE task_id = $1', [t1])) === 4, 30000, 'live child');

    await release();
    await eventually(async () => (await count(db, 'SELECT count(*) AS n FROM agent_executions')) === 0, 10000, 'released children dropped');
    assert.equal(await count(db, 'SELECT count(*) AS n FROM workflow_executions'), 2, 'the workflow is still open');
    m = await db.metrics();
    assert.equal(m.prefetch.released, 1);
    assert.equal(m.prefetch.rowsDropped, 4);
    assert.ok(!db.status.shapes.some((s) => s.table === 'agent_executions'), 'the child shape is gone');
    await releaseWf();
    await assert.rejects(db.prefetch('environments', randomUUID()), (e) => e.code === 'invalid_argument');
    await assert.rejects(db.prefetch('tasks', ['x']), (e) => e.code === 'invalid_argument');
  } finally {
    await db.close();
  }
});

test('security: rows of another user from a server that does not filter are dropped and reported; excluded columns never arrive', async () => {
  // A second, misconfigured server on the same database: dev auth mode (no secret) hands
  // every user's rows to a request without a token. The policies exclude tasks.description.
  const { createServer } = await import('../../dist/server/index.js');
  const policies = JSON.parse(readFileSync(new URL('../../schema/policies.json', import.meta.url), 'utf8'));
  policies.tasks = { ...policies.tasks, exclude: ['description'] };
  const server = await createServer({ databaseUrl: stack.database.url, longPollMs: 1000, policies, log: () => undefined });
  const url = await server.listen(0, '127.0.0.1');
  const mine = randomUUID();
  await stack.sql(`insert into tasks (id, user_id, title, description) values ($1, 'sec', 'mine', 'secret text'), ($2, 'other-user', 'theirs', 'x')`, [mine, randomUUID()]);
  const lines = [];
  const db = await Electrolite.open({ url, userId: 'sec', policies, debug: true, logger: (l) => lines.push(l) });
  try {
    await upToDate(db);
    const rows = (await db.query('SELECT id, user_id, description FROM tasks')).rows;
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((r) => r.user_id === 'sec'), 'no foreign row is stored');
    assert.deepEqual(rows.find((r) => r.id === mine), { id: mine, user_id: 'sec', description: null }, 'excluded column never arrives');
    const m = await db.metrics();
    assert.ok(m.security.foreignRowsDropped >= 1);
    assert.ok(m.security.byTable.tasks >= 1);
    assert.ok(lines.some((l) => l.includes('security: table=tasks')), 'reported in the debug log');
    // The server enforces the exclusion too: asking for the column is refused.
    const res = await fetch(`${url}/v1/shape?table=tasks&offset=-1&columns=id,description`);
    assert.equal(res.status, 400);
    const whole = await (await fetch(`${url}/v1/shape?table=tasks&offset=-1`)).json();
    assert.ok(whole.filter((x) => x.value).every((x) => !('description' in x.value)));
  } finally {
    await db.close();
    await server.close();
  }
});
