// The default schema's image in Chromium (src/schema_image.h, js/default-schema.ts): on a first
// visit the worker fetches wasm/electrolite.schema.db.gz while the OPFS storage opens, and the
// new database is the image's pages. The page is served from a copy of the demo build whose
// image carries an extra marker table, so the test sees that its pages were the ones copied;
// a second page of the same profile reopens that database as it is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Electrolite } from '../../dist/js/index.js';
import { DEMO_DIR, launch, missingPrerequisite, serveStatic } from './harness.mjs';

let work;
let server;
let browser;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  work = mkdtempSync(join(tmpdir(), 'el-image-browser-'));
  const site = join(work, 'site');
  cpSync(DEMO_DIR, site, { recursive: true });
  // The default schema's database, as the build makes it, plus a marker table.
  const file = join(work, 'marked.db');
  const db = await Electrolite.open({ storage: { path: file }, autoSubscribe: false });
  await db.exec('CREATE TABLE image_marker (x)');
  await db.close();
  const bytes = new Uint8Array(readFileSync(file));
  bytes[18] = 1;
  bytes[19] = 1;
  writeFileSync(join(site, 'wasm/electrolite.schema.db.gz'), gzipSync(bytes));
  writeFileSync(join(site, 'image.html'), '<!doctype html><title>schema image</title>');
  server = await serveStatic(site);
  browser = await launch(); // a fresh profile: an empty OPFS
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const markerCount = () => async () => {
  const { BrowserElectrolite } = await import('/electrolite.js');
  const db = await BrowserElectrolite.open({ storage: 'image.db', autoSubscribe: false });
  const n = (await db.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'image_marker'")).rows[0].n;
  const tasks = (await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n;
  const storage = db.status.storage;
  await db.close();
  return { n, tasks, storage };
};

test('a first visit opens its new OPFS database from the fetched image, and a reload reopens it', async () => {
  const page = await browser.page();
  const fetched = [];
  page.context().on('requestfinished', (req) => {
    if (req.url().endsWith('/electrolite.schema.db.gz')) fetched.push(req.url());
  });
  await page.goto(`${server.url}/image.html`);
  assert.deepEqual(await page.evaluate(markerCount()), { n: 1, tasks: 0, storage: 'opfs' });
  assert.ok(fetched.length >= 1, 'the worker fetched the image');
  await page.reload();
  assert.deepEqual(await page.evaluate(markerCount()), { n: 1, tasks: 0, storage: 'opfs' });
});
