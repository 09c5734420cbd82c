// The embedded default: PGlite (real Postgres in wasm) in a data folder, no database installed.
// Same Shape API and write endpoint; the official client syncs from it; data and tx offsets
// survive a restart.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShapeStream, Shape } from '@electric-sql/client';
import { ShapeReader, until, uid } from '../support/server.mjs';
import { unrefLongTimers } from '../support/server.mjs';

unrefLongTimers();

const { createServer } = await import('../../dist/server/index.js');
const dir = mkdtempSync(join(tmpdir(), 'electrolite-pglite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('PGlite: schema on first start, shapes, live changes, writes, truncate, restart', { timeout: 120000 }, async () => {
  const logs = [];
  let srv = await createServer({ dataDir: dir, longPollMs: 1000, pollMs: 100, log: (l) => logs.push(l) });
  const controllers = [];
  try {
    await srv.listen(0);
    assert.ok(logs.some((l) => /DEV AUTH MODE/.test(l)), 'loud dev-mode warning');
    assert.ok(logs.some((l) => /applied schema/.test(l)));
    const { token } = await (await fetch(`${srv.url}/v1/token`, { method: 'POST', body: JSON.stringify({ userId: 'pg-lite-user' }) })).json();
    const headers = { authorization: `Bearer ${token}` };
    const id = uid();
    const w = await (await fetch(`${srv.url}/v1/changes`, { method: 'POST', headers, body: JSON.stringify({
      mutations: [{ id: uid(), table: 'tasks', op: 'insert', key: { id }, value: { title: 'from pglite' } }] }) })).json();
    assert.equal(w.results[0].status, 'applied');
    const c = new AbortController(); controllers.push(c);
    const shape = new Shape(new ShapeStream({ url: `${srv.url}/v1/shape`, params: { table: 'tasks' }, headers, signal: c.signal, liveRequestTimeoutMs: 4000 }));
    const rows = await shape.rows;
    assert.deepEqual(rows.map((r) => [r.id, r.title, r.user_id]), [[id, 'from pglite', 'pg-lite-user']]);
    // A change made directly in the database reaches the client live.
    await srv.db.query(`UPDATE tasks SET title = 'edited in db', priority = 7 WHERE id = $1`, [id]);
    await until(() => shape.currentRows[0]?.title === 'edited in db' || null, 10000, 'live update');
    assert.equal(shape.currentRows[0].priority, 7);
    // Subset snapshots (GET and POST) work on PGlite too.
    const subQs = new URLSearchParams({ table: 'tasks', offset: '-1', log: 'changes_only', subset__where: 'priority > $1', subset__params: '{"1":"5"}' });
    const sub = await (await fetch(`${srv.url}/v1/shape?${subQs}`, { headers })).json();
    assert.deepEqual(sub.data.map((m) => m.value.title), ['edited in db']);
    assert.match(sub.metadata.xmax, /^\d+$/);
    const subPost = await (await fetch(`${srv.url}/v1/shape?table=tasks&offset=-1&log=changes_only`, { method: 'POST', headers,
      body: JSON.stringify({ where: 'priority < $1', params: { 1: '5' } }) })).json();
    assert.deepEqual(subPost.data, []);
    // Truncate → must-refetch → resync.
    const reader = await new ShapeReader(srv.url, { table: 'tasks' }, headers).sync();
    await srv.db.query('TRUNCATE tasks CASCADE');
    const r = await until(async () => { const x = await reader.step({ live: true }); return x.status === 409 ? x : null; }, 10000, '409');
    assert.equal(r.status, 409);
    await srv.db.query(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'pg-lite-user', 'kept')`, [uid()]);
    await until(() => shape.currentRows.length === 1 && shape.currentRows[0].title === 'kept' || null, 10000, 'official client resync');
    c.abort();
    const lastTx = srv.service.log.head;
    await srv.close();

    // Restart on the same folder: data kept, schema not applied again, offsets continue.
    logs.length = 0;
    srv = await createServer({ dataDir: dir, longPollMs: 1000, log: (l) => logs.push(l) });
    await srv.listen(0);
    assert.ok(!logs.some((l) => /applied schema/.test(l)));
    assert.equal(srv.service.log.head, lastTx);
    const again = await new ShapeReader(srv.url, { table: 'tasks' }).sync();
    assert.deepEqual([...again.rows.values()].map((x) => x.title), ['kept']);
  } finally {
    for (const c of controllers) c.abort();
    await srv.close();
  }
});
