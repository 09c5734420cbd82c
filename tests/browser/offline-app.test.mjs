// The demo as an installable offline app: its service worker (demo/sw.ts) precaches the shell,
// so the page starts on its local data with the browser fully offline, and with the server
// stopped altogether; writes made then are kept and reach PostgreSQL once the server is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, launch, missingPrerequisite, startDemoStack } from './harness.mjs';

const USER = 'sw-user';
let stack;
let browser;
let page;
let pageUrl;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  stack = await startDemoStack();
  await stack.sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)',
    [randomUUID(), USER, 'Synced before going offline', 'pending']);
  // The token rides in the URL, so no start of the page needs the network for it.
  const token = stack.server.auth.issue(USER);
  pageUrl = `${stack.server.url}/?user=${USER}&upload=300&token=${token}`;
  browser = await launch();
  page = await browser.page();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const addTask = async (title) => {
  await page.fill('form.new-task input[name="title"]', title);
  await page.click('form.new-task button[type="submit"]');
  await page.waitForSelector(`.task-item h3:text("${title}")`, { timeout: 5000 });
};

test('first visit: the service worker installs and takes control of the page', async () => {
  await page.goto(pageUrl);
  await page.waitForSelector('.task-item h3:text("Synced before going offline")', { timeout: 20000 });
  await eventually(() => page.evaluate(() => navigator.serviceWorker.controller !== null), 10000, 'a controlling service worker');
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith('electrolite-demo-')));
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
  });
  for (const f of ['/index.html', '/main.js', '/worker.js', '/wasm/electrolite.wasm', '/wasm/electrolite.deferred.wasm', '/schema/schema.sql']) {
    assert.ok(cached.includes(f), `${f} precached: ${cached.join(', ')}`);
  }
});

test('a reload with the browser offline starts from local data and accepts writes', async () => {
  await browser.context.setOffline(true);
  await page.reload();
  await page.waitForSelector('.task-item h3:text("Synced before going offline")', { timeout: 20000 });
  await addTask('Written while the browser was offline');
  await page.waitForSelector('[data-testid="offline-banner"]', { timeout: 10000 });
  await browser.context.setOffline(false);
  await eventually(async () => (await stack.sql.query('SELECT 1 FROM tasks WHERE title = $1',
    ['Written while the browser was offline'])).rows.length === 1, 30000, 'the offline write in PostgreSQL');
});

test('with the server stopped, a reload still starts the app; its writes upload when the server is back', async () => {
  const port = Number(new URL(stack.server.url).port);
  await stack.server.close();
  await page.reload();
  await page.waitForSelector('.task-item h3:text("Written while the browser was offline")', { timeout: 20000 });
  await addTask('Written while the server was down');
  const { createServer } = await import('../../dist/server/index.js');
  const { DEMO_DIR } = await import('./harness.mjs');
  stack.server = await createServer({ databaseUrl: stack.databaseUrl, staticDir: DEMO_DIR, log: () => {}, longPollMs: 5000 });
  await stack.server.listen(port);
  await eventually(async () => (await stack.sql.query('SELECT 1 FROM tasks WHERE title = $1',
    ['Written while the server was down'])).rows.length === 1, 60000, 'the write made with the server down in PostgreSQL');
  assert.deepEqual(browser.errors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|ERR_INTERNET_DISCONNECTED|net::/.test(e)), []);
});
