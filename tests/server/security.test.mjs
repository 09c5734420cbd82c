// The service probed as an attacker would, against a real PostgreSQL with JWT auth: tables that
// are not the app's (internal, other schemas, catalogs, undeclared), oversized and malformed
// bodies, too many shapes and live requests, long URLs, non-canonical or incomplete tokens.
// Each attempt gets its 4xx with a clear message and never a row of anything it may not see.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, shapeRequest, uid } from '../support/server.mjs';

const SECRET = 'security-secret-0123456789';
let s, createAuth, signJwt, auth;
const SECRET_TEXT = 'carol-private-text-7f3a';

before(async () => {
  s = await startStack({ server: { authSecret: SECRET, maxShapesPerUser: 4, maxLivePerUser: 2, longPollMs: 3000 } });
  ({ createAuth, signJwt } = await import('../../dist/server/index.js'));
  auth = createAuth({ secret: SECRET });
  await s.sql('CREATE SCHEMA IF NOT EXISTS other');
  await s.sql('CREATE TABLE other.notes (id text PRIMARY KEY, body text)');
  await s.sql('CREATE TABLE undeclared (id text PRIMARY KEY, body text)');
  await s.sql(`INSERT INTO other.notes VALUES ('n1', $1)`, [SECRET_TEXT]);
  await s.sql(`INSERT INTO undeclared VALUES ('u1', $1)`, [SECRET_TEXT]);
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'carol', $2)`, [uid(), SECRET_TEXT]);
});
after(async () => { await s?.stop(); });

const bearer = (u) => ({ authorization: `Bearer ${auth.issue(u)}` });
async function post(body, { user = 'alice', headers = {}, raw = null } = {}) {
  const res = await fetch(`${s.url}/v1/changes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(user ? bearer(user) : {}), ...headers },
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

const FOREIGN_TABLES = [
  'pg_catalog.pg_authid', 'pg_authid', 'information_schema.tables', 'electric_changes', 'electric_mutations',
  'electric_meta', 'public.electric_meta', '"electric_meta"', 'other.notes', '"other"."notes"', 'undeclared',
  'public.undeclared', 'pg_catalog.pg_class',
];

test('the write handler writes only the app tables: internal, catalog, other-schema and undeclared tables are unknown', async () => {
  const [{ before: lastTx }] = await s.sql('SELECT last_tx::text AS before FROM electric_meta');
  for (const table of FOREIGN_TABLES) {
    for (const m of [
      { id: uid(), table, op: 'update', key: { oid: '10' }, value: { rolname: 'postgres' }, base: { rolname: 'nope' } },
      { id: uid(), table, op: 'insert', key: { id: 'x' }, value: { id: 'x', body: 'forged' } },
      { id: uid(), table, op: 'update', key: { id: 1 }, value: { last_tx: 0 }, base: { last_tx: 1 } },
    ]) {
      const r = await post({ mutations: [m] });
      assert.equal(r.status, 400, `${table}: ${r.text}`);
      assert.match(r.body.errors[0], /mutations\[0\]\.table: (Table .* does not exist|invalid table name)/, `${table}: ${r.text}`);
      assert.doesNotMatch(r.text, /rolpassword|SCRAM|forged|carol|last_tx"?:/i, `${table} echoed data: ${r.text}`);
    }
  }
  // Unknown and undeclared look the same: the answer does not reveal that a table exists.
  const a = await post({ mutations: [{ id: uid(), table: 'undeclared', op: 'insert', key: { id: 'y' }, value: { id: 'y' } }] });
  const b = await post({ mutations: [{ id: uid(), table: 'nosuchtable', op: 'insert', key: { id: 'y' }, value: { id: 'y' } }] });
  assert.equal(a.body.errors[0].replace('undeclared', 'X'), b.body.errors[0].replace('nosuchtable', 'X'));
  assert.equal((await s.sql('SELECT count(*)::int AS n FROM undeclared'))[0].n, 1);
  assert.equal((await s.sql('SELECT last_tx::text AS t FROM electric_meta'))[0].t >= lastTx, true);
  assert.equal((await s.sql(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'postgres' AND rolsuper`))[0].n, 1);
});

test('the shape service serves only the app tables, and installs no trigger elsewhere', async () => {
  for (const table of FOREIGN_TABLES) {
    const r = await shapeRequest(s.url, { table, offset: '-1' }, bearer('alice'));
    assert.equal(r.status, 400, `${table}: ${JSON.stringify(r.body)}`);
    assert.ok(Array.isArray(r.body.errors.table), `${table}: ${JSON.stringify(r.body)}`);
    assert.doesNotMatch(JSON.stringify(r.body), new RegExp(SECRET_TEXT));
  }
  const triggers = await s.sql(`SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname LIKE 'electric_capture%'`);
  const on = new Set(triggers.map((t) => t.t));
  assert.ok(!on.has('undeclared') && !on.has('other.notes'), [...on].join(','));
  assert.ok(![...on].some((t) => t.startsWith('information_schema') || t.startsWith('pg_')), [...on].join(','));
  const ok = await shapeRequest(s.url, { table: 'tasks', offset: '-1' }, bearer('alice'));
  assert.equal(ok.status, 200);
});

test('shape queries run as a role that may read only the app tables', async () => {
  const [role] = await s.sql(`SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'electrolite_shape_reader'`);
  assert.deepEqual(role, { rolsuper: false, rolcanlogin: false });
  const can = async (t) => (await s.sql(`SELECT has_table_privilege('electrolite_shape_reader', $1, 'SELECT') AS ok`, [t]))[0].ok;
  assert.equal(await can('public.tasks'), true);
  for (const t of ['undeclared', 'other.notes', 'electric_changes', 'electric_mutations', 'electric_meta', 'pg_catalog.pg_authid']) {
    assert.equal(await can(t), false, t);
  }
});

test('shapes of every app table made at once on a fresh server all get their grant (no 503)', async () => {
  const st = await startStack({ databaseUrl: s.databaseUrl, server: { authSecret: SECRET } });
  try {
    await s.sql(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM electrolite_shape_reader`);
    await s.sql(`REVOKE USAGE ON SCHEMA public FROM electrolite_shape_reader`);
    const tables = ['tasks', 'environments', 'agent_executions', 'observability_events', 'agent_memory', 'workflows', 'workflow_executions'];
    const rs = await Promise.all(tables.map((table) => shapeRequest(st.url, { table, offset: '-1' }, bearer('zed'))));
    assert.deepEqual(rs.map((r) => r.status), tables.map(() => 200), JSON.stringify(rs.map((r) => r.body)));
  } finally {
    await st.server.close();
    await st.pool.end();
  }
});

test('a failing where clause is reported by SQLSTATE, never with a value of a row the caller may not see', async () => {
  // carol's own row fails the cast; the answer names the failure, not her text.
  const r = await shapeRequest(s.url, { table: 'tasks', offset: '-1', where: 'title::int = 1' }, bearer('carol'));
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.match(r.body.errors.where[0], /SQLSTATE 22P02/);
  assert.doesNotMatch(JSON.stringify(r.body), new RegExp(SECRET_TEXT));
});

test('shape queries stop at the statement timeout', async () => {
  const st = await startStack({ databaseUrl: s.databaseUrl, server: { authSecret: SECRET, queryTimeoutMs: 1, tables: ['big'] } });
  try {
    await st.sql('CREATE TABLE big (id int PRIMARY KEY, v text)');
    await st.sql(`INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 300000) g`);
    const r = await shapeRequest(st.url, { table: 'big', offset: '-1', where: `md5(v) LIKE '%zzz%'` }, bearer('alice'));
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.errors.where[0], /statement timeout.*SQLSTATE 57014/);
  } finally {
    await st.server.close();
    await st.pool.end();
  }
});

test('write bodies are bounded for every encoding, before the memory is spent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'el-bomb-'));
  try {
    const zeros = join(dir, 'zeros');
    writeFileSync(zeros, '');
    truncateSync(zeros, 256 * 1024 * 1024);
    // One frame declaring 256 MiB, three of them, and a stream with no declared size.
    const frame = execFileSync('zstd', ['-q', '-c', '-1', zeros], { maxBuffer: 1 << 30 });
    const streamed = execFileSync('bash', ['-c', `head -c 67108864 /dev/zero | zstd -q -c -1`], { maxBuffer: 1 << 30 });
    const rss0 = process.memoryUsage().rss;
    for (const raw of [frame, Buffer.concat([frame, frame, frame]), streamed]) {
      const r = await post(null, { raw, headers: { 'content-encoding': 'zstd' } });
      assert.equal(r.status, 413, r.text);
      assert.match(r.body.errors[0], /decompressed body larger than 16777216 bytes/);
    }
    const gz = execFileSync('bash', ['-c', `head -c 67108864 /dev/zero | gzip -1`], { maxBuffer: 1 << 30 });
    const g = await post(null, { raw: gz, headers: { 'content-encoding': 'gzip' } });
    assert.equal(g.status, 413, g.text);
    const grown = (process.memoryUsage().rss - rss0) / 1048576;
    assert.ok(grown < 200, `RSS grew ${grown.toFixed(0)} MiB on bombs`);
    // A well-formed zstd body still works.
    const id = uid();
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ mutations: [{ id: uid(), table: 'tasks', op: 'insert', key: { id }, value: { title: 'z' } }] }));
    const ok = await post(null, { raw: execFileSync('zstd', ['-q', '-c', join(dir, 'ok.json')]), headers: { 'content-encoding': 'zstd' } });
    assert.equal(ok.status, 200, ok.text);
    const bad = await post(null, { raw: Buffer.from('not zstd at all'), headers: { 'content-encoding': 'zstd' } });
    assert.equal(bad.status, 400, bad.text);
    const enc = await post(null, { raw: Buffer.from('{}'), headers: { 'content-encoding': 'br' } });
    assert.equal(enc.status, 415, enc.text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deep JSON, too many mutations and long URLs get their 4xx', async () => {
  const deep = `${'['.repeat(100000)}${']'.repeat(100000)}`;
  const r = await post(null, { raw: deep });
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.errors[0], /nested deeper than 32/);
  const deepValue = await post({ mutations: [{ id: uid(), table: 'tasks', op: 'insert', key: { id: uid() }, value: { title: JSON.parse(`${'['.repeat(30)}${']'.repeat(30)}`) } }] });
  assert.notEqual(deepValue.status, 500, deepValue.text);
  const many = Array.from({ length: 1001 }, () => ({ id: uid(), table: 'tasks', op: 'insert', key: { id: uid() }, value: { title: 'm' } }));
  const m = await post({ mutations: many });
  assert.equal(m.status, 413, m.text);
  assert.match(m.body.errors[0], /at most 1000 mutations/);
  const long = await fetch(`${s.url}/v1/shape?table=tasks&offset=-1&where=${'x'.repeat(13000)}`, { headers: bearer('alice') });
  assert.equal(long.status, 414);
  const tok = await fetch(`${s.url}/v1/token`, { method: 'POST', body: deep });
  assert.ok(tok.status === 400 || tok.status === 404, String(tok.status));
});

test('a user holds a bounded number of shapes and live requests; others are not affected', async () => {
  const mallory = bearer('mallory');
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    const r = await shapeRequest(s.url, { table: 'tasks', offset: '-1', where: `priority = ${i}` }, mallory);
    statuses.push(r.status);
    if (r.status === 429) assert.match(r.body.message, /limit of 4 shapes/);
  }
  assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200]);
  assert.deepEqual(statuses.slice(4), [429, 429]);
  assert.equal((await shapeRequest(s.url, { table: 'tasks', offset: '-1', where: 'priority = 9' }, bearer('bob'))).status, 200);

  const first = await shapeRequest(s.url, { table: 'environments', offset: '-1' }, mallory);
  assert.equal(first.status, 429, 'mallory is at her shape limit');
  const snap = await shapeRequest(s.url, { table: 'tasks', offset: '-1', where: 'priority = 0' }, mallory);
  const handle = snap.headers.get('electric-handle');
  const offset = snap.headers.get('electric-offset');
  const live = () => fetch(`${s.url}/v1/shape?table=tasks&where=${encodeURIComponent('priority = 0')}&offset=${offset}&handle=${handle}&live=true`, { headers: mallory });
  const held = [live(), live()];
  await new Promise((r) => setTimeout(r, 300));
  const third = await live();
  assert.equal(third.status, 429);
  assert.ok(third.headers.get('retry-after'));
  for (const h of await Promise.all(held)) assert.equal(h.status, 200);
});

test('tokens: canonical base64url only, exp required with a secret, aud and iss when configured', async () => {
  const now = Math.floor(Date.now() / 1000);
  const good = signJwt({ sub: 'alice', exp: now + 60 }, SECRET);
  const shape = (t) => shapeRequest(s.url, { table: 'tasks', offset: '-1' }, { authorization: `Bearer ${t}` });
  assert.equal((await shape(good)).status, 200);
  const [h, p, sig] = good.split('.');
  const std = Buffer.from(sig, 'base64url').toString('base64');   // '+', '/', '=' padding
  const trailing = `${sig}A`;
  const padded = `${p}=`;
  for (const bad of [`${h}.${p}.${std}`, `${h}.${p}.${trailing}`, `${h}.${padded}.${sig}`, `${h}.${p}.${sig}.`]) {
    const r = await shape(bad);
    assert.equal(r.status, 401, bad);
  }
  const noExp = signJwt({ sub: 'alice' }, SECRET);
  const r = await shape(noExp);
  assert.equal(r.status, 401);
  assert.match(r.body.message, /no expiry/);

  const st = await startStack({ databaseUrl: s.databaseUrl, server: { authSecret: SECRET, requireExp: false, jwtAudience: 'app', jwtIssuer: 'https://id.example' } });
  try {
    const get = (t) => shapeRequest(st.url, { table: 'tasks', offset: '-1' }, { authorization: `Bearer ${t}` });
    assert.equal((await get(signJwt({ sub: 'a', aud: 'app', iss: 'https://id.example' }, SECRET))).status, 200);
    assert.equal((await get(signJwt({ sub: 'a', aud: ['x', 'app'], iss: 'https://id.example' }, SECRET))).status, 200);
    assert.match((await get(signJwt({ sub: 'a', aud: 'other', iss: 'https://id.example' }, SECRET))).body.message, /audience/);
    assert.match((await get(signJwt({ sub: 'a', aud: 'app', iss: 'https://evil' }, SECRET))).body.message, /issuer/);
  } finally {
    await st.server.close();
    await st.pool.end();
  }
});

test('mutation ids are idempotency keys per user: one user cannot squat another\'s', async () => {
  const mid = uid();
  const a = await post({ mutations: [{ id: mid, table: 'tasks', op: 'insert', key: { id: uid() }, value: { title: 'a' } }] }, { user: 'alice' });
  assert.equal(a.body.results[0].status, 'applied');
  const b = await post({ mutations: [{ id: mid, table: 'tasks', op: 'insert', key: { id: uid() }, value: { title: 'b' } }] }, { user: 'bob' });
  assert.equal(b.body.results[0].status, 'applied', JSON.stringify(b.body));
  const again = await post({ mutations: [{ id: mid, table: 'tasks', op: 'insert', key: { id: uid() }, value: { title: 'b' } }] }, { user: 'bob' });
  assert.equal(again.body.results[0].status, 'duplicate');
});

test('dev tokens outlive a restart of the dev server', async () => {
  const dev = await startStack({ databaseUrl: s.databaseUrl });
  const r = await fetch(`${dev.url}/v1/token`, { method: 'POST', body: JSON.stringify({ userId: 'dora' }) });
  const { token } = await r.json();
  await dev.server.close();
  await dev.pool.end();
  const again = await startStack({ databaseUrl: s.databaseUrl });
  try {
    const ok = await shapeRequest(again.url, { table: 'tasks', offset: '-1' }, { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  } finally {
    await again.server.close();
    await again.pool.end();
  }
});

