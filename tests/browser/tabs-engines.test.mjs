// Two tabs on one named database in each of the three engines (drivers.mjs): one tab's worker
// takes the Web Lock and hosts the engine, the other forwards to it; a write in either shows
// in the other (a live query in the follower); closing the leader's tab hands over to the other
// tab, with the pending writes, the writes in flight at that moment and one issued during the
// handover each kept exactly once. Chromium and Firefox ESR share an OPFS database; WebKitGTK,
// without OPFS sync access handles, an IndexedDB one (the handover reopens it from IndexedDB).
//
// No sync service (port 9 refuses), so every write stays in the outbox. Against the dev server
// and PostgreSQL, with Chromium's offline switch: tabs-leader.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_DIR, eventually, missingPrerequisite, serveStatic } from './harness.mjs';
import { describeApis, ENGINES, expectedStorage, probeStorageApis, startBrowser } from './drivers.mjs';

const notes = {
  name: 'notes',
  columns: [{ name: 'id', type: 'text', notNull: true }, { name: 'body', type: 'text' }],
  primaryKey: ['id'],
  policy: { policy: 'last-write-wins', writable: true },
};
const OPEN = { url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3_600_000, tables: [notes], storage: 'tabs.db' };
const STORAGE = { chromium: 'opfs', firefox: 'opfs', webkit: 'idb' };
const WHY = { webkit: ' (IndexedDB: WebKitGTK has no OPFS sync access handles)' };
const BURST = 20;

let server;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  server = await serveStatic(DEMO_DIR, { '/tabs.html': '<!doctype html><title>tabs</title>' });
});

after(async () => {
  await server?.close();
});

/** (In the page) opens the client and a live list of note ids; role and storage. */
async function openTab(opts) {
  const mod = await import('/electrolite.js');
  window.db = await mod.BrowserElectrolite.open(opts);
  window.statuses = [];
  db.onStatus((s) => window.statuses.push({ at: performance.now(), role: s.role }));
  window.ids = [];
  db.live('SELECT id FROM notes ORDER BY id', [], (r) => { window.ids = r.rows.map((x) => x.id); });
  return { role: db.status.role, storage: db.status.storage };
}

const insert = (page, id) => page.evaluate((i) => db.insert('notes', { id: i, body: `written as ${i}` }), id);
const ids = (page) => page.evaluate(() => window.ids);
const queried = (page) => page.evaluate(async () => (await db.query('SELECT id FROM notes ORDER BY id', [])).rows.map((r) => r.id));

for (const engine of ENGINES) {
  const kind = STORAGE[engine];
  test(`${engine}: two tabs share one ${kind} database${WHY[engine] ?? ''}; closing the leader's tab hands over with no write lost or doubled`, async (t) => {
    const b = await startBrowser(engine);
    try {
      const first = await b.page();
      const second = await b.newPage();
      await first.goto(`${server.url}/tabs.html`);
      const apis = await first.evaluate(probeStorageApis);
      t.diagnostic(`${engine}: ${describeApis(apis)}`);
      assert.equal(expectedStorage(apis), kind);
      assert.equal(apis.webLocks, true, 'the election needs Web Locks');

      assert.deepEqual(await first.evaluate(openTab, OPEN), { role: 'leader', storage: kind });
      await second.goto(`${server.url}/tabs.html`);
      assert.deepEqual(await second.evaluate(openTab, OPEN), { role: 'follower', storage: kind }, 'the follower reports the leader\'s storage');

      await insert(second, 'a-from-the-follower');
      assert.deepEqual(await queried(first), ['a-from-the-follower'], 'the follower\'s write is in the leader\'s database');
      await insert(first, 'b-from-the-leader');
      await eventually(async () => (await ids(second)).includes('b-from-the-leader'), 5000, 'the leader\'s write in the follower\'s live query');
      await eventually(async () => (await ids(first)).length === 2, 5000, 'both writes in the leader\'s live query');

      // Writes in flight while the leader's tab closes, and one issued after it closed.
      await second.evaluate((n) => {
        window.burst = [];
        for (let i = 0; i < n; i++) {
          window.burst.push(db.insert('notes', { id: `c-burst-${String(i).padStart(2, '0')}`, body: 'in flight' })
            .then(() => ({ ok: true }), (e) => ({ ok: false, code: e.code, message: e.message })));
        }
        return true;
      }, BURST);
      const closedAt = await second.evaluate(() => performance.now());
      await first.close();
      await insert(second, 'd-during-the-handover');
      assert.deepEqual(await second.evaluate(() => Promise.all(window.burst).then((r) => r.filter((x) => !x.ok))), [],
        'every in-flight write succeeded');
      const leaderAt = await eventually(async () => second.evaluate(() =>
        window.statuses.find((s) => s.role === 'leader')?.at), 10000, 'the second tab leads');
      const handoverMs = Math.round(leaderAt - closedAt);
      t.diagnostic(`${engine}: leader tab closed → the other tab leads in ${handoverMs} ms`);
      assert.ok(handoverMs < 5000, `handover took ${handoverMs} ms`);

      const expected = ['a-from-the-follower', 'b-from-the-leader',
        ...Array.from({ length: BURST }, (_, i) => `c-burst-${String(i).padStart(2, '0')}`), 'd-during-the-handover'];
      const after = await second.evaluate(async () => ({
        role: db.status.role,
        storage: db.status.storage,
        ids: (await db.query('SELECT id FROM notes ORDER BY id', [])).rows.map((r) => r.id),
        pending: (await db.pendingMutations()).map((m) => m.value?.id ?? m.key?.id ?? null).filter((x) => x !== null).sort(),
        integrity: (await db.query('PRAGMA integrity_check', [])).rows[0].integrity_check,
      }));
      assert.deepEqual([after.role, after.storage], ['leader', kind]);
      assert.deepEqual(after.ids, expected, 'each write once in the new leader\'s database');
      assert.deepEqual(after.pending, expected, 'each write once in its outbox');
      assert.equal(after.integrity, 'ok');
      await eventually(async () => (await ids(second)).length === expected.length, 5000, 'the live query re-registered on the new leader');
      assert.deepEqual(b.errors.filter((e) => e.startsWith('pageerror')), [], 'no uncaught error in a page');
    } finally {
      await b.close();
    }
  });
}
