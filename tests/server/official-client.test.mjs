// The official @electric-sql/client (ShapeStream / Shape), unchanged, as an independent second
// client of the dev server over a real PostgreSQL: its materialised rows must equal the
// database's rows through initial sync, live changes, a truncate (409) and a resume.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeStream, Shape } from '@electric-sql/client';
import { startStack, until, uid } from '../support/server.mjs';
import { unrefLongTimers } from '../support/server.mjs';

unrefLongTimers();

let s;
const controllers = [];
const ctl = () => { const c = new AbortController(); controllers.push(c); return c; };
before(async () => { s = await startStack({ server: { longPollMs: 1000 } }); });
after(async () => { for (const c of controllers) c.abort(); await s?.stop(); });

// Keep every value as Postgres text so rows compare 1:1 with the database's text output.
const id = (v) => v;
const asText = { int2: id, int4: id, int8: id, float4: id, float8: id, bool: id, json: id, jsonb: id };
const opts = (extra = {}) => ({
  url: `${s.url}/v1/shape`, params: { table: 'tasks', where: `user_id = 'oc'` }, parser: asText,
  // The client's live-request watchdog (45 s by default) only has to exceed the server's
  // long-poll time (1 s here).
  liveRequestTimeoutMs: 4000, ...extra,
});
const dbRows = async () => {
  const rows = await s.sql(`SELECT id::text, user_id, title, description, status, priority::text, environment_id::text,
    created_at::text, updated_at::text FROM tasks WHERE user_id = 'oc' ORDER BY id`);
  return rows;
};
const sorted = (rows) => [...rows].map((r) => ({ ...r })).sort((a, b) => (a.id < b.id ? -1 : 1));

test('initial sync, live insert/update/delete, 409 after truncate, resume from saved offset+handle', async () => {
  for (let i = 0; i < 5; i++) await s.sql(`INSERT INTO tasks (id, user_id, title, priority) VALUES ($1, 'oc', $2, $3)`, [uid(), `t${i}`, i]);
  const controller = ctl();
  const stream = new ShapeStream(opts({ signal: controller.signal }));
  const shape = new Shape(stream);
  const statuses = [];
  stream.subscribe((msgs) => { for (const m of msgs) if (m.headers?.control) statuses.push(m.headers.control); }, () => {});
  assert.deepEqual(sorted(await shape.rows), await dbRows());

  // Live insert, update, delete.
  const a = uid();
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'oc', 'live')`, [a]);
  await s.sql(`UPDATE tasks SET title = 'live-updated', priority = 42 WHERE id = $1`, [a]);
  await s.sql(`DELETE FROM tasks WHERE title = 't0' AND user_id = 'oc'`);
  const want1 = await dbRows();
  await until(() => JSON.stringify(sorted(shape.currentRows)) === JSON.stringify(want1), 10000, 'live changes');

  // Save the position, then truncate: the client gets must-refetch (409) and resyncs.
  const saved = { offset: stream.lastOffset, handle: stream.shapeHandle };
  const oldHandle = stream.shapeHandle;
  await s.sql(`TRUNCATE tasks CASCADE`);
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'oc', 'after truncate')`, [uid()]);
  const want2 = await dbRows();
  await until(() => JSON.stringify(sorted(shape.currentRows)) === JSON.stringify(want2), 10000, 'resync after truncate');
  assert.ok(statuses.includes('must-refetch'), `saw ${statuses}`);
  assert.notEqual(stream.shapeHandle, oldHandle);
  controller.abort();

  // Resume: a new stream from a saved offset+handle receives exactly what it missed.
  const c2 = ctl();
  const first = new ShapeStream(opts({ signal: c2.signal }));
  const firstShape = new Shape(first);
  await firstShape.rows;
  const pos = { offset: first.lastOffset, handle: first.shapeHandle };
  c2.abort();
  const missed = [];
  for (let i = 0; i < 9; i++) { const id = uid(); missed.push(id); await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'oc', $2)`, [id, `missed${i}`]); }
  const c3 = ctl();
  const resumed = new ShapeStream(opts({ signal: c3.signal, offset: pos.offset, handle: pos.handle }));
  const got = [];
  await new Promise((resolve, reject) => {
    resumed.subscribe((msgs) => {
      for (const m of msgs) {
        if ('key' in m) got.push([m.headers.operation, m.value.id]);
        if (m.headers?.control === 'up-to-date' && got.length >= 9) resolve();
        if (m.headers?.control === 'must-refetch') reject(new Error('resume must not refetch'));
      }
    }, reject);
  });
  c3.abort();
  assert.deepEqual(got, missed.map((id) => ['insert', id]));
  void saved;
});

test('a saved offset from a truncated shape refetches from scratch and ends equal to the database', async () => {
  const c = ctl();
  const st = new ShapeStream(opts({ signal: c.signal }));
  const sh = new Shape(st);
  await sh.rows;
  const pos = { offset: st.lastOffset, handle: st.shapeHandle };
  c.abort();
  await s.sql(`TRUNCATE tasks CASCADE`);
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'oc', 'fresh')`, [uid()]);
  const c2 = ctl();
  const again = new Shape(new ShapeStream(opts({ signal: c2.signal, offset: pos.offset, handle: pos.handle })));
  const want = await dbRows();
  await until(() => JSON.stringify(sorted(again.currentRows)) === JSON.stringify(want), 10000, 'refetch after truncate');
  c2.abort();
});
