// The wasm build loads in Node 20 and ingests a recorded Electric conversation
// (tests/fixtures/electric-tasks-sync.json: chunked snapshot, snapshot-end, up-to-date,
// live inserts/updates/deletes) through the Embind API, driven by the engine's sans-IO
// loop: pollRequest → answer from the recording → handleResponse. The rows queried back
// must match what the server sent; a malformed response is a protocol error that applies
// nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/electric-tasks-sync.json', import.meta.url), 'utf8'));
const schemaSql = readFileSync(new URL('../../schema/schema.sql', import.meta.url), 'utf8');
const NOW = Date.UTC(2026, 0, 8, 9, 0, 0);
const encoder = new TextEncoder();

/** The CREATE TABLE statements of `names` from the package's default schema. */
function tablesDdl(...names) {
  return names.map((name) => {
    const m = schemaSql.match(new RegExp(`create table ${name} \\([\\s\\S]*?\\n\\);`));
    assert.ok(m, `schema/schema.sql declares ${name}`);
    return m[0];
  }).join('\n');
}

function ok(json, what) {
  const r = JSON.parse(json);
  assert.notEqual(r.ok, false, `${what}: ${r.code}: ${r.message}`);
  return r;
}

function openEngine(m, path, tables = ['tasks', 'environments']) {
  return ok(m.open(JSON.stringify({
    path, baseUrl: 'http://electric.test', clientId: 'wasm-ingest-test', nowMs: NOW,
    schemaSql: tablesDdl(...tables), autoSubscribe: true,
  })), 'open').handle;
}

/** What an engine request asks for, read from its URL. */
function describeRequest(req) {
  const q = new URL(req.url).searchParams;
  return { table: q.get('table'), offset: q.get('offset'), handle: q.get('handle'),
    live: q.get('live') === 'true', cursor: q.get('cursor') };
}

/**
 * Answers every request the engine makes from `exchanges` (each used at most once) until
 * it asks only for things that are not recorded, which stay in flight like a long-poll
 * waiting for data. `inFlight`: requests made earlier and not answered yet. Returns the
 * requests left in flight.
 */
function drive(m, h, exchanges, { now = NOW, events = [], inFlight = [] } = {}) {
  const used = new Set();
  for (let round = 0; round < 50; round++) {
    for (let text = m.pollRequest(h, now); text !== ''; text = m.pollRequest(h, now)) {
      const req = JSON.parse(text);
      assert.notEqual(req.ok, false, `pollRequest: ${req.message}`);
      inFlight.push(req);
    }
    let answered = 0;
    for (const req of [...inFlight]) {
      const want = describeRequest(req);
      const ex = exchanges.find((e) => !used.has(e) && e.request.table === want.table && e.request.offset === want.offset);
      if (!ex) continue;
      // The engine must carry the handle, live flag and cursor of the previous response.
      if (ex.request.handle) assert.equal(want.handle, ex.request.handle, `handle of ${req.url}`);
      assert.equal(want.live, Boolean(ex.request.live), `live flag of ${req.url}`);
      if (ex.request.cursor) assert.equal(want.cursor, ex.request.cursor, `cursor of ${req.url}`);
      used.add(ex);
      inFlight.splice(inFlight.indexOf(req), 1);
      const r = ex.response;
      ok(m.handleResponse(h, now, req.id, r.status, JSON.stringify(r.headers), encoder.encode(JSON.stringify(r.body))),
        `handleResponse ${req.url}`);
      answered++;
    }
    for (let ev = m.pollEvent(h); ev !== ''; ev = m.pollEvent(h)) events.push(JSON.parse(ev));
    if (answered === 0) break;
    now += 25;
  }
  return { inFlight, used };
}

const TASK_COLS = ['id', 'user_id', 'title', 'description', 'status', 'priority', 'environment_id', 'created_at', 'updated_at'];
const ENV_COLS = ['id', 'user_id', 'name', 'description', 'config', 'is_active', 'created_at', 'updated_at'];

/** Postgres timestamptz text ("2026-01-05 09:12:44.118204+00") as the engine stores it: ISO-8601 UTC. */
function isoUtc(pg) {
  const [date, time] = pg.split(' ');
  assert.ok(time.endsWith('+00'), `UTC timestamp ${pg}`);
  return `${date}T${time.slice(0, -3)}Z`;
}

/** Expected SQLite row for server values, by the conversions of src/pg_value.h. */
function expectedRow(values, cols) {
  return cols.map((c) => {
    const v = values[c];
    if (v === null) return null;
    if (c === 'priority') return Number(v);
    if (c === 'is_active') return v === 't' || v === 'true' ? 1 : 0;
    if (c.endsWith('_at')) return isoUtc(v);
    return v;
  });
}

function queryRows(m, h, table, cols) {
  const r = ok(m.query(h, `SELECT ${cols.join(', ')} FROM ${table} ORDER BY id`, '[]'), `query ${table}`);
  assert.deepEqual(r.columns, cols);
  return r.rows;
}

test('wasm engine ingests a recorded snapshot and live sequence', async () => {
  const m = await loadEngineModule();
  const h = openEngine(m, 'ingest.db');
  const events = [];

  // Snapshot and catch-up only: the live exchanges are not offered yet.
  const initial = fixture.exchanges.filter((e) => !e.request.live);
  const first = drive(m, h, initial, { events });
  assert.equal(first.used.size, initial.length, 'every snapshot response was requested');
  assert.deepEqual(first.inFlight.map((r) => describeRequest(r).live), [true, true],
    'after up-to-date both shapes long-poll');
  assert.deepEqual(queryRows(m, h, 'tasks', TASK_COLS), fixture.snapshotTasks.map((v) => expectedRow(v, TASK_COLS)));
  const status = ok(m.status(h), 'status');
  assert.equal(status.isUpToDate, true);
  assert.deepEqual(status.shapes.map((s) => [s.table, s.offset]).sort(),
    [['environments', '0_inf'], ['tasks', '0_1']]);
  assert.ok(events.some((e) => e.type === 'tables-changed' && e.tables.includes('tasks')), 'tables-changed for tasks');
  assert.ok(!events.some((e) => e.type === 'error'), `no error events: ${JSON.stringify(events.filter((e) => e.type === 'error'))}`);

  // Live: the recorded long-poll answers, matched against the requests in flight.
  const live = fixture.exchanges.filter((e) => e.request.live);
  const second = drive(m, h, live, { now: NOW + 1000, events, inFlight: first.inFlight });
  assert.equal(second.used.size, live.length, 'every live response was requested');
  assert.deepEqual(queryRows(m, h, 'tasks', TASK_COLS), fixture.finalTasks.map((v) => expectedRow(v, TASK_COLS)));
  assert.deepEqual(queryRows(m, h, 'environments', ENV_COLS),
    fixture.finalEnvironments.map((v) => expectedRow(v, ENV_COLS)));
  // jsonb is kept as its text; SQLite's JSON functions read it.
  assert.deepEqual(ok(m.query(h, "SELECT config ->> '$.replicas' FROM environments WHERE name = ?", '["production (frozen)"]'),
    'json').rows, [[3]]);
  const after = ok(m.status(h), 'status');
  assert.deepEqual(after.shapes.map((s) => [s.table, s.offset]).sort(),
    [['environments', '26800950_2'], ['tasks', '26801040_2']]);
  assert.ok(!events.some((e) => e.type === 'error'), `no error events: ${JSON.stringify(events.filter((e) => e.type === 'error'))}`);
  ok(m.close(h), 'close');
});

test('a malformed response is a protocol error and applies nothing', async () => {
  const m = await loadEngineModule();
  const h = openEngine(m, 'malformed.db', ['tasks']);
  const snapshot = fixture.exchanges[0];
  assert.equal(snapshot.request.offset, '-1');
  const headers = JSON.stringify(snapshot.response.headers);
  const body = JSON.stringify(snapshot.response.body);

  const cases = [
    ['truncated JSON', headers, body.slice(0, Math.floor(body.length * 0.6))],
    ['a body that is not an array', headers, '{"rows":[]}'],
    ['a null in a not-null column after two valid rows', headers, JSON.stringify([
      ...snapshot.response.body.slice(0, 2),
      { ...snapshot.response.body[2], value: { ...snapshot.response.body[2].value, title: null } },
    ])],
  ];
  let now = NOW;
  for (const [what, hdrs, text] of cases) {
    // The shape's request; after a failed response the engine retries it once its backoff
    // deadline passes.
    let next = m.pollRequest(h, now);
    if (next === '') {
      const deadline = m.pollTimeout(h);
      assert.ok(deadline >= now, `${what}: a retry is scheduled`);
      now = deadline;
      ok(m.handleTimeout(h, now), 'handleTimeout');
      next = m.pollRequest(h, now);
    }
    const req = JSON.parse(next);
    assert.deepEqual([describeRequest(req).table, describeRequest(req).offset], ['tasks', '-1'], `${what}: request`);
    const result = JSON.parse(m.handleResponse(h, now, req.id, 200, hdrs, encoder.encode(text)));
    assert.equal(result.ok, false, `${what} is rejected`);
    assert.equal(result.code, 'protocol', `${what}: ${result.message}`);
    assert.ok(result.message.length > 0);
    assert.deepEqual(ok(m.query(h, 'SELECT count(*) FROM tasks', '[]'), 'count').rows, [[0]], `${what}: nothing applied`);
    const shape = ok(m.status(h), 'status').shapes[0];
    assert.equal(shape.offset, '-1', `${what}: offset unchanged`);
    const errors = [];
    for (let ev = m.pollEvent(h); ev !== ''; ev = m.pollEvent(h)) {
      const e = JSON.parse(ev);
      if (e.type === 'error') errors.push(e);
    }
    assert.deepEqual(errors.map((e) => e.code), ['protocol'], `${what}: one protocol error event`);
  }
  // The retry gets the real response: everything arrives, nothing was lost.
  const deadline = m.pollTimeout(h);
  ok(m.handleTimeout(h, deadline), 'handleTimeout');
  const retry = JSON.parse(m.pollRequest(h, deadline));
  ok(m.handleResponse(h, deadline, retry.id, 200, headers, encoder.encode(body)), 'valid response');
  assert.deepEqual(ok(m.query(h, 'SELECT count(*) FROM tasks', '[]'), 'count').rows, [[snapshot.response.body.length]]);
  assert.equal(ok(m.status(h), 'status').shapes[0].offset, '0_0');
  ok(m.close(h), 'close');
});

test('a response missing a required header is a protocol error that stops the shape', async () => {
  const m = await loadEngineModule();
  const h = openEngine(m, 'missing-header.db', ['tasks']);
  const snapshot = fixture.exchanges[0];
  const req = JSON.parse(m.pollRequest(h, NOW));
  const headers = { ...snapshot.response.headers };
  delete headers['electric-handle'];
  const result = JSON.parse(m.handleResponse(h, NOW, req.id, 200, JSON.stringify(headers),
    encoder.encode(JSON.stringify(snapshot.response.body))));
  assert.deepEqual([result.ok, result.code], [false, 'protocol']);
  assert.match(result.message, /electric-handle/);
  assert.deepEqual(ok(m.query(h, 'SELECT count(*) FROM tasks', '[]'), 'count').rows, [[0]], 'nothing applied');
  assert.equal(ok(m.status(h), 'status').shapes[0].offset, '-1');
  ok(m.close(h), 'close');
});

test('an unknown engine handle is an invalid_argument error, not a crash', async () => {
  const m = await loadEngineModule();
  const r = JSON.parse(m.query(999, 'SELECT 1', '[]'));
  assert.deepEqual([r.ok, r.code], [false, 'invalid_argument']);
  assert.match(r.message, /999/);
  assert.equal(m.pollTimeout(999), -1);
  assert.equal(JSON.parse(m.close(999)).code, 'invalid_argument');
  const bad = JSON.parse(m.open('{"path": '));
  assert.deepEqual([bad.ok, bad.code], [false, 'invalid_argument']);
});
