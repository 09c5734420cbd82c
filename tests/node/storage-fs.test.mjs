// Persistent storage in Node: the same wasm engine over real files (js/node-fs-storage.ts via
// the host-storage VFS in wasm/vfs). Persistence across reopen, a SIGKILL of a writing
// process (committed writes and their outbox entries intact, integrity_check ok), the
// one-process lock, durability pragmas, and a full disk reported as `storage_full` with
// nothing lost (ENOSPC injected at the storage seam, STYLE.md #14).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Electrolite } from '../../dist/js/index.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';
import { attachStorage } from '../../dist/js/storage.js';
import { NodeFsStorage } from '../../dist/js/node-fs-storage.js';

const dir = mkdtempSync(join(tmpdir(), 'el-storage-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// A local-only table: writes go to the overlay + outbox; nothing is ever uploaded (the URL
// is unreachable and the upload interval is an hour).
export const notesTable = {
  name: 'notes',
  columns: [{ name: 'id', type: 'text', notNull: true }, { name: 'body', type: 'text' }],
  primaryKey: ['id'],
  policy: { policy: 'last-write-wins', writable: true },
};
const base = { url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3_600_000, tables: [notesTable] };

async function count(db) {
  return (await db.query('SELECT count(*) AS n FROM notes')).rows[0].n;
}
async function integrity(db) {
  return (await db.query('PRAGMA integrity_check')).rows[0].integrity_check;
}

test('a file database persists across close and reopen, with its outbox, in WAL with synchronous=FULL', async () => {
  const path = join(dir, 'persist.db');
  const db = await Electrolite.open({ ...base, storage: { path } });
  assert.equal((await db.query('PRAGMA journal_mode')).rows[0].journal_mode, 'wal');
  assert.equal((await db.query('PRAGMA synchronous')).rows[0].synchronous, 2, 'FULL by default');
  for (let i = 0; i < 50; i++) await db.insert('notes', { id: `n${i}`, body: `body ${i}` });
  assert.ok(existsSync(`${path}-lock`), 'the database is locked while open');
  await db.close();
  assert.ok(!existsSync(`${path}-lock`), 'the lock is dropped at close');
  assert.ok(statSync(path).size > 0);

  const again = await Electrolite.open({ ...base, storage: { path }, synchronous: 'normal' });
  try {
    assert.equal(await count(again), 50);
    assert.equal((await again.pendingMutations()).length, 50, 'pending writes survive');
    assert.equal((await again.query("SELECT body FROM notes WHERE id = 'n7'")).rows[0].body, 'body 7');
    assert.equal((await again.query('PRAGMA synchronous')).rows[0].synchronous, 1, 'NORMAL on request');
    assert.equal(await integrity(again), 'ok');
  } finally {
    await again.close();
  }
});

test('metrics().open says where the open spent its time: module, storage, engine', async () => {
  const db = await Electrolite.open({ ...base, storage: { path: join(dir, 'phases.db') } });
  try {
    const { open } = await db.metrics();
    for (const phase of ['moduleReadyMs', 'storageReadyMs', 'engineStartedMs', 'engineMs']) {
      assert.ok(Number.isFinite(open[phase]) && open[phase] >= 0, `${phase}: ${JSON.stringify(open)}`);
    }
    assert.ok(open.engineMs > 0, 'the engine\'s own open takes time');
    assert.equal(open.workerStartMs, undefined, 'no worker in Node');
  } finally {
    await db.close();
  }
});

test('the WAL is checkpointed and emptied once writes stop, keeping its bytes for the next commits', async () => {
  const path = join(dir, 'idle.db');
  const db = await Electrolite.open({ ...base, storage: { path } });
  // An empty WAL for SQLite: its 32-byte header is not valid (zeroed), so nothing is replayed.
  const header = () => readFileSync(`${path}-wal`).subarray(0, 32);
  try {
    for (let i = 0; i < 100; i++) await db.insert('notes', { id: `i${i}`, body: 'z'.repeat(500) });
    assert.ok(header().some((b) => b !== 0), 'commits go to the WAL');
    const size = statSync(`${path}-wal`).size;
    const deadline = Date.now() + 5000;
    while (header().some((b) => b !== 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(header().every((b) => b === 0), 'idle checkpoint emptied the WAL');
    assert.equal(statSync(`${path}-wal`).size, size, 'its bytes are kept (wasm/vfs/wal_space.h)');
    assert.equal(await count(db), 100);
    // The next commits overwrite the kept bytes from the start: the file does not grow.
    for (let i = 100; i < 110; i++) await db.insert('notes', { id: `i${i}`, body: 'z'.repeat(500) });
    assert.equal(statSync(`${path}-wal`).size, size);
    assert.equal(await count(db), 110);
  } finally {
    await db.close();
  }
  const again = await Electrolite.open({ ...base, storage: { path } });
  try {
    assert.equal(await count(again), 110);
  } finally {
    await again.close();
  }
});

test('clear() (sign-out) deletes the database file, its WAL and its lock', async () => {
  const path = join(dir, 'signout.db');
  const db = await Electrolite.open({ ...base, storage: { path } });
  await db.insert('notes', { id: 'x', body: 'private' });
  await db.clear();
  for (const f of [path, `${path}-wal`, `${path}-journal`, `${path}-lock`]) assert.ok(!existsSync(f), `${f} removed`);
  const again = await Electrolite.open({ ...base, storage: { path } });
  try {
    assert.equal(await count(again), 0);
  } finally {
    await again.close();
  }
});

test('one process at a time: a second open is refused while the first holds the file', async () => {
  const path = join(dir, 'locked.db');
  const db = await Electrolite.open({ ...base, storage: { path } });
  try {
    await assert.rejects(Electrolite.open({ ...base, storage: { path } }), (e) => e.code === 'io' && /already open/.test(e.message));
  } finally {
    await db.close();
  }
  const reopened = await Electrolite.open({ ...base, storage: { path } });
  await reopened.close();
  await assert.rejects(Electrolite.open({ ...base, storage: { path: '' } }), (e) => e.code === 'invalid_argument');
  await assert.rejects(Electrolite.open({ ...base, storage: { path }, synchronous: 'off' }), (e) => e.code === 'invalid_argument');
});

// The child writes one row per autocommit and reports each commit on stdout; the parent
// SIGKILLs it mid-stream. Every reported commit must be there after reopening.
const childSource = (path, prefix) => `
  import { Electrolite } from ${JSON.stringify(new URL('../../dist/js/index.js', import.meta.url).href)};
  const db = await Electrolite.open({ url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3600000,
    tables: [${JSON.stringify(notesTable)}], storage: { path: ${JSON.stringify(path)} } });
  process.stdout.write('open\\n');
  for (let i = 0; ; i++) {
    await db.insert('notes', { id: ${JSON.stringify(prefix)} + i, body: 'x'.repeat(200 + (i % 50)) });
    process.stdout.write('committed ' + (i + 1) + '\\n');
  }
`;

function runUntilKilled(path, killAfter, prefix) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', childSource(path, prefix)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let committed = 0;
    let buf = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^committed (\d+)$/.exec(line);
        if (m) committed = Number(m[1]);
        if (committed >= killAfter && !child.killed) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(committed);
      else reject(new Error(`child exited ${code}: ${stderr}`));
    });
  });
}

test('SIGKILL of a process mid-write: every reported commit and its outbox entry survive, integrity ok', async () => {
  const path = join(dir, 'crash.db');
  const first = await runUntilKilled(path, 150, 'a');
  assert.ok(first >= 150);
  assert.ok(existsSync(`${path}-lock`), 'the killed process left its lock behind');
  // Reopen (taking over the stale lock), then crash a second time on top.
  let db = await Electrolite.open({ ...base, storage: { path } });
  let n = await count(db);
  assert.ok(n >= first && n <= first + 1, `after the first crash: ${n} rows, ${first} reported`);
  assert.equal((await db.pendingMutations()).length, n);
  assert.equal(await integrity(db), 'ok');
  await db.close();
  const second = await runUntilKilled(path, 100, 'b');
  db = await Electrolite.open({ ...base, storage: { path } });
  try {
    const total = await count(db);
    assert.ok(total >= n + second, `after the second crash: ${total} rows, at least ${n + second} expected`);
    assert.equal((await db.pendingMutations()).length, total);
    assert.equal(await integrity(db), 'ok');
  } finally {
    await db.close();
  }
});

/** A real fs backend whose disk "fills up" at `limit` bytes per file: ENOSPC as Node throws it. */
class FullDisk {
  constructor(inner, limit) {
    this.inner = inner;
    this.limit = limit;
    this.kind = inner.kind;
  }
  open(name, create) { return this.inner.open(name, create); }
  read(f, into, off) { return this.inner.read(f, into, off); }
  write(f, from, off) {
    if (off + from.length > this.limit) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', errno: -28 });
    }
    this.inner.write(f, from, off);
  }
  truncate(f, size) { this.inner.truncate(f, size); }
  sync(f) { this.inner.sync(f); }
  size(f) { return this.inner.size(f); }
  close(f) { this.inner.close(f); }
  delete(name) { return this.inner.delete(name); }
  stat(name) { return this.inner.stat(name); }
}

test('a full disk is storage_full (not "disk I/O error"), the last host error says why, and nothing committed is lost', async () => {
  const path = join(dir, 'full.db');
  const module = await loadEngineModule();
  const backend = await NodeFsStorage.open(path);
  const disk = new FullDisk(backend, 1 << 20);
  const vfs = attachStorage(module, disk, path);
  const advanced = { loadModule: async () => module };
  const db = await Electrolite.open({ ...base, storage: path, vfs }, advanced);
  try {
    await db.exec("PRAGMA locking_mode=EXCLUSIVE");
    for (let i = 0; i < 20; i++) await db.insert('notes', { id: `ok${i}`, body: 'kept' });
    let failure;
    for (let i = 0; i < 2000 && !failure; i++) {
      try {
        await db.insert('notes', { id: `big${i}`, body: 'y'.repeat(4000) });
      } catch (err) {
        failure = err;
      }
    }
    assert.ok(failure, 'the disk filled up');
    assert.equal(failure.code, 'storage_full', `${failure.code}: ${failure.message}`);
    assert.match(module.storageError(vfs), /ENOSPC/);
    const rows = await count(db);
    assert.equal((await db.query("SELECT count(*) AS n FROM notes WHERE body = 'kept'")).rows[0].n, 20);
    // Space comes back: writes work again and the database is sound.
    disk.limit = Infinity;
    await db.insert('notes', { id: 'after', body: 'space again' });
    assert.equal(await count(db), rows + 1);
    assert.equal(await integrity(db), 'ok');
  } finally {
    await db.close();
    backend.release();
  }
});
