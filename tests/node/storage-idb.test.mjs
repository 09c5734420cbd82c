// The IndexedDB storage (js/browser/idb-storage.ts) under the real wasm engine, in Node over
// fake-indexeddb: what the browser worker does (flush after each call, before the reply) keeps
// every acknowledged write; a killed worker (memory dropped, nothing flushed since) reopens at
// the last flush with integrity_check ok, at every point of a write sequence; a failed flush
// (an aborted IndexedDB transaction, as on quota) is reported and its changes go out with the
// next one (STYLE.md #14: fault injection at the storage seam).
import 'fake-indexeddb/auto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Electrolite } from '../../dist/js/index.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';
import { attachStorage } from '../../dist/js/storage.js';
import { IdbStorage } from '../../dist/js/browser/idb-storage.js';

const notesTable = {
  name: 'notes',
  columns: [{ name: 'id', type: 'text', notNull: true }, { name: 'body', type: 'text' }],
  primaryKey: ['id'],
  policy: { policy: 'last-write-wins', writable: true },
};
const base = { url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3_600_000, tables: [notesTable] };

/** Opens `name` as the worker does: storage loaded from IndexedDB, attached, engine opened, flushed. */
async function open(name, options = {}) {
  const module = await loadEngineModule();
  const idb = await IdbStorage.open(name);
  const vfs = attachStorage(module, idb, name, options.key);
  const db = await Electrolite.open({ ...base, storage: name, vfs }, { loadModule: async () => module });
  await idb.flush();
  return { db, idb, module };
}

const count = async (db) => (await db.query('SELECT count(*) AS n FROM notes')).rows[0].n;
const integrity = async (db) => (await db.query('PRAGMA integrity_check')).rows[0].integrity_check;

/** A worker killed now: its memory is gone, IndexedDB keeps what was flushed. */
function kill({ db, idb }) {
  idb.release();
  db.close().catch(() => undefined); // its writes go nowhere now
}

test('writes flushed after each call survive close and reopen, with their outbox entries', async () => {
  const a = await open('persist.db');
  for (let i = 0; i < 50; i++) {
    await a.db.insert('notes', { id: `n${i}`, body: `body ${i}` });
    await a.idb.flush();
  }
  assert.equal((await a.db.query('PRAGMA journal_mode')).rows[0].journal_mode, 'wal');
  await a.db.close();
  await a.idb.flush();
  a.idb.release();
  assert.ok(a.idb.flushes > 0 && a.idb.flushes <= 60, `${a.idb.flushes} flushes for 50 writes`);

  const b = await open('persist.db');
  try {
    assert.equal(await count(b.db), 50);
    assert.equal((await b.db.pendingMutations()).length, 50);
    assert.equal(await integrity(b.db), 'ok');
  } finally {
    await b.db.close();
    b.idb.release();
  }
});

test('a worker killed after any write keeps the flushed writes (integrity ok), at every point', async () => {
  for (let n = 1; n <= 8; n++) {
    for (const flushLast of [true, false]) {
      const name = `crash-${n}-${flushLast}.db`;
      const a = await open(name);
      for (let i = 0; i < n; i++) {
        await a.db.insert('notes', { id: `k${i}`, body: 'x'.repeat(200 + i * 997) });
        if (i < n - 1 || flushLast) await a.idb.flush();
      }
      kill(a);
      const b = await open(name);
      try {
        const rows = await count(b.db);
        // Unawaited, the flush the last write scheduled may still have committed.
        assert.ok(rows === n || (!flushLast && rows === n - 1), `after ${n} writes (last flushed: ${flushLast}): ${rows} rows`);
        assert.equal((await b.db.pendingMutations()).length, rows, 'one outbox entry per row');
        assert.equal(await integrity(b.db), 'ok');
        await b.db.insert('notes', { id: 'after', body: 'after the crash' });
        await b.idb.flush();
      } finally {
        await b.db.close();
        b.idb.release();
      }
    }
  }
});

test('a failed flush is reported, and the next flush carries its changes', async () => {
  const proto = globalThis.IDBDatabase.prototype;
  const original = proto.transaction;
  let failNext = 0;
  proto.transaction = function (...args) {
    const tx = original.apply(this, args);
    if (args[1] === 'readwrite' && failNext > 0) {
      failNext--;
      queueMicrotask(() => tx.abort()); // after the puts: what a QuotaExceededError does
    }
    return tx;
  };
  const a = await open('faults.db');
  try {
    for (let i = 0; i < 10; i++) {
      await a.db.insert('notes', { id: `ok${i}`, body: 'kept' });
      await a.idb.flush();
    }
    for (let round = 0; round < 5; round++) {
      // Every transaction fails now (the flush the write scheduled, and the retry).
      failNext = Infinity;
      await a.db.insert('notes', { id: `f${round}`, body: 'y'.repeat(3000) });
      await assert.rejects(a.idb.flush(), (err) => err.name === 'AbortError');
      failNext = 0;
      // Nothing more reached IndexedDB: a crash now reopens without f<round>...
      // ...but the next flush (after another write, or none) carries it.
      if (round % 2 === 0) await a.db.insert('notes', { id: `g${round}`, body: 'z' });
      await a.idb.flush();
    }
    const rows = await count(a.db);
    kill(a);
    a.killed = true;
    const b = await open('faults.db');
    try {
      assert.equal(await count(b.db), rows);
      assert.equal(rows, 10 + 5 + 3);
      assert.equal(await integrity(b.db), 'ok');
    } finally {
      await b.db.close();
      b.idb.release();
    }
  } finally {
    proto.transaction = original;
    if (!a.killed) kill(a);
  }
});

test('an encrypted IndexedDB database holds no plaintext and reopens only with its key', async () => {
  const key = new Uint8Array(32).fill(7);
  const a = await open('sealed.db', { key });
  for (let i = 0; i < 20; i++) await a.db.insert('notes', { id: `s${i}`, body: `classified-marker ${i}` });
  await a.db.close();
  await a.idb.flush();
  a.idb.release();
  const raw = await new Promise((resolve, reject) => {
    const r = indexedDB.open(IdbStorage.databaseName('sealed.db'));
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const g = r.result.transaction('blocks').objectStore('blocks').getAll();
      g.onsuccess = () => {
        r.result.close();
        resolve(Buffer.concat(g.result.map((u8) => Buffer.from(u8))));
      };
    };
  });
  assert.ok(raw.length > 0);
  assert.equal(raw.indexOf('classified-marker'), -1);
  assert.equal(raw.indexOf('SQLite format 3'), -1);

  const b = await open('sealed.db', { key });
  try {
    assert.equal(await count(b.db), 20);
  } finally {
    await b.db.close();
    b.idb.release();
  }
  const module = await loadEngineModule();
  const idb = await IdbStorage.open('sealed.db');
  try {
    assert.throws(() => attachStorage(module, idb, 'sealed.db', new Uint8Array(32).fill(8)), /wrong encryption key/);
  } finally {
    idb.release();
  }
});

test('files read back as a plain byte model across blocks, truncation and regrowth, also after reopen', async () => {
  const BLOCK = 65536;
  let seed = 7;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let idb = await IdbStorage.open('model.db');
  const f = idb.open('f', true);
  let model = Buffer.alloc(0);
  for (let step = 0; step < 300; step++) {
    const op = rand(10);
    if (op < 6) {
      const at = rand(3 * BLOCK);
      const bytes = Buffer.alloc(1 + rand(BLOCK + 100), step % 251);
      idb.write(f, bytes, at);
      if (model.length < at + bytes.length) model = Buffer.concat([model, Buffer.alloc(at + bytes.length - model.length)]);
      bytes.copy(model, at);
    } else if (op < 8) {
      const size = rand(3 * BLOCK);
      idb.truncate(f, size);
      model = size <= model.length ? model.subarray(0, size) : Buffer.concat([model, Buffer.alloc(size - model.length)]);
    } else {
      await idb.flush();
      if (op === 9) {
        idb.release();
        idb = await IdbStorage.open('model.db');
        assert.equal(idb.open('f', false), f);
      }
    }
    assert.equal(idb.size(f), model.length, `size at step ${step}`);
    const all = new Uint8Array(model.length + 10).fill(0xee);
    assert.equal(idb.read(f, all, 0), model.length);
    assert.ok(Buffer.from(all.subarray(0, model.length)).equals(model), `bytes at step ${step}`);
  }
  await idb.flush();
  idb.release();
});
