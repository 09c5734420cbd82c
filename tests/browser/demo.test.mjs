// The demo page end to end in headless Chromium: the real dev server (dist/server) over a
// real PostgreSQL serves the page (staticDir) and the sync endpoints; the page runs the
// engine in its worker. Tasks seeded in Postgres appear (hooks go loading → data), writes
// made in the page reach Postgres, and with the network cut the offline banner counts the
// pending changes, which all reach Postgres exactly once after reconnecting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, launch, missingPrerequisite, recordTaskStates, startDemoStack } from './harness.mjs';

const USER = 'demo-user';
let stack;
let sql;
let server;
let browser;
let page;
let context;
const seeded = { tasks: [], envs: [] };

async function rows(text, params = []) {
  return (await sql.query(text, params)).rows;
}

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  stack = await startDemoStack();
  ({ server, sql } = stack);
  const t = (title, status, user = USER, ago = 0) => {
    const id = randomUUID();
    if (user === USER) seeded.tasks.push(id);
    return sql.query(
      `INSERT INTO tasks (id, user_id, title, description, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, now() - ($6 || ' minutes')::interval, now())`,
      [id, user, title, `seeded: ${title}`, status, String(ago)]);
  };
  await t('Design the schema', 'completed', USER, 30);
  await t('Write the sync engine', 'in_progress', USER, 20);
  await t('Ship the demo', 'pending', USER, 10);
  await t('Somebody else\'s task', 'pending', 'other-user', 5);
  for (const [name, active] of [['development', true], ['staging', false], ['production', false]]) {
    const id = randomUUID();
    seeded.envs.push(id);
    await sql.query('INSERT INTO environments (id, user_id, name, is_active) VALUES ($1, $2, $3, $4)', [id, USER, name, active]);
  }
  browser = await launch();
  context = browser.context;
  page = await browser.page();
  await recordTaskStates(page); // what the task list shows over time, from the very first render
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the demo loads from the dev server; hooks go loading → data; only the user\'s tasks appear', async () => {
  await page.goto(`${server.url}/?upload=300`);
  await page.waitForSelector('[data-testid="tasks"] h2:text("Tasks (3)")', { timeout: 20000 });
  const states = await page.evaluate(() => window.taskStates);
  assert.equal(states[0], 'Loading tasks...', `first state: ${JSON.stringify(states)}`);
  assert.ok(!states.some((s) => /Tasks \((?!3\))/.test(s)), `never a partial or empty list: ${JSON.stringify(states)}`);
  const stats = await page.textContent('[data-testid="tasks"] .stats');
  assert.match(stats, /Pending: 1.*In Progress: 1.*Completed: 1/);
  assert.equal(await page.locator('text=Somebody else').count(), 0);
  await page.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 20000 });
  assert.match(await page.textContent('[data-testid="environments"]'), /Active: development/);
  assert.match(await page.textContent('[data-testid="storage"]'), /persisted in OPFS/);
  assert.deepEqual(browser.errors, []);
});

test('regression: a reload is not stalled behind the old page\'s long-polls (Chrome allows 6 connections per host)', async () => {
  await page.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 20000 });
  await page.waitForTimeout(500); // every shape is now in a 5 s long-poll
  const started = Date.now();
  await page.reload();
  await page.waitForSelector('[data-testid="tasks"] h2:text("Tasks (3)")', { timeout: 20000 });
  const ms = Date.now() - started;
  assert.ok(ms < 3000, `reload → tasks took ${ms} ms (a stalled reload waits ~4.5 s for an old poll)`);
});

test('a task inserted in PostgreSQL appears in the open page without a reload', async () => {
  const title = `From the server ${Date.now()}`;
  await sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)', [randomUUID(), USER, title, 'pending']);
  await page.waitForSelector(`.task-item h3:text("${title}")`, { timeout: 15000 });
  await sql.query('DELETE FROM tasks WHERE title = $1', [title]);
  await page.waitForSelector(`.task-item h3:text("${title}")`, { state: 'detached', timeout: 15000 });
});

test('cutting the network shows the offline banner and indicator; reconnecting hides them and syncs again', async () => {
  await context.setOffline(true);
  await page.waitForSelector('[data-testid="offline-banner"]', { timeout: 10000 });
  await page.waitForSelector('[data-electric="offline"]', { timeout: 5000 });
  assert.equal(await page.getAttribute('[data-electric="connection"]', 'data-state'), 'offline');
  const title = `While offline ${Date.now()}`;
  await sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)', [randomUUID(), USER, title, 'pending']);
  await context.setOffline(false);
  await page.waitForSelector('[data-testid="offline-banner"]', { state: 'detached', timeout: 20000 });
  await page.waitForSelector(`.task-item h3:text("${title}")`, { timeout: 20000 });
  await page.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 20000 });
  await sql.query('DELETE FROM tasks WHERE title = $1', [title]);
  await page.waitForSelector(`.task-item h3:text("${title}")`, { state: 'detached', timeout: 15000 });
});

test('a task created in the page shows at once and reaches PostgreSQL', async () => {
  const title = `Created in the browser ${Date.now()}`;
  await page.fill('form.new-task input[name="title"]', title);
  await page.click('form.new-task button[type="submit"]');
  await page.waitForSelector(`.task-item h3:text("${title}")`, { timeout: 5000 });
  const found = await eventually(async () => (await rows('SELECT user_id, status FROM tasks WHERE title = $1', [title]))[0],
    20000, 'the new task in Postgres');
  assert.deepEqual(found, { user_id: USER, status: 'pending' });
});

test('bad input from the page is refused with a clear error and writes nothing', async () => {
  const before = await page.evaluate(() => document.querySelectorAll('.task-item').length);
  await page.fill('form.new-task input[name="title"]', '   ');
  await page.click('form.new-task button[type="submit"]');
  await page.waitForSelector('[data-testid="tasks"] .error:has-text("title must be a non-empty string")', { timeout: 5000 });
  assert.equal(await page.evaluate(() => document.querySelectorAll('.task-item').length), before);
  await page.fill('form.new-task input[name="title"]', '');
});

test('completing a task and activating an environment reach PostgreSQL (one active environment)', async () => {
  const item = page.locator('.task-item', { hasText: 'Ship the demo' });
  await item.locator('button', { hasText: 'Complete' }).click();
  await page.click('[data-testid="environments"] button:text("staging")');
  await page.waitForSelector('[data-testid="environments"] p:text("Active: staging")', { timeout: 5000 });
  await eventually(async () => (await rows("SELECT status FROM tasks WHERE title = 'Ship the demo'"))[0]?.status === 'completed',
    20000, 'completed in Postgres');
  await eventually(async () => {
    const active = await rows('SELECT name FROM environments WHERE user_id = $1 AND is_active', [USER]);
    return active.length === 1 && active[0].name === 'staging';
  }, 20000, 'exactly staging active in Postgres');
});

test('offline: the banner counts pending changes; after reconnecting all reach PostgreSQL once', async () => {
  await context.setOffline(true);
  await page.waitForSelector('[data-testid="offline-banner"]', { timeout: 10000 });
  const titles = [`Offline one ${Date.now()}`, `Offline two ${Date.now()}`];
  for (const title of titles) {
    await page.fill('form.new-task input[name="title"]', title);
    await page.click('form.new-task button[type="submit"]');
    await page.waitForSelector(`.task-item h3:text("${title}")`, { timeout: 5000 });
  }
  await page.locator('.task-item', { hasText: titles[0] }).locator('button', { hasText: 'Complete' }).click();
  await page.waitForSelector('[data-testid="offline-banner"]:has-text("(3 pending changes)")', { timeout: 10000 });
  assert.equal((await rows('SELECT 1 FROM tasks WHERE title = ANY($1)', [titles])).length, 0, 'nothing uploaded while offline');
  for (const title of titles) {
    await page.waitForSelector(`.task-item[data-unsynced]:has-text("${title}") .unsynced`, { timeout: 5000 });
  }

  await context.setOffline(false);
  await page.waitForSelector('[data-testid="offline-banner"]', { state: 'detached', timeout: 20000 });
  const uploaded = await eventually(async () => {
    const r = await rows('SELECT title, status FROM tasks WHERE title = ANY($1) ORDER BY title', [titles]);
    return r.length === 2 && r.find((x) => x.title === titles[0]).status === 'completed' ? r : null;
  }, 30000, 'offline writes in Postgres');
  assert.deepEqual(uploaded.map((r) => r.status), ['completed', 'pending']);
  await eventually(() => page.evaluate(() => !document.querySelector('[data-testid="offline-banner"]')), 5000, 'banner gone');
  assert.equal((await rows('SELECT count(*)::int AS n FROM tasks WHERE title = ANY($1)', [titles]))[0].n, 2, 'exactly once');
  await eventually(() => page.evaluate(() => document.querySelectorAll('.task-item[data-unsynced]').length === 0), 10000,
    'no row marked unsynced once the server confirmed them');
});

test('a local edit that loses to a newer server edit is listed under recent conflicts', async () => {
  const title = `Contested ${Date.now()}`;
  await page.fill('form.new-task input[name="title"]', title);
  await page.click('form.new-task button[type="submit"]');
  await eventually(async () => (await rows('SELECT 1 FROM tasks WHERE title = $1', [title])).length === 1, 20000, 'uploaded');
  await context.setOffline(true);
  await page.waitForSelector('[data-testid="offline-banner"]', { timeout: 10000 });
  await page.locator('.task-item', { hasText: title }).locator('button', { hasText: 'Complete' }).click();
  await sql.query(`UPDATE tasks SET status = 'in_progress', updated_at = now() + interval '1 hour' WHERE title = $1`, [title]);
  await context.setOffline(false);
  await page.waitForSelector('[data-testid="conflicts"] .panel-row:has-text("tasks")', { timeout: 30000 });
  const row = await page.textContent('[data-testid="conflicts"] .panel-row');
  assert.match(row, /last-write-wins/);
  await eventually(async () => (await rows('SELECT status FROM tasks WHERE title = $1', [title]))[0]?.status === 'in_progress',
    20000, 'the newer server edit kept');
});

test('"Run agent" writes an execution, an event and a memory entry in one transaction; they reach PostgreSQL', async () => {
  const item = page.locator('.task-item', { hasText: 'Write the sync engine' });
  await item.locator('button', { hasText: 'Run agent' }).click();
  await page.waitForSelector('[data-testid="executions"] .panel-row:has-text("Write the sync engine")', { timeout: 5000 });
  await page.waitForSelector('[data-testid="events"] .panel-row', { timeout: 5000 });
  await page.waitForSelector('[data-testid="memory"] .panel-row', { timeout: 5000 });
  await eventually(async () => {
    const [e] = await rows('SELECT count(*)::int AS n FROM agent_executions WHERE user_id = $1', [USER]);
    const [o] = await rows('SELECT count(*)::int AS n FROM observability_events WHERE user_id = $1', [USER]);
    const [m] = await rows('SELECT count(*)::int AS n FROM agent_memory WHERE user_id = $1', [USER]);
    return e.n === 1 && o.n === 1 && m.n === 1;
  }, 20000, 'execution, event and memory in Postgres');
  assert.deepEqual(browser.errors, []);
});

test('a reload with the API unreachable (token and sync) shows the local data at once, then syncs when it is back', async () => {
  await page.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 20000 });
  const shown = await page.evaluate(() => document.querySelectorAll('.task-item').length);
  assert.ok(shown > 0);
  // Every /v1/* request (the demo's token endpoint, the shape stream, uploads) is refused.
  const refuse = (route) => route.abort('connectionrefused');
  await context.route('**/v1/**', refuse);
  try {
    const started = Date.now();
    await page.reload();
    await page.waitForSelector(`[data-testid="tasks"] h2:text("Tasks (${shown})")`, { timeout: 10000 });
    const ms = Date.now() - started;
    assert.ok(ms < 5000, `reload → local tasks took ${ms} ms`);
    assert.equal(await page.locator('[data-testid="open-error"]').count(), 0, 'no open error');
    await page.waitForSelector('[data-testid="offline-banner"][data-network="unreachable"]', { timeout: 15000 });
    assert.match(await page.textContent('[data-testid="offline-banner"]'), /server is unreachable/);
  } finally {
    await context.unroute('**/v1/**', refuse);
  }
  // Back: the token function's retry gets a token, and the stream catches up.
  const title = `After the outage ${Date.now()}`;
  await sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)', [randomUUID(), USER, title, 'pending']);
  await page.waitForSelector(`.task-item h3:text("${title}")`, { timeout: 60000 });
  await page.waitForSelector('[data-testid="offline-banner"]', { state: 'detached', timeout: 20000 });
});
