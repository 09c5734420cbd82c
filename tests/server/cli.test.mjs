// The CLI: `node dist/server/cli.js` prints "listening on …", answers /v1/health, logs one line
// per request under --debug, and on SIGTERM answers held long-polls and exits cleanly. Installed
// from the tarball without the optional @electric-sql/pglite, it runs on a PostgreSQL URL and,
// without one, says what to install or pass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../support/postgres.mjs';
import { ShapeReader } from '../support/server.mjs';

const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));
let pg;
before(async () => { pg = await startPostgres(); });
after(async () => { await pg?.stop(); });

function start(args, cli = CLI) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * An app folder with the packed package in node_modules and its declared dependencies (linked
 * from this checkout's node_modules), but not the optional peer @electric-sql/pglite.
 */
function installWithoutPglite() {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const app = mkdtempSync(join(tmpdir(), 'electrolite-app-'));
  const pkgDir = join(app, 'node_modules/electrolite');
  mkdirSync(pkgDir, { recursive: true });
  const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app],
    { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString());
  execFileSync('tar', ['-xzf', join(app, filename), '-C', pkgDir, '--strip-components=1']);
  for (const dep of ['pg', 'fzstd', 'libpg-query']) symlinkSync(join(root, 'node_modules', dep), join(app, 'node_modules', dep));
  // Nothing above the app may provide it either.
  for (let d = app; d !== dirname(d); d = dirname(d)) {
    assert.ok(!existsSync(join(d, 'node_modules/@electric-sql/pglite')), `${d}/node_modules has @electric-sql/pglite`);
  }
  return { cli: join(pkgDir, 'dist/server/cli.js'), cwd: app, remove: () => rmSync(app, { recursive: true, force: true }) };
}

test('installed without @electric-sql/pglite: serves a PostgreSQL URL; without one, says what to install or pass', async () => {
  const app = installWithoutPglite();
  try {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const r = spawnSync(process.execPath, [app.cli, '--port', '0'], { cwd: app.cwd, encoding: 'utf8', env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^electrolite-server: .*needs @electric-sql\/pglite, which is not installed/m);
    assert.match(r.stderr, /npm install -D @electric-sql\/pglite/);
    assert.match(r.stderr, /--database-url/);
    assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|\n\s+at /, 'no raw module error or stack');

    const p = start(['--port', '0', '--database-url', pg.url], app.cli);
    try {
      const url = await p.url;
      assert.equal((await fetch(`${url}/v1/health`)).status, 200);
    } finally {
      p.child.kill('SIGTERM');
      assert.equal((await p.exited).code, 0);
    }
  } finally {
    app.remove();
  }
});
