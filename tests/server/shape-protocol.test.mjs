// Shape API scenarios S-* of ../shared/spec/electric-protocol.md §6 against a real PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, shapeRequest, ShapeReader, sleep, until } from '../support/server.mjs';

let s;
// The tables these scenarios create; every other table is unknown to the service.
const tables = ['items', 'nopk', 'wide', 'chunky', 'trunc', 'ret'];
before(async () => {
  s = await startStack({ server: { tables } });
  await s.sql(`CREATE TABLE items (id int8 PRIMARY KEY, value1 text, value2 text, num int, flag boolean, doc jsonb, tags int[])`);
  await s.sql(`CREATE TABLE nopk (col1 text, col2 text)`);
  await s.sql(`CREATE TABLE wide (id int8 PRIMARY KEY, value1 text, value2 text)`);
});
after(async () => { await s?.stop(); });

const get = (p, h) => shapeRequest(s.url, p, h);
const msgs = (body) => body.filter((m) => 'key' in m);

test('S-VALIDATION: invalid requests get 400 with Electric-shaped errors', async () => {
  const cases = [
    [{ table: 'items', offset: '-1', live: 'true' }, 'live', "can't be true when offset == -1"],
    [{ table: 'items', offset: '0_0' }, 'handle', "can't be blank when offset != -1"],
    [{ table: 'items', offset: 'invalid' }, 'offset', 'has invalid format'],
    [{ table: 'items', offset: '0_-1' }, 'offset', 'has invalid format'],
    [{ offset: '-1' }, 'table', "can't be blank"],
    [{ table: 'items', offset: '-1', columns: 'value1' }, 'columns', 'The list of columns must include all primary key columns, missing: id'],
    [{ table: 'items', offset: '-1', columns: 'id,invalid' }, 'columns', 'The following columns are not found on the table: invalid'],
    [{ table: 'items', offset: '0_0', handle: 'x', live_sse: 'true' }, 'live_sse', "can't be true unless live is also true"],
    [{ table: 'nosuch', offset: '-1' }, 'table', 'Table "public"."nosuch" does not exist. If the table name contains capitals or special characters you must quote it.'],
    [{ table: 'items', offset: '-1', where: 'id IN (SELECT 1)' }, 'where', null],
    [{ table: 'items', offset: '-1', where: 'true) OR (true' }, 'where', null],
    [{ table: 'items', offset: '-1', where: 'id = $1' }, 'params', null],
    [{ table: 'items', offset: '-1', where: 'pg_sleep(1) IS NULL' }, 'where', null],
    [{ table: 'items', offset: '-1', where: 'x 1 x' }, 'where', null],
  ];
  for (const [params, field, msg] of cases) {
    const r = await get(params);
    assert.equal(r.status, 400, `${JSON.stringify(params)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.message, 'Invalid request');
    assert.ok(Array.isArray(r.body.errors[field]), `${JSON.stringify(params)}: errors.${field} in ${JSON.stringify(r.body)}`);
    if (msg) assert.deepEqual(r.body.errors[field], [msg]);
  }
});

test('S-SCHEMA, snapshot values, headers, CORS; S-NOW', async () => {
  await s.sql(`INSERT INTO items VALUES (1, 'a', 'b', 3, true, '{"x": 1}', '{1,2,NULL}')`);
  const r = await get({ table: 'items', offset: '-1' }, { origin: 'http://example.test' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('electric-offset'), '0_0');
  assert.ok(/^\d+-\d+$/.test(r.headers.get('electric-handle')));
  assert.equal(r.headers.get('electric-up-to-date'), null, 'no up-to-date on offset=-1');
  assert.deepEqual(JSON.parse(r.headers.get('electric-schema')), {
    id: { type: 'int8', pk_index: 0, not_null: true }, value1: { type: 'text' }, value2: { type: 'text' },
    num: { type: 'int4' }, flag: { type: 'bool' }, doc: { type: 'jsonb' }, tags: { type: 'int4', dims: 1 },
  });
  assert.match(r.headers.get('access-control-expose-headers'), /electric-handle.*electric-offset.*electric-schema/);
  assert.equal(r.headers.get('access-control-allow-origin'), 'http://example.test');
  const rows = msgs(r.body);
  assert.deepEqual(rows[0], {
    key: '"public"."items"/"1"',
    value: { id: '1', value1: 'a', value2: 'b', num: '3', flag: 'true', doc: '{"x": 1}', tags: '{1,2,NULL}' },
    headers: { operation: 'insert', relation: ['public', 'items'] },
  });
  const end = r.body[r.body.length - 1];
  assert.equal(end.headers.control, 'snapshot-end');
  for (const k of ['xmin', 'xmax']) assert.match(end.headers[k], /^\d+$/);
  const h = r.headers.get('electric-handle');
  const r2 = await get({ table: 'items', offset: '0_0', handle: h });
  assert.equal(r2.status, 200);
  assert.equal(r2.headers.get('electric-up-to-date'), '');
  assert.equal(r2.body.at(-1).headers.control, 'up-to-date');
  // S-NOW on the same definition: up-to-date, no data, same offset.
  const now = await get({ table: 'items', offset: 'now' });
  assert.equal(now.status, 200);
  assert.equal(now.headers.get('electric-has-data'), 'false');
  assert.equal(now.headers.get('electric-offset'), r2.headers.get('electric-offset'));
  assert.ok(now.headers.get('electric-schema'));
  // Not-null follows the catalog.
  await s.sql('ALTER TABLE items ALTER COLUMN id DROP NOT NULL').catch(() => {});
  await s.sql('ALTER TABLE items ALTER COLUMN num SET NOT NULL');
  const r3 = await get({ table: 'items', offset: r2.headers.get('electric-offset'), handle: h });
  assert.equal(JSON.parse(r3.headers.get('electric-schema')).num.not_null, true);
  await s.sql('ALTER TABLE items ALTER COLUMN num DROP NOT NULL');
  // OPTIONS preflight.
  const o = await fetch(`${s.url}/v1/shape?table=items`, { method: 'OPTIONS' });
  assert.equal(o.status, 204);
  assert.equal(o.headers.get('access-control-max-age'), '86400');
});

test('live long-poll: update diff (replica=default), txids/lsn/op_position/last, cursor, timeout', async () => {
  const reader = await new ShapeReader(s.url, { table: 'wide' }).sync();
  const liveP = get({ table: 'wide', offset: reader.offset, handle: reader.handle, live: 'true', cursor: '' });
  await sleep(50);
  const [{ xid }] = await s.sql(`WITH i AS (INSERT INTO wide VALUES (10, 'v1', 'v2')) SELECT pg_current_xact_id()::xid::text AS xid`);
  const r = await liveP;
  assert.equal(r.status, 200);
  assert.ok(r.headers.get('electric-cursor'), 'live responses carry electric-cursor');
  assert.equal(r.headers.get('electric-schema'), null, 'no schema on live responses');
  const [ins] = msgs(r.body);
  assert.equal(ins.headers.operation, 'insert');
  assert.deepEqual(ins.headers.txids, [Number(xid)]);
  assert.equal(r.headers.get('electric-offset'), `${ins.headers.lsn}_${ins.headers.op_position}`);
  assert.equal(ins.headers.last, true);
  // Update of one column → only PK + that column.
  const off = r.headers.get('electric-offset');
  const live2 = get({ table: 'wide', offset: off, handle: reader.handle, live: 'true', cursor: r.headers.get('electric-cursor') });
  await sleep(50);
  await s.sql(`UPDATE wide SET value2 = 'v2b' WHERE id = 10`);
  const r2 = await live2;
  const [upd] = msgs(r2.body);
  assert.deepEqual(upd.value, { id: '10', value2: 'v2b' });
  assert.notEqual(r2.headers.get('electric-cursor'), r.headers.get('electric-cursor'));
  // Empty timeout → [up-to-date], has-data false, same offset.
  const t0 = Date.now();
  const r3 = await get({ table: 'wide', offset: r2.headers.get('electric-offset'), handle: reader.handle, live: 'true', cursor: '1' });
  assert.ok(Date.now() - t0 >= 900);
  assert.equal(r3.headers.get('electric-has-data'), 'false');
  assert.equal(r3.headers.get('electric-offset'), r2.headers.get('electric-offset'));
  assert.deepEqual(r3.body.map((m) => m.headers.control), ['up-to-date']);
});

test('S-FULL: replica=full carries full rows and old_value of changed columns', async () => {
  await s.sql(`INSERT INTO wide VALUES (20, 'a', 'b')`);
  const reader = await new ShapeReader(s.url, { table: 'wide', replica: 'full', where: 'id = 20' }).sync();
  await s.sql(`UPDATE wide SET value2 = 'c' WHERE id = 20`);
  const r = await until(async () => { const x = await reader.step({ live: true }); return msgs(x.body).length ? x : null; });
  const [m] = msgs(r.body);
  assert.deepEqual(m.value, { id: '20', value1: 'a', value2: 'c' });
  assert.deepEqual(m.old_value, { value2: 'b' });
});

test('S-PKCHG and S-MOVE: PK change split, where-clause move-in/move-out in one transaction', async () => {
  await s.sql(`INSERT INTO items (id, num) VALUES (101, 1), (102, 9), (103, 6)`);
  const reader = await new ShapeReader(s.url, { table: 'items', where: 'num > 5 AND id > 100' }).sync();
  assert.deepEqual(Object.keys(reader.byId()).sort(), ['102', '103']);
  await s.sql(`BEGIN; UPDATE items SET num = 6 WHERE id = 101; UPDATE items SET num = 5 WHERE id = 103; UPDATE items SET id = 104 WHERE id = 102; COMMIT`);
  const r = await until(async () => { const x = await reader.step({ live: true }); return msgs(x.body).length ? x : null; });
  const ms = msgs(r.body);
  assert.deepEqual(ms.map((m) => [m.headers.operation, m.key]), [
    ['insert', '"public"."items"/"101"'], ['delete', '"public"."items"/"103"'],
    ['delete', '"public"."items"/"102"'], ['insert', '"public"."items"/"104"'],
  ]);
  assert.deepEqual(ms[1].value, { id: '103' });
  assert.equal(ms[2].headers.key_change_to, '"public"."items"/"104"');
  assert.equal(ms[3].headers.key_change_from, '"public"."items"/"102"');
  const lsns = new Set(ms.map((m) => m.headers.lsn));
  assert.equal(lsns.size, 1);
  assert.deepEqual(ms.map((m) => m.headers.op_position), [0, 2, 4, 5]);
  assert.deepEqual(ms.map((m) => !!m.headers.last), [false, false, false, true]);
  assert.equal(r.headers.get('electric-offset'), `${ms[3].headers.lsn}_5`);
  assert.deepEqual(Object.keys(reader.byId()).sort(), ['101', '104']);
});

test('S-NOPK: a table without a primary key keys on all columns, updates are delete+insert', async () => {
  await s.sql(`INSERT INTO nopk VALUES ('a', 'b')`);
  const reader = await new ShapeReader(s.url, { table: 'nopk' }).sync();
  assert.deepEqual([...reader.rows.keys()], ['"public"."nopk"/"a"/"b"']);
  await s.sql(`BEGIN; UPDATE nopk SET col1 = 'x'; INSERT INTO nopk VALUES ('c', NULL); COMMIT`);
  const r = await until(async () => { const x = await reader.step({ live: true }); return msgs(x.body).length ? x : null; });
  assert.deepEqual(msgs(r.body).map((m) => [m.headers.operation, m.key]), [
    ['delete', '"public"."nopk"/"a"/"b"'], ['insert', '"public"."nopk"/"x"/"b"'], ['insert', '"public"."nopk"/"c"/_'],
  ]);
  assert.equal(msgs(r.body)[0].value.col1, 'a');
});

test('S-COLS: updates of non-selected columns produce nothing; bool replicates as t/f', async () => {
  await s.sql(`INSERT INTO items (id, value1, value2, flag) VALUES (200, 'x', 'y', false)`);
  const reader = await new ShapeReader(s.url, { table: 'items', columns: 'id,value1,flag', where: 'id = 200' }).sync();
  assert.deepEqual(reader.byId()['200'], { id: '200', value1: 'x', flag: 'false' });
  await s.sql(`UPDATE items SET value2 = 'z' WHERE id = 200`);
  const quiet = await reader.step({ live: true });
  assert.equal(msgs(quiet.body).length, 0);
  await s.sql(`UPDATE items SET value1 = 'w', flag = true WHERE id = 200`);
  const r = await until(async () => { const x = await reader.step({ live: true }); return msgs(x.body).length ? x : null; });
  assert.deepEqual(msgs(r.body)[0].value, { id: '200', value1: 'w', flag: 't' });
});

test('S-409-DEF, S-409-UNKNOWN, DELETE /v1/shape', async () => {
  const a = await get({ table: 'items', offset: '-1', where: 'id > 0' });
  const h = a.headers.get('electric-handle');
  const r = await get({ table: 'items', offset: '0_0', handle: h });
  assert.equal(r.status, 409);
  assert.deepEqual(r.body, [{ headers: { control: 'must-refetch' } }]);
  assert.ok(r.headers.get('electric-handle') && r.headers.get('electric-handle') !== h);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60, must-revalidate');
  const u = await get({ table: 'items', offset: '0_0', handle: 'nonexistent' });
  assert.equal(u.status, 409);
  assert.ok(u.headers.get('electric-handle'));
  const d = await fetch(`${s.url}/v1/shape?table=items&handle=${h}`, { method: 'DELETE' });
  assert.equal(d.status, 202);
  const after = await get({ table: 'items', offset: '0_0', handle: h, where: 'id > 0' });
  assert.equal(after.status, 409);
  const fresh = await get({ table: 'items', offset: '-1', where: 'id > 0' });
  assert.notEqual(fresh.headers.get('electric-handle'), h);
});

test('S-CHANGES-ONLY and S-OOB', async () => {
  const r = await get({ table: 'wide', offset: '-1', log: 'changes_only' });
  assert.deepEqual(r.body.map((m) => m.headers.control), ['snapshot-end']);
  const reader = new ShapeReader(s.url, { table: 'wide', log: 'changes_only' });
  await reader.sync();
  assert.equal(reader.rows.size, 0);
  await s.sql(`UPDATE wide SET value1 = 'changed-only' WHERE id = 10`);
  await until(async () => { await reader.step({ live: true }); return reader.rows.size > 0 || null; });
  const oob = await get({ table: 'wide', offset: '999999999_0', handle: reader.handle, log: 'changes_only' });
  assert.equal(oob.status, 400);
  assert.deepEqual(oob.body.errors.offset, ['out of bounds for this shape']);
});

test('S-CHUNK: large snapshots and logs come in chunks, only the last has up-to-date', async () => {
  const st = await startStack({ databaseUrl: s.databaseUrl, server: { chunkBytes: 2000, tables } });
  try {
    await s.sql(`CREATE TABLE chunky (id int PRIMARY KEY, body text)`);
    await s.sql(`INSERT INTO chunky SELECT g, repeat('x', 300) FROM generate_series(1, 20) g`);
    const reader = new ShapeReader(st.url, { table: 'chunky' });
    await reader.sync();
    assert.ok(reader.requests > 3, `expected several chunks, got ${reader.requests} requests`);
    assert.equal(reader.rows.size, 20);
    await s.sql(`INSERT INTO chunky SELECT g, repeat('y', 300) FROM generate_series(21, 40) g`);
    await until(async () => { await reader.step({ live: false }); return reader.rows.size === 40 || null; });
  } finally { await st.stop(); }
});

test('S-304: If-None-Match revalidates', async () => {
  const r = await get({ table: 'items', offset: '-1' });
  const r2 = await get({ table: 'items', offset: '-1' }, { 'if-none-match': r.headers.get('etag') });
  assert.equal(r2.status, 304);
  // HEAD: the same headers, no body.
  const h = await shapeRequest(s.url, { table: 'items', offset: '-1' }, {}, 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.body, null);
  assert.equal(h.headers.get('electric-handle'), r.headers.get('electric-handle'));
  assert.ok(h.headers.get('electric-schema'));
  // POST is for subset snapshots (§2.9): its body must be JSON. Other methods: 405.
  const post = await fetch(`${s.url}/v1/shape?table=items&offset=-1`, { method: 'POST' });
  assert.equal(post.status, 400);
  assert.equal((await post.json()).error, 'Invalid JSON in request body');
  assert.equal((await fetch(`${s.url}/v1/shape?table=items&offset=-1`, { method: 'PUT' })).status, 405);
  assert.equal((await fetch(`${s.url}/v2/nothing`)).status, 404);
});

test('S-TRUNC and schema change → 409, then a fresh handle syncs normally', async () => {
  await s.sql(`CREATE TABLE trunc (id int PRIMARY KEY, v text)`);
  await s.sql(`INSERT INTO trunc VALUES (1, 'a')`);
  const reader = await new ShapeReader(s.url, { table: 'trunc' }).sync();
  const old = reader.handle;
  const liveP = reader.step({ live: true });
  await sleep(50);
  await s.sql(`TRUNCATE trunc`);
  const r = await liveP;
  assert.equal(r.status, 409);
  await s.sql(`INSERT INTO trunc VALUES (2, 'b')`);
  await reader.sync();
  assert.notEqual(reader.handle, old);
  // The insert may be delivered after the first up-to-date (it commits after the new snapshot).
  await until(async () => { await reader.step({ live: false }); return reader.byId()['2'] || null; });
  assert.deepEqual(Object.keys(reader.byId()), ['2']);
  // Adding a column is a schema change.
  const h2 = reader.handle;
  await s.sql(`ALTER TABLE trunc ADD COLUMN extra text`);
  await s.sql(`INSERT INTO trunc VALUES (3, 'c', 'e')`);
  const r3 = await until(async () => { const x = await reader.step({ live: false }); return x.status === 409 ? x : null; });
  assert.notEqual(r3.headers.get('electric-handle'), h2);
  await until(async () => { await reader.step({ live: false }); return reader.byId()['3'] || null; });
  assert.deepEqual(reader.byId()['3'], { id: '3', v: 'c', extra: 'e' });
});

test('retention: a client whose offset fell off the retained log gets 409', async () => {
  const st = await startStack({ databaseUrl: s.databaseUrl, server: { logRetention: 5, tables } });
  try {
    await s.sql(`CREATE TABLE ret (id int PRIMARY KEY, v int)`);
    await s.sql(`INSERT INTO ret VALUES (1, 0)`);
    const reader = await new ShapeReader(st.url, { table: 'ret' }).sync();
    await s.sql(`UPDATE ret SET v = 1`);
    await until(async () => { await reader.step({ live: false }); return reader.byId()['1'].v === '1' || null; });
    const saved = { offset: reader.offset, handle: reader.handle };
    for (let i = 2; i < 12; i++) await s.sql(`UPDATE ret SET v = $1`, [i]);
    await until(async () => st.server.service.log.trimmedTx > Number(saved.offset.split('_')[0]) || null);
    const r2 = await shapeRequest(st.url, { table: 'ret', offset: saved.offset, handle: saved.handle });
    assert.equal(r2.status, 409);
    const fresh = await new ShapeReader(st.url, { table: 'ret' }).sync();
    assert.equal(fresh.byId()['1'].v, '11');
  } finally { await st.stop(); }
});
