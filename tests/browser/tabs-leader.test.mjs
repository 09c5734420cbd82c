// Multi-tab in headless Chromium against the real dev server over a real PostgreSQL: two
// tabs (pages of one browser profile) open the same named OPFS database; one worker takes
// the Web Lock and hosts the engine, the other forwards to it. Both see the same rows and
// status, a write in either appears in the other, and closing the leader's tab hands over
// to the other tab (time measured) with no pending write lost, none applied twice: the
// outbox persisted in OPFS moves with the lock, writes issued during the handover wait for
// the new leader, and writes in flight at the moment of handover are retried exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startPostgres } from '../support/postgres.mjs';
import { DEMO_DIR, eventually, launch, missingPrerequisite } from './harness.mjs';

const USER = 'tabs-user';
let pgServer;
let sql;
let server;
let browser;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  pgServer = await startPostgres();
  const { createServer } = await import('../../dist/server/index.js');
  server = await createServer({ databaseUrl: pgServer.url, staticDir: DEMO_DIR, log: () => {}, longPollMs: 2000 });
  await server.listen(0);
  sql = new pg.Client({ connectionString: pgServer.url });
  await sql.connect();
  for (const title of ['seeded one', 'seeded two', 'seeded three']) {
    await sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)', [randomUUID(), USER, title, 'pending']);
  }
  browser = await launch();
  await browser.context.route('**/tabs.html', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>tabs</title>' }));
});

after(async () => {
  await browser?.close();
  await sql?.end();
  await server?.close();
  await pgServer?.stop();
});

/** A tab with the browser client open on the shared database and a live task list. */
async function openTab(page) {
  await page.goto(`${server.url}/tabs.html`);
  return page.evaluate(async (user) => {
    const mod = await import('/electrolite.js');
    const res = await fetch('/v1/token', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: user, sub: user }),
    });
    const { token } = await res.json();
    window.statuses = [];
    window.db = await mod.BrowserElectrolite.open({
      // 300 ms: a write made while an upload is in flight waits for the next upload tick
      // (syncNow does not start another; seen in Node too), so keep the tick short.
      url: location.origin, token, storage: 'tabs-db', uploadIntervalMs: 300,
    });
    db.onStatus((s) => window.statuses.push({
      at: performance.now(), role: s.role, connection: s.connection, handover: !!s.handover, pendingChanges: s.pendingChanges,
    }));
    window.titles = [];
    db.live('SELECT title FROM tasks WHERE user_id = ? ORDER BY title', [user], (r) => { window.titles = r.rows.map((x) => x.title); });
    return { role: db.status.role, storage: db.status.storage };
  }, USER);
}

const titles = (page) => page.evaluate(() => window.titles);
const status = (page) => page.evaluate(() => {
  const s = db.status;
  return { role: s.role, storage: s.storage, connection: s.connection, isUpToDate: s.isUpToDate,
    pendingChanges: s.pendingChanges, shapes: s.shapes.map((x) => [x.table, x.isUpToDate]).sort() };
});
const insert = (page, title) => page.evaluate(([t, user]) =>
  db.insert('tasks', { id: crypto.randomUUID(), user_id: user, title: t, status: 'pending' }), [title, USER]);
const pgCount = async (like) =>
  Number((await sql.query('SELECT count(*) AS n FROM tasks WHERE user_id = $1 AND title LIKE $2', [USER, like])).rows[0].n);

let first;
let second;

test('two tabs: one leader, one follower; same tasks and status; a write in either appears in the other', async () => {
  first = await browser.page();
  second = await browser.context.newPage();
  assert.deepEqual(await openTab(first), { role: 'leader', storage: 'opfs' });
  assert.deepEqual(await openTab(second), { role: 'follower', storage: 'opfs' });
  const seeded = ['seeded one', 'seeded three', 'seeded two'];
  await eventually(async () => JSON.stringify(await titles(first)) === JSON.stringify(seeded), 20000, 'tasks in the leader').catch(async (e) => {
    console.log('leader shows', await titles(first), await status(first));
    throw e;
  });
  await eventually(async () => JSON.stringify(await titles(second)) === JSON.stringify(seeded), 20000, 'tasks in the follower');
  await eventually(async () => (await status(second)).isUpToDate && (await status(second)).connection === 'connected', 20000, 'follower up to date');
  const [a, b] = [await status(first), await status(second)];
  assert.deepEqual({ ...b, role: 'leader' }, a, 'the follower sees the leader\'s status');
  assert.equal(b.role, 'follower');

  assert.equal(typeof await insert(second, 'from the follower'), 'string');
  await eventually(async () => (await titles(first)).includes('from the follower'), 5000, 'follower write in the leader');
  await eventually(async () => (await titles(second)).includes('from the follower'), 5000, 'follower write in the follower');
  await insert(first, 'from the leader');
  await eventually(async () => (await titles(second)).includes('from the leader'), 5000, 'leader write in the follower');
  // One outbox: the follower's syncNow uploads both; its status follows the leader's.
  await second.evaluate(() => db.syncNow(20000));
  assert.equal(await pgCount('from the %'), 2);
  await eventually(async () => (await status(second)).pendingChanges === 0, 5000, 'the follower\'s status: nothing pending');
  assert.ok(await second.evaluate(() => window.statuses.some((s) => s.pendingChanges > 0)),
    'the follower\'s status counted the pending writes');

  // A transaction from the follower commits on the leader; a failing one leaves nothing.
  await second.evaluate(async (user) => {
    await db.transaction(async (tx) => {
      await tx.insert('tasks', { id: crypto.randomUUID(), user_id: user, title: 'tx one', status: 'pending' });
      await tx.insert('tasks', { id: crypto.randomUUID(), user_id: user, title: 'tx two', status: 'pending' });
    });
    await db.transaction(async (tx) => {
      await tx.insert('tasks', { id: crypto.randomUUID(), user_id: user, title: 'tx rolled back', status: 'pending' });
      throw new Error('abandon');
    }).catch(() => undefined);
  }, USER);
  await eventually(async () => (await titles(first)).includes('tx two'), 5000, 'the follower\'s transaction in the leader');
  assert.ok(!(await titles(first)).includes('tx rolled back'));
  // Errors cross both hops with their class and code.
  const err = await second.evaluate(() => db.query('SELECT * FROM no_such_table').catch((e) => ({ name: e.name, code: e.code })));
  assert.equal(err.name, 'ElectroliteError');
  assert.ok(err.code, 'an error code');
});

test('closing the leader tab hands over to the other tab; pending and in-flight writes are neither lost nor doubled', async () => {
  // Offline, so the writes stay in the outbox (persisted in the leader's OPFS database).
  await browser.context.setOffline(true);
  await eventually(async () => second.evaluate(() => db.status.isOffline), 10000, 'the tabs see offline');
  await insert(first, 'offline from the leader');
  await insert(second, 'offline from the follower');
  // Writes in flight at the moment of handover: 40 inserts fired without waiting while the
  // leader's tab closes, and one write issued after it closed (during the handover).
  await second.evaluate((user) => {
    window.burst = [];
    for (let i = 0; i < 40; i++) {
      window.burst.push(db.insert('tasks', { id: crypto.randomUUID(), user_id: user, title: `burst ${i}`, status: 'pending' })
        .then((id) => ({ ok: typeof id === 'string' }), (e) => ({ ok: false, code: e.code, message: e.message })));
    }
  }, USER);
  const closedAt = await second.evaluate(() => performance.now());
  await first.close();
  assert.equal(typeof await insert(second, 'during the handover'), 'string');
  const burst = await second.evaluate(() => Promise.all(window.burst));
  assert.deepEqual(burst.filter((r) => !r.ok), [], 'every in-flight write succeeded');
  const leaderAt = await eventually(async () => second.evaluate(() =>
    window.statuses.find((s) => s.role === 'leader')?.at), 10000, 'the second tab leads');
  const handoverMs = Math.round(leaderAt - closedAt);
  console.log(`# handover: leader tab closed → other tab leads in ${handoverMs} ms`);
  // The target is 1 s (measured above); the bound here leaves room for a loaded CI machine.
  assert.ok(handoverMs < 5000, `handover took ${handoverMs} ms`);
  const now = await status(second);
  assert.deepEqual([now.role, now.storage], ['leader', 'opfs']);

  const written = ['offline from the leader', 'offline from the follower', 'during the handover',
    ...Array.from({ length: 40 }, (_, i) => `burst ${i}`)].sort();
  const local = await second.evaluate(async (user) => ({
    rows: (await db.query("SELECT title FROM tasks WHERE user_id = ? AND (title LIKE 'burst %' OR title LIKE 'offline %' OR title = 'during the handover') ORDER BY title", [user])).rows.map((r) => r.title),
    pending: (await db.pendingMutations()).map((m) => m.value?.title).filter((t) => t !== undefined && !/^(from the|tx) /.test(t)),
    integrity: (await db.query('PRAGMA integrity_check')).rows[0].integrity_check,
  }), USER);
  assert.deepEqual(local.rows, written, 'each write once in the new leader\'s database');
  assert.deepEqual(local.pending.sort(), written, 'each write once in its outbox');
  assert.equal(local.integrity, 'ok');
  await eventually(async () => (await titles(second)).includes('during the handover'), 5000, 'live query re-registered');

  await browser.context.setOffline(false);
  await second.evaluate(() => db.syncNow(20000));
  assert.equal(await pgCount('burst %'), 40);
  assert.equal(await pgCount('burst 1_'), 10);
  assert.equal(await pgCount('offline from the %'), 2);
  assert.equal(await pgCount('during the handover'), 1);
  assert.equal(await pgCount('from the %'), 2);
  assert.equal(await pgCount('tx %'), 2);
  assert.deepEqual(browser.errors, []);
  // Its long-polls would hold Chrome's six connections to this host from the next test's tabs.
  await second.close();
});

test('the demo page in two tabs: same tasks and connection; a task added in one shows in the other, also after a handover', async () => {
  const user = 'tabs-demo-user';
  for (const title of ['Demo seeded A', 'Demo seeded B']) {
    await sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES ($1, $2, $3, $4)', [randomUUID(), user, title, 'pending']);
  }
  const url = `${server.url}/?user=${user}&upload=300`;
  const a = await browser.context.newPage();
  await a.goto(url);
  await a.waitForSelector('[data-testid="tasks"] h2:text("Tasks (2)")', { timeout: 20000 });
  const b = await browser.context.newPage();
  await b.goto(url);
  for (const p of [a, b]) {
    await p.waitForSelector('[data-testid="tasks"] h2:text("Tasks (2)")', { timeout: 20000 });
    await p.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 20000 });
    assert.match(await p.textContent('[data-testid="storage"]'), /persisted in OPFS/);
  }
  const add = async (p, title) => {
    await p.fill('form.new-task input[name="title"]', title);
    await p.click('form.new-task button[type="submit"]');
  };
  await add(b, 'Added in the second tab');
  await a.waitForSelector('.task-item h3:text("Added in the second tab")', { timeout: 5000 });
  await add(a, 'Added in the first tab');
  await b.waitForSelector('.task-item h3:text("Added in the first tab")', { timeout: 5000 });
  await a.close(); // the first tab led
  await add(b, 'Added after the handover');
  await b.waitForSelector('.task-item h3:text("Added after the handover")', { timeout: 10000 });
  await b.waitForSelector('[data-testid="tasks"] h2:text("Tasks (5)")', { timeout: 10000 });
  await b.waitForSelector('[data-electric="connection"][data-state="connected"]', { timeout: 20000 });
  for (const title of ['Added in the second tab', 'Added in the first tab', 'Added after the handover']) {
    await eventually(async () => Number((await sql.query('SELECT count(*) AS n FROM tasks WHERE title = $1', [title])).rows[0].n) === 1,
      20000, `${title} in Postgres once`);
  }
  assert.deepEqual(browser.errors, []);
  await b.close();
});

test('a follower tab closed in the middle of a transaction: the leader rolls it back and goes on', async () => {
  const lead = await browser.context.newPage();
  const follow = await browser.context.newPage();
  await lead.goto(`${server.url}/tabs.html`);
  await follow.goto(`${server.url}/tabs.html`);
  const open = (p) => p.evaluate(async () => {
    const mod = await import('/electrolite.js');
    window.db = await mod.BrowserElectrolite.open({ url: 'http://127.0.0.1:9', autoSubscribe: false, storage: 'tabs-tx-db' });
    return db.status.role;
  });
  assert.equal(await open(lead), 'leader');
  assert.equal(await open(follow), 'follower');
  await follow.evaluate(() => {
    window.inTx = new Promise((entered) => {
      void db.transaction(async (tx) => {
        await tx.exec('CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)');
        await tx.exec("INSERT INTO notes VALUES ('uncommitted')");
        entered();
        await new Promise(() => {}); // never commits
      });
    });
    return window.inTx;
  });
  await follow.close();
  const r = await lead.evaluate(async () => {
    const t0 = performance.now();
    const work = (async () => {
      await db.exec('CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)');
      await db.exec("INSERT INTO notes VALUES ('after')");
      return (await db.query('SELECT id FROM notes ORDER BY id')).rows.map((x) => x.id);
    })();
    const stuck = new Promise((resolve) => setTimeout(() => resolve('stuck behind the closed tab\'s transaction'), 10000));
    return { ids: await Promise.race([work, stuck]), ms: performance.now() - t0 };
  });
  assert.deepEqual(r.ids, ['after'], 'the abandoned transaction left nothing');
  assert.ok(r.ms < 5000, `the leader waited ${Math.round(r.ms)} ms for the closed tab's transaction`);
  await lead.evaluate(() => db.close());
  await lead.close();
});
