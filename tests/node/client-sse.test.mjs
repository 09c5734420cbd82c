// Live updates over server-sent events (`liveSse`) against the real dev server and PostgreSQL,
// through the fault proxy: changes arrive on one open stream, a proxy that cuts the streams short
// makes each shape fall back to long-polling (rows still arrive), a server restart, an
// expired token and a rotated shape are recovered from as with long-polls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, eventually, upToDate } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

let stack;
before(async () => {
  // A stream lives 25 s (Electric: 60 s), past the server's 21 s keep-alive, so one test sees both.
  stack = await startStack({ longPollMs: 5000, serverOptions: { sseTimeoutMs: 25000 } });
});
after(async () => {
  await stack?.stop();
});

const count = async (db) => Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n);
const addTasks = (user, n, prefix) =>
  stack.sql(`insert into tasks (id, user_id, title) select gen_random_uuid(), $1, $2 || g from generate_series(1, $3::int) g`, [user, prefix, n]);
const tasksLive = (from = 0) => stack.proxy.log.slice(from).filter((r) => /table=tasks/.test(r.url) && /[?&]live=true/.test(r.url));
const isSse = (r) => /[?&]live_sse=true/.test(r.url) && r.headers.accept === 'text/event-stream';

async function openSynced(user, extra = {}) {
  const db = await Electrolite.open({ url: stack.proxy.url, token: stack.token(user), liveSse: true, backoff: { initialMs: 100, maxMs: 1000 }, ...extra });
  await upToDate(db);
  return db;
}

test('liveSse: server inserts arrive live on one open event stream; status as with long-polls', async () => {
  await addTasks('sse-live', 3, 'first ');
  const seen = stack.proxy.log.length;
  const db = await openSynced('sse-live');
  try {
    assert.equal(await count(db), 3);
    await eventually(() => tasksLive(seen).some(isSse), 10000, 'an SSE request for tasks');
    const streamsBefore = tasksLive(seen).length;
    for (let i = 1; i <= 3; i++) {
      await addTasks('sse-live', 1, `live ${i} `);
      await eventually(async () => (await count(db)) === 3 + i, 5000, `live insert ${i}`);
    }
    const live = tasksLive(seen);
    assert.ok(live.every(isSse), 'every live request for tasks was an event stream');
    assert.equal(live.length, streamsBefore, 'the three inserts came on the stream already open');
    const s = db.status;
    assert.equal(s.connection, 'connected');
    assert.equal(s.network, 'online');
    assert.equal(s.sync, 'idle');
    assert.equal(s.isUpToDate, true);
    assert.equal(s.error, null);
  } finally {
    await db.close();
  }
});

test('liveSse idle past the live watchdog: keep-alives and the stream\'s end answer the engine, no timeout', async () => {
  await addTasks('sse-idle', 1, 'a ');
  // The watchdog (23 s) fires before the stream ends (25 s) unless the keep-alive (21 s) answers.
  const seen = stack.proxy.log.length;
  const db = await openSynced('sse-idle', { liveTimeoutMs: 23000 });
  try {
    await eventually(() => tasksLive(seen).some(isSse), 10000, 'a stream open');
    await new Promise((r) => setTimeout(r, 28000));
    const m = await db.metrics();
    assert.equal(m.transport.watchdogAborts, 0, 'no live request timed out');
    assert.equal(m.transport.failedRequests, 0);
    const s = db.status;
    assert.deepEqual([s.connection, s.network, s.isUpToDate, s.error], ['connected', 'online', true, null]);
    assert.ok(tasksLive(seen).length >= 2 && tasksLive(seen).every(isSse), 'a new stream after the first ended');
    await addTasks('sse-idle', 1, 'b ');
    await eventually(async () => (await count(db)) === 2, 5000, 'a live row on the new stream');
  } finally {
    await db.close();
  }
});

test('liveSse behind a proxy that cuts streams short: falls back to long-polling, rows still arrive', async () => {
  await addTasks('sse-cut', 2, 'a ');
  stack.proxy.inject({ kind: 'cut', ms: 100, match: /live_sse=true/, times: 1000 });
  const seen = stack.proxy.log.length;
  const db = await openSynced('sse-cut');
  try {
    await eventually(() => tasksLive(seen).some((r) => !isSse(r)), 20000, 'a long-poll after the short streams');
    const live = tasksLive(seen);
    const firstPoll = live.findIndex((r) => !isSse(r));
    assert.equal(firstPoll, 3, 'three short streams, then long-polling (the official client\'s rule)');
    assert.ok(live.slice(firstPoll).every((r) => !isSse(r)), 'no SSE after the fall-back');
    await addTasks('sse-cut', 2, 'b ');
    await eventually(async () => (await count(db)) === 4, 15000, 'rows over long-polling');
    assert.equal(db.status.connection, 'connected');
  } finally {
    stack.proxy.clearFaults();
    await db.close();
  }
});

test('liveSse: a server restart mid-stream reconnects and goes back to SSE', async () => {
  await addTasks('sse-restart', 5, 'r ');
  const db = await openSynced('sse-restart');
  try {
    await eventually(() => tasksLive().some(isSse), 10000, 'a stream open');
    await stack.restartServer();
    const after = stack.proxy.log.length;
    await addTasks('sse-restart', 3, 'after restart ');
    await eventually(async () => (await count(db)) === 8, 60000, 'rows written after the restart');
    await db.waitForStatus((s) => s.connection === 'connected' && s.network === 'online' && s.isUpToDate && !s.error, 30000);
    await eventually(() => tasksLive(after).some(isSse), 20000, 'an event stream again after the restart');
    await addTasks('sse-restart', 1, 'live again ');
    await eventually(async () => (await count(db)) === 9, 10000, 'a live row after the restart');
  } finally {
    await db.close();
  }
});

test('liveSse: a token that expires mid-stream is refreshed once and the stream resumes from the same offset', async () => {
  await addTasks('sse-token', 4, 'a ');
  let calls = 0;
  let firstValidUntil = 0;
  // The server allows 5 s of clock skew: exp 1 s ago means the first token works for ~4 s.
  const token = () => {
    if (++calls > 1) return stack.token('sse-token');
    firstValidUntil = Date.now() + 4000;
    return stack.token('sse-token', { expiresInSec: -1 });
  };
  const db = await Electrolite.open({ url: stack.proxy.url, token, liveSse: true, backoff: { initialMs: 100, maxMs: 1000 } });
  try {
    await upToDate(db);
    assert.equal(calls, 1);
    const seen = stack.proxy.log.length;
    await new Promise((r) => setTimeout(r, Math.max(0, firstValidUntil - Date.now()) + 1200));
    stack.proxy.dropConnections(); // the open streams end; the new ones carry the expired token
    await addTasks('sse-token', 2, 'b ');
    await eventually(async () => (await count(db)) === 6, 30000, 'rows after the token expired');
    assert.equal(calls, 2, 'asked once for a new token');
    const reqs = stack.proxy.log.slice(seen).filter((r) => /table=tasks/.test(r.url));
    assert.ok(!reqs.some((r) => /offset=-1/.test(r.url)), 'resumed from the same offset, no refetch');
    assert.ok(tasksLive(seen).some(isSse), 'back on an event stream');
  } finally {
    await db.close();
  }
});

test('liveSse: a shape rotated under an open stream (truncate) is re-fetched and goes back to SSE', async () => {
  await addTasks('sse-trunc', 6, 'before ');
  const db = await openSynced('sse-trunc');
  try {
    assert.equal(await count(db), 6);
    await eventually(() => tasksLive().some(isSse), 10000, 'a stream open');
    const mark = stack.proxy.log.length;
    await stack.sql(`delete from tasks where user_id <> 'sse-trunc'`);
    await stack.sql('truncate tasks cascade');
    await eventually(async () => (await count(db)) === 0, 30000, 'rows dropped after must-refetch');
    await addTasks('sse-trunc', 2, 'after ');
    await eventually(async () => (await count(db)) === 2, 30000, 'rows after the re-fetch');
    const rotated = stack.proxy.log.slice(mark).filter((r) => /table=tasks/.test(r.url));
    assert.ok(rotated.some((r) => /offset=-1/.test(r.url)), 'the shape was re-fetched from -1');
    await eventually(() => tasksLive(mark).some(isSse), 10000, 'an event stream on the new shape');
    await addTasks('sse-trunc', 1, 'live ');
    await eventually(async () => (await count(db)) === 3, 10000, 'a live row on the new shape');
    assert.equal(db.status.error, null);
  } finally {
    await db.close();
  }
});

test('liveSse: option checked', async () => {
  await assert.rejects(Electrolite.open({ url: stack.proxy.url, liveSse: 'yes' }), /liveSse: expected a boolean/);
});
