// Subset snapshots (§2.9) against a real PostgreSQL with JWT auth: `log=changes_only` shapes,
// GET `subset__*` and POST bodies, the snapshot metadata, and the official client's
// requestSnapshot merging snapshots with a stream under concurrent writes (nothing lost, nothing
// applied twice). Hostile subset parameters get a 400 naming the parameter and never a row.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeStream } from '@electric-sql/client';
import { startStack, shapeRequest, until, uid, unrefLongTimers } from '../support/server.mjs';

unrefLongTimers();
const SECRET = 'subset-secret-0123456789';
let s, auth;
const controllers = [];
before(async () => {
  // The official-client test's writers commit thousands of transactions a second while its
  // stream is paused for snapshots; keep them all, so falling off the retained log (a correct
  // 409, after which there is nothing left to compare) is never what a slow run checks.
  s = await startStack({ server: { authSecret: SECRET, longPollMs: 1000, logRetention: 100000 } });
  const { createAuth } = await import('../../dist/server/index.js');
  auth = createAuth({ secret: SECRET });
});
after(async () => { for (const c of controllers) c.abort(); await s?.stop(); });

const bearer = (u) => ({ authorization: `Bearer ${auth.issue(u)}` });
const shapeUrl = (params) => `${s.url}/v1/shape?${new URLSearchParams(params)}`;
async function seed(user, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = uid();
    ids.push(id);
    await s.sql(`INSERT INTO tasks (id, user_id, title, priority) VALUES ($1, $2, $3, $4)`, [id, user, `t${String(i).padStart(2, '0')}`, i]);
  }
  return ids;
}
/** offset=-1 of a changes_only shape: its handle and offset. */
async function subscribe(user) {
  const r = await shapeRequest(s.url, { table: 'tasks', offset: '-1', log: 'changes_only' }, bearer(user));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.map((m) => m.headers.control), ['snapshot-end'], 'changes_only: no initial rows');
  return { handle: r.headers.get('electric-handle'), offset: r.headers.get('electric-offset') };
}

test('GET subset: the page of rows, its metadata and headers; changes_only gets no initial rows', async () => {
  await seed('sub1', 10);
  await seed('sub1-other', 3);
  const { handle, offset } = await subscribe('sub1');
  const r = await shapeRequest(s.url, {
    table: 'tasks', offset, handle, log: 'changes_only', subset__where: 'priority >= $1', subset__params: JSON.stringify({ 1: '5' }),
    subset__order_by: 'priority DESC', subset__limit: '3', subset__offset: '1',
  }, bearer('sub1'));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.headers.get('electric-snapshot'), 'true');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  assert.equal(r.headers.get('electric-handle'), handle);
  assert.equal(r.headers.get('electric-offset'), offset, 'the stream position does not move');
  assert.ok(JSON.parse(r.headers.get('electric-schema')).priority);
  assert.deepEqual(r.body.data.map((m) => m.value.priority), ['8', '7', '6']);
  const { metadata } = r.body;
  for (const k of ['xmin', 'xmax']) assert.match(metadata[k], /^\d+$/);
  assert.ok(Array.isArray(metadata.xip_list));
  assert.match(metadata.database_lsn, /^\d+$/);
  assert.ok(Number.isInteger(metadata.snapshot_mark));
  for (const m of r.body.data) {
    assert.equal(m.headers.operation, 'insert');
    assert.deepEqual(m.headers.relation, ['public', 'tasks']);
    assert.equal(m.headers.snapshot_mark, metadata.snapshot_mark);
    assert.equal(m.value.user_id, 'sub1');
    assert.match(m.key, /^"public"\."tasks"\/"/);
  }
  // No where: every row of the caller's shape, never another user's.
  const all = await shapeRequest(s.url, { table: 'tasks', offset: '-1', log: 'changes_only', subset__order_by: 'title', subset__limit: '100' }, bearer('sub1'));
  assert.equal(all.status, 200);
  assert.equal(all.body.data.length, 10);
  // A subset where that names another user still sees only the caller's rows (AND-combined).
  const other = await shapeRequest(s.url, { table: 'tasks', offset: '-1', log: 'changes_only', subset__where: `user_id = 'sub1-other'` }, bearer('sub1'));
  assert.equal(other.status, 200);
  assert.deepEqual(other.body.data, []);
});

test('POST subset: JSON body (and the legacy {subset: …} form) gives the same rows as GET', async () => {
  await seed('sub2', 6);
  const { handle, offset } = await subscribe('sub2');
  const q = { table: 'tasks', offset, handle, log: 'changes_only' };
  const body = { where: 'priority < $1', params: { 1: '4' }, order_by: 'priority', limit: 2, offset: 1 };
  for (const b of [body, { subset: body }]) {
    const res = await fetch(shapeUrl(q), { method: 'POST', headers: { ...bearer('sub2'), 'content-type': 'application/json' }, body: JSON.stringify(b) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('electric-snapshot'), 'true');
    const j = await res.json();
    assert.deepEqual(j.data.map((m) => m.value.priority), ['1', '2']);
  }
  const get = await shapeRequest(s.url, { ...q, subset__where: 'priority < $1', subset__params: '{"1":"4"}', subset__order_by: 'priority', subset__limit: 2, subset__offset: 1 }, bearer('sub2'));
  assert.deepEqual(get.body.data.map((m) => m.value.priority), ['1', '2']);
  // A stale handle is answered like a log request: 409 with the current one.
  const stale = await fetch(shapeUrl({ ...q, handle: 'nope-1' }), { method: 'POST', headers: bearer('sub2'), body: '{}' });
  assert.equal(stale.status, 409);
  assert.equal(stale.headers.get('electric-handle'), handle);
});

test('the metadata tells stream changes apart: visible in the snapshot or not', async () => {
  const [a] = await seed('sub3', 1);
  const { handle, offset } = await subscribe('sub3');
  // A transaction open across the snapshot is in xip_list; after it commits its change is not in the rows.
  const c = await s.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`UPDATE tasks SET title = 'late' WHERE id = $1`, [a]);
    const [{ xid }] = (await c.query('SELECT pg_current_xact_id()::text AS xid')).rows;
    const r = await shapeRequest(s.url, { table: 'tasks', offset, handle, log: 'changes_only', subset__where: 'true' }, bearer('sub3'));
    await c.query('COMMIT');
    assert.equal(r.body.data[0].value.title, 't00');
    const { xmin, xmax, xip_list: xip } = r.body.metadata;
    const visible = (x) => BigInt(x) < BigInt(xmin) || (BigInt(x) < BigInt(xmax) && !xip.includes(x));
    assert.equal(visible(xid), false, 'the open transaction is not visible in the snapshot');
    // Its change reaches the stream after the response's offset, with a tx above database_lsn.
    let msgs = [];
    await until(async () => {
      const t = await shapeRequest(s.url, { table: 'tasks', offset, handle, log: 'changes_only' }, bearer('sub3'));
      msgs = t.body.filter((m) => m.key);
      return msgs.length > 0 || null;
    }, 10000, 'the late update in the stream');
    assert.equal(msgs[0].value.title, 'late');
    assert.ok(BigInt(msgs[0].headers.lsn) > BigInt(r.body.metadata.database_lsn));
  } finally { c.release(); }
});

// The snapshots are taken while the server's harvest is paused, and four writers keep writing
// throughout: the harvest never falls idle, so a subset (and resume()) must wait for one harvest
// pass that covers its snapshot, not for the change log to go quiet.
test('the official client: changes_only + requestSnapshot (GET and POST) under concurrent writes loses and doubles nothing', async () => {
  const ids = await seed('sub-oc', 20);
  const controller = new AbortController();
  controllers.push(controller);
  const asText = (v) => v;
  const stream = new ShapeStream({
    url: `${s.url}/v1/shape`, params: { table: 'tasks' }, headers: bearer('sub-oc'), log: 'changes_only',
    parser: { int4: asText }, signal: controller.signal, liveRequestTimeoutMs: 4000,
  });
  // Every priority a key shows, from its snapshot row on: it must go up by exactly one each time.
  const seen = new Map();
  let snapshots = 0, refetches = 0;
  stream.subscribe((msgs) => {
    for (const m of msgs) {
      if (m.headers?.control === 'subset-end') snapshots++;
      if (m.headers?.control === 'must-refetch') refetches++;
      if (!m.key) continue;
      if (m.headers.operation === 'insert' && m.headers.snapshot_mark !== undefined) seen.set(m.key, [Number(m.value.priority)]);
      else if (m.headers.operation === 'update' && seen.has(m.key) && m.value.priority !== undefined) seen.get(m.key).push(Number(m.value.priority));
    }
  }, () => {});
  await until(() => stream.isUpToDate || null, 10000, 'stream up to date');
  let writing = true;
  let writes = 0;
  const writer = async () => {
    while (writing) {
      await s.sql('UPDATE tasks SET priority = priority + 1 WHERE id = $1', [ids[Math.floor(Math.random() * ids.length)]]);
      writes++;
    }
  };
  const writers = [writer(), writer(), writer(), writer()];
  await new Promise((r) => setTimeout(r, 300));
  // Widen the race: changes committed before each snapshot reach the log (and the stream)
  // only after it, so the stream must drop exactly those the snapshot already holds.
  const snapshot = async (opts) => {
    s.server.service.pause();
    await new Promise((r) => setTimeout(r, 150));
    const p = stream.requestSnapshot(opts);
    await new Promise((r) => setTimeout(r, 150));
    await s.server.service.resume();
    return p;
  };
  const even = await snapshot({ where: `substr(title, 3, 1) IN ('0','2','4','6','8')`, orderBy: 'title', limit: 100 });
  await new Promise((r) => setTimeout(r, 300));
  const odd = await snapshot({ where: `substr(title, 3, 1) IN ('1','3','5','7','9')`, orderBy: 'title', limit: 100, method: 'POST' });
  await new Promise((r) => setTimeout(r, 500));
  writing = false;
  await Promise.all(writers);
  assert.equal(even.data.length, 10);
  assert.equal(odd.data.length, 10);
  assert.equal(snapshots, 2);
  // A refetch would restart the stream (and drop its snapshots): the checks below would not hold.
  assert.equal(refetches, 0, 'the stream was never sent back to a new shape');
  assert.ok(writes > 20, `concurrent writes happened (${writes})`);
  const want = new Map((await s.sql(`SELECT id::text, priority FROM tasks WHERE user_id = 'sub-oc'`)).map((r) => [r.id, r.priority]));
  const keyOf = (id) => `"public"."tasks"/"${id}"`;
  await until(() => ids.every((id) => seen.get(keyOf(id))?.at(-1) === want.get(id)) || null, 15000, 'every key at its database value');
  for (const id of ids) {
    const seq = seen.get(keyOf(id));
    for (let i = 1; i < seq.length; i++) assert.equal(seq[i], seq[i - 1] + 1, `${id}: ${seq.slice(Math.max(0, i - 3), i + 3).join(',')} (a change lost or applied twice)`);
  }
});

test('hostile subset parameters: 400 naming the parameter, never a row', async () => {
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'victim', 'victim-secret-91')`, [uid()]);
  const q = { table: 'tasks', offset: '-1', log: 'changes_only' };
  const cases = [
    [{ subset__limit: '5' }, 'order_by'],
    [{ subset__offset: '5' }, 'order_by'],
    [{ subset__limit: '1000000000', subset__order_by: 'id' }, 'limit'],
    [{ subset__limit: '0', subset__order_by: 'id' }, 'limit'],
    [{ subset__limit: '-1', subset__order_by: 'id' }, 'limit'],
    [{ subset__limit: '1e3', subset__order_by: 'id' }, 'limit'],
    [{ subset__offset: 'x', subset__order_by: 'id' }, 'offset'],
    [{ subset__params: 'not json', subset__where: 'title = $1' }, 'params'],
    [{ subset__params: '{"2":"a"}', subset__where: 'title = $1' }, 'params'],
    [{ subset__params: '{"a":"b"}' }, 'params'],
    [{ subset__where: 'title = $1' }, 'params'],
    [{ subset__where: 'title = $2', subset__params: '{"1":"a"}' }, 'params'],
    [{ subset__where: 'true', subset__params: '{"1":"a"}' }, 'params'],
    [{ subset__where: 'title = $2', subset__params: '{"1":"a","2":"b"}' }, 'params'],
    [{ subset__where: 'title = $1', subset__order_by: 'title', subset__limit: '5', subset__params: '{"1":"a","2":"b"}' }, 'params'],
    [{ subset__where: `id IN (SELECT id FROM tasks WHERE user_id = 'victim')` }, 'where'],
    [{ subset__where: 'EXISTS (SELECT 1 FROM pg_authid)' }, 'where'],
    [{ subset__where: `title = (SELECT rolpassword FROM pg_catalog.pg_authid LIMIT 1)` }, 'where'],
    [{ subset__where: `true; SELECT 1` }, 'where'],
    [{ subset__where: `pg_read_file('/etc/passwd') <> ''` }, 'where'],
    [{ subset__where: `xmin = '1'` }, 'where'],
    [{ subset__order_by: '1' }, 'order_by'],
    [{ subset__order_by: 'title USING <' }, 'order_by'],
    [{ subset__order_by: '(SELECT 1 FROM pg_authid)' }, 'order_by'],
    [{ subset__order_by: 'title; DROP TABLE tasks' }, 'order_by'],
    [{ subset__order_by: 'title LIMIT 5' }, 'order_by'],
    [{ subset__order_by: 'pg_sleep(10)' }, 'order_by'],
    [{ subset__order_by: 'victim.title' }, 'order_by'],
    [{ subset__where: 'true', subset__bogus: '1' }, 'bogus'],
  ];
  for (const [params, field] of cases) {
    const r = await shapeRequest(s.url, { ...q, ...params }, bearer('attacker'));
    assert.equal(r.status, 400, `${JSON.stringify(params)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(r.body.errors.subset[field], `${JSON.stringify(params)} names ${field}: ${JSON.stringify(r.body)}`);
    assert.doesNotMatch(JSON.stringify(r.body), /victim-secret/);
  }
  const post = async (body, headers = {}) => {
    const res = await fetch(shapeUrl(q), { method: 'POST', headers: { ...bearer('attacker'), 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, text: await res.text() };
  };
  for (const body of ['{not json', '[1,2]', '"x"', 'null', JSON.stringify({ where: 5 }), JSON.stringify({ limit: 'many', order_by: 'id' }),
    JSON.stringify({ params: { 1: { nested: true } }, where: 'title = $1' }), JSON.stringify({ where: 'id IN (SELECT id FROM tasks)' }),
    JSON.stringify({ order_by: 'title', limit: 1e12 }), JSON.stringify({ sql: 'SELECT 1' }),
    JSON.stringify({ where: 'true', params: { 1: 'x' } })]) {
    const r = await post(body);
    assert.equal(r.status, 400, `${body} → ${r.status} ${r.text}`);
    assert.doesNotMatch(r.text, /victim-secret/);
  }
  assert.match((await post('{not json')).text, /Invalid JSON in request body/);
  assert.match((await post(JSON.stringify({ where: 'true', params: { 1: 'x' } }))).text, /parameter 1 is given but no clause uses \$1/);
  const huge = await post(JSON.stringify({ where: 'true', params: { 1: 'x'.repeat(2 * 1024 * 1024) } }));
  assert.equal(huge.status, 413);
  // The policy's row restriction holds for a POST subset of every row.
  const mine = await post(JSON.stringify({ order_by: 'title', limit: 100 }));
  assert.equal(mine.status, 200);
  assert.doesNotMatch(mine.text, /victim-secret/);
});
