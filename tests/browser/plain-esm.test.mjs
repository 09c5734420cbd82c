// The package without a bundler: a page imports dist/js/browser/index.js straight from the
// package folder, and the worker, the glue, both .wasm parts and the default schema are found
// relative to it. Opened without a url it is local-only. A server that answers a missing .wasm
// or worker with its HTML fallback page (or 404) gives an ElectroliteError naming the URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { launch, missingPrerequisite, ROOT } from './harness.mjs';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.sql': 'text/plain', '.map': 'application/json' };
const PAGE = `<!doctype html><link rel="icon" href="data:,"><script type="module">
  import { BrowserElectrolite } from '/dist/js/browser/index.js';
  window.run = async (options) => {
    try {
      const db = await BrowserElectrolite.open(options);
      const id = crypto.randomUUID();
      await db.insert('tasks', { id, user_id: 'u1', title: 'local', status: 'pending' });
      const { rows } = await db.query('SELECT title FROM tasks WHERE id = ?', [id]);
      const pending = (await db.pendingMutations()).length;
      const status = db.status;
      await db.close();
      return { rows, pending, sync: status.sync, connection: status.connection };
    } catch (err) {
      return { error: { name: err.name, code: err.code, message: err.message } };
    }
  };
</script>`;

let server;
let browser;
/** How the server answers files under `broken` (a path prefix): 'spa' (index.html, 200) or 404. */
let broken = { prefix: null, as: 'spa' };

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  server = http.createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = join(ROOT, path);
    const allowed = /^\/(dist\/(js|wasm)|schema)\//.test(path);
    if (path === '/' || path === '/index.html' || (broken.prefix && path.startsWith(broken.prefix) && broken.as === 'spa')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return;
    }
    if (!allowed || (broken.prefix && path.startsWith(broken.prefix)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

async function run(options) {
  const page = await browser.context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    return await page.evaluate((o) => window.run(o), options);
  } finally {
    await page.close();
  }
}

test('plain ESM from the package folder, no url: local-only, a write stays in the outbox', async () => {
  broken = { prefix: null };
  const r = await run({});
  assert.deepEqual(r, { rows: [{ title: 'local' }], pending: 1, sync: 'disabled', connection: 'disconnected' });
  const persisted = await run({ storage: 'plain-esm.db' });
  assert.equal(persisted.sync, 'disabled');
  assert.deepEqual(persisted.rows, [{ title: 'local' }]);
});

test('a .wasm answered by an HTML fallback page: an io error naming the URL and what came back', async () => {
  broken = { prefix: '/dist/wasm/electrolite.wasm', as: 'spa' };
  const r = await run({});
  assert.equal(r.error?.name, 'ElectroliteError', JSON.stringify(r));
  assert.equal(r.error.code, 'io');
  assert.match(r.error.message, /\/dist\/wasm\/electrolite\.wasm/);
  assert.match(r.error.message, /200 \(text\/html/);
  assert.doesNotMatch(r.error.message, /magic word/);
});

test('a worker script that is not there: the error says which URL answered what', async () => {
  broken = { prefix: '/dist/js/browser/worker.js', as: '404' };
  const r = await run({});
  assert.equal(r.error?.name, 'ElectroliteError', JSON.stringify(r));
  assert.match(r.error.message, /worker failed: GET http:\/\/127\.0\.0\.1:\d+\/dist\/js\/browser\/worker\.js answered 404/);
});

test('the glue answered by an HTML fallback page: the worker\'s error names it', async () => {
  broken = { prefix: '/dist/wasm/electrolite.mjs', as: 'spa' };
  const r = await run({});
  assert.equal(r.error?.name, 'ElectroliteError', JSON.stringify(r));
  assert.match(r.error.message, /worker failed: GET http:\/\/127\.0\.0\.1:\d+\/dist\/wasm\/electrolite\.mjs answered 200 \(text\/html/);
});

test('the default schema answered by an HTML fallback page: a schema error naming the URL, not SQL parsed from HTML', async () => {
  broken = { prefix: '/schema/', as: 'spa' };
  const r = await run({});
  assert.equal(r.error?.name, 'ElectroliteError', JSON.stringify(r));
  assert.equal(r.error.code, 'schema');
  assert.match(r.error.message, /GET http:\/\/127\.0\.0\.1:\d+\/schema\/schema\.sql answered 200 \(text\/html/);
});
