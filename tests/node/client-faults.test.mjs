// Faults against the real dev server (through a fault-injecting proxy): must-refetch after
// a truncate, a server restart mid-long-poll, 500s and slow responses, an expired token
// refreshed, a malformed response. Each time: no local data lost, the client recovers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, eventually, upToDate } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

let stack;
before(async () => {
  // A short server long-poll keeps the suite fast; the client's watchdog stays at 45 s.
  stack = await startStack({ longPollMs: 5000 });
});
after(async () => {
  await stack?.stop();
});

const count = async (db, table = 'tasks') => Number((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

async function addTasks(user, n, prefix) {
  await stack.sql(
    `insert into tasks (id, user_id, title) select gen_random_uuid(), $1, $2 || g from generate_series(1, $3::int) g`,
    [user, prefix, n],
  );
}

async function openSynced(user, extra = {}) {
  const db = await Electrolite.open({ url: stack.proxy.url, token: stack.token(user), backoff: { initialMs: 100, maxMs: 1000 }, ...extra });
  await upToDate(db);
  return db;
}

test('must-refetch after a server-side truncate: the client drops the rows and resyncs', async () => {
  await addTasks('trunc', 50, 'before ');
  const db = await openSynced('trunc');
  try {
    assert.equal(await count(db), 50);
    await stack.sql(`delete from tasks where user_id <> 'trunc'`); // keep other suites' users out of the truncate
    await stack.sql('truncate tasks cascade');
    await eventually(async () => (await count(db)) === 0, 30000, 'rows dropped after must-refetch');
    await addTasks('trunc', 3, 'after ');
    await eventually(async () => (await count(db)) === 3, 30000, 'rows after the refetch');
    const { rows } = await db.query('SELECT title FROM tasks ORDER BY title');
    assert.deepEqual(rows.map((r) => r.title), ['after 1', 'after 2', 'after 3']);
  } finally {
    await db.close();
  }
});

test('server restart while a long-poll is held: the client reconnects and catches up', async () => {
  await addTasks('restart', 20, 'r ');
  const db = await openSynced('restart');
  try {
    await eventually(() => stack.proxy.log.some((r) => /live=true/.test(r.url)), 10000, 'a live request in flight');
    await stack.restartServer();
    await addTasks('restart', 5, 'after restart ');
    await eventually(async () => (await count(db)) === 25, 60000, 'rows written after the restart');
    await db.waitForStatus((s) => s.connection === 'connected' && !s.error, 30000);
  } finally {
    await db.close();
  }
});

test('500s and slow responses: retried by the engine, nothing lost', async () => {
  await addTasks('flaky', 10, 'f ');
  const db = await openSynced('flaky');
  try {
    const tasksShape = /GET \/v1\/shape\?.*table=tasks/;
    stack.proxy.inject({ kind: 'status', status: 500, match: tasksShape, times: 3 });
    stack.proxy.inject({ kind: 'status', status: 503, headers: { 'retry-after': '1' }, match: tasksShape, times: 1 });
    const seen = stack.proxy.log.length;
    stack.proxy.dropConnections(); // end the held long-poll so the next requests meet the faults
    await addTasks('flaky', 5, 'g ');
    await eventually(async () => (await count(db)) === 15, 60000, 'rows after 500s');
    const retries = stack.proxy.log.slice(seen).filter((r) => tasksShape.test(`${r.method} ${r.url}`));
    assert.ok(retries.length >= 5, `4 failed attempts then a success (saw ${retries.length})`);
    const after503 = retries[4].at - retries[3].at;
    assert.ok(after503 >= 900, `Retry-After: 1 is a floor for the next attempt (waited ${after503} ms)`);

    stack.proxy.inject({ kind: 'delay', ms: 1500, match: tasksShape, times: 2 });
    stack.proxy.dropConnections();
    await addTasks('flaky', 5, 'h ');
    await eventually(async () => (await count(db)) === 20, 60000, 'rows after slow responses');
    const m = await db.metrics();
    assert.ok(m.transport.requests > 0);
    assert.ok(m.transport.failedRequests >= 1, 'the dropped connections count as failed requests');
  } finally {
    await db.close();
  }
});

test('an expired token at open: the token function is asked once more and sync proceeds', async () => {
  await addTasks('expiry', 30, 'e ');
  let calls = 0;
  const token = () => {
    calls++;
    // The first token is already expired; the refreshed one is valid.
    return calls === 1 ? stack.token('expiry', { expiresInSec: -60 }) : stack.token('expiry');
  };
  const db = await Electrolite.open({ url: stack.proxy.url, token, backoff: { initialMs: 100, maxMs: 1000 } });
  try {
    await upToDate(db);
    assert.equal(calls, 2, 'once at open, once after the 401');
    assert.equal(await count(db), 30);
  } finally {
    await db.close();
  }
});

test('a token that expires mid-stream is refreshed once and sync resumes from the same offset', async () => {
  await addTasks('midstream', 10, 'a ');
  let calls = 0;
  let firstValidUntil = 0;
  // The server allows 5 s of clock skew: exp 1 s ago means the first token works for ~4 s.
  const token = () => {
    if (++calls > 1) return stack.token('midstream');
    firstValidUntil = Date.now() + 4000;
    return stack.token('midstream', { expiresInSec: -1 });
  };
  const db = await Electrolite.open({ url: stack.proxy.url, token, backoff: { initialMs: 100, maxMs: 1000 } });
  try {
    await upToDate(db);
    assert.equal(calls, 1, 'synced with the first token');
    const seen = stack.proxy.log.length;
    await new Promise((r) => setTimeout(r, Math.max(0, firstValidUntil - Date.now()) + 1200));
    stack.proxy.dropConnections(); // the held long-polls end; the next requests carry the expired token
    await addTasks('midstream', 4, 'b ');
    await eventually(async () => (await count(db)) === 14, 30000, 'rows after the token expired');
    assert.equal(calls, 2, 'asked once for a new token');
    const tasksReqs = stack.proxy.log.slice(seen).filter((r) => /table=tasks/.test(r.url));
    assert.ok(tasksReqs.length > 0);
    assert.ok(!tasksReqs.some((r) => /offset=-1/.test(r.url)), 'resumed from the same offset, no refetch');
  } finally {
    await db.close();
  }
});

test('a refreshed token that is refused too: asked once, then status shows the auth error', async () => {
  let calls = 0;
  const token = () => (++calls, stack.token('expiry', { expiresInSec: -60 }));
  const db = await Electrolite.open({ url: stack.proxy.url, token, backoff: { initialMs: 100, maxMs: 1000 } });
  try {
    await db.waitForStatus((st) => st.error?.code === 'auth' && st.connection === 'error', 30000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(calls, 2, 'once at open, once after the first 401, never again');
    assert.equal(db.status.error.code, 'auth');
  } finally {
    await db.close();
  }
});

test('an expired token without a token function: status shows an auth error', async () => {
  const db = await Electrolite.open({ url: stack.proxy.url, token: stack.token('expiry', { expiresInSec: -60 }) });
  try {
    const s = await db.waitForStatus((st) => st.error?.code === 'auth', 30000);
    assert.equal(s.error.code, 'auth');
    assert.equal(await count(db), 0);
  } finally {
    await db.close();
  }
});

test('a malformed response: error status, no data lost, recovers when the server is fixed', async () => {
  await addTasks('garbled', 40, 'm ');
  const db = await openSynced('garbled');
  try {
    const errors = [];
    db.onStatus((s) => s.error && errors.push(s.error));
    stack.proxy.inject({ kind: 'malformed', match: /GET \/v1\/shape\?.*table=tasks/, times: 2 });
    stack.proxy.dropConnections();
    await addTasks('garbled', 2, 'n ');
    // The dropped connections show as `unreachable` first; the garbled body as a protocol error.
    const garbled = () => errors.find((e) => e.code !== 'unreachable');
    await eventually(garbled, 30000, 'an error status');
    assert.ok(['protocol', 'internal'].includes(garbled().code), `error code ${garbled().code}`);
    assert.ok((await count(db)) >= 40, 'rows already synced are kept');
    await eventually(async () => (await count(db)) === 42, 60000, 'recovered after the server is fixed');
    await db.waitForStatus((s) => !s.error && s.connection === 'connected', 30000);
  } finally {
    await db.close();
  }
});
