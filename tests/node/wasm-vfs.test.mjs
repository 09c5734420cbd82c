// The wasm build's SQLite OS layer (wasm/vfs): the memory VFS under the engine, its
// clock (SQL's 'now' is the engine's nowMs), file lifetime across close/reopen, isolation
// between module instances, and journal rollback of a transaction larger than the page
// cache. Driven through the Embind API only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

const schemaSql = readFileSync(new URL('../../schema/schema.sql', import.meta.url), 'utf8');
const fixture = JSON.parse(readFileSync(new URL('../fixtures/electric-tasks-sync.json', import.meta.url), 'utf8'));
const tasksDdl = schemaSql.match(/create table tasks \([\s\S]*?\n\);/)[0];
const encoder = new TextEncoder();

function ok(json, what) {
  const r = JSON.parse(json);
  assert.notEqual(r.ok, false, `${what}: ${r.code}: ${r.message}`);
  return r;
}

function open(m, path, nowMs) {
  return ok(m.open(JSON.stringify({ path, nowMs, baseUrl: 'http://electric.test', schemaSql: tasksDdl })), 'open').handle;
}

function one(m, h, sql, params = []) {
  return ok(m.query(h, sql, JSON.stringify(params)), sql).rows[0][0];
}

/** Answers the tasks shape's snapshot (the fixture's first two, non-live responses). */
function syncSnapshot(m, h, now) {
  for (const ex of fixture.exchanges.filter((e) => e.request.table === 'tasks' && !e.request.live)) {
    const req = JSON.parse(m.pollRequest(h, now));
    assert.equal(new URL(req.url).searchParams.get('offset'), ex.request.offset);
    ok(m.handleResponse(h, now, req.id, ex.response.status, JSON.stringify(ex.response.headers),
      encoder.encode(JSON.stringify(ex.response.body))), 'handleResponse');
  }
}

test("SQL's 'now' is the time the engine was last handed", async () => {
  const m = await loadEngineModule();
  const t0 = Date.UTC(2026, 2, 14, 9, 26, 53, 589);
  const h = open(m, 'clock.db', t0);
  assert.equal(one(m, h, "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"), '2026-03-14T09:26:53.589Z');
  const t1 = t0 + 86_400_000 + 1;
  ok(m.handleTimeout(h, t1), 'handleTimeout');
  assert.equal(one(m, h, "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"), '2026-03-15T09:26:53.590Z');
  assert.equal(one(m, h, "SELECT CAST(unixepoch('now') AS INTEGER)"), Math.floor(t1 / 1000));
  ok(m.close(h), 'close');
});

test('a database file outlives its connection within a module and is private to it', async () => {
  const m = await loadEngineModule();
  const now = Date.UTC(2026, 0, 8);
  const h = open(m, 'persist.db', now);
  syncSnapshot(m, h, now);
  assert.equal(one(m, h, 'SELECT count(*) FROM tasks'), 5);
  ok(m.close(h), 'close');

  // Reopened: the rows and the shape's position are still there.
  const h2 = open(m, 'persist.db', now + 1000);
  assert.equal(one(m, h2, 'SELECT count(*) FROM tasks'), 5);
  assert.equal(one(m, h2, 'PRAGMA integrity_check'), 'ok');
  const shape = ok(m.status(h2), 'status').shapes.find((s) => s.table === 'tasks');
  assert.deepEqual([shape.handle, shape.offset], [fixture.exchanges[1].response.headers['electric-handle'], '0_1']);
  ok(m.close(h2), 'close');

  // Another module instance has its own memory and so its own files.
  const other = await loadEngineModule();
  const h3 = open(other, 'persist.db', now);
  assert.equal(one(other, h3, 'SELECT count(*) FROM tasks'), 0);
  ok(other.close(h3), 'close');
});

test('a transaction larger than the page cache rolls back through the journal', async () => {
  const m = await loadEngineModule();
  const h = open(m, 'journal.db', Date.UTC(2026, 0, 8));
  ok(m.exec(h, 'PRAGMA cache_size = 16', '[]'), 'cache_size');
  ok(m.exec(h, 'CREATE TABLE blobs (id INTEGER PRIMARY KEY, payload BLOB)', '[]'), 'create');
  ok(m.exec(h, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                INSERT INTO blobs SELECT i, randomblob(1000) FROM n`, '[]'), 'insert');
  const before = one(m, h, 'SELECT sum(length(payload)) FROM blobs');
  assert.equal(before, 2_000_000);

  ok(m.begin(h), 'begin');
  ok(m.exec(h, 'UPDATE blobs SET payload = zeroblob(3000)', '[]'), 'update'); // spills dirty pages
  ok(m.exec(h, 'DELETE FROM blobs WHERE id % 2 = 0', '[]'), 'delete');
  assert.equal(one(m, h, 'SELECT count(*) FROM blobs'), 1000);
  ok(m.rollback(h), 'rollback');

  assert.equal(one(m, h, 'SELECT count(*) FROM blobs'), 2000);
  assert.equal(one(m, h, 'SELECT sum(length(payload)) FROM blobs'), before);
  assert.equal(one(m, h, 'PRAGMA integrity_check'), 'ok');
  ok(m.close(h), 'close');
});
