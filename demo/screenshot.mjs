// Takes docs/screenshot.png of the running demo: the dev server on embedded PGlite (in
// memory) with a few seeded rows, the page in headless Chromium, one agent run so every
// panel has content. Run after `npm run build` with `node demo/screenshot.mjs [out.png]`.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createServer } from '../dist/server/index.js';
import { DEMO_DIR, ROOT, launch } from '../tests/browser/harness.mjs';

const out = process.argv[2] ?? join(ROOT, 'docs/screenshot.png');
const USER = 'demo-user';
const server = await createServer({ dataDir: 'memory://', staticDir: DEMO_DIR, log: () => {} });
const browser = await launch();
try {
  await server.listen(0);
  const tasks = [
    ['Design the local schema', 'completed', 'Tables, overlay and outbox'],
    ['Wire the sync engine', 'in_progress', 'Shape log → SQLite in one transaction'],
    ['Write the React hooks', 'pending', 'useElectricTasks, useElectricEnvironments'],
    ['Record the demo', 'pending', null],
  ];
  let minutes = 40;
  for (const [title, status, description] of tasks) {
    await server.db.query(
      `INSERT INTO tasks (id, user_id, title, description, status, created_at) VALUES ($1, $2, $3, $4, $5, now() - ($6 || ' minutes')::interval)`,
      [randomUUID(), USER, title, description, status, String((minutes -= 10))]);
  }
  for (const [name, active] of [['development', true], ['staging', false], ['production', false]]) {
    await server.db.query('INSERT INTO environments (id, user_id, name, is_active) VALUES ($1, $2, $3, $4)',
      [randomUUID(), USER, name, active]);
  }
  const page = await browser.page();
  await page.goto(`${server.url}/?upload=500`);
  await page.waitForSelector('[data-testid="tasks"] h2:text("Tasks (4)")', { timeout: 30000 });
  await page.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 30000 });
  await page.locator('.task-item', { hasText: 'Wire the sync engine' }).locator('button', { hasText: 'Run agent' }).click();
  await page.waitForSelector('[data-testid="memory"] .panel-row', { timeout: 10000 })
    .catch(() => console.warn('screenshot: the agent run did not show (local writes failing?); taking it anyway'));
  await page.waitForTimeout(2500); // let the upload round-trip and the metrics refresh
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
  if (browser.errors.length) console.warn(browser.errors.join('\n'));
} finally {
  await browser.close();
  await server.close();
}
