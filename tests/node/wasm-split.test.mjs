// The split build (wasm/split-module.mjs, js/wasm-deferred.ts): electrolite.wasm holds what
// open + the first query run, electrolite.deferred.wasm the rest. A call into the second
// part before it has loaded loads it synchronously and gives the same answer; a second part
// that cannot be loaded fails that call with an `io` error naming the file; parts of
// different builds are refused, not mixed; the client opens, queries and runs live queries
// on the first part alone and sends no request until the second part is in; a client write
// waits for the second part, and fails cleanly (engine untouched) if it cannot be loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

const dist = new URL('../../dist/wasm/', import.meta.url);
const wasmUrl = new URL('electrolite.wasm', dist);
const deferredUrl = new URL('electrolite.deferred.wasm', dist);
const split = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmUrl)))
  .filter((i) => i.module === 'placeholder').length;
const skip = split === 0 || !existsSync(deferredUrl)
  ? 'this build is not split (no wasm-split, or EL_WASM_SPLIT=0)' : false;

const schemaSql = 'CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT)';
const ID = '00000000-0000-4000-8000-000000000001';

function ok(json, what) {
  const r = JSON.parse(json);
  assert.notEqual(r.ok, false, `${what}: ${r.code}: ${r.message}`);
  return r;
}
const openJson = JSON.stringify({
  path: ':memory:', baseUrl: 'http://split.test/', clientId: 'split-test', nowMs: Date.now(),
  schemaSql, policies: { items: { writable: true } }, autoSubscribe: false,
});
function open(m) {
  return ok(m.open(openJson), 'open').handle;
}

test('the split build moves a real share of the module out of the first part', { skip }, () => {
  const first = readFileSync(wasmUrl).length;
  const rest = readFileSync(deferredUrl).length;
  assert.ok(split > 100, `${split} placeholders`);
  assert.ok(rest > first / 4, `first part ${first} bytes, deferred part ${rest} bytes`);
});

test('a write before the deferred part loaded loads it synchronously and answers the same', { skip }, async () => {
  const m = await loadEngineModule({ deferredLoad: 'on-demand' });
  const h = open(m);
  assert.deepEqual(ok(m.query(h, 'SELECT count(*) FROM items', '[]'), 'query').rows, [[0]]);
  ok(m.insert(h, 'items', JSON.stringify({ id: ID, title: 'written through a placeholder' })), 'insert');
  assert.deepEqual(ok(m.query(h, 'SELECT title FROM items', '[]'), 'query').rows, [['written through a placeholder']]);
  assert.equal(ok(m.pendingMutations(h), 'pending').mutations.length, 1);
  await m.deferredReady(); // already loaded: resolves at once
  ok(m.close(h), 'close');
});

test('a deferred part that cannot be loaded fails with an io error naming it, every time', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'el-split-'));
  try {
    const missing = pathToFileURL(join(dir, 'nowhere.deferred.wasm'));
    const m = await loadEngineModule({ deferredWasmUrl: missing, deferredLoad: 'on-demand' });
    await assert.rejects(m.deferredReady(), (err) => err.code === 'io' && err.message.includes('nowhere.deferred.wasm'));
    // The benchmark-only raw insert never runs on the way to a first query: deferred.
    const raw = () => m.benchRawInsert('raw.db', 'CREATE TABLE t (a)', 'INSERT INTO t VALUES (?)', 1, 1, new Uint8Array(0));
    assert.throws(raw, (err) => err.code === 'io' && /deferred part .*nowhere\.deferred\.wasm/.test(err.message));
    // The same error again, not a second attempt that could half-run.
    assert.throws(raw, (err) => err.code === 'io');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parts of different builds are refused, not mixed', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'el-split-'));
  try {
    // The first part itself stands in for a foreign deferred part: its imports are not ours.
    const foreign = join(dir, 'foreign.deferred.wasm');
    copyFileSync(wasmUrl, foreign);
    const m = await loadEngineModule({ deferredWasmUrl: pathToFileURL(foreign), deferredLoad: 'on-demand' });
    await assert.rejects(m.deferredReady(), (err) => err.code === 'io' && /imports .* which the first part does not export/.test(err.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the client holds its sync loop until the deferred part is in, then syncs', { skip }, async () => {
  const { Electrolite } = await import('../../dist/js/index.js');
  const m = await loadEngineModule({ deferredLoad: 'on-demand' });
  const requests = [];
  const fetch = (url, init) => {
    requests.push(String(url));
    return new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
  };
  const db = await Electrolite.open({ url: 'http://split.test', fetch }, { loadModule: async () => m });
  try {
    // Open, a query and a live query run on the first part alone.
    assert.equal((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n, 0);
    await new Promise((resolve) => db.live('SELECT id FROM tasks', [], () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(requests, [], 'no request before the second part is in');
    await m.deferredReady();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(requests.some((u) => u.includes('/v1/shape')), `shape requests once it is in: ${requests.join(', ')}`);
  } finally {
    await db.close();
  }
});

test('a write whose deferred part cannot be loaded fails cleanly; queries and later writes go on', { skip }, async () => {
  const { Electrolite } = await import('../../dist/js/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'el-split-'));
  const missing = pathToFileURL(join(dir, 'electrolite.deferred.wasm'));
  try {
    const m = await loadEngineModule({ deferredWasmUrl: missing, deferredLoad: 'on-demand' });
    const fetch = (_url, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const db = await Electrolite.open({ url: 'http://split.test', fetch }, { loadModule: async () => m });
    try {
      const task = { id: ID, user_id: 'u1', title: 'offline first' };
      await assert.rejects(db.insert('tasks', task), (err) => err.code === 'io' && err.message.includes('electrolite.deferred.wasm'));
      // Refused before the engine was entered: it still answers, with nothing half-written.
      assert.equal((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n, 0);
      // The file appears (the network is back): the next write loads it and goes through.
      copyFileSync(deferredUrl, missing);
      assert.equal(typeof await db.insert('tasks', task), 'string');
      assert.equal((await db.query('SELECT title FROM tasks')).rows[0].title, 'offline first');
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
