// Offline-first at the edges, against the real dev server and PostgreSQL: the database opens
// from local data whatever the token function or the server does; a write the server refuses
// is rolled back on its own while the others upload; the status says why syncing fails
// (offline, unreachable, server_error, auth); syncNow settles quickly when the server is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, eventually, upToDate, uploadedIds } from './client-harness.mjs';
import { decompress } from 'fzstd';
import { Electrolite, ElectroliteError } from '../../dist/js/index.js';

const FAST = { uploadIntervalMs: 100, backoff: { initialMs: 100, maxMs: 400 } };

let stack;
let dir;
before(async () => {
  stack = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'electrolite-offline-first-'));
});
after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function seedTask(user, title) {
  const id = randomUUID();
  await stack.sql(`insert into tasks (id, user_id, title, status, priority) values ($1, $2, $3, 'pending', 1)`, [id, user, title]);
  return id;
}

test('open resolves from local data while the token function fails, then syncs with the last good token', async () => {
  const user = 'token-down-user';
  const path = join(dir, 'token-down.db');
  await seedTask(user, 'synced before');
  let db = await Electrolite.open({ url: stack.url, token: async () => stack.token(user), storage: { path }, ...FAST });
  await upToDate(db);
  assert.equal((await db.query('SELECT title FROM tasks')).rows.length, 1);
  await db.close();

  // The token endpoint is down: open must not wait for it, nor fail.
  let calls = 0;
  let tokenUp = false;
  const failing = async () => {
    calls++;
    if (!tokenUp) throw new TypeError('fetch failed');
    return stack.token(user);
  };
  const t0 = Date.now();
  db = await Electrolite.open({ url: stack.url, token: failing, storage: { path }, ...FAST });
  try {
    const openMs = Date.now() - t0;
    const { rows } = await db.query('SELECT title FROM tasks');
    assert.deepEqual(rows.map((r) => r.title), ['synced before'], 'local data at once');
    assert.ok(openMs < 5000, `open took ${openMs} ms`);
    // The failing function shows as `unreachable` only while the engine has nothing worse, and
    // the last good token (kept locally, not expired) keeps syncing meanwhile.
    await seedTask(user, 'arrived while the token endpoint was down');
    await eventually(async () => (await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n === 2, 15000, 'sync with the saved token');
    assert.ok(calls >= 1);
    await eventually(() => calls >= 2, 10000, 'the token function is retried with backoff');
    tokenUp = true;
    await eventually(() => db.status.error === null, 10000, 'the status recovers once the token function works');
  } finally {
    await db.close();
  }
});

test('a saved token past its exp is not used', async () => {
  const user = 'expired-user';
  const path = join(dir, 'expired.db');
  let db = await Electrolite.open({ url: stack.url, token: async () => stack.token(user, { expiresInSec: 1 }), storage: { path }, ...FAST });
  await upToDate(db);
  await db.close();
  await new Promise((r) => setTimeout(r, 1200));
  const requestsBefore = stack.proxy.log.length;
  db = await Electrolite.open({ url: stack.url, token: async () => { throw new TypeError('fetch failed'); }, storage: { path }, ...FAST });
  try {
    const s = await db.waitForStatus((st) => st.error !== null, 5000);
    assert.equal(s.error.code, 'unreachable');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stack.proxy.log.length, requestsBefore, 'no request with the expired token');
  } finally {
    await db.close();
  }
});

test('the kept token never leaves in db.export() and goes with db.clear()', async () => {
  const user = 'secret-user';
  const path = join(dir, 'secret.db');
  const token = stack.token(user);
  let db = await Electrolite.open({ url: stack.url, token: async () => token, storage: { path }, ...FAST });
  try {
    await eventually(async () => (await db.query('SELECT value FROM _el_secrets')).rows[0]?.value === token, 10000, 'token kept');
    const snapshot = Buffer.from(decompress((await db.export()).subarray(32))); // after the 32-byte header
    assert.ok(snapshot.includes(Buffer.from('_el_outbox')), 'the snapshot reads as the database image');
    assert.equal(snapshot.includes(Buffer.from(token)), false, 'the token is not in the snapshot');
    assert.equal(snapshot.includes(Buffer.from('_el_secrets')), false);
    await db.clear();
    db = await Electrolite.open({ url: stack.url, token: () => new Promise(() => {}), storage: { path } });
    const err = await db.query('SELECT value FROM _el_secrets').catch((e) => e);
    assert.ok(err instanceof ElectroliteError, 'the table is gone with clear()');
  } finally {
    await db.close();
  }
});

test('open never waits for a token function that hangs, and without a usable token nothing is requested', async () => {
  const requestsBefore = stack.proxy.log.length;
  const db = await Electrolite.open({ url: stack.url, token: () => new Promise(() => {}) });
  try {
    assert.equal((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stack.proxy.log.length, requestsBefore, 'no request without a token');
  } finally {
    await db.close();
  }
});

test('ElectricProvider\'s store is ready while the token function fails', async () => {
  const { ElectricClientStore, defaultOpen } = await import('../../dist/react/index.js');
  const store = new ElectricClientStore({
    open: defaultOpen, config: { url: 'http://127.0.0.1:1', token: async () => { throw new TypeError('fetch failed'); } },
  });
  const release = store.retain();
  try {
    const state = await eventually(() => (store.getSnapshot().db || store.getSnapshot().error ? store.getSnapshot() : null), 10000, 'opened');
    assert.equal(state.error, null);
    assert.equal((await state.db.query('SELECT count(*) AS n FROM tasks')).rows[0].n, 0);
    const s = await state.db.waitForStatus((st) => st.error !== null, 5000);
    assert.equal(s.error.code, 'unreachable');
    assert.equal(s.network, 'unreachable');
  } finally {
    release();
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('a token function that cannot reach its endpoint becomes status `unreachable`; one refused becomes `auth`', async () => {
  const unreachable = await Electrolite.open({
    url: 'http://127.0.0.1:1', token: async () => { throw new TypeError('fetch failed'); }, ...FAST,
  });
  const refused = await Electrolite.open({
    url: stack.url, token: async () => { throw new Error('POST /v1/token: HTTP 401 Unauthorized'); }, ...FAST,
  });
  try {
    const a = await unreachable.waitForStatus((s) => s.error !== null, 5000);
    assert.equal(a.error.code, 'unreachable');
    assert.match(a.error.message, /token function failed: fetch failed/);
    const b = await refused.waitForStatus((s) => s.error !== null, 5000);
    assert.equal(b.error.code, 'auth');
    // syncNow says so instead of waiting for its timeout.
    const err = await unreachable.syncNow(20000).catch((e) => e);
    assert.ok(err instanceof ElectroliteError, String(err));
    assert.equal(err.code, 'unreachable');
  } finally {
    await unreachable.close();
    await refused.close();
  }
});

test('a write of another user is refused up front with a clear ElectroliteError', async () => {
  const me = 'owner-b';
  const db = await Electrolite.open({ url: stack.url, token: stack.token(me), ...FAST });
  try {
    await upToDate(db);
    const err = await db.insert('tasks', { id: randomUUID(), user_id: 'owner-a', title: 'not mine' }).catch((e) => e);
    assert.ok(err instanceof ElectroliteError);
    assert.equal(err.code, 'invalid_argument');
    assert.match(err.message, /tasks\.user_id.*owner-a.*owner-b/);
    assert.equal((await db.pendingMutations()).length, 0, 'nothing queued');
    const mine = randomUUID();
    await db.insert('tasks', { id: mine, user_id: me, title: 'mine' });
    await db.syncNow(20000);
    assert.equal((await stack.sql('select count(*)::int as n from tasks where id = $1', [mine]))[0].n, 1);
  } finally {
    await db.close();
  }
});

test('a write the server refuses (403 naming it) is rolled back with an event; the others upload', async () => {
  const me = 'owner-y';
  // userColumn points elsewhere, so the client cannot tell and the server decides.
  const db = await Electrolite.open({ url: stack.url, token: stack.token(me), userColumn: 'no_such_column', ...FAST });
  const conflicts = [];
  db.onConflict((c) => conflicts.push(c));
  try {
    await upToDate(db);
    const x = randomUUID();
    const y = randomUUID();
    let xMutation;
    await db.transaction(async (tx) => {
      xMutation = await tx.insert('tasks', { id: x, user_id: 'owner-x', title: 'X: not mine' });
      await tx.insert('tasks', { id: y, user_id: me, title: 'Y: mine' });
    });
    const synced = await db.syncNow(20000);
    assert.equal(synced.error, null);
    assert.equal((await stack.sql('select title from tasks where id = $1', [y]))[0]?.title, 'Y: mine', 'Y reached Postgres');
    assert.equal((await stack.sql('select count(*)::int as n from tasks where id = $1', [x]))[0].n, 0);
    assert.equal((await db.query('SELECT count(*) AS n FROM tasks WHERE id = ?', [x])).rows[0].n, 0, 'X rolled back');
    const rejected = conflicts.find((c) => c.outcome === 'rejected');
    assert.ok(rejected, JSON.stringify(conflicts));
    assert.equal(rejected.mutationId, xMutation);
    assert.match(rejected.reason, /HTTP 403: .*user_id must be the caller's id/);
    const m = await db.metrics();
    assert.equal(m.upload.authBlocked, false);
    assert.ok(m.upload.rejected >= 1);
    // Uploads go on.
    const z = randomUUID();
    await db.insert('tasks', { id: z, user_id: me, title: 'Z' });
    await db.syncNow(20000);
    assert.equal((await stack.sql('select count(*)::int as n from tasks where id = $1', [z]))[0].n, 1);
  } finally {
    await db.close();
  }
});

test('after a 401 stops uploads, discardMutation + syncNow unblocks them', async () => {
  const me = 'owner-401';
  const db = await Electrolite.open({ url: stack.url, token: stack.token(me), ...FAST });
  try {
    await upToDate(db);
    stack.proxy.inject({ kind: 'status', status: 401, match: /POST \/v1\/changes/, times: 1 });
    const x = randomUUID();
    const y = randomUUID();
    const xMutation = await db.insert('tasks', { id: x, user_id: me, title: 'X' });
    await db.waitForStatus((s) => s.error?.code === 'auth', 10000);
    assert.equal((await db.metrics()).upload.authBlocked, true);
    await db.insert('tasks', { id: y, user_id: me, title: 'Y' });
    await db.discardMutation(xMutation);
    const synced = await db.syncNow(20000);
    assert.equal(synced.pendingChanges, 0);
    assert.equal((await db.metrics()).upload.authBlocked, false);
    assert.equal((await stack.sql('select count(*)::int as n from tasks where id = $1', [y]))[0].n, 1, 'Y uploaded');
    assert.equal((await stack.sql('select count(*)::int as n from tasks where id = $1', [x]))[0].n, 0, 'X discarded');
  } finally {
    stack.proxy.clearFaults();
    await db.close();
  }
});

test('5xx answers show in the status (server_error, with a count) and in failedRequests', async () => {
  const me = 'owner-5xx';
  const db = await Electrolite.open({ url: stack.url, token: stack.token(me), ...FAST });
  try {
    await upToDate(db);
    const before = (await db.metrics()).transport;
    stack.proxy.inject({ kind: 'status', status: 503, match: /POST \/v1\/changes/, times: 3 });
    const id = randomUUID();
    await db.insert('tasks', { id, user_id: me, title: 'through 503s' });
    const s = await db.waitForStatus((st) => st.error?.code === 'server_error', 10000);
    assert.match(s.error.message, /HTTP 503/);
    assert.ok(s.error.count >= 1);
    assert.equal(s.network, 'online');
    await db.waitForStatus((st) => st.pendingChanges === 0 && st.error === null, 20000);
    const after = (await db.metrics()).transport;
    assert.ok(after.serverErrors - before.serverErrors >= 3, JSON.stringify(after));
    assert.ok(after.failedRequests - before.failedRequests >= 3, 'a 5xx counts as a failed request');
    assert.equal(uploadedIds(stack.proxy).filter((x) => x).length > 0, true);
  } finally {
    stack.proxy.clearFaults();
    await db.close();
  }
});

test('syncNow settles within its bound when the server is gone, and at once when offline', async () => {
  const me = 'owner-gone';
  const db = await Electrolite.open({ url: stack.url, token: stack.token(me), ...FAST });
  try {
    await upToDate(db);
    stack.proxy.down();
    await db.insert('tasks', { id: randomUUID(), user_id: me, title: 'while the server is gone' });
    let t0 = Date.now();
    const err = await db.syncNow(30000).catch((e) => e);
    const ms = Date.now() - t0;
    assert.ok(err instanceof ElectroliteError, String(err));
    assert.equal(err.code, 'unreachable');
    assert.ok(ms < 6000, `syncNow settled after ${ms} ms`);
    assert.equal(db.status.network, 'unreachable');
    assert.equal(db.status.isOffline, true);

    await db.setOnline(false);
    t0 = Date.now();
    const off = await db.syncNow(30000).catch((e) => e);
    assert.equal(off.code, 'offline');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(db.status.network, 'offline');

    await db.setOnline(true);
    stack.proxy.up();
    const synced = await db.syncNow(30000);
    assert.equal(synced.pendingChanges, 0);
    assert.equal(synced.error, null);
  } finally {
    stack.proxy.up();
    await db.close();
  }
});
