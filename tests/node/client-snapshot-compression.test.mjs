// End to end against the real dev server and PostgreSQL: db.export() / open({import})
// (resumes without re-fetching, damaged or foreign snapshots refused), zstd uploads above the
// threshold with the saving in metrics, compressed shape responses (gzip, br, zstd) decoded in
// Node, ELECTRIC_DEBUG lines of every kind the seed lists, and db.clear().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { startStack, startFaultProxy, eventually, upToDate } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

let stack;
before(async () => {
  stack = await startStack({ longPollMs: 1000 });
});
after(async () => {
  await stack?.stop();
});

const count = async (db, sql, params = []) => Number((await db.query(sql, params)).rows[0].n);

/** A fetch that records every request URL. */
function recordingFetch(urls) {
  return (input, init) => {
    urls.push(String(input));
    return fetch(input, init);
  };
}

test('export → open({ import }) restores rows, pending writes and offsets; sync resumes without re-fetching', async () => {
  const user = 'snap';
  await stack.sql(`insert into tasks (id, user_id, title) select gen_random_uuid(), $1, 'task ' || g from generate_series(1, 300) g`, [user]);
  const proxy = await startFaultProxy(stack.serverUrl);
  const a = await Electrolite.open({ url: proxy.url, token: stack.token(user), uploadIntervalMs: 100 });
  let snapshot;
  const pendingId = randomUUID();
  try {
    await upToDate(a);
    proxy.down();
    await a.waitForStatus((s) => s.isOffline, 10000);
    await a.insert('tasks', { id: pendingId, user_id: user, title: 'written offline' });
    snapshot = await a.export();
    assert.ok(snapshot instanceof Uint8Array);
    assert.equal(Buffer.from(snapshot.subarray(0, 8)).toString('latin1'), 'ELSNAP\r\n');
  } finally {
    await a.close();
    await proxy.close();
  }
  const urls = [];
  const b = await Electrolite.open({ url: stack.url, token: stack.token(user), import: snapshot, fetch: recordingFetch(urls), uploadIntervalMs: 100 });
  try {
    // Everything is there before any request completes.
    assert.equal(await count(b, 'SELECT count(*) AS n FROM tasks'), 301);
    assert.equal((await b.pendingMutations()).length, 1);
    await eventually(async () => (await stack.sql('select count(*)::int as n from tasks where id = $1', [pendingId]))[0].n === 1, 30000, 'pending write uploaded by the restored client');
    await upToDate(b);
    const shapeUrls = urls.filter((u) => u.includes('/v1/shape'));
    assert.ok(shapeUrls.length > 0);
    for (const u of shapeUrls) {
      const q = new URL(u).searchParams;
      assert.notEqual(q.get('offset'), '-1', `no re-fetch: ${u}`);
      assert.ok(q.get('handle'), `resumes with its handle: ${u}`);
    }
    await eventually(async () => (await count(b, 'SELECT count(*) AS n FROM tasks')) === 301, 10000, 'rows intact');
  } finally {
    await b.close();
  }
  // Damaged and foreign snapshots are refused with a clear error.
  const damaged = new Uint8Array(snapshot);
  damaged[damaged.length >> 1] ^= 0xff;
  await assert.rejects(Electrolite.open({ url: stack.url, import: damaged }), (e) => e.code === 'corruption' && /damaged/.test(e.message));
  await assert.rejects(Electrolite.open({ url: stack.url, import: new TextEncoder().encode('SQLite format 3\0') }), (e) => e.code === 'invalid_argument' && /not an Electrolite snapshot/.test(e.message));
  await assert.rejects(
    Electrolite.open({ url: stack.url, import: snapshot, schemaSql: 'CREATE TABLE notes (id text PRIMARY KEY, body text);', policies: {} }),
    (e) => e.code === 'schema' && /fingerprint/.test(e.message),
  );
  await assert.rejects(Electrolite.open({ url: stack.url, import: 'not bytes' }), (e) => e.code === 'invalid_argument');
});

test('uploads above the threshold travel zstd-compressed and the saving shows in metrics', async () => {
  const user = 'zup';
  const proxy = await startFaultProxy(stack.serverUrl);
  const db = await Electrolite.open({ url: proxy.url, token: stack.token(user), uploadIntervalMs: 50, compressThreshold: 1024 });
  try {
    await upToDate(db);
    const ids = [];
    await db.transaction(async (tx) => {
      for (let i = 0; i < 60; i++) {
        const id = randomUUID();
        ids.push(id);
        await tx.insert('tasks', { id, user_id: user, title: `compressed task ${i}`, description: 'lorem ipsum dolor sit amet '.repeat(8) });
      }
    });
    await db.waitForStatus((s) => s.pendingChanges === 0, 30000);
    const n = (await stack.sql('select count(*)::int as n from tasks where user_id = $1', [user]))[0].n;
    assert.equal(n, 60, 'the server applied the compressed batch');
    const posts = proxy.log.filter((r) => r.method === 'POST' && r.url.startsWith('/v1/changes'));
    assert.ok(posts.some((r) => r.headers['content-encoding'] === 'zstd'), 'a zstd-encoded upload');
    const m = await db.metrics();
    assert.ok(m.upload.bytes > m.upload.compressedBytes, `saving reported: ${m.upload.bytes} -> ${m.upload.compressedBytes}`);
    assert.ok(m.upload.compressedBytes > 0);
    assert.equal(m.pendingChanges, 0);
    assert.ok(m.dataTransfer.bytesOut > m.dataTransfer.bytesOutWire, 'out: before > after compression');
    assert.ok(m.dataTransfer.savedBytes >= m.upload.bytes - m.upload.compressedBytes);
  } finally {
    await db.close();
    await proxy.close();
  }
});

for (const encoding of ['gzip', 'br', 'zstd']) {
  test(`shape responses sent with Content-Encoding: ${encoding} are decoded in Node`, async () => {
    const user = `enc-${encoding}`;
    await stack.sql(`insert into tasks (id, user_id, title) select gen_random_uuid(), $1, 'encoded ' || g from generate_series(1, 200) g`, [user]);
    // A compressing proxy (like a CDN in front of Electric), as a fetch decorator.
    const compress = (buf) =>
      encoding === 'gzip' ? gzipSync(buf) : encoding === 'br' ? brotliCompressSync(buf) : execFileSync('zstd', ['-q', '-c'], { input: buf });
    let encoded = 0;
    const compressingFetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/v1/shape') || res.status !== 200) return res;
      const raw = Buffer.from(await res.arrayBuffer());
      const body = compress(raw);
      encoded++;
      const headers = new Headers(res.headers);
      headers.set('content-encoding', encoding);
      headers.set('content-length', String(body.length));
      return new Response(body, { status: res.status, headers });
    };
    const db = await Electrolite.open({ url: stack.url, token: stack.token(user), fetch: compressingFetch });
    try {
      await upToDate(db);
      assert.equal(await count(db, 'SELECT count(*) AS n FROM tasks'), 200);
      assert.ok(encoded > 0);
      const t = (await db.metrics()).transport;
      assert.ok(t.bytesInWire < t.bytesIn, `wire ${t.bytesInWire} < decoded ${t.bytesIn}`);
      const d = (await db.metrics()).dataTransfer;
      assert.ok(d.bytesInWire < d.bytesIn && d.savedBytes > 0, JSON.stringify(d));
    } finally {
      await db.close();
    }
  });
}

test('ELECTRIC_DEBUG=true logs connection events, sync operations, conflict resolutions and performance metrics', async () => {
  const user = 'dbg';
  const id = randomUUID();
  await stack.sql(`insert into agent_executions (id, user_id, agent_type, status) values ($1, $2, 'coder', 'running')`, [id, user]);
  const proxy = await startFaultProxy(stack.serverUrl);
  const lines = [];
  const saved = process.env.ELECTRIC_DEBUG;
  process.env.ELECTRIC_DEBUG = 'true';
  let db;
  try {
    db = await Electrolite.open({ url: proxy.url, token: stack.token(user), logger: (l) => lines.push(l), perfLogIntervalMs: 200, uploadIntervalMs: 50 });
  } finally {
    if (saved === undefined) delete process.env.ELECTRIC_DEBUG;
    else process.env.ELECTRIC_DEBUG = saved;
  }
  try {
    await upToDate(db);
    // A server-wins conflict: offline local edit, then the server changes the row first.
    proxy.down();
    await db.waitForStatus((s) => s.isOffline, 10000);
    await db.update('agent_executions', { id }, { status: 'completed' });
    await stack.sql(`update agent_executions set status = 'failed', updated_at = now() where id = $1`, [id]);
    proxy.up();
    await eventually(() => lines.some((l) => l.includes('] conflict:')), 30000, 'a conflict line');
    await eventually(() => lines.some((l) => l.includes('] perf:')), 5000, 'a perf line');
    for (const kind of ['connection', 'sync', 'conflict', 'perf']) {
      assert.ok(lines.some((l) => l.startsWith(`[electrolite] ${kind}:`)), `a ${kind} line`);
    }
    const conflict = lines.find((l) => l.includes('] conflict:'));
    assert.match(conflict, /table=agent_executions .*policy=server-wins outcome=/);
    assert.match(lines.find((l) => l.includes('] perf:')), /syncsPerMinute=\d+ .*lastSyncDurationMs=\d+/);
  } finally {
    await db.close();
    await proxy.close();
  }
});

test('db.clear() removes the local database file (rows, pending writes, shapes) and closes', async () => {
  const user = 'clr';
  await stack.sql(`insert into tasks (id, user_id, title) values ($1, $2, 'to forget')`, [randomUUID(), user]);
  // One module instance: its memory VFS keeps 'clear-test.db' across close and reopen.
  const module = await loadEngineModule();
  const advanced = { loadModule: async () => module };
  const opts = { url: stack.url, token: stack.token(user), storage: 'clear-test.db' };
  const a = await Electrolite.open(opts, advanced);
  await upToDate(a);
  await a.close();
  const b = await Electrolite.open({ ...opts, autoSubscribe: false }, advanced);
  assert.equal(await count(b, 'SELECT count(*) AS n FROM tasks'), 1, 'the file persisted across close/reopen');
  await b.clear();
  await assert.rejects(b.query('SELECT 1'), (e) => e.code === 'closed');
  const c = await Electrolite.open({ ...opts, autoSubscribe: false }, advanced);
  try {
    assert.equal(await count(c, 'SELECT count(*) AS n FROM tasks'), 0, 'nothing left after clear()');
    assert.equal(c.status.shapes.length, 0, 'no shape offsets left');
    assert.equal((await c.pendingMutations()).length, 0);
  } finally {
    await c.close();
  }
  // The server still has the row (sign-out only forgets locally).
  assert.equal((await stack.sql('select count(*)::int as n from tasks where user_id = $1', [user]))[0].n, 1);
});
