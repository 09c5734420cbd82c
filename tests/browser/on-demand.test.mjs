// On-demand sync through the browser's worker boundary in headless Chromium: the page's client
// subscribes a shape with `mode: 'on-demand'`, loads a subset (the engine in the module worker
// POSTs it to the dev server over a real PostgreSQL), reads its rows, sees a server change of
// one of them, lists the subsets it holds and releases them — the same calls as in Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { launch, missingPrerequisite, startDemoStack } from './harness.mjs';

let stack;
let browser;
let page;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  stack = await startDemoStack();
  browser = await launch();
  page = await browser.page();
  await page.goto(`${stack.server.url}/v1/health`); // any page of the origin: the test drives the client itself
});

after(async () => {
  await page?.evaluate(() => window.db?.close()).catch(() => undefined);
  await browser?.close();
  await stack?.stop();
});

test('subscribe on-demand, load a page of a subset, follow a change, release it — across the worker', async () => {
  const ids = [];
  for (let p = 1; p <= 12; p++) {
    const id = randomUUID();
    ids.push(id);
    await stack.sql.query("INSERT INTO tasks (id, user_id, title, priority) VALUES ($1, 'u', $2, $3)", [id, `t${p}`, p]);
  }
  const loaded = await page.evaluate(async () => {
    const { BrowserElectrolite } = await import('/electrolite.js');
    const db = await BrowserElectrolite.open({ url: location.origin, autoSubscribe: false, uploadIntervalMs: 3600000 });
    window.db = db;
    const shapeId = await db.subscribe({ table: 'tasks', mode: 'on-demand' });
    await db.waitForStatus((s) => s.shapes.some((x) => x.id === shapeId && x.isUpToDate), 30000);
    const before = (await db.query('SELECT count(*) AS n FROM tasks', [])).rows[0].n;
    window.page1 = await db.loadSubset(shapeId, { orderBy: 'priority', limit: 5 });
    const rows = (await db.query('SELECT title FROM tasks ORDER BY priority', [])).rows.map((r) => r.title);
    return { before, rows, count: window.page1.rows, held: (await db.subsets()).map((s) => [s.state, s.rows]) };
  });
  assert.equal(loaded.before, 0);
  assert.equal(loaded.count, 5);
  assert.deepEqual(loaded.rows, ['t1', 't2', 't3', 't4', 't5']);
  assert.deepEqual(loaded.held, [['loaded', 5]]);
  await stack.sql.query("UPDATE tasks SET title = 'second, changed' WHERE id = $1", [ids[1]]);
  await stack.sql.query("UPDATE tasks SET title = 'ninth, not loaded' WHERE id = $1", [ids[8]]);
  const followed = await page.evaluate(async () => {
    for (let i = 0; i < 300; i++) {
      const r = await db.query('SELECT title FROM tasks WHERE priority = 2', []);
      if (r.rows[0]?.title === 'second, changed') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const rows = (await db.query('SELECT title FROM tasks ORDER BY priority', [])).rows.map((r) => r.title);
    await window.page1.release();
    const after = (await db.query('SELECT count(*) AS n FROM tasks', [])).rows[0].n;
    return { rows, after, held: (await db.subsets()).length };
  });
  assert.deepEqual(followed.rows, ['t1', 'second, changed', 't3', 't4', 't5']);
  assert.equal(followed.after, 0);
  assert.equal(followed.held, 0);
});
