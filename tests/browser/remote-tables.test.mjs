// Every synced table keeps receiving remote changes in headless Chromium over HTTP/1.1, where
// the browser's six connections per host cannot hold a live poll for each of the seven demo
// tables: the tables without a slot are parked and short-polled (js/browser/connection-limit.ts).
// Regression: the short poll's answer had no `electric-cursor`, the engine failed those shapes
// for good on their first short poll, and their rows never arrived.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { launch, missingPrerequisite, startDemoStack } from './harness.mjs';

// A single-row insert into each demo table (its required columns).
const INSERTS = {
  tasks: "INSERT INTO tasks (id, user_id, title) VALUES ($1, 'u', 't')",
  environments: "INSERT INTO environments (id, user_id, name) VALUES ($1, 'u', 'e')",
  agent_executions: "INSERT INTO agent_executions (id, user_id, agent_type) VALUES ($1, 'u', 'a')",
  observability_events: "INSERT INTO observability_events (id, user_id, event_type) VALUES ($1, 'u', 'o')",
  agent_memory: "INSERT INTO agent_memory (id, user_id, agent_type, context_key, content) VALUES ($1, 'u', 'a', 'k', 'c')",
  workflows: "INSERT INTO workflows (id, user_id, name, definition) VALUES ($1, 'u', 'w', '{}')",
  workflow_executions: "INSERT INTO workflow_executions (id, user_id) VALUES ($1, 'u')",
};
const TABLES = Object.keys(INSERTS);

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
  await page.evaluate(async (tables) => {
    const { BrowserElectrolite } = await import('/electrolite.js');
    const db = await BrowserElectrolite.open({ url: location.origin, uploadIntervalMs: 3600000 });
    window.db = db;
    await db.waitForStatus((s) => s.shapes.length === tables.length && s.shapes.every((sh) => sh.isUpToDate), 30000);
    window.seen = {};
    await Promise.all(tables.map((t) => new Promise((resolve) => {
      window.seen[t] = [];
      db.live(`SELECT id FROM ${t}`, [], (r) => { window.seen[t] = r.rows.map((row) => row.id); resolve(); });
    })));
  }, TABLES);
});

after(async () => {
  await page?.evaluate(() => window.db?.close()).catch(() => undefined);
  await browser?.close();
  await stack?.stop();
});

test('with seven tables over HTTP/1.1, every table keeps receiving remote rows, parked ones included', async () => {
  for (let round = 0; round < 2; round++) {
    await new Promise((r) => setTimeout(r, 1500)); // every parked table has been short-polled meanwhile
    const ids = {};
    for (const t of TABLES) {
      ids[t] = randomUUID();
      await stack.sql.query(INSERTS[t], [ids[t]]);
    }
    const deadline = Date.now() + 5000;
    let missing;
    for (;;) {
      const seen = await page.evaluate(() => window.seen);
      missing = TABLES.filter((t) => !seen[t].includes(ids[t]));
      if (missing.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = await page.evaluate(() => window.db.status);
    assert.deepEqual(missing, [], `round ${round + 1}: rows not in the page after 5 s; status error: ${JSON.stringify(status.error)}`);
    assert.equal(status.error, null);
  }
});
