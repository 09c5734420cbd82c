// The browser runtime's worker boundary in headless Chromium, on the real wasm engine: the
// main-thread proxy opens the engine in a module worker, reads and writes, live queries keep
// row identity across postMessage, transactions commit or roll back, errors come back as
// ElectroliteError with the same code the Node client gives, and status says `memory`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Electrolite } from '../../dist/js/index.js';
import { launch, missingPrerequisite, serveStatic } from './harness.mjs';

const OFFLINE_URL = 'http://127.0.0.1:9';
let server;
let browser;
let page;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  server = await serveStatic(undefined, { '/rpc.html': '<!doctype html><title>rpc</title>' });
  browser = await launch();
  page = await browser.page();
  await page.goto(`${server.url}/rpc.html`);
  await page.evaluate(async (url) => {
    const mod = await import('/electrolite.js');
    window.E = mod;
    window.tokenCalls = 0;
    window.db = await mod.BrowserElectrolite.open({
      url, autoSubscribe: false, uploadIntervalMs: 3600000,
      token: async () => { window.tokenCalls++; return 'tok'; },
    });
  }, OFFLINE_URL);
});

after(async () => {
  await page?.evaluate(() => window.db?.close()).catch(() => undefined);
  await browser?.close();
  await server?.close();
});

/** The code the Node client (same engine, in-process) gives for the same failure. */
async function nodeCode(fn) {
  const db = await Electrolite.open({ url: OFFLINE_URL, autoSubscribe: false, uploadIntervalMs: 3600000 });
  try {
    await fn(db);
  } catch (err) {
    return err.code;
  } finally {
    await db.close();
  }
  throw new Error('expected the Node client to fail too');
}

test('opens in a worker; status says memory; the token function runs on the main thread', async () => {
  const r = await page.evaluate(() => ({
    storage: db.status.storage, connection: db.status.connection, tokenCalls, inWorker: typeof window.Worker,
  }));
  assert.equal(r.storage, 'memory');
  assert.ok(r.tokenCalls >= 1, 'the worker asked the page for a token');
});

test('exec, query and a live query whose unchanged rows keep identity across postMessage', async () => {
  const r = await page.evaluate(async () => {
    await db.exec('CREATE TABLE scratch (id INTEGER PRIMARY KEY, v TEXT)', []);
    const results = [];
    const stop = db.live('SELECT id, v FROM scratch ORDER BY id', [], (res) => results.push(res));
    const wait = async (pred) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      return pred();
    };
    await wait(() => results.length === 1);
    const ins = await db.exec('INSERT INTO scratch (v) VALUES (?), (?)', ['a', 'b']);
    await wait(() => results.at(-1).rows.length === 2);
    const two = results.at(-1);
    await db.exec('UPDATE scratch SET v = ? WHERE id = 2', ['B']);
    await wait(() => results.at(-1).rows[1].v === 'B');
    const last = results.at(-1);
    const q = await db.query('SELECT count(*) AS n FROM scratch', []);
    const o = db.liveQuery('SELECT v FROM scratch WHERE v = ?', ['c']);
    await o.ready;
    const empty = o.getSnapshot().rows.length;
    let notified = 0;
    o.subscribe(() => notified++);
    await db.exec('INSERT INTO scratch (v) VALUES (?)', ['c']);
    await wait(() => o.getSnapshot().rows.length === 1);
    const observed = o.getSnapshot().rows.length;
    o.dispose();
    stop();
    return {
      changes: ins.changes, first: results[0].rows.length, n: Number(q.rows[0].n),
      keptIdentity: last.rows[0] === two.rows[0], changed: last.rows[1] !== two.rows[1], empty, observed, notified,
    };
  });
  assert.deepEqual(r, { changes: 2, first: 0, n: 2, keptIdentity: true, changed: true, empty: 0, observed: 1, notified: 1 });
});

test('insert/update on a synced table, live results and the outbox across the worker', async () => {
  const r = await page.evaluate(async () => {
    const results = [];
    const stop = db.live('SELECT id, title, status FROM tasks WHERE user_id = ? ORDER BY title', ['u1'],
      (res) => results.push(res));
    const wait = async (pred) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      return pred();
    };
    await wait(() => results.length === 1);
    const a = crypto.randomUUID();
    const b = crypto.randomUUID();
    const mutationId = await db.insert('tasks', { id: a, user_id: 'u1', title: 'a', status: 'pending', priority: 0 });
    await db.insert('tasks', { id: b, user_id: 'u1', title: 'b', status: 'pending', priority: 0 });
    await wait(() => results.at(-1).rows.length === 2);
    const twoRows = results.at(-1);
    await db.update('tasks', { id: b }, { status: 'completed' });
    await wait(() => results.at(-1).rows[1]?.status === 'completed');
    const last = results.at(-1);
    const q = await db.query('SELECT count(*) AS n FROM tasks', []);
    stop();
    return {
      mutationId: typeof mutationId, first: results[0].rows.length, n: q.rows[0].n,
      keptIdentity: last.rows[0] === twoRows.rows[0], changed: last.rows[1] !== twoRows.rows[1],
      pending: (await db.pendingMutations()).length, statusPending: db.status.pendingChanges,
    };
  });
  assert.equal(r.mutationId, 'string');
  assert.equal(r.first, 0);
  assert.equal(Number(r.n), 2);
  assert.equal(r.keptIdentity, true, 'unchanged row is the same object on the main thread');
  assert.equal(r.changed, true);
  assert.equal(r.pending, 3);
});

test('liveQuery observer on a synced table, and a failing one reports its error', async () => {
  const r = await page.evaluate(async () => {
    const q = db.liveQuery('SELECT id FROM tasks WHERE title = ?', ['observed']);
    await q.ready;
    const empty = q.getSnapshot().rows.length;
    let notified = 0;
    q.subscribe(() => notified++);
    await db.insert('tasks', { id: crypto.randomUUID(), user_id: 'u1', title: 'observed', status: 'pending', priority: 0 });
    for (let i = 0; i < 200 && q.getSnapshot().rows.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const after = q.getSnapshot().rows.length;
    q.dispose();
    const bad = db.liveQuery('SELECT * FROM no_such_table', []);
    await bad.ready;
    return { empty, after, notified, badCode: bad.getError()?.code ?? null };
  });
  assert.equal(r.empty, 0);
  assert.equal(r.after, 1);
  assert.ok(r.notified >= 1);
  assert.ok(r.badCode, 'a failing live query reports its error');
});

test('transactions committed together, or rolled back when fn throws', async () => {
  const r = await page.evaluate(async () => {
    const count = async () => Number((await db.query('SELECT count(*) AS n FROM environments', [])).rows[0].n);
    const before = await count();
    const value = await db.transaction(async (tx) => {
      await tx.insert('environments', { id: crypto.randomUUID(), user_id: 'u1', name: 'one' });
      await tx.insert('environments', { id: crypto.randomUUID(), user_id: 'u1', name: 'two' });
      return 'done';
    });
    const committed = await count();
    const boom = new Error('boom');
    let caught;
    try {
      await db.transaction(async (tx) => {
        await tx.insert('environments', { id: crypto.randomUUID(), user_id: 'u1', name: 'three' });
        throw boom;
      });
    } catch (err) {
      caught = err;
    }
    return { before, value, committed, after: await count(), same: caught === boom };
  });
  assert.equal(r.value, 'done');
  assert.equal(r.committed, r.before + 2);
  assert.equal(r.after, r.committed, 'the throwing transaction left nothing');
  assert.equal(r.same, true, 'fn\'s own error reaches the caller');
});

test('errors cross as data and are rebuilt as ElectroliteError with the Node client\'s code', async () => {
  const sqlCode = await nodeCode((db) => db.query('SELECT * FROM no_such_table', []));
  const argCode = await nodeCode((db) => db.insert('', {}));
  const r = await page.evaluate(async () => {
    const grab = async (fn) => {
      try {
        await fn();
        return null;
      } catch (err) {
        return { cls: err instanceof E.ElectroliteError, name: err.name, code: err.code, message: err.message };
      }
    };
    return {
      sql: await grab(() => db.query('SELECT * FROM no_such_table', [])),
      arg: await grab(() => db.insert('', {})),
      clone: await grab(() => db.query('SELECT ?', [() => 1])),
    };
  });
  assert.deepEqual([r.sql.cls, r.sql.name, r.sql.code], [true, 'ElectroliteError', sqlCode]);
  assert.match(r.sql.message, /no_such_table/);
  assert.deepEqual([r.arg.cls, r.arg.code], [true, argCode]);
  assert.deepEqual([r.clone.cls, r.clone.code], [true, 'invalid_argument'], 'uncloneable arguments fail clearly');
});

test('export() returns the snapshot bytes; clear() removes an OPFS database so a reopen starts empty', async () => {
  const r = await page.evaluate(async (url) => {
    const opts = { url, autoSubscribe: false, uploadIntervalMs: 3600000, storage: 'rpc-clear' };
    const a = await E.BrowserElectrolite.open(opts);
    await a.insert('tasks', { id: crypto.randomUUID(), user_id: 'u1', title: 'kept', status: 'pending', priority: 0 });
    const snapshot = await a.export();
    const storage = a.status.storage;
    await a.close();
    const b = await E.BrowserElectrolite.open(opts);
    const reopened = Number((await b.query('SELECT count(*) AS n FROM tasks', [])).rows[0].n);
    await b.clear();
    let afterClear;
    try { await b.query('SELECT 1', []); } catch (err) { afterClear = err.code; }
    const c = await E.BrowserElectrolite.open(opts);
    const fresh = Number((await c.query('SELECT count(*) AS n FROM tasks', [])).rows[0].n);
    await c.close();
    return { bytes: snapshot instanceof Uint8Array && snapshot.length > 0, storage, reopened, afterClear, fresh };
  }, OFFLINE_URL);
  assert.deepEqual(r, { bytes: true, storage: 'opfs', reopened: 1, afterClear: 'closed', fresh: 0 });
});

test('close: later calls reject with code closed', async () => {
  const r = await page.evaluate(async () => {
    await db.close();
    try {
      await db.query('SELECT 1', []);
      return null;
    } catch (err) {
      return { cls: err instanceof E.ElectroliteError, code: err.code };
    }
  });
  assert.deepEqual(r, { cls: true, code: 'closed' });
});
