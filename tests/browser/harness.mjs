// Browser test support: headless Debian Chromium through playwright-core with a fresh
// profile, a static file server for dist/demo (for tests that need no sync service), and
// helpers to wait for conditions. Every process started here is stopped by its `close()`.
import http from 'node:http';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_DIR = join(ROOT, 'dist/demo');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Why the browser tests cannot run here, or null when they can. */
export function missingPrerequisite() {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  if (!existsSync(join(DEMO_DIR, 'worker.js'))) return 'dist/demo is not built (npm run build:demo)';
  if (!existsSync(join(DEMO_DIR, 'wasm/electrolite.mjs'))) return 'dist/demo/wasm has no engine module';
  return null;
}

/**
 * A persistent context on a fresh profile, or on `profileDir` (kept: a relaunch on it finds
 * what the last run stored); `close()` closes it and removes a fresh profile.
 */
export async function launch(profileDir) {
  const profile = profileDir ?? mkdtempSync(join(tmpdir(), 'electrolite-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 860 },
  });
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    context,
    errors,
    async page() {
      return context.pages()[0] ?? context.newPage();
    },
    async close() {
      await context.close().catch(() => undefined);
      if (!profileDir) rmSync(profile, { recursive: true, force: true });
    },
  };
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.sql': 'text/plain', '.map': 'application/json',
};

/** Serves `dir` on a free loopback port (GET only); `pages` maps extra paths to HTML. */
export async function serveStatic(dir = DEMO_DIR, pages = {}) {
  const server = http.createServer((req, res) => {
    const extra = pages[new URL(req.url, 'http://x').pathname];
    if (extra !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(extra);
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

export { eventually } from '../support/eventually.mjs';

/**
 * The demo's back end for page tests: a real PostgreSQL, the dev server serving dist/demo and
 * the sync endpoints, and a pg client. 5 s long-polls: the seven shapes' polls exceed Chrome's
 * six HTTP/1.1 connections per host, so one shape (and any upload) waits for a poll to
 * return; a short hold keeps that wait short.
 */
export async function startDemoStack(serverOptions = {}) {
  const [{ startPostgres }, { default: pg }] = await Promise.all([import('../support/postgres.mjs'), import('pg')]);
  const pgServer = await startPostgres();
  const { createServer } = await import('../../dist/server/index.js');
  const server = await createServer({ databaseUrl: pgServer.url, staticDir: DEMO_DIR, log: () => {}, longPollMs: 5000, ...serverOptions });
  await server.listen(0);
  const sql = new pg.Client({ connectionString: pgServer.url });
  await sql.connect();
  return {
    server,
    sql,
    databaseUrl: pgServer.url,
    async stop() {
      await sql.end().catch(() => undefined);
      await this.server.close();
      await pgServer.stop();
    },
  };
}

/** Records what the demo's task list heading shows over time (window.taskStates), from the first render. */
export function recordTaskStates(page) {
  return page.addInitScript(() => {
    window.taskStates = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="tasks"]');
      const text = el ? (el.querySelector('h2')?.textContent ?? el.textContent.trim()) : null;
      if (text && window.taskStates.at(-1) !== text) window.taskStates.push(text);
    }).observe(document, { childList: true, subtree: true, characterData: true });
  });
}
