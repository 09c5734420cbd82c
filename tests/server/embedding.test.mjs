// createChangesHandler mounted in a plain Node http server with the user's own pg.Pool, and
// per-table column exclusion (`exclude` in policies) enforced by the dev server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startPostgres } from '../support/postgres.mjs';
import { ShapeReader, shapeRequest, until, uid } from '../support/server.mjs';

const { createChangesHandler, createServer, createAuth, DEMO_SCHEMA } = await import('../../dist/server/index.js');
let cluster, pool;
before(async () => {
  cluster = await startPostgres();
  pool = new pg.Pool({ connectionString: cluster.url });
  pool.on('error', () => {});
  await pool.query(readFileSync(DEMO_SCHEMA, 'utf8'));
});
after(async () => { await pool?.end(); await cluster?.stop(); });

test('createChangesHandler works in a plain http server with a pg.Pool', async () => {
  const policies = { tasks: { policy: 'last-write-wins', timestamp: 'updated_at', writable: true } };
  const auth = createAuth({ secret: 'embed' });
  const handle = createChangesHandler({ db: pool, policies, auth });
  const server = http.createServer((req, res) => {
    if (req.url === '/api/changes') return void handle(req, res);
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const id = uid();
    const res = await fetch(`http://127.0.0.1:${server.address().port}/api/changes`, {
      method: 'POST', headers: { authorization: `Bearer ${auth.issue('emb')}` },
      body: JSON.stringify({ mutations: [{ id: uid(), table: 'tasks', op: 'insert', key: { id }, value: { title: 'embedded' } }] }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.results[0].status, 'applied');
    const [row] = (await pool.query('SELECT title, user_id, pg_typeof(updated_at)::text AS t FROM tasks WHERE id = $1', [id])).rows;
    assert.equal(row.title, 'embedded');
    assert.equal(row.user_id, 'emb');
    assert.ok(body.txid);
    // The caller's pool keeps its own type parsing (we did not change its global config).
    const [typed] = (await pool.query('SELECT priority FROM tasks WHERE id = $1', [id])).rows;
    assert.equal(typeof typed.priority, 'number');
    const unauth = await fetch(`http://127.0.0.1:${server.address().port}/api/changes`, { method: 'POST', body: '{}' });
    assert.equal(unauth.status, 401);
  } finally { await new Promise((r) => server.close(r)); }
});

test('excluded columns never leave the server: shapes, columns param, where, write results', async () => {
  const policies = JSON.parse(readFileSync(new URL('../../schema/policies.json', import.meta.url), 'utf8'));
  policies.tasks.exclude = ['description'];
  const srv = await createServer({ databaseUrl: cluster.url, policies, longPollMs: 1000, log: () => {} });
  const url = await srv.listen(0);
  try {
    const id = uid();
    await pool.query(`INSERT INTO tasks (id, user_id, title, description) VALUES ($1, 'ex', 't', 'SECRET')`, [id]);
    const reader = await new ShapeReader(url, { table: 'tasks' }).sync();
    assert.ok(reader.byId()[id]);
    assert.ok(!('description' in reader.byId()[id]));
    const r = await shapeRequest(url, { table: 'tasks', offset: '-1' });
    assert.ok(!('description' in JSON.parse(r.headers.get('electric-schema'))));
    assert.doesNotMatch(JSON.stringify(r.body), /SECRET/);
    await pool.query(`UPDATE tasks SET description = 'SECRET2', title = 't2' WHERE id = $1`, [id]);
    await until(async () => { await reader.step({ live: false }); return reader.byId()[id].title === 't2' || null; });
    assert.ok(!('description' in reader.byId()[id]));
    const c = await shapeRequest(url, { table: 'tasks', offset: '-1', columns: 'id,description' });
    assert.equal(c.status, 400);
    const w = await shapeRequest(url, { table: 'tasks', offset: '-1', where: `description LIKE 'S%'` });
    assert.equal(w.status, 400);
    // Nor through a subquery's where, a subset's where or its order_by.
    const sq = await shapeRequest(url, { table: 'tasks', offset: '-1', where: `id IN (SELECT id FROM tasks WHERE description LIKE 'S%')` });
    assert.equal(sq.status, 400);
    for (const p of [{ subset__where: `description LIKE 'S%'` }, { subset__order_by: 'description', subset__limit: '1' }]) {
      const sub = await shapeRequest(url, { table: 'tasks', offset: '-1', log: 'changes_only', ...p });
      assert.equal(sub.status, 400, JSON.stringify(p));
      assert.doesNotMatch(JSON.stringify(sub.body), /SECRET/);
    }
    const res = await fetch(`${url}/v1/changes`, { method: 'POST', body: JSON.stringify({ mutations: [
      { id: uid(), table: 'tasks', op: 'update', key: { id }, value: { title: 't3' } }] }) });
    const body = await res.json();
    assert.equal(body.results[0].status, 'applied');
    assert.ok(!('description' in body.results[0].row));
  } finally { await srv.close(); }
});

test('staticDir: files served at /, no path traversal, API paths unaffected', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'electrolite-static-'));
  writeFileSync(join(dir, 'index.html'), '<h1>demo</h1>');
  writeFileSync(join(dir, 'app.js'), 'export {}');
  const srv = await createServer({ databaseUrl: cluster.url, staticDir: dir, log: () => {} });
  const url = await srv.listen(0);
  try {
    const home = await fetch(`${url}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type'), /text\/html/);
    assert.equal(await home.text(), '<h1>demo</h1>');
    assert.match((await fetch(`${url}/app.js`)).headers.get('content-type'), /javascript/);
    assert.equal((await fetch(`${url}/..%2f..%2fetc%2fpasswd`)).status, 404);
    assert.equal((await fetch(`${url}/nope.html`)).status, 404);
    assert.equal((await fetch(`${url}/v1/health`)).status, 200);
  } finally { await srv.close(); rmSync(dir, { recursive: true, force: true }); }
});
