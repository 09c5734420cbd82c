// The live-query observer, structural sharing and errors, on the real wasm engine with
// local-only tables (autoSubscribe is off, so no server is involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Electrolite, ElectroliteError } from '../../dist/js/index.js';
import { eventually } from './client-harness.mjs';

// A port nothing listens on: local-only tests never need the network.
const OFFLINE_URL = 'http://127.0.0.1:9';

async function openLocal(extra = {}) {
  return Electrolite.open({ url: OFFLINE_URL, autoSubscribe: false, uploadIntervalMs: 3600000, ...extra });
}

test('a live query re-runs only when a table it reads changes; unchanged rows keep identity', async () => {
  const db = await openLocal();
  try {
    await db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, n INTEGER)');
    await db.exec('CREATE TABLE other (id INTEGER PRIMARY KEY)');
    const results = [];
    const stop = db.live('SELECT id, body FROM notes ORDER BY id', [], (r) => results.push(r));
    await eventually(() => results.length === 1, 5000, 'first result');
    assert.deepEqual(results[0].rows, []);
    assert.deepEqual(results[0].tables, ['notes']);

    await db.exec('INSERT INTO notes (body, n) VALUES (?, 1), (?, 2)', ['a', 'b']);
    await eventually(() => results.at(-1).rows.length === 2, 5000, 'two rows');
    const before = results.at(-1);
    assert.deepEqual(before.rows, [{ id: 1, body: 'a' }, { id: 2, body: 'b' }]);

    await db.exec('UPDATE notes SET body = ? WHERE id = 2', ['B']);
    await eventually(() => results.at(-1).rows[1].body === 'B', 5000, 'update');
    const after = results.at(-1);
    assert.equal(after.rows[0], before.rows[0], 'unchanged row keeps its identity');
    assert.notEqual(after.rows[1], before.rows[1]);

    // A write to another table does not re-run the query.
    const n = results.length;
    await db.exec('INSERT INTO other (id) VALUES (1)');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, n, 'no callback for another table');

    // A write that leaves the result unchanged does not call back (n is not selected).
    await db.exec('UPDATE notes SET n = 5 WHERE id = 1');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, n, 'same result, no callback');

    // An insert at the front keeps the other rows' identity.
    await db.exec('INSERT INTO notes (id, body) VALUES (0, ?)', ['z']);
    await eventually(() => results.at(-1).rows.length === 3, 5000, 'front insert');
    assert.equal(results.at(-1).rows[1], after.rows[0]);
    assert.equal(results.at(-1).rows[2], after.rows[1]);

    stop();
    const m = results.length;
    await db.exec('INSERT INTO notes (body) VALUES (?)', ['c']);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, m, 'no callback after unsubscribe');
  } finally {
    await db.close();
  }
});

test('liveQuery observer: getSnapshot/subscribe for useSyncExternalStore; bursts coalesce', async () => {
  const db = await openLocal();
  try {
    await db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    const q = db.liveQuery('SELECT count(*) AS n FROM notes');
    await q.ready;
    assert.equal(q.getSnapshot().rows[0].n, 0);
    const seen = [];
    const off = q.subscribe((r) => seen.push(r.rows[0].n));
    await Promise.all(Array.from({ length: 20 }, (_, i) => db.exec('INSERT INTO notes (body) VALUES (?)', [`x${i}`])));
    await eventually(() => q.getSnapshot().rows[0].n === 20, 5000, 'count 20');
    assert.ok(seen.length < 20, `a burst of 20 writes re-ran the query ${seen.length} times`);
    assert.equal(seen.at(-1), 20);
    off();
    q.dispose();
  } finally {
    await db.close();
  }
});

test('a failing live query reports through onError and recovers when the table appears', async () => {
  const db = await openLocal();
  try {
    const errors = [];
    const results = [];
    const stop = db.live('SELECT * FROM later', [], (r) => results.push(r), (e) => errors.push(e));
    await eventually(() => errors.length === 1, 5000, 'an error');
    assert.equal(errors[0].name, 'ElectroliteError');
    assert.match(errors[0].message, /later/);
    stop();
  } finally {
    await db.close();
  }
});

test('errors: ElectroliteError with a stable code; values keep their types; a closed database refuses calls', async () => {
  const db = await openLocal();
  await assert.rejects(db.query('SELEKT 1'), (e) => e instanceof ElectroliteError && e.name === 'ElectroliteError' && typeof e.code === 'string');
  await assert.rejects(db.query(''), (e) => e.code === 'invalid_argument');
  await assert.rejects(db.query('SELECT 1', 'x'), (e) => e.code === 'invalid_argument');
  await assert.rejects(db.insert('tasks', null), (e) => e.code === 'invalid_argument');
  await assert.rejects(db.update('tasks', { id: 'x' }, 'patch'), (e) => e.code === 'invalid_argument');
  await assert.rejects(db.subscribe({ table: '' }), (e) => e.code === 'invalid_argument');
  assert.throws(() => db.live('SELECT 1', [], 'not a function'), (e) => e.code === 'invalid_argument');
  const ok = await db.query('SELECT 1 AS a, 2.5 AS b, NULL AS c, ? AS d, 9007199254740993 AS big', ['x']);
  assert.deepEqual(ok.rows, [{ a: 1, b: 2.5, c: null, d: 'x', big: '9007199254740993' }]);
  assert.deepEqual(ok.columns, ['a', 'b', 'c', 'd', 'big']);
  await db.close();
  await assert.rejects(db.query('SELECT 1'), (e) => e.code === 'closed');
  assert.throws(() => db.live('SELECT 1', [], () => {}), (e) => e.code === 'closed');
  await db.close(); // idempotent
});
