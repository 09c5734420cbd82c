// Remote rows into every demo table, seen by a page's live queries: the shared part of the
// browser tests that check each synced table keeps receiving changes (remote-tables, sse).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

// A single-row insert into each demo table (its required columns).
export const INSERTS = {
  tasks: "INSERT INTO tasks (id, user_id, title) VALUES ($1, 'u', 't')",
  environments: "INSERT INTO environments (id, user_id, name) VALUES ($1, 'u', 'e')",
  agent_executions: "INSERT INTO agent_executions (id, user_id, agent_type) VALUES ($1, 'u', 'a')",
  observability_events: "INSERT INTO observability_events (id, user_id, event_type) VALUES ($1, 'u', 'o')",
  agent_memory: "INSERT INTO agent_memory (id, user_id, agent_type, context_key, content) VALUES ($1, 'u', 'a', 'k', 'c')",
  workflows: "INSERT INTO workflows (id, user_id, name, definition) VALUES ($1, 'u', 'w', '{}')",
  workflow_executions: "INSERT INTO workflow_executions (id, user_id) VALUES ($1, 'u')",
};
export const TABLES = Object.keys(INSERTS);

/**
 * Opens the client in `page` (any page of the server's origin) with `options`, waits until
 * every table's shape is up to date, and keeps each table's ids in `window.seen[table]`
 * through one live query per table.
 */
export async function openLiveTables(page, options = {}) {
  await page.evaluate(async ({ tables, options }) => {
    const { BrowserElectrolite } = await import('/electrolite.js');
    const db = await BrowserElectrolite.open({ url: location.origin, uploadIntervalMs: 3600000, ...options });
    window.db = db;
    await db.waitForStatus((s) => s.shapes.length === tables.length && s.shapes.every((sh) => sh.isUpToDate), 30000);
    window.seen = {};
    await Promise.all(tables.map((t) => new Promise((resolve) => {
      window.seen[t] = [];
      db.live(`SELECT id FROM ${t}`, [], (r) => { window.seen[t] = r.rows.map((row) => row.id); resolve(); });
    })));
  }, { tables: TABLES, options });
}

/**
 * `rounds` times: waits `pauseMs`, commits one row into every table, and asserts each reaches
 * the page within 5 s with the client's status free of errors (and `connected`, if
 * `expectConnected`). `onMissing(tables, status)` may print diagnostics before the assertion fails.
 */
export async function expectRowsInEveryTable(stack, page, { rounds, pauseMs, expectConnected = false, onMissing }) {
  for (let round = 0; round < rounds; round++) {
    await new Promise((r) => setTimeout(r, pauseMs));
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
    if (missing.length) onMissing?.(missing, status);
    assert.deepEqual(missing, [], `round ${round + 1}: rows not in the page after 5 s; status error: ${JSON.stringify(status.error)}`);
    assert.equal(status.error, null);
    if (expectConnected) assert.equal(status.connection, 'connected');
  }
}
