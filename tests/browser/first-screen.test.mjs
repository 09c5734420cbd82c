// What a first visit downloads before its first screen, in headless Chromium on the real
// build (dist/demo): the engine's second wasm part (electrolite.deferred.wasm) is asked for
// only once the page has shown its first screen — after its first query was answered and the
// page rendered the answer (however long that rendering takes), even when the page takes its
// time between open and that query — and it does come then (a page that needs sync gets it).
// The order is read off the requests themselves: each request for the part is held by the
// test's network interception while the page is asked what it had rendered by then.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_DIR, eventually, launch, missingPrerequisite, serveStatic } from './harness.mjs';

const split = existsSync(join(DEMO_DIR, 'wasm/electrolite.deferred.wasm'));
let server;
let browser;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  server = await serveStatic(undefined, { '/first.html': '<!doctype html><title>first visit</title>' });
  browser = await launch(); // a fresh profile: nothing cached
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('a first visit fetches the second wasm part only after the first query was answered', { skip: !split && 'unsplit build' }, async () => {
  const page = await browser.page();
  const asked = [];
  page.context().on('request', (req) => {
    if (req.url().endsWith('/electrolite.deferred.wasm')) asked.push(Date.now());
  });
  await page.goto(`${server.url}/first.html`);
  const t = await page.evaluate(async () => {
    const { BrowserElectrolite } = await import('/electrolite.js');
    const db = await BrowserElectrolite.open({ url: 'http://127.0.0.1:9', storage: 'first.db', autoSubscribe: false });
    const opened = Date.now();
    // A page still busy after open (rendering, its own fetches): the part must wait for it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const rows = (await db.query('SELECT id FROM tasks ORDER BY updated_at DESC LIMIT 50')).rows.length;
    window.db = db;
    return { opened, answered: Date.now(), rows };
  });
  assert.equal(t.rows, 0);
  assert.deepEqual(asked.filter((at) => at < t.answered), [], 'no request for the second part before the first screen');
  await eventually(() => asked.length > 0, 10000, 'the second part fetched after the first query');
  await page.evaluate(() => window.db.close());
});

test('the second part is asked for only after the page rendered its first answer, however long rendering takes', { skip: !split && 'unsplit build' }, async () => {
  const b = await launch(); // its own fresh profile: nothing cached, an empty database
  try {
    const page = await b.page();
    // What happened, in the order the browser reported it: the page's "rendered" line and each
    // request for the part (intercepted on the network).
    const order = [];
    page.on('console', (m) => { if (m.text() === 'first screen rendered') order.push('rendered'); });
    await page.route('**/electrolite.deferred.wasm', (route) => {
      order.push('requested');
      return route.continue();
    });
    // The first screen lists the tasks of the new database (none), and its rendering keeps the
    // main thread busy for a while after the answer came.
    await page.goto(`${server.url}/first.html`);
    const rows = await page.evaluate(async () => {
      const { BrowserElectrolite } = await import('/electrolite.js');
      const db = await BrowserElectrolite.open({ url: 'http://127.0.0.1:9', storage: 'first-render.db', autoSubscribe: false });
      window.db = db;
      const r = await db.query('SELECT id, title FROM tasks ORDER BY updated_at DESC LIMIT 50');
      const until = Date.now() + 400;
      while (Date.now() < until) { /* rendering */ }
      document.body.append(Object.assign(document.createElement('p'), { textContent: `${r.rows.length} tasks` }));
      console.log('first screen rendered');
      return r.rows.length;
    });
    assert.equal(rows, 0);
    await eventually(() => order.includes('requested'), 10000, 'the second part asked for after the first screen');
    assert.deepEqual(order, ['rendered', 'requested'], 'asked for once, after the first screen was rendered');
    await page.evaluate(() => window.db.close());
  } finally {
    await b.close();
  }
});
