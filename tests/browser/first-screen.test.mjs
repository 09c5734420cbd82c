// What a first visit downloads before its first screen, in headless Chromium on the real
// build (dist/demo): the engine's second wasm part (electrolite.deferred.wasm) is asked for
// only once the first query has been answered, even when the page takes its time between open
// and that query, and it does come then (a page that needs sync gets it).
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
