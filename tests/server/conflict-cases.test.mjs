// The table of conflict cases (tests/fixtures/conflict-cases/*.json), which the engine's gtest
// (tests/native/conflict_cases_test.cc) also runs, against the write endpoint: once through
// the endpoint's decision (decision.ts, the engine's rules in wasm) and once end to end,
// each case's row set up in a real PostgreSQL table of the fixture's column types and its
// mutation sent through the endpoint, whose answer and effect must be the expected ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { startPostgres } from '../support/postgres.mjs';

const dir = new URL('../fixtures/conflict-cases/', import.meta.url);
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  .map((f) => ({ file: f, ...JSON.parse(readFileSync(new URL(f, dir), 'utf8')) }));
const { decide, columnTypes } = await import('../../dist/server/decision.js');
const { createChangesHandler } = await import('../../dist/server/index.js');

const quote = (s) => `"${s.replaceAll('"', '""')}"`;
const inputOf = (fx, c) => {
  const { name, expect, e2e, ...rest } = c;
  void name; void expect; void e2e;
  return { policy: fx.policy, types: fx.columns, ...rest };
};
const expectMatches = (got, expect, what) => {
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(got[k], v, `${what}: ${k} (got ${JSON.stringify(got)})`);
  if (!('reason' in expect) && got.status !== 'applied') assert.equal(got.reason, undefined, what);
};

test('every fixture case: the endpoint decision gives the expected verdict', async () => {
  let n = 0;
  for (const fx of fixtures) {
    for (const c of fx.cases) {
      expectMatches(await decide(inputOf(fx, c)), c.expect, `${fx.file}: ${c.name}`);
      n++;
    }
  }
  assert.ok(n >= 40, `${n} cases`);
});

let cluster, pool, handler;
const tables = [];   // {fx, c, name}
before(async () => {
  cluster = await startPostgres();
  pool = new pg.Pool({ connectionString: cluster.url, max: 4 });
  pool.on('error', () => undefined);
  const policies = {};
  fixtures.forEach((fx, f) => fx.cases.forEach((c, i) => {
    if (c.e2e === false) return;
    const name = `${fx.table}_${f}_${i}`;
    tables.push({ fx, c, name });
    policies[name] = c.policy ?? fx.policy;
  }));
  for (const { fx, name } of tables) {
    const cols = Object.entries(fx.columns).map(([col, type]) => `${quote(col)} ${type}${col === 'id' ? ' PRIMARY KEY' : ''}`);
    await pool.query(`CREATE TABLE ${quote(name)} (${cols.join(', ')})`);
  }
  handler = createChangesHandler({ db: pool, policies });
  await handler.apply({ mutations: [] }, null);   // creates the endpoint's bookkeeping
});
after(async () => {
  await pool?.end().catch(() => undefined);
  await cluster?.stop();
});

test('every fixture case end to end: PostgreSQL row, mutation through the endpoint, answer and effect', async () => {
  assert.ok(tables.length >= 35, `${tables.length} end-to-end cases`);
  for (const { fx, c, name } of tables) {
    const what = `${fx.file}: ${c.name}`;
    const key = 'r1';
    if (c.server) {
      const cols = Object.keys(c.server);
      await pool.query(`INSERT INTO ${quote(name)} (${cols.map(quote).join(', ')}) VALUES (${cols.map((col, i) => `$${i + 1}::${fx.columns[col]}`).join(', ')})`,
        cols.map((col) => c.server[col]));
    }
    if (c.lastWriter) {
      await pool.query(`INSERT INTO electric_mutations (owner, id, tbl, row_key, status) VALUES ('', $1, $2, $3, 'applied')`,
        [`${c.lastWriter.id}@${name}`, `public.${name}`, JSON.stringify([key])]);
    }
    // Mutation ids are idempotency keys: one suffix per case keeps them unique and their order.
    const m = { id: `${c.id}@${name}`, table: name, op: c.op, key: { id: key }, value: c.value, ...(c.base ? { base: c.base } : {}) };
    const { results: [r] } = await handler.apply({ client_id: 'fixtures', mutations: [m] }, null);
    assert.equal(r.status, c.expect.status, `${what}: ${JSON.stringify(r)}`);
    if (c.expect.reason) assert.equal(r.reason, c.expect.reason, what);
    const rows = await pool.query(`SELECT * FROM ${quote(name)} WHERE id = $1`, [key]);
    const action = c.expect.status === 'applied' ? c.expect.action : 'rejected';
    if (action === 'delete' || (action === 'none' && !c.server)) assert.equal(rows.rowCount, 0, `${what}: row gone`);
    if (action === 'insert' || action === 'update') {
      assert.equal(rows.rowCount, 1, `${what}: row written`);
      const [{ same }] = (await pool.query(
        `SELECT ${Object.keys(c.value).map((col, i) => `${quote(col)} IS NOT DISTINCT FROM $${i + 1}::${fx.columns[col]}`).join(' AND ')} AS same FROM ${quote(name)} WHERE id = $${Object.keys(c.value).length + 1}`,
        [...Object.values(c.value), key])).rows;
      assert.equal(same, true, `${what}: the row holds the written values`);
    }
    if (action === 'rejected' && c.server) {
      assert.equal(rows.rowCount, 1, `${what}: row kept`);
      assert.equal(r.row?.id, key, `${what}: the reply carries the server row`);
    }
  }
});

test('policies the decision would refuse are refused when the endpoint is made', async () => {
  const { validatePolicies } = await import('../../dist/server/index.js');
  assert.throws(() => validatePolicies({ t: { policy: 'server-wins', writable: 'yes' } }), /writable must be true or false/);
  assert.throws(() => validatePolicies({ t: { policy: 'last-write-wins', timestamp: 3 } }), /timestamp must be a column name/);
  assert.throws(() => validatePolicies({ t: { policy: 'importance', order: 'importance' } }), /order must be a list/);
  assert.throws(() => validatePolicies({ t: { policy: 'first-wins' } }), /policy must be/);
  // Every entry validatePolicies accepts, the decision accepts too.
  const ok = validatePolicies(JSON.parse(readFileSync(new URL('../../schema/policies.json', import.meta.url), 'utf8')));
  for (const policy of Object.values(ok)) {
    const v = await decide({ policy, types: { id: 'text' }, op: 'update', id: 'm', value: {}, base: null, server: null });
    assert.equal(v.reason, policy.writable === false ? 'read_only' : 'not_found', JSON.stringify(v));
  }
});
