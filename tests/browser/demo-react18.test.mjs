// The hooks on React 18: the demo app bundled against react@18 / react-dom@18 (the
// `react-18` / `react-dom-18` dev dependencies; dist/demo/react18.html) in headless
// Chromium, over the real dev server and PostgreSQL. The hooks go loading → data, a
// server-side change re-renders, a write made in the page reaches Postgres, bad input shows
// the hook's error — the same behaviour demo.test.mjs checks on React 19.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, launch, missingPrerequisite, recordTaskStates, startDemoStack } from './harness.mjs';

const USER = 'react18-user';
let stack;
let sql;
let server;
let browser;
let page;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  stack = await startDemoStack();
  ({ server, sql } = stack);
  for (const [title, status] of [['First', 'completed'], ['Second', 'pending']]) {
    await sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)', [randomUUID(), USER, title, status]);
  }
  browser = await launch();
  page = await browser.page();
  await recordTaskStates(page);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('React 18: hooks go loading → data with no empty flash', async () => {
  await page.goto(`${server.url}/react18.html?user=${USER}&upload=300`);
  await page.waitForSelector('[data-testid="tasks"] h2:text("Tasks (2)")', { timeout: 20000 });
  assert.match(await page.evaluate(() => document.documentElement.dataset.react), /^18\./);
  const states = await page.evaluate(() => window.taskStates);
  assert.equal(states[0], 'Loading tasks...', `first state: ${JSON.stringify(states)}`);
  assert.ok(!states.some((s) => /Tasks \((?!2\))/.test(s)), `never a partial or empty list: ${JSON.stringify(states)}`);
  assert.match(await page.textContent('[data-testid="tasks"] .stats'), /Pending: 1.*Completed: 1/);
  await page.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 20000 });
  assert.deepEqual(browser.errors, []);
});

test('React 18: a server-side insert re-renders; a page write reaches PostgreSQL; bad input shows the error', async () => {
  const fromServer = `From the server ${Date.now()}`;
  await sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)', [randomUUID(), USER, fromServer, 'pending']);
  await page.waitForSelector(`.task-item h3:text("${fromServer}")`, { timeout: 15000 });

  const title = `Created on React 18 ${Date.now()}`;
  await page.fill('form.new-task input[name="title"]', title);
  await page.click('form.new-task button[type="submit"]');
  await page.waitForSelector(`.task-item h3:text("${title}")`, { timeout: 5000 });
  const found = await eventually(async () => (await sql.query('SELECT user_id, status FROM tasks WHERE title = $1', [title])).rows[0],
    20000, 'the new task in Postgres');
  assert.deepEqual(found, { user_id: USER, status: 'pending' });

  const count = await page.evaluate(() => document.querySelectorAll('.task-item').length);
  await page.fill('form.new-task input[name="title"]', '   ');
  await page.click('form.new-task button[type="submit"]');
  await page.waitForSelector('[data-testid="tasks"] .error:has-text("title must be a non-empty string")', { timeout: 5000 });
  assert.equal(await page.evaluate(() => document.querySelectorAll('.task-item').length), count);
  assert.deepEqual(browser.errors, []);
});
