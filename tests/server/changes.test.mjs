// POST /v1/changes against a real PostgreSQL: every policy with conflicting writes, idempotent
// replays, ownership and read-only refusals, bad bodies (nothing applied), zstd bodies, and the
// JWT checks of both endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startStack, shapeRequest, ShapeReader, until, uid } from '../support/server.mjs';

const SECRET = 'test-secret-0123456789';
let s, createAuth, signJwt, auth;
before(async () => {
  s = await startStack({ server: { authSecret: SECRET } });
  ({ createAuth, signJwt } = await import('../../dist/server/index.js'));
  auth = createAuth({ secret: SECRET });
});
after(async () => { await s?.stop(); });

const tokenFor = (u) => auth.issue(u);
async function post(body, { user = 'alice', headers = {}, raw = null } = {}) {
  const res = await fetch(`${s.url}/v1/changes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(user ? { authorization: `Bearer ${tokenFor(user)}` } : {}), ...headers },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
const ins = (table, id, value, mid = uid()) => ({ id: mid, table, op: 'insert', key: { id }, value });
const upd = (table, id, value, base, mid = uid()) => ({ id: mid, table, op: 'update', key: { id }, value, ...(base ? { base } : {}) });
const taskRow = async (id) => (await s.sql('SELECT *, updated_at::text AS ts FROM tasks WHERE id = $1', [id]))[0];

test('insert, update, delete apply in one transaction and answer the txid seen on the shape stream', async () => {
  const id = uid();
  const reader = await new ShapeReader(s.url, { table: 'tasks' }, { authorization: `Bearer ${tokenFor('alice')}` }).sync();
  const r = await post({ client_id: 'c1', mutations: [ins('tasks', id, { title: 'one' }), upd('tasks', id, { title: 'two' })] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.txid, /^\d+$/);
  assert.deepEqual(r.body.results.map((x) => x.status), ['applied', 'applied']);
  assert.equal(r.body.results[1].row.title, 'two');
  assert.equal(r.body.results[0].row.user_id, 'alice', 'user_id filled with the caller');
  await until(async () => { await reader.step({ live: false }); return reader.txids.has(Number(r.body.txid)) || null; });
  assert.equal(reader.byId()[id].title, 'two');
  const d = await post({ mutations: [{ id: uid(), table: 'tasks', op: 'delete', key: { id } }] });
  assert.equal(d.body.results[0].status, 'applied');
  assert.equal(await taskRow(id), undefined);
});

// Regression (tests/server/load.test.mjs failed 1 run in ~20): two updates of one row in one
// request both take the transaction time (R1), so the second tied with the first and lost
// whenever its random id sorted lower. A request's later write wins against its own earlier one.
test('last-write-wins: a request\'s later update of a row wins the tie against its own earlier one', async () => {
  const id = uid();
  await post({ mutations: [ins('tasks', id, { title: 'base' })] });
  for (const [a, b] of [['z', '0'], ['0', 'z']]) {   // both id orders
    const r = await post({ mutations: [upd('tasks', id, { title: `first-${a}` }, null, a + uid()), upd('tasks', id, { title: `second-${b}` }, null, b + uid())] });
    assert.deepEqual(r.body.results.map((x) => x.status), ['applied', 'applied'], JSON.stringify(r.body));
    assert.equal((await taskRow(id)).title, `second-${b}`);
  }
});

test('idempotency: a replayed mutation id is answered duplicate and never applied twice', async () => {
  const id = uid();
  const m = ins('tasks', id, { title: 'once' });
  const a = await post({ mutations: [m] });
  assert.equal(a.body.results[0].status, 'applied');
  await s.sql(`UPDATE tasks SET title = 'changed by server' WHERE id = $1`, [id]);
  const b = await post({ mutations: [m, m] });
  assert.deepEqual(b.body.results.map((x) => x.status), ['duplicate', 'duplicate']);
  assert.equal(b.body.results[0].original, 'applied');
  // The original write's txid, not this request's: the client matches it on the shape stream.
  assert.deepEqual(b.body.results.map((x) => x.txid), [a.body.txid, a.body.txid]);
  assert.notEqual(b.body.txid, a.body.txid);
  assert.equal((await taskRow(id)).title, 'changed by server');
  // Same id twice in one request: the second is a duplicate of the first.
  const m2 = upd('tasks', id, { priority: 5 });
  const c = await post({ mutations: [m2, m2] });
  assert.deepEqual(c.body.results.map((x) => x.status), ['applied', 'duplicate']);
  // Concurrent replays of one id: exactly one applies.
  const m3 = { ...upd('tasks', id, { priority: 1 }), id: uid() };
  await s.sql(`UPDATE tasks SET priority = 0 WHERE id = $1`, [id]);
  const rs = await Promise.all(Array.from({ length: 8 }, () => post({ mutations: [m3] })));
  const statuses = rs.map((x) => x.body.results[0].status).sort();
  assert.deepEqual(statuses, ['applied', ...Array(7).fill('duplicate')]);
});

test('last-write-wins: newer updated_at wins, older is rejected with the server row, ties by mutation id', async () => {
  const id = uid();
  await post({ mutations: [ins('tasks', id, { title: 'base', updated_at: '2026-01-01T00:00:00Z' })] });
  const newer = await post({ mutations: [upd('tasks', id, { title: 'newer', updated_at: '2026-01-02T00:00:00Z' })] });
  assert.equal(newer.body.results[0].status, 'applied');
  const older = await post({ mutations: [upd('tasks', id, { title: 'older', updated_at: '2026-01-01T12:00:00Z' })] });
  assert.equal(older.body.results[0].status, 'rejected');
  assert.equal(older.body.results[0].reason, 'stale');
  assert.equal(older.body.results[0].row.title, 'newer');
  // Tie: the larger mutation id wins against the last writer, the smaller loses.
  const last = (await s.sql(`SELECT id FROM electric_mutations WHERE row_key = $1 AND status = 'applied' ORDER BY seq DESC LIMIT 1`, [JSON.stringify([id])]))[0].id;
  const lo = await post({ mutations: [upd('tasks', id, { title: 'tie-lo', updated_at: '2026-01-02T00:00:00Z' }, null, '0' + last)] });
  assert.equal(lo.body.results[0].status, 'rejected');
  const hi = await post({ mutations: [upd('tasks', id, { title: 'tie-hi', updated_at: '2026-01-02T00:00:00Z' }, null, 'z' + last)] });
  assert.equal(hi.body.results[0].status, 'applied');
  assert.equal((await taskRow(id)).title, 'tie-hi');
  // A matching base means no conflict: applied even with an older timestamp.
  const row = hi.body.results[0].row;
  const based = await post({ mutations: [upd('tasks', id, { title: 'based', updated_at: '2025-01-01T00:00:00Z' }, { title: row.title, updated_at: row.updated_at })] });
  assert.equal(based.body.results[0].status, 'applied');
  // Update of a missing row → rejected not_found; an insert of an existing key under LWW is an update.
  const missing = await post({ mutations: [upd('tasks', uid(), { title: 'x' })] });
  assert.equal(missing.body.results[0].reason, 'not_found');
  const again = await post({ mutations: [ins('tasks', id, { title: 're-insert', updated_at: '2030-01-01T00:00:00Z' })] });
  assert.equal(again.body.results[0].status, 'applied');
  assert.equal((await taskRow(id)).title, 're-insert');
});

test('server-wins: base is the version check; a stale base is rejected; base is required', async () => {
  const id = uid();
  const task = uid();
  await post({ mutations: [ins('tasks', task, { title: 't' })] });
  const a = await post({ mutations: [ins('agent_executions', id, { task_id: task, agent_type: 'x', status: 'pending' })] });
  assert.equal(a.body.results[0].status, 'applied', JSON.stringify(a.body));
  const ok = await post({ mutations: [upd('agent_executions', id, { status: 'running' }, { status: 'pending' })] });
  assert.equal(ok.body.results[0].status, 'applied');
  await s.sql(`UPDATE agent_executions SET status = 'completed' WHERE id = $1`, [id]);
  const stale = await post({ mutations: [upd('agent_executions', id, { status: 'failed' }, { status: 'running' })] });
  assert.equal(stale.body.results[0].status, 'rejected');
  assert.equal(stale.body.results[0].reason, 'conflict');
  assert.equal(stale.body.results[0].row.status, 'completed');
  const nobase = await post({ mutations: [upd('agent_executions', id, { status: 'failed' })] });
  assert.equal(nobase.status, 400);
  assert.match(nobase.body.errors[0], /needs base/);
  const dup = await post({ mutations: [ins('agent_executions', id, { agent_type: 'y' })] });
  assert.equal(dup.body.results[0].reason, 'conflict');
});

test('importance: higher importance wins, then last_accessed_at, then updated_at', async () => {
  const id = uid();
  const v = { agent_type: 'a', context_key: 'k', content: 'c0', importance: 5, last_accessed_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' };
  await post({ mutations: [ins('agent_memory', id, v)] });
  await s.sql(`UPDATE agent_memory SET content = 'server', importance = 6 WHERE id = $1`, [id]);
  const lower = await post({ mutations: [upd('agent_memory', id, { content: 'client', importance: 4 }, { importance: '5' })] });
  assert.equal(lower.body.results[0].status, 'rejected');
  assert.equal(lower.body.results[0].reason, 'lower_importance');
  const higher = await post({ mutations: [upd('agent_memory', id, { content: 'client-hi', importance: 7 }, { importance: '5' })] });
  assert.equal(higher.body.results[0].status, 'applied');
  // Same importance: later last_accessed_at wins.
  const same = await post({ mutations: [upd('agent_memory', id, { content: 'recent', last_accessed_at: '2027-01-01T00:00:00Z' }, { importance: '1' })] });
  assert.equal(same.body.results[0].status, 'applied');
  const older = await post({ mutations: [upd('agent_memory', id, { content: 'old', last_accessed_at: '2020-01-01T00:00:00Z', updated_at: '2020-01-01T00:00:00Z' }, { importance: '1' })] });
  assert.equal(older.body.results[0].status, 'rejected');
  assert.equal((await s.sql('SELECT content FROM agent_memory WHERE id = $1', [id]))[0].content, 'recent');
});

test('read-only tables are refused; ownership is enforced both ways', async () => {
  await s.sql(`INSERT INTO workflows (id, user_id, name, definition) VALUES ($1, 'alice', 'wf', '{}')`, [uid()]);
  const ro = await post({ mutations: [ins('workflows', uid(), { name: 'x', definition: {} })] });
  assert.equal(ro.body.results[0].status, 'rejected');
  assert.equal(ro.body.results[0].reason, 'read_only');
  const bobs = uid();
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'bob', 'bob task')`, [bobs]);
  // Claiming another user's id → 403, nothing applied.
  const mine = uid();
  const f = await post({ mutations: [ins('tasks', mine, { title: 'ok' }), ins('tasks', uid(), { title: 'x', user_id: 'bob' })] });
  assert.equal(f.status, 403);
  assert.equal(await taskRow(mine), undefined, 'nothing of a refused request is applied');
  // Another user's row is invisible: update → not_found, delete → no-op, insert → conflict.
  const u = await post({ mutations: [upd('tasks', bobs, { title: 'hijack' })] });
  assert.equal(u.body.results[0].reason, 'not_found');
  await post({ mutations: [{ id: uid(), table: 'tasks', op: 'delete', key: { id: bobs } }] });
  const i = await post({ mutations: [ins('tasks', bobs, { title: 'hijack' })] });
  assert.equal(i.body.results[0].status, 'rejected');
  assert.equal(i.body.results[0].row, null);
  assert.equal((await taskRow(bobs)).title, 'bob task');
});

test('bad bodies → 400 saying what is wrong, nothing applied', async () => {
  const good = uid();
  const cases = [
    [null, '{not json', /not valid JSON/],
    [{ mutations: 'x' }, null, /mutations must be an array/],
    [{ mutations: [ins('tasks', good, { title: 'g' }), { id: uid(), table: 'tasks', op: 'upsert', key: { id: uid() } }] }, null, /op must be one of/],
    [{ mutations: [ins('tasks', good, { title: 'g' }), ins('nosuch', uid(), {})] }, null, /does not exist/],
    [{ mutations: [ins('tasks', good, { title: 'g' }), ins('tasks', uid(), { nope: 1 })] }, null, /unknown column/],
    [{ mutations: [ins('tasks', good, { title: 'g' }), { id: uid(), table: 'tasks', op: 'update', key: {}, value: { title: 'x' } }] }, null, /missing primary key/],
    [{ mutations: [ins('tasks', good, { title: 'g' }), ins('tasks', uid(), { title: 'x', status: 'bogus' })] }, null, /check constraint/],
    [{ mutations: [ins('tasks', good, { title: 'g' }), ins('tasks', 'not-a-uuid', { title: 'x' })] }, null, /uuid/],
  ];
  for (const [body, raw, re] of cases) {
    const r = await post(body, { raw });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(JSON.stringify(r.body.errors), re);
  }
  assert.equal(await taskRow(good), undefined);
  assert.equal((await s.sql(`SELECT count(*)::int AS n FROM electric_mutations WHERE id IN (SELECT unnest($1::text[]))`, [[good]]))[0].n, 0);
});

test('zstd and gzip request bodies; undecodable bodies → 400', async () => {
  const id = uid();
  const json = JSON.stringify({ mutations: [ins('tasks', id, { title: 'compressed '.repeat(50) })] });
  const z = execFileSync('zstd', ['-q', '-c', '-19'], { input: Buffer.from(json) });
  assert.ok(z.length < json.length);
  const r = await post(null, { raw: z, headers: { 'content-encoding': 'zstd' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.results[0].status, 'applied');
  assert.match((await taskRow(id)).title, /^compressed/);
  const bad = await post(null, { raw: Buffer.from('not zstd at all'), headers: { 'content-encoding': 'zstd' } });
  assert.equal(bad.status, 400);
  const { gzipSync } = await import('node:zlib');
  const id2 = uid();
  const g = await post(null, { raw: gzipSync(JSON.stringify({ mutations: [ins('tasks', id2, { title: 'gz' })] })), headers: { 'content-encoding': 'gzip' } });
  assert.equal(g.body.results[0].status, 'applied');
});

test('auth: 401 JSON on missing/invalid/expired tokens; shapes are restricted to the caller whatever where says', async () => {
  const now = Math.floor(Date.now() / 1000);
  const bad = [
    undefined,
    'Bearer garbage',
    `Bearer ${signJwt({ sub: 'alice', exp: now + 60 }, 'wrong-secret')}`,
    `Bearer ${signJwt({ sub: 'alice', exp: now - 3600 }, SECRET)}`,
    `Bearer ${signJwt({ sub: 'alice', nbf: now + 3600 }, SECRET)}`,
    `Bearer ${signJwt({ exp: now + 60 }, SECRET)}`,
  ];
  for (const h of bad) {
    const r = await shapeRequest(s.url, { table: 'tasks', offset: '-1' }, h ? { authorization: h } : {});
    assert.equal(r.status, 401, String(h));
    assert.match(r.body.message, /^Unauthorized/);
    const w = await fetch(`${s.url}/v1/changes`, { method: 'POST', headers: h ? { authorization: h } : {}, body: '{"mutations":[]}' });
    assert.equal(w.status, 401);
  }
  const bobTask = uid();
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'bob', 'secret')`, [bobTask]);
  for (const where of [undefined, `user_id = 'bob'`, `true`, `user_id <> 'alice' OR true`]) {
    const reader = await new ShapeReader(s.url, { table: 'tasks', where }, { authorization: `Bearer ${tokenFor('alice')}` }).sync();
    for (const row of reader.rows.values()) assert.equal(row.user_id, 'alice', `where=${where}`);
  }
  // Live changes of bob's rows never reach alice.
  const reader = await new ShapeReader(s.url, { table: 'tasks' }, { authorization: `Bearer ${tokenFor('alice')}` }).sync();
  await s.sql(`UPDATE tasks SET title = 'still secret' WHERE id = $1`, [bobTask]);
  const mineId = uid();
  await post({ mutations: [ins('tasks', mineId, { title: 'marker' })] });
  await until(async () => { await reader.step({ live: true }); return reader.byId()[mineId] || null; });
  assert.equal(reader.byId()[bobTask], undefined);
  const tok = await fetch(`${s.url}/v1/token`, { method: 'POST', body: '{"userId":"x"}' });
  assert.equal(tok.status, 404, 'no token endpoint when a secret is configured');
});
