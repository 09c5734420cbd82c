// The examples (examples/*) as an app developer gets them: installed from the packed tarball
// and built with no bundler configuration by scripts/test-examples.sh (into build/examples/),
// then run in headless Chromium against the dev server (`node dist/server/cli.js`, embedded
// PGlite): the page loads, syncs a task written on the server, writes one that reaches the
// server, and keeps both across a reload (OPFS). Vite's dev server (its dep optimizer moves the
// package's modules) runs the same app; so do Vite 7's build and (with the README's
// optimizeDeps lines) its dev server. A webpack 5 build (no config) runs local-only. The
// on-demand example pages through a large table seeded in a real PostgreSQL (its own server.mjs:
// EXAMPLE_ON_DEMAND_ROWS rows, default 20,000) and must show PostgreSQL's rows page after page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { launch, missingPrerequisite, ROOT, serveStatic } from '../browser/harness.mjs';
import { startPostgres } from '../support/postgres.mjs';

const WORK = join(ROOT, 'build/examples');
const USER = 'example-user';
const EXAMPLES = (process.env.EXAMPLES ?? 'vite-react vite-react-vite7 nextjs webpack on-demand').split(/\s+/).filter(Boolean);
/** The sync server's port the Next.js build was made for (NEXT_PUBLIC_ELECTRIC_URL). */
const NEXT_SYNC_PORT = Number(process.env.EXAMPLE_SYNC_PORT ?? 5191);
const children = [];
let browser;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Terminal colour sequences; CI may force colour on (FORCE_COLOR) even though output is a pipe. */
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Starts a child process and resolves once a line of its output (colour removed) matches `ready`. */
function start(cmd, args, { cwd = ROOT, env = {}, ready, timeoutMs = 60000 }) {
  const childEnv = { ...process.env, NO_COLOR: '1', ...env };
  delete childEnv.FORCE_COLOR;
  const child = spawn(cmd, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')} not ready in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const seen = (chunk) => {
      out += String(chunk).replace(ANSI, '');
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code}:\n${out}`));
    });
  });
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.removeAllListeners('error');
    try {
      process.kill(-child.pid, 'SIGTERM'); // the process group: npx/vite spawn children
    } catch {
      resolve();
    }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000).unref();
  });
}

/** The dev sync server on embedded PGlite, serving `staticDir` (if any) at /. */
async function syncServer(staticDir, port) {
  const dataDir = mkdtempSync(join(tmpdir(), 'electrolite-example-db-'));
  port ??= await freePort();
  const args = ['dist/server/cli.js', '--port', String(port), '--data-dir', dataDir, '--long-poll-ms', '2000'];
  if (staticDir) args.push('--static', staticDir);
  const { child } = await start(process.execPath, args, { ready: /listening on (\S+)/ });
  const url = `http://127.0.0.1:${port}`;
  return { url, async stop() { await stop(child); rmSync(dataDir, { recursive: true, force: true }); } };
}

async function devToken(url) {
  const res = await fetch(`${url}/v1/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: USER, sub: USER }),
  });
  return (await res.json()).token;
}

/** A task written on the server side (the write endpoint), as another device would. */
async function serverInsert(url, title) {
  const id = randomUUID();
  const now = new Date().toISOString();
  const res = await fetch(`${url}/v1/changes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await devToken(url)}` },
    body: JSON.stringify({ client_id: randomUUID(), mutations: [{ id: randomUUID(), table: 'tasks', op: 'insert', key: { id },
      value: { id, user_id: USER, title, status: 'pending', created_at: now, updated_at: now } }] }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** The task titles the server has for the user (a new shape each time, so a fresh snapshot). */
async function serverTitles(url) {
  const where = encodeURIComponent(`user_id <> '${randomUUID()}'`);
  const res = await fetch(`${url}/v1/shape?table=tasks&offset=-1&log=full&where=${where}`,
    { headers: { authorization: `Bearer ${await devToken(url)}` } });
  const messages = await res.json();
  return messages.filter((m) => m.value?.title).map((m) => m.value.title);
}

async function eventually(fn, what, timeoutMs = 20000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw new Error(`${what}: ${err.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Load, sync down, write up, reload: the whole round trip of one served app. */
async function roundTrip(page, appUrl, syncUrl, label) {
  await serverInsert(syncUrl, `from the server (${label})`);
  await page.goto(appUrl);
  await page.waitForSelector(`[data-testid="tasks"] li:has-text("from the server (${label})")`, { timeout: 30000 });
  await page.waitForSelector('[data-testid="status"][data-connection="connected"]', { timeout: 30000 });
  assert.equal(await page.getAttribute('[data-testid="status"]', 'data-storage'), 'opfs');
  await page.fill('input[aria-label="New task"]', `from the page (${label})`);
  await page.click('button[type="submit"]');
  await page.waitForSelector(`[data-testid="tasks"] li:has-text("from the page (${label})")`);
  await eventually(async () => assert.ok((await serverTitles(syncUrl)).includes(`from the page (${label})`)),
    'the page\'s write reaches the server');
  await page.reload();
  await page.waitForSelector(`[data-testid="tasks"] li:has-text("from the page (${label})")`, { timeout: 30000 });
  await page.waitForSelector(`[data-testid="tasks"] li:has-text("from the server (${label})")`);
}

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`example tests cannot run: ${missing}`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await Promise.all(children.map(stop));
});

/**
 * The Vite app (`name`: built by scripts/test-examples.sh) from `vite build` with no config and
 * under `vite` dev; `devConfig`, when given, is written as its vite.config.js for dev.
 */
function viteTests(name, { devConfig, devLabel } = {}) {
  const dir = join(WORK, name);

  test(`${name}: the production build (vite build, no config) loads, syncs, writes and persists`, async () => {
    assert.ok(existsSync(join(dir, 'dist/index.html')), 'built by scripts/test-examples.sh');
    const sync = await syncServer(join(dir, 'dist'));
    try {
      const page = await browser.context.newPage();
      await roundTrip(page, `${sync.url}/`, sync.url, `${name} build`);
      await page.close();
      assert.deepEqual(browser.errors, []);
    } finally {
      await sync.stop();
    }
  });

  test(`${name}: the Vite dev server (dep optimizer, ${devLabel ?? 'no config'}) runs the same app`, async () => {
    const config = join(dir, 'vite.config.js');
    if (devConfig) writeFileSync(config, `export default ${JSON.stringify(devConfig)};\n`);
    const sync = await syncServer();
    const port = await freePort();
    try {
      const { child } = await start(join(dir, 'node_modules/.bin/vite'), ['--port', String(port), '--strictPort', '--host', '127.0.0.1', '--force'],
        { cwd: dir, env: { VITE_ELECTRIC_URL: sync.url }, ready: /Local:\s+(\S+)/ });
      try {
        const page = await browser.context.newPage();
        await roundTrip(page, `http://127.0.0.1:${port}/`, sync.url, `${name} dev`);
        await page.close();
        assert.deepEqual(browser.errors, []);
      } finally {
        await stop(child);
      }
    } finally {
      await sync.stop();
      rmSync(config, { force: true });
    }
  });
}

if (EXAMPLES.includes('vite-react')) viteTests('vite-react');
// The same app on Vite 7: its build needs nothing either; its dev server does not rebase the
// pre-bundled package's `new URL`s, so dev runs with the README's optimizeDeps lines.
if (EXAMPLES.includes('vite-react-vite7')) {
  viteTests('vite-react-vite7', {
    devConfig: { optimizeDeps: { exclude: ['electrolite'], include: ['react', 'react/jsx-runtime', 'react-dom/client'] } },
    devLabel: 'Vite 7 with the README\'s optimizeDeps',
  });
}

if (EXAMPLES.includes('nextjs')) {
  const dir = join(WORK, 'nextjs');

  test('nextjs: the production build (app router, server-rendered, no config) loads, syncs, writes and persists', async () => {
    assert.ok(existsSync(join(dir, '.next/BUILD_ID')), 'built by scripts/test-examples.sh');
    const sync = await syncServer(undefined, NEXT_SYNC_PORT);
    const port = await freePort();
    const { child } = await start(join(dir, 'node_modules/.bin/next'), ['start', '-p', String(port), '-H', '127.0.0.1'],
      { cwd: dir, env: { NEXT_TELEMETRY_DISABLED: '1' }, ready: /Ready in|started server|Local:/ });
    try {
      // Server rendering imported electrolite/react without a window: the HTML has the list's
      // loading state, and the page then opens the database in the browser.
      const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      assert.match(html, /<p>Loading…<\/p>/);
      assert.match(html, /data-testid="status" data-connection="disconnected"/);
      const page = await browser.context.newPage();
      await roundTrip(page, `http://127.0.0.1:${port}/`, sync.url, 'next build');
      await page.close();
      assert.deepEqual(browser.errors, []);
    } finally {
      await stop(child);
      await sync.stop();
    }
  });
}

if (EXAMPLES.includes('webpack')) {
  test('webpack: the production build (webpack-cli defaults) runs local-only and persists', async () => {
    const dir = join(WORK, 'webpack');
    assert.ok(existsSync(join(dir, 'dist/main.js')), 'built by scripts/test-examples.sh');
    const site = await serveStatic(dir);
    try {
      const page = await browser.context.newPage();
      await page.goto(`${site.url}/index.html`);
      await page.waitForSelector('[data-testid="status"][data-sync="disabled"]', { timeout: 30000 });
      await page.fill('input[aria-label="New task"]', 'bundled by webpack');
      await page.click('button[type="submit"]');
      await page.waitForSelector('[data-testid="tasks"] li:has-text("bundled by webpack")');
      await page.reload();
      await page.waitForSelector('[data-testid="tasks"] li:has-text("bundled by webpack")', { timeout: 30000 });
      assert.match(await page.textContent('[data-testid="status"]'), /sync disabled · 1 pending · opfs/);
      await page.close();
      assert.deepEqual(browser.errors, []);
    } finally {
      await site.close();
    }
  });
}

if (EXAMPLES.includes('on-demand')) {
  const ROWS = Number(process.env.EXAMPLE_ON_DEMAND_ROWS ?? 20000);
  const PAGE = 50;

  test(`on-demand: pages through ${ROWS} PostgreSQL rows forward, back and filtered; left pages leave`, async () => {
    const dir = join(WORK, 'on-demand');
    assert.ok(existsSync(join(dir, 'dist/index.html')), 'built by scripts/test-examples.sh');
    const cluster = await startPostgres();
    const pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
    pool.on('error', () => {});
    const port = await freePort();
    const t0 = Date.now();
    let child;
    try {
      ({ child } = await start(process.execPath, ['server.mjs'], {
        cwd: dir, env: { DATABASE_URL: cluster.url, ROWS: String(ROWS), PORT: String(port) },
        ready: /open (\S+)/, timeoutMs: 600000,
      }));
      const seeded = Date.now() - t0;
      const page = await browser.context.newPage();
      /** The page shown once its subset is loaded, checked against PostgreSQL's. */
      const shown = async (after, filter, label) => {
        const sel = `[data-testid="subset"][data-state="loaded"][data-after="${after}"][data-filter="${filter}"]`;
        const t = Date.now();
        await page.waitForSelector(sel, { timeout: 60000 });
        const where = filter ? 'priority > $1 AND status = $2' : 'priority > $1';
        const want = (await pool.query(`SELECT priority, title, status FROM tasks WHERE ${where} ORDER BY priority LIMIT ${PAGE}`,
          filter ? [after, filter] : [after])).rows.map((r) => `${r.priority}|${r.title}|${r.status}`);
        assert.equal(want.length, PAGE);
        await eventually(async () => {
          const got = await page.$$eval('[data-testid="tasks"] tbody tr',
            (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent).join('|')));
          assert.deepEqual(got, want);
        }, `${label}: the rows shown are PostgreSQL's`);
        times.push(Date.now() - t);
        const local = Number(await page.getAttribute('[data-testid="local"]', 'data-rows'));
        maxLocal = Math.max(maxLocal, local);
        return want.map((w) => Number(w.split('|')[0]));
      };
      const times = [];
      let maxLocal = 0;
      const tStart = Date.now();
      await page.goto(`http://127.0.0.1:${port}/`);
      let priorities = await shown(0, '', 'page 1');
      const firstScreen = Date.now() - tStart;
      const starts = [0];
      for (let i = 2; i <= 6; i++) {
        starts.push(priorities.at(-1));
        await page.click('button:has-text("Next")');
        priorities = await shown(starts.at(-1), '', `page ${i}`);
      }
      // Pages left behind are released once the hook's keep-alive (5 s) is over: however far
      // the walk went, the local table comes back to the one page shown.
      const localRows = async () => Number(await page.getAttribute('[data-testid="local"]', 'data-rows'));
      await eventually(async () => assert.equal(await localRows(), PAGE), 'pages 1-5 leave the local table', 30000);
      for (let i = 5; i >= 4; i--) {
        starts.pop();
        await page.click('button:has-text("Previous")');
        await shown(starts.at(-1), '', `back to page ${i}`);
      }
      await page.selectOption('select[aria-label="Status filter"]', 'completed');
      priorities = await shown(0, 'completed', 'filtered page 1');
      await page.click('button:has-text("Next")');
      await shown(priorities.at(-1), 'completed', 'filtered page 2');
      // A deep page, straight from a cursor (keyset: no rows before it are read or skipped).
      const deep = Math.floor(ROWS * 0.9);
      await page.fill('input[aria-label="Go to priority"]', String(deep));
      await page.click('button:has-text("Go")');
      await shown(deep - 1, 'completed', 'a deep filtered page');
      await page.selectOption('select[aria-label="Status filter"]', '');
      await page.fill('input[aria-label="Go to priority"]', String(deep));
      await page.click('button:has-text("Go")');
      await shown(deep - 1, '', 'a deep page');
      // Left pages are released (after the hook's keep-alive): only the page shown stays local.
      await eventually(async () => assert.equal(await localRows(), PAGE), 'released pages leave the local table', 30000);
      assert.ok(maxLocal <= times.length * PAGE, `nothing but the pages shown is local (saw ${maxLocal})`);
      console.log(`on-demand example: ${ROWS} rows seeded and served in ${seeded} ms; first screen ${firstScreen} ms; ` +
        `page shown in ${times.join(', ')} ms; at most ${maxLocal} rows local`);
      if (process.env.EXAMPLE_SCREENSHOT) await page.screenshot({ path: process.env.EXAMPLE_SCREENSHOT, fullPage: true });
      await page.close();
      assert.deepEqual(browser.errors, []);
    } finally {
      if (child) await stop(child);
      await pool.end();
      await cluster.stop();
    }
  });
}
