// The observers under electrolite/react, without React, on the real client and wasm engine:
// synced from the dev server over a real PostgreSQL (loading until the first sync is up to
// date, then the rows, never an empty list in between; server changes; row identity; per-user
// data), offline behaviour, status/metrics observers, the provider's open/close store, and
// the tasks and environments operations behind the seed's hooks (local writes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Electrolite } from '../../dist/js/index.js';
import {
  ElectricClientStore, LiveQueryObserver, MetricsObserver, StatusObserver, taskStats,
} from '../../dist/react/index.js';
import * as tasks from '../../dist/react/tasks.js';
import * as envs from '../../dist/react/environments.js';
import { eventually } from './client-harness.mjs';
import { OFFLINE_URL, startStack } from './react-support.mjs';

const open = (extra = {}) => Electrolite.open({ url: OFFLINE_URL, autoSubscribe: false, uploadIntervalMs: 3600000, ...extra });

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

async function seedTask(user, title, status = 'pending', minutesAgo = 0) {
  const id = randomUUID();
  await stack.sql.query(
    `INSERT INTO tasks (id, user_id, title, status, created_at) VALUES ($1, $2, $3, $4, now() - ($5 || ' minutes')::interval)`,
    [id, user, title, status, String(minutesAgo)]);
  return id;
}

/** Subscribes like useSyncExternalStore and records every distinct snapshot. */
function watch(observer) {
  const seen = [observer.getSnapshot()];
  const stop = observer.subscribe(() => {
    const s = observer.getSnapshot();
    if (s !== seen.at(-1)) seen.push(s);
  });
  return { seen, stop, last: () => seen.at(-1) };
}

test('synced: loading until the first sync is up to date, then the rows; server changes keep unchanged rows', async () => {
  const user = `u-${randomUUID()}`;
  const ids = [await seedTask(user, 'oldest', 'completed', 30), await seedTask(user, 'middle', 'in_progress', 20),
    await seedTask(user, 'newest', 'pending', 10)];
  await seedTask(`other-${user}`, 'not mine');
  const db = await Electrolite.open({ url: stack.url, token: stack.token(user) });
  try {
    const o = new LiveQueryObserver(db, tasks.TASKS_SQL, [user]);
    assert.equal(o.getSnapshot().loading, true);
    const w = watch(o);
    await eventually(() => !w.last().loading, 15000, 'first sync');
    const loaded = w.seen.filter((s) => !s.loading);
    assert.equal(loaded[0].data.length, 3, `the first data shown is the synced list, not an empty one: ${JSON.stringify(w.seen)}`);
    assert.deepEqual(loaded[0].data.map((r) => r.id), [...ids].reverse(), 'newest first, only this user\'s rows');
    const map = tasks.mapTasks();
    const list = map(w.last().data);
    assert.equal(list[0].userId, user, 'camelCase as the seed reads it');
    assert.deepEqual(taskStats(list), { total: 3, pending: 1, inProgress: 1, completed: 1 });

    // A second observer of the same query shares the entry.
    assert.equal(new LiveQueryObserver(db, tasks.TASKS_SQL, [user]).getSnapshot(), o.getSnapshot());

    const before = w.last().data;
    await stack.sql.query("UPDATE tasks SET status = 'completed', updated_at = now() WHERE id = $1", [ids[2]]);
    await eventually(() => w.last().data[0].status === 'completed', 15000, 'server update');
    const after = w.last().data;
    assert.notEqual(after[0], before[0]);
    assert.equal(after[1], before[1], 'unchanged rows keep their identity');
    assert.equal(after[2], before[2]);
    assert.deepEqual(taskStats(map(after)), { total: 3, pending: 0, inProgress: 1, completed: 2 });

    await stack.sql.query('DELETE FROM tasks WHERE id = $1', [ids[0]]);
    await eventually(() => w.last().data.length === 2, 15000, 'server delete');
    w.stop();
  } finally {
    await db.close();
  }
});

test('synced: environments map to isActive booleans and parsed config; a remount shows them at once', async () => {
  const user = `u-${randomUUID()}`;
  await stack.sql.query(`INSERT INTO environments (id, user_id, name, is_active, config) VALUES
    ($1, $3, 'dev', true, '{"region":"eu"}'), ($2, $3, 'prod', false, '{}')`, [randomUUID(), randomUUID(), user]);
  const db = await Electrolite.open({ url: stack.url, token: stack.token(user) });
  try {
    const first = watch(new LiveQueryObserver(db, envs.ENVIRONMENTS_SQL, [user]));
    await eventually(() => !first.last().loading, 15000, 'first sync');
    const list = envs.mapEnvironments()(first.last().data);
    assert.deepEqual(list.map((e) => [e.name, e.isActive]), [['dev', true], ['prod', false]]);
    assert.deepEqual(list[0].config, { region: 'eu' });
    assert.equal(envs.activeOf(list).name, 'dev');
    first.stop();
    const again = new LiveQueryObserver(db, envs.ENVIRONMENTS_SQL, [user]);
    assert.equal(again.getSnapshot().loading, false, 'no loading state on remount');
    assert.equal(again.getSnapshot().data.length, 2);
  } finally {
    await db.close();
  }
});

test('offline before the first sync: loading ends with what is local instead of hanging', async () => {
  const db = await Electrolite.open({ url: OFFLINE_URL, backoff: { initialMs: 50, maxMs: 200 } });
  try {
    const o = new LiveQueryObserver(db, tasks.TASKS_SQL, ['nobody']);
    const w = watch(o);
    await eventually(() => !w.last().loading, 15000, 'loading to end when offline');
    assert.deepEqual(w.last().data, []);
    assert.equal(db.status.isOffline, true);
    w.stop();
  } finally {
    await db.close();
  }
});

test('status and metrics observers on a syncing client: stable snapshots, up to date, metrics from the engine', async () => {
  const db = await Electrolite.open({ url: stack.url, token: stack.token(`u-${randomUUID()}`) });
  try {
    const so = new StatusObserver(db);
    const stopStatus = so.subscribe(() => {});
    assert.equal(so.getSnapshot(), so.getSnapshot());
    await eventually(() => so.getSnapshot().isUpToDate && so.getSnapshot().connection === 'connected', 15000, 'up to date');
    stopStatus();
    const mo = new MetricsObserver(db, 50);
    const stop = mo.subscribe(() => {});
    await eventually(() => mo.getSnapshot().metrics, 5000, 'metrics');
    assert.ok(mo.getSnapshot().metrics.transport.requests > 0);
    stop();
  } finally {
    await db.close();
  }
});

test('live query observer: loading → data, stable snapshots, shared rows, one live query per key', async () => {
  const db = await open();
  try {
    const o1 = new LiveQueryObserver(db, tasks.TASKS_SQL, ['u1']);
    assert.equal(o1.getSnapshot().loading, true);
    assert.equal(o1.getSnapshot(), o1.getSnapshot(), 'getSnapshot is stable');
    const w = watch(o1);
    await eventually(() => !w.last().loading, 5000, 'first result');
    assert.deepEqual(w.last().data, []);
    assert.equal(w.last().error, null);

    const a = await tasks.createTask(db, 'u1', { title: 'first' });
    await eventually(() => w.last().data.length === 1, 5000, 'created task');
    const rowA = w.last().data[0];
    assert.equal(rowA.id, a.id);
    assert.equal(rowA.user_id, 'u1');
    assert.equal(rowA.status, 'pending');

    // A second observer of the same query shares the entry: same snapshot object at once.
    const o2 = new LiveQueryObserver(db, tasks.TASKS_SQL, ['u1']);
    assert.equal(o2.getSnapshot(), o1.getSnapshot());

    await new Promise((r) => setTimeout(r, 5)); // created_at order: b is newer than a
    const b = await tasks.createTask(db, 'u1', { title: 'second', priority: 3 });
    await eventually(() => w.last().data.length === 2, 5000, 'second task');
    assert.equal(w.last().data[0].id, b.id, 'newest first');
    assert.equal(w.last().data[1], rowA, 'the unchanged row keeps its identity');

    // Another user's task does not show.
    await tasks.createTask(db, 'u2', { title: 'not mine' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(w.last().data.length, 2);
    w.stop();
  } finally {
    await db.close();
  }
});

test('live query observer: a remount within the keep-alive sees local data at once (no loading flash)', async () => {
  const db = await open();
  try {
    await tasks.createTask(db, 'u1', { title: 'kept' });
    const first = watch(new LiveQueryObserver(db, tasks.TASKS_SQL, ['u1']));
    await eventually(() => first.last().data?.length === 1, 5000, 'data');
    first.stop();
    const again = new LiveQueryObserver(db, tasks.TASKS_SQL, ['u1']);
    assert.equal(again.getSnapshot().loading, false);
    assert.equal(again.getSnapshot().data.length, 1);
  } finally {
    await db.close();
  }
});

test('live query observer: bad SQL ends loading with the engine error', async () => {
  const db = await open();
  try {
    const o = new LiveQueryObserver(db, 'SELECT * FROM no_such_table', []);
    const s = await o.settled();
    assert.equal(s.loading, false);
    assert.equal(s.error?.name, 'ElectroliteError');
    assert.ok(s.error.code, 'the error keeps its code');
  } finally {
    await db.close();
  }
});

test('tasks: create/update/delete through the engine, stats, and bad input rejected with nothing written', async () => {
  const db = await open();
  try {
    const w = watch(new LiveQueryObserver(db, tasks.TASKS_SQL, ['u1']));
    const map = tasks.mapTasks();
    const t1 = await tasks.createTask(db, 'u1', { title: '  Write docs ', description: 'the README' });
    const t2 = await tasks.createTask(db, 'u1', { title: 'Ship' });
    await tasks.updateTask(db, t2.id, { status: 'in_progress' });
    await eventually(() => w.last().data?.some((r) => r.status === 'in_progress'), 5000, 'update');
    let list = map(w.last().data);
    const doc = list.find((t) => t.id === t1.id);
    assert.equal(doc.title, 'Write docs');
    assert.equal(doc.userId, 'u1', 'camelCase fields as the seed reads them');
    assert.equal(doc.description, 'the README');
    assert.deepEqual(taskStats(list), { total: 2, pending: 1, inProgress: 1, completed: 0 });
    assert.equal(map(w.last().data), list, 'same rows → same mapped array');

    await tasks.updateTask(db, t1.id, { status: 'completed' });
    await eventually(() => map(w.last().data).find((t) => t.id === t1.id).status === 'completed', 5000, 'complete');
    list = map(w.last().data);
    assert.deepEqual(taskStats(list), { total: 2, pending: 0, inProgress: 1, completed: 1 });
    const pending = await db.pendingMutations();
    assert.equal(pending.length, 4, 'two inserts and two updates wait in the outbox');

    await assert.rejects(tasks.updateTask(db, t1.id, { status: 'done' }), { code: 'invalid_argument' });
    await assert.rejects(tasks.updateTask(db, t1.id, { owner: 'x' }), { code: 'invalid_argument' });
    await assert.rejects(tasks.createTask(db, 'u1', { title: '  ' }), { code: 'invalid_argument' });
    await assert.rejects(tasks.deleteTask(db, ''), { code: 'invalid_argument' });
    assert.equal((await db.pendingMutations()).length, 4, 'rejected input wrote nothing');

    await tasks.deleteTask(db, t2.id);
    await eventually(() => w.last().data.length === 1, 5000, 'delete');
    w.stop();
  } finally {
    await db.close();
  }
});

test('environments: activating one deactivates the others in one transaction; unknown id changes nothing', async () => {
  const db = await open();
  try {
    const w = watch(new LiveQueryObserver(db, envs.ENVIRONMENTS_SQL, ['u1']));
    const map = envs.mapEnvironments();
    const dev = await envs.createEnvironment(db, 'u1', { name: 'dev', config: { region: 'eu' } });
    const prod = await envs.createEnvironment(db, 'u1', { name: 'prod' });
    await envs.activateEnvironment(db, 'u1', dev);
    await eventually(() => envs.activeOf(map(w.last().data ?? []))?.id === dev, 5000, 'dev active');
    assert.deepEqual(map(w.last().data).find((e) => e.id === dev).config, { region: 'eu' });

    const seen = [];
    const stop = db.live('SELECT id, is_active FROM environments WHERE user_id = ?', ['u1'], (r) => seen.push(r.rows));
    await eventually(() => seen.length > 0, 5000, 'watcher');
    await envs.activateEnvironment(db, 'u1', prod);
    await eventually(() => envs.activeOf(map(w.last().data))?.id === prod, 5000, 'prod active');
    for (const rows of seen) {
      const active = rows.filter((r) => r.is_active === true || r.is_active === 1 || r.is_active === 't');
      assert.equal(active.length, 1, `never zero or two active environments: ${JSON.stringify(rows)}`);
    }
    stop();

    const before = (await db.pendingMutations()).length;
    await assert.rejects(envs.activateEnvironment(db, 'u1', '00000000-0000-4000-8000-000000000000'), { code: 'not_found' });
    assert.equal((await db.pendingMutations()).length, before, 'the failed activation was rolled back');
    assert.equal(envs.activeOf(map(w.last().data)).id, prod);
    w.stop();
  } finally {
    await db.close();
  }
});

test('client store: StrictMode mount/unmount/mount opens one database; last release closes it', async () => {
  let opened = 0;
  let closed = 0;
  const store = new ElectricClientStore({
    config: { url: OFFLINE_URL },
    open: async (config) => {
      opened++;
      const db = await open({ url: config.url });
      const close = db.close.bind(db);
      db.close = async () => { closed++; await close(); };
      return db;
    },
  });
  const release1 = store.retain();
  release1();
  const release2 = store.retain();
  await eventually(() => store.getSnapshot().db, 5000, 'open');
  assert.equal(opened, 1);
  release2();
  await eventually(() => closed === 1, 5000, 'closed');
  assert.equal(store.getSnapshot().db, null);

  const failing = new ElectricClientStore({ config: { url: 'not a url' }, open: (c) => Electrolite.open(c) });
  const release3 = failing.retain();
  await eventually(() => failing.getSnapshot().error, 5000, 'open error');
  assert.equal(failing.getSnapshot().error.code, 'invalid_argument');
  release3();
});
