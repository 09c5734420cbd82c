// The write path through the wasm binding (docs/engine-api.md "Local data"): SQL and typed
// local writes, validation errors, the pending count and list, and the upload request the
// engine asks the host to make (URL, headers, body — zstd above compressThreshold), then the
// endpoint's answer through handleResponse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decompress } from 'fzstd';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

const schemaSql = readFileSync(new URL('../../schema/schema.sql', import.meta.url), 'utf8');
const policies = JSON.parse(readFileSync(new URL('../../schema/policies.json', import.meta.url), 'utf8'));
const NOW = Date.UTC(2026, 0, 8, 9, 0, 0);
const T1 = '00000000-0000-4000-8000-000000000001';
const T2 = '00000000-0000-4000-8000-000000000002';

const m = await loadEngineModule();

function res(json) {
  return JSON.parse(json);
}
function ok(json, what) {
  const r = res(json);
  assert.notEqual(r.ok, false, `${what}: ${r.code}: ${r.message}`);
  return r;
}
function open(extra = {}) {
  return ok(m.open(JSON.stringify({
    path: ':memory:', baseUrl: 'http://writes.test/', clientId: 'wasm-write-test', nowMs: NOW,
    schemaSql, policies, autoSubscribe: false, ...extra,
  })), 'open').handle;
}
function rows(h, sql) {
  return ok(m.query(h, sql, '[]'), sql).rows;
}
function body(h, req) {
  const bytes = m.requestBody(h, req.id);
  assert.ok(bytes instanceof Uint8Array, 'requestBody returns bytes');
  const encoding = req.headers['content-encoding'];
  const raw = encoding === 'zstd' ? decompress(bytes) : bytes;
  return { json: JSON.parse(new TextDecoder().decode(raw)), bytes, encoding };
}

test('local writes show at once, queue in the outbox and are counted as pending', () => {
  const h = open();
  try {
    const ins = ok(m.insert(h, 'tasks', JSON.stringify({ id: T1, user_id: 'u1', title: 'write through wasm' })), 'insert');
    assert.match(ins.mutationId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ex = ok(m.exec(h, `INSERT INTO tasks (id, user_id, title, priority) VALUES ('${T2}', 'u1', 'by sql', 3)`, '[]'), 'exec insert');
    assert.equal(ex.changes, 1);
    assert.deepEqual(ex.tables, ['tasks']);
    const up = ok(m.exec(h, 'UPDATE tasks SET status = ? WHERE id = ?', JSON.stringify(['in_progress', T1])), 'exec update');
    assert.equal(up.changes, 1);
    assert.deepEqual(rows(h, 'SELECT title, status, priority FROM tasks ORDER BY id'),
      [['write through wasm', 'in_progress', 0], ['by sql', 'pending', 3]]);
    assert.equal(res(m.status(h)).pendingChanges, 3);
    const pending = ok(m.pendingMutations(h), 'pendingMutations').mutations;
    assert.deepEqual(pending.map((p) => [p.op, p.status, p.key.id]),
      [['insert', 'pending', T1], ['insert', 'pending', T2], ['update', 'pending', T1]]);
    assert.equal(pending[2].value.status, 'in_progress');
    assert.equal(pending[2].base.status, 'pending');
    // A delete of a local insert, then discarding it brings the row back.
    const del = ok(m.delete(h, 'tasks', JSON.stringify({ id: T2 })), 'delete');
    assert.equal(rows(h, `SELECT count(*) FROM tasks WHERE id = '${T2}'`)[0][0], 0);
    ok(m.discardMutation(h, del.mutationId), 'discardMutation');
    assert.equal(rows(h, `SELECT count(*) FROM tasks WHERE id = '${T2}'`)[0][0], 1);
    assert.equal(res(m.status(h)).pendingChanges, 3);
  } finally {
    m.close(h);
  }
});

test('bad writes are clear errors and change nothing', () => {
  const h = open();
  try {
    const cases = [
      [m.insert(h, 'workflows', JSON.stringify({ id: T1, user_id: 'u', name: 'n', definition: {} })), 'read_only'],
      [m.exec(h, `INSERT INTO workflows (id, user_id, name, definition) VALUES ('${T1}', 'u', 'n', '{}')`, '[]'), 'read_only'],
      [m.insert(h, 'tasks', JSON.stringify({ id: T1, user_id: 'u', title: 't', colour: 'red' })), 'schema'],
      [m.insert(h, 'tasks', JSON.stringify({ id: T1, user_id: 'u', title: 't', priority: 'high' })), 'schema'],
      [m.insert(h, 'tasks', JSON.stringify({ id: T1, user_id: 'u' })), 'schema'],
      [m.exec(h, `INSERT INTO tasks (id, user_id, title) VALUES ('${T1}', 'u', NULL)`, '[]'), 'schema'],
      [m.update(h, 'tasks', JSON.stringify({ id: T1 }), JSON.stringify({ title: 'x' })), 'not_found'],
      [m.insert(h, 'tasks', '{not json'), 'invalid_argument'],
    ];
    for (const [json, code] of cases) {
      const r = res(json);
      assert.equal(r.ok, false, json);
      assert.equal(r.code, code, r.message);
      assert.equal(typeof r.message, 'string');
    }
    assert.equal(res(m.status(h)).pendingChanges, 0);
    assert.deepEqual(ok(m.pendingMutations(h), 'pendingMutations').mutations, []);
  } finally {
    m.close(h);
  }
});

test('the upload request: POST /v1/changes with the mutations in order, then the answer', () => {
  const h = open({ uploadIntervalMs: 5000 });
  try {
    m.setToken(h, 'tok-1', NOW);
    const ids = [];
    for (let i = 1; i <= 3; i++) {
      const id = `00000000-0000-4000-8000-00000000010${i}`;
      ids.push(ok(m.insert(h, 'tasks', JSON.stringify({ id, user_id: 'u1', title: `t${i}` })), 'insert').mutationId);
    }
    const text = m.pollRequest(h, NOW);
    assert.notEqual(text, '', 'a write after idle is uploaded at once');
    const req = JSON.parse(text);
    assert.equal(req.kind, 'upload');
    assert.equal(req.method, 'POST');
    assert.equal(req.url, 'http://writes.test/v1/changes');
    assert.equal(req.hasBody, true);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers.authorization, 'Bearer tok-1');
    assert.equal(req.headers['content-encoding'], undefined, 'small bodies are sent as-is');
    const { json } = body(h, req);
    assert.equal(json.client_id, 'wasm-write-test');
    assert.deepEqual(json.mutations.map((x) => [x.id, x.table, x.op, x.key.id, x.value.title]),
      ids.map((id, i) => [id, 'tasks', 'insert', `00000000-0000-4000-8000-00000000010${i + 1}`, `t${i + 1}`]));
    // Never two batches in flight.
    ok(m.insert(h, 'tasks', JSON.stringify({ id: T2, user_id: 'u1', title: 'later' })), 'insert');
    assert.equal(m.pollRequest(h, NOW + 60000), '');
    // The endpoint applied them: acknowledged, waiting for the txid on the stream.
    const answer = { txid: '4242', results: ids.map((id) => ({ id, status: 'applied' })) };
    ok(m.handleResponse(h, NOW + 10, req.id, 200, '{}', new TextEncoder().encode(JSON.stringify(answer))), 'handleResponse');
    const pending = ok(m.pendingMutations(h), 'pendingMutations').mutations;
    assert.deepEqual(pending.map((p) => [p.status, p.txid ?? null]),
      [['acked', 4242], ['acked', 4242], ['acked', 4242], ['pending', null]]);
    assert.equal(res(m.status(h)).pendingChanges, 1);
    // The rows still show from the overlay until the stream brings them.
    assert.equal(rows(h, 'SELECT count(*) FROM tasks')[0][0], 4);
    // The next write waits for the upload interval, then goes.
    assert.equal(m.pollRequest(h, NOW + 100), '');
    const next = JSON.parse(m.pollRequest(h, NOW + 5000));
    assert.equal(next.kind, 'upload');
    assert.equal(body(h, next).json.mutations.length, 1);
    const events = [];
    for (let ev = m.pollEvent(h); ev !== ''; ev = m.pollEvent(h)) events.push(JSON.parse(ev));
    const upload = events.find((e) => e.type === 'upload');
    assert.equal(upload.mutations, 3);
    assert.equal(upload.status, 200);
  } finally {
    m.close(h);
  }
});

test('bodies above compressThreshold are zstd-compressed', () => {
  const h = open({ compressThreshold: 512 });
  try {
    for (let i = 0; i < 20; i++) {
      const id = `00000000-0000-4000-8000-0000000002${String(i).padStart(2, '0')}`;
      ok(m.insert(h, 'tasks', JSON.stringify({ id, user_id: 'u1', title: 'x'.repeat(100), description: 'same text '.repeat(10) })), 'insert');
    }
    const req = JSON.parse(m.pollRequest(h, NOW));
    const { json, bytes, encoding } = body(h, req);
    assert.equal(encoding, 'zstd');
    assert.equal(json.mutations.length, 20);
    assert.ok(bytes.length * 3 < JSON.stringify(json).length, `compressed ${bytes.length} bytes`);
    const metrics = ok(m.metrics(h, NOW), 'metrics');
    assert.ok(metrics.upload.compressedBytes < metrics.upload.bytes);
    assert.equal(metrics.writes.outbox.in_flight, 20);
  } finally {
    m.close(h);
  }
});

test('nowMs is optional on writes: with it, the policy timestamp is the host clock', () => {
  const h = open();
  try {
    const at = NOW + 12345;
    ok(m.insert(h, 'tasks', JSON.stringify({ id: T1, user_id: 'u1', title: 'clocked' }), at), 'insert with nowMs');
    ok(m.update(h, 'tasks', JSON.stringify({ id: T1 }), JSON.stringify({ title: 'later' }), at + 1000), 'update with nowMs');
    ok(m.exec(h, `UPDATE tasks SET priority = 2 WHERE id = '${T1}'`, '[]', at + 2000), 'exec with nowMs');
    const [updatedAt, createdAt] = rows(h, `SELECT updated_at, created_at FROM tasks WHERE id = '${T1}'`)[0];
    assert.equal(Date.parse(createdAt), at);
    assert.equal(Date.parse(updatedAt), at + 2000);
    const pending = ok(m.pendingMutations(h), 'pendingMutations').mutations;
    assert.deepEqual(pending.map((p) => p.localMs), [at, at + 1000, at + 2000]);
    ok(m.delete(h, 'tasks', JSON.stringify({ id: T1 }), at + 3000), 'delete with nowMs');
  } finally {
    m.close(h);
  }
});

test('custom policy: a server change under a pending edit asks the app through a resolve event', () => {
  const tasksDdl = schemaSql.match(/create table tasks \([\s\S]*?\n\);/)[0];
  const h = open({ schemaSql: tasksDdl, autoSubscribe: true, policies: { tasks: { policy: 'custom', writable: true } } });
  const enc = (v) => new TextEncoder().encode(JSON.stringify(v));
  const schema = JSON.stringify({
    id: { type: 'uuid', pk_index: 0, not_null: true }, user_id: { type: 'text', not_null: true },
    title: { type: 'text', not_null: true }, description: { type: 'text' }, status: { type: 'text', not_null: true },
    priority: { type: 'int4', not_null: true }, environment_id: { type: 'uuid' },
    created_at: { type: 'timestamptz', not_null: true }, updated_at: { type: 'timestamptz', not_null: true },
  });
  const row = { id: T1, user_id: 'u1', title: 'v0', description: null, status: 'pending', priority: '0',
    environment_id: null, created_at: '2026-01-01 00:00:00+00', updated_at: '2026-01-01 00:00:00+00' };
  const rel = { relation: ['public', 'tasks'] };
  const events = [];
  const drain = () => { for (let ev = m.pollEvent(h); ev !== ''; ev = m.pollEvent(h)) events.push(JSON.parse(ev)); };
  try {
    ok(m.setResolver(h, 'tasks', true), 'setResolver');
    assert.equal(res(m.setResolver(h, 'nope', true)).code, 'not_found');
    let req = JSON.parse(m.pollRequest(h, NOW));
    assert.match(req.url, /offset=-1/);
    ok(m.handleResponse(h, NOW, req.id, 200, JSON.stringify({ 'electric-handle': 'h1', 'electric-offset': '0_0', 'electric-schema': schema }),
      enc([{ key: `"public"."tasks"/"${T1}"`, value: row, headers: { operation: 'insert', ...rel } },
        { headers: { control: 'snapshot-end', xmin: '100', xmax: '100', xip_list: [] } }])), 'snapshot');
    req = JSON.parse(m.pollRequest(h, NOW + 1));
    ok(m.handleResponse(h, NOW + 1, req.id, 200, JSON.stringify({ 'electric-handle': 'h1', 'electric-offset': '1000_0',
      'electric-schema': schema, 'electric-up-to-date': '' }), enc([{ headers: { control: 'up-to-date', global_last_seen_lsn: '1000' } }])), 'catch-up');
    const live = JSON.parse(m.pollRequest(h, NOW + 2));
    assert.match(live.url, /live=true/);
    ok(m.update(h, 'tasks', JSON.stringify({ id: T1 }), JSON.stringify({ title: 'mine', priority: 3 }), NOW + 3), 'local edit');
    const upload = JSON.parse(m.pollRequest(h, NOW + 3));
    assert.equal(upload.kind, 'upload');  // left unanswered: the edit stays pending
    drain();
    // Someone else's change arrives on the live stream.
    ok(m.handleResponse(h, NOW + 4, live.id, 200, JSON.stringify({ 'electric-handle': 'h1', 'electric-offset': '1010_0',
      'electric-cursor': '1', 'electric-up-to-date': '' }),
      enc([{ key: `"public"."tasks"/"${T1}"`, value: { id: T1, title: 'theirs', status: 'in_progress' },
        headers: { operation: 'update', ...rel, lsn: '1010', op_position: 0, txids: [900], last: true } },
        { headers: { control: 'up-to-date', global_last_seen_lsn: '1010' } }])), 'live change');
    drain();
    const resolve = events.find((e) => e.type === 'resolve');
    assert.ok(resolve, JSON.stringify(events));
    assert.equal(resolve.table, 'tasks');
    assert.deepEqual(resolve.key, { id: T1 });
    assert.equal(resolve.local.title, 'mine');
    assert.equal(resolve.remote.title, 'theirs');
    assert.equal(rows(h, `SELECT title FROM tasks WHERE id = '${T1}'`)[0][0], 'mine');
    // The app's resolver: their status, our title and priority.
    ok(m.resolveConflict(h, resolve.id, JSON.stringify({ ...resolve.remote, title: 'mine+theirs', priority: 3 }), NOW + 5), 'resolveConflict');
    assert.equal(res(m.resolveConflict(h, resolve.id, '{}', NOW + 6)).code, 'not_found');
    assert.deepEqual(rows(h, `SELECT title, status, priority FROM tasks WHERE id = '${T1}'`)[0], ['mine+theirs', 'in_progress', 3]);
    const pending = ok(m.pendingMutations(h), 'pendingMutations').mutations;
    const resolved = pending.find((p) => p.value.title === 'mine+theirs');
    assert.equal(resolved.base.title, 'theirs', 'the resolution is based on the server row');
    const metrics = ok(m.metrics(h, NOW + 7), 'metrics');
    assert.deepEqual(metrics.writes.conflicts.map((c) => [c.table, c.policy, c.outcome, c.count]), [['tasks', 'custom', 'resolved', 1]]);
  } finally {
    m.close(h);
  }
});
