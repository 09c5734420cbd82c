// Subset snapshots on a large table, against a real PostgreSQL: the query a subset runs is read
// through the index of its `order_by` (the caller's row restriction and the subset's `where`
// ride on top of that scan, they never turn it into a sort of every row), and a
// `log=changes_only` shape is made without reading the table's rows. The plan is PostgreSQL's
// own EXPLAIN of the exact SQL and parameters the server sent; nothing here is timed (the
// figures are in bench/workloads/server.mjs, `server-subset-page`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, shapeRequest, unrefLongTimers } from '../support/server.mjs';

unrefLongTimers();
const SECRET = 'subset-plan-secret-0123456789';
const ROWS = 20000;
const UUID_OWNER = '0b7c9a52-4a0e-4c55-9d1e-2f5b8d3c6e71';
let s, auth;
/** Every statement the server sends while `recording` is set: [sql, params]. */
let recording = null;

before(async () => {
  s = await startStack({ server: { authSecret: SECRET, tables: ['notes'] } });
  const { createAuth } = await import('../../dist/server/index.js');
  auth = createAuth({ secret: SECRET });
  // Watch what the server sends to the database (the statements still run as sent).
  const db = s.server.service.db;
  const note = (sql, params) => { recording?.push([sql, params ?? []]); };
  const query = db.query.bind(db);
  db.query = (sql, params) => { note(sql, params); return query(sql, params); };
  const transaction = db.transaction.bind(db);
  db.transaction = (fn, opts) => transaction((tx) => fn({ ...tx, query: (sql, params) => { note(sql, params); return tx.query(sql, params); } }), opts);
  // Two users' rows, loaded as a table that was there before the service (capture triggers
  // off for this session), with the indexes an app paging by title or by date would have.
  const c = await s.pool.connect();
  try {
    await c.query(`SET session_replication_role = replica`);
    await c.query(`INSERT INTO tasks (id, user_id, title, status, priority, created_at)
      SELECT gen_random_uuid(), CASE WHEN g % 2 = 0 THEN 'pager' ELSE 'someone-else' END, 'task ' || lpad(g::text, 7, '0'),
             (ARRAY['pending','in_progress','completed','failed','cancelled'])[1 + g % 5], g % 100, now() - g * interval '1 second'
        FROM generate_series(1, $1::int) g`, [ROWS]);
  } finally { c.release(); }
  await s.sql(`CREATE INDEX tasks_title_idx ON tasks (title)`);
  await s.sql(`CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at)`);
  // An app whose user ids are uuids (as most auth providers issue them).
  await s.sql(`CREATE TABLE notes (id int PRIMARY KEY, user_id uuid NOT NULL, created_at timestamptz NOT NULL)`);
  await s.sql(`INSERT INTO notes SELECT g, CASE WHEN g % 2 = 0 THEN '${UUID_OWNER}'::uuid ELSE gen_random_uuid() END, now() - g * interval '1 second'
    FROM generate_series(1, $1::int) g`, [ROWS]);
  await s.sql(`CREATE INDEX notes_user_created_idx ON notes (user_id, created_at)`);
  await s.sql(`ANALYZE tasks; ANALYZE notes`);
});
after(async () => { await s?.stop(); });

const bearer = (u) => ({ authorization: `Bearer ${auth.issue(u)}` });
const TASKS_SELECT = /^SELECT .* FROM "public"\."tasks"/s;

/** Runs `fn` and returns the statements it made the server send. */
async function record(fn) {
  recording = [];
  try {
    const result = await fn();
    return { result, sent: recording };
  } finally { recording = null; }
}

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function nodes(plan) {
  const out = [plan];
  for (const p of plan.Plans ?? []) out.push(...nodes(p));
  return out;
}

async function planOf(sql, params) {
  const [row] = await s.sql(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  return row['QUERY PLAN'][0].Plan;
}

test('a subset page is read through the order_by index: the row restriction and the where do not defeat it', async () => {
  const sub = await shapeRequest(s.url, { table: 'tasks', offset: '-1', log: 'changes_only' }, bearer('pager'));
  assert.equal(sub.status, 200);
  const handle = sub.headers.get('electric-handle'), offset = sub.headers.get('electric-offset');
  const cases = [
    { name: 'first page', subset: { subset__order_by: 'title', subset__limit: 1000 }, index: 'tasks_title_idx', first: 'task 0000002' },
    { name: 'where on another column', subset: { subset__where: `status = 'completed'`, subset__order_by: 'title', subset__limit: 1000 }, index: 'tasks_title_idx' },
    { name: 'keyset on the sort key', subset: { subset__where: 'title > $1', subset__params: JSON.stringify({ 1: 'task 0010000' }), subset__order_by: 'title', subset__limit: 1000 },
      index: 'tasks_title_idx', first: 'task 0010002', cond: /title > /, rows: 1000 },
    { name: 'keyset on the primary key', subset: { subset__where: 'id > $1', subset__params: JSON.stringify({ 1: '80000000-0000-0000-0000-000000000000' }), subset__order_by: 'id', subset__limit: 1000 },
      index: 'tasks_pkey', cond: /id > / },
    { name: 'newest first, owner-leading index', subset: { subset__order_by: 'created_at DESC', subset__limit: 1000 }, index: 'tasks_user_created_idx', cond: /user_id = / },
  ];
  for (const c of cases) {
    const { result: r, sent } = await record(() => shapeRequest(s.url, { table: 'tasks', offset, handle, log: 'changes_only', ...c.subset }, bearer('pager')));
    assert.equal(r.status, 200, `${c.name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.data.length, c.rows ?? 1000, c.name);
    assert.ok(r.body.data.every((m) => m.value.user_id === 'pager'), `${c.name}: only the caller's rows`);
    if (c.first) assert.equal(r.body.data[0].value.title, c.first, c.name);
    const reads = sent.filter(([sql]) => TASKS_SELECT.test(sql));
    assert.equal(reads.length, 1, `${c.name}: one query reads the table`);
    const [sql, params] = reads[0];
    assert.match(sql, /LIMIT 1000/, c.name);
    const plan = await planOf(sql, params);
    const all = nodes(plan);
    const scans = all.filter((n) => /Scan/.test(n['Node Type']));
    assert.equal(plan['Node Type'], 'Limit', `${c.name}: ${JSON.stringify(plan)}`);
    assert.deepEqual(scans.map((n) => [n['Node Type'], n['Index Name']]), [['Index Scan', c.index]], `${c.name}: ${JSON.stringify(plan)}`);
    assert.ok(!all.some((n) => n['Node Type'] === 'Sort'), `${c.name}: no sort of the matching rows`);
    if (c.cond) assert.match(scans[0]['Index Cond'] ?? '', c.cond, `${c.name}: the condition bounds the index scan`);
  }
});

test('a uuid owner column: the caller\'s id compares as a uuid, so an index leading with the owner column serves the page', async () => {
  const page = { table: 'notes', offset: '-1', log: 'changes_only', subset__order_by: 'created_at DESC', subset__limit: 1000 };
  const { result: r, sent } = await record(() => shapeRequest(s.url, page, bearer(UUID_OWNER)));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.data.length, 1000);
  assert.ok(r.body.data.every((m) => m.value.user_id === UUID_OWNER));
  assert.equal(r.body.data[0].value.id, '2', 'newest first');
  const [[sql, params]] = sent.filter(([q]) => /^SELECT .* FROM "public"\."notes"/s.test(q));
  const plan = await planOf(sql, params);
  const scans = nodes(plan).filter((n) => /Scan/.test(n['Node Type']));
  assert.deepEqual(scans.map((n) => [n['Node Type'], n['Index Name'], n['Scan Direction']]), [['Index Scan', 'notes_user_created_idx', 'Backward']], JSON.stringify(plan));
  assert.match(scans[0]['Index Cond'], /user_id = /);
  assert.ok(!nodes(plan).some((n) => n['Node Type'] === 'Sort'));
  // The same id spelt otherwise is another caller, as the text comparison always had it: no rows.
  for (const other of [UUID_OWNER.toUpperCase(), `{${UUID_OWNER}}`, 'not-a-uuid']) {
    const o = await shapeRequest(s.url, page, bearer(other));
    assert.equal(o.status, 200, `${other}: ${JSON.stringify(o.body)}`);
    assert.deepEqual(o.body.data, [], other);
  }
});

test('a changes_only shape on a large table is made without reading its rows', async () => {
  const { result: r, sent } = await record(() => shapeRequest(s.url, { table: 'tasks', offset: '-1', log: 'changes_only', where: `priority < 50` }, bearer('pager')));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.map((m) => m.headers.control), ['snapshot-end']);
  assert.deepEqual(sent.filter(([sql]) => TASKS_SELECT.test(sql)), [], 'no statement reads the table');
  // The same shape with log=full does read it: the recording sees table reads when they happen.
  const full = await record(() => shapeRequest(s.url, { table: 'tasks', offset: '-1', where: `priority < 0` }, bearer('pager')));
  assert.equal(full.result.status, 200);
  assert.equal(full.sent.filter(([sql]) => TASKS_SELECT.test(sql)).length, 1);
});
