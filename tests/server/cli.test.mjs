// The CLI: `node dist/server/cli.js` prints "listening on …", answers /v1/health, logs one line
// per request under --debug, and on SIGTERM answers held long-polls and exits cleanly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../support/postgres.mjs';
import { ShapeReader } from '../support/server.mjs';

const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));
let pg;
before(async () => { pg = await startPostgres(); });
after(async () => { await pg?.stop(); });

function start(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
  const url = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "listening on" line; stderr: ${err}`)), 30000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    exited.then(() => { clearTimeout(t); reject(new Error(`exited early: ${err}`)); });
  });
  return { child, url, exited, logs: () => err };
}

test('bad arguments exit 2 with usage', () => {
  const r = spawnSync(process.execPath, [CLI, '--bogus', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option.*--bogus/);
  const r2 = spawnSync(process.execPath, [CLI, '--port', 'abc'], { encoding: 'utf8' });
  assert.equal(r2.status, 2);
});

test('health, --debug request lines, SIGTERM answers held long-polls and exits 0', async () => {
  const p = start(['--port', '0', '--database-url', pg.url, '--debug', '--long-poll-ms', '20000', '--auth-secret', 'cli-secret']);
  const url = await p.url;
  assert.doesNotMatch(p.logs(), /DEV AUTH MODE/);
  const h = await fetch(`${url}/v1/health`);
  assert.equal(h.status, 200);
  assert.equal((await h.json()).status, 'active');
  const { createAuth } = await import('../../dist/server/index.js');
  const token = createAuth({ secret: 'cli-secret' }).issue('cli-user');
  const reader = await new ShapeReader(url, { table: 'tasks' }, { authorization: `Bearer ${token}` }).sync();
  const t0 = Date.now();
  const held = reader.step({ live: true });
  await new Promise((r) => setTimeout(r, 300));
  p.child.kill('SIGTERM');
  const r = await held;
  assert.equal(r.status, 200);
  assert.ok(Date.now() - t0 < 5000, 'held request answered at shutdown, not after 20 s');
  assert.deepEqual(r.body.map((m) => m.headers.control), ['up-to-date']);
  const { code } = await p.exited;
  assert.equal(code, 0);
  assert.match(p.logs(), /GET \/v1\/health 200 \d+ms/);
  assert.match(p.logs(), /GET \/v1\/shape\?table=tasks.* 200 \d+ms/);
  assert.match(p.logs(), /SIGTERM: shutting down/);
});

test('dev mode without a secret warns loudly and issues tokens', async () => {
  const p = start(['--port', '0', '--database-url', pg.url]);
  try {
    const url = await p.url;
    assert.match(p.logs(), /DEV AUTH MODE/);
    const r = await fetch(`${url}/v1/token`, { method: 'POST', body: JSON.stringify({ userId: 'demo' }) });
    const { token } = await r.json();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const bad = await fetch(`${url}/v1/token`, { method: 'POST', body: '{}' });
    assert.equal(bad.status, 400);
  } finally {
    p.child.kill('SIGINT');
    assert.equal((await p.exited).code, 0);
  }
});
