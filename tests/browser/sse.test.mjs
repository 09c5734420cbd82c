// liveSse in headless Chromium over HTTP/1.1 against the dev server and real PostgreSQL: the seven
// demo tables' live updates come over event streams (five hold the connection slots, the other
// tables are parked and short-polled, js/browser/connection-limit.ts), streams are renewed when
// the server ends them, and every table keeps receiving remote rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { launch, missingPrerequisite, startDemoStack } from './harness.mjs';

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
const requests = []; // the server's request log: "GET /v1/shape?... 200 3012ms", written when a response ends

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  // Streams end after 3 s, so the test sees them renewed (and logged by the server).
  stack = await startDemoStack({ debug: true, sseTimeoutMs: 3000, log: (l) => requests.push(l) });
  browser = await launch();
  page = await browser.page();
  await page.goto(`${stack.server.url}/v1/health`);
  await page.evaluate(async (tables) => {
    const { BrowserElectrolite } = await import('/electrolite.js');
    const db = await BrowserElectrolite.open({ url: location.origin, uploadIntervalMs: 3600000, liveSse: true });
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

test('liveSse in Chromium: rows of all seven tables arrive, live updates over event streams', async () => {
  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, 2000)); // streams end (3 s) and are renewed meanwhile
    const ids = {};
    for (const t of TABLES) {
      ids[t] = randomUUID();
      await stack.sql.query(INSERTS[t], [ids[t]]);
    }
    const deadline = Date.now() + 5000;
    let missingRows;
    for (;;) {
      const seen = await page.evaluate(() => window.seen);
      missingRows = TABLES.filter((t) => !seen[t].includes(ids[t]));
      if (missingRows.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = await page.evaluate(() => window.db.status);
    if (process.env.SSE_DEBUG && missingRows.length) console.log(missingRows, JSON.stringify(status), requests.filter((l) => /v1\/shape/.test(l)).slice(-30).join('\n'));
    assert.deepEqual(missingRows, [], `round ${round + 1}: rows not in the page after 5 s; status error: ${JSON.stringify(status.error)}`);
    assert.equal(status.error, null);
    assert.equal(status.connection, 'connected');
  }
  // Streams that lived (>= 1 s, so none counted toward the fall-back) and ended: served as SSE.
  const streams = requests.filter((l) => /live_sse=true/.test(l) && / 200 \d+ms$/.test(l));
  const lived = streams.filter((l) => Number(/ (\d+)ms$/.exec(l)[1]) >= 2500);
  assert.ok(lived.length >= 5, `event streams that lived until the server ended them: ${lived.length}`);
  const tablesOnSse = new Set(lived.map((l) => /table=([a-z_]+)/.exec(l)[1]));
  assert.ok(tablesOnSse.size >= 5, `tables with a stream: ${[...tablesOnSse]}`);
});
