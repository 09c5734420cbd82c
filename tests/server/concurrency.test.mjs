// Change capture under concurrency: many writers whose transactions commit out of the order they
// started in (row locks, random think time, rollbacks, one long transaction), shapes created
// while transactions are in flight, and every client must end with exactly the database's rows
// without ever seeing an insert of a key it holds or a change to a key it does not hold (which
// is what a skipped, reordered or doubly replayed transaction would look like).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeStream, Shape } from '@electric-sql/client';
import { startStack, ShapeReader, sleep, until } from '../support/server.mjs';
import { unrefLongTimers } from '../support/server.mjs';

unrefLongTimers();

let s;
before(async () => {
  s = await startStack({ server: { longPollMs: 500, pollMs: 100, tables: ['conc', 'snapc', 'oorder'] } });
  await s.sql(`CREATE TABLE conc (id int PRIMARY KEY, v int NOT NULL, grp int NOT NULL)`);
  await s.sql(`INSERT INTO conc SELECT g, 0, g % 3 FROM generate_series(1, 60) g`);
  // Tables created after the server started get their capture triggers on first use; do it
  // now, before the test holds a long write transaction on the table.
  await s.server.service.ensureCaptured('public', 'conc');
});
after(async () => { await s?.stop(); });

const rand = (n) => Math.floor(Math.random() * n);

async function writer(stopAt, stats, nextId) {
  while (Date.now() < stopAt) {
    const c = await s.pool.connect();
    try {
      await c.query('BEGIN');
      const ops = 1 + rand(3);
      for (let i = 0; i < ops; i++) {
        const k = rand(10);
        if (k < 6) await c.query('UPDATE conc SET v = v + 1, grp = $2 WHERE id = $1', [1 + rand(80), rand(3)]);
        else if (k < 8) await c.query('INSERT INTO conc VALUES ($1, 0, $2) ON CONFLICT (id) DO NOTHING', [nextId(), rand(3)]);
        else await c.query('DELETE FROM conc WHERE id = $1', [1 + rand(80)]);
        await sleep(rand(15));
      }
      await sleep(rand(40));
      if (rand(10) === 0) { await c.query('ROLLBACK'); stats.rolledBack++; } else { await c.query('COMMIT'); stats.committed++; }
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      if (e.code !== '40P01') throw e;
      stats.deadlocks++;
    } finally { c.release(); }
  }
}

test('concurrent writers committing out of start order: every client converges to the database', async () => {
  const stats = { committed: 0, rolledBack: 0, deadlocks: 0 };
  let id = 1000;
  const nextId = () => ++id;
  const readers = [];
  const running = { on: true };
  const follow = async (r) => {
    await r.sync();
    while (running.on) await r.step({ live: true });
  };
  const loops = [];
  const addReader = (params) => { const r = new ShapeReader(s.url, params); readers.push(r); loops.push(follow(r)); };
  addReader({ table: 'conc' });
  addReader({ table: 'conc', where: 'grp = 1' });
  addReader({ table: 'conc', replica: 'full' });
  const official = [];
  const controllers = [];
  const addOfficial = () => {
    const c = new AbortController(); controllers.push(c);
    official.push(new Shape(new ShapeStream({ url: `${s.url}/v1/shape`, params: { table: 'conc' }, signal: c.signal, liveRequestTimeoutMs: 4000,
      parser: { int4: (v) => v } })));
  };
  addOfficial();

  // A long transaction that starts first and commits last.
  const long = await s.pool.connect();
  await long.query('BEGIN');
  await long.query('INSERT INTO conc VALUES (999, 0, 1)');
  const stopAt = Date.now() + 3000;
  const writers = Array.from({ length: 12 }, () => writer(stopAt, stats, nextId));
  // New shapes (new snapshots) while transactions are in flight.
  for (let i = 0; i < 4; i++) {
    await sleep(500);
    addReader(i % 2 ? { table: 'conc', where: 'grp = 1' } : { table: 'conc' });
    if (i === 1) addOfficial();
  }
  await s.pool.query('INSERT INTO conc VALUES (998, 0, 2)');
  await long.query('COMMIT');
  long.release();
  await Promise.all(writers);
  addReader({ table: 'conc' });

  const want = async (where = 'true') => Object.fromEntries((await s.sql(`SELECT id::text, v::text, grp::text FROM conc WHERE ${where}`)).map((r) => [r.id, r]));
  const all = await want();
  const g1 = await want('grp = 1');
  try {
    await until(() => readers.every((r) => {
      const exp = r.params.where ? g1 : all;
      return JSON.stringify(sortObj(r.byId())) === JSON.stringify(sortObj(exp));
    }) || null, 20000, 'readers to converge');
    await until(() => official.every((sh) => {
      const got = Object.fromEntries(sh.currentRows.map((r) => [r.id, r]));
      return JSON.stringify(sortObj(got)) === JSON.stringify(sortObj(all));
    }) || null, 20000, 'official clients to converge');
  } finally {
    running.on = false;
    for (const c of controllers) c.abort();
    await Promise.allSettled(loops);
  }
  for (const r of readers) assert.deepEqual(r.violations, [], `${JSON.stringify(r.params)}`);
  assert.ok(stats.committed > 50, `only ${stats.committed} transactions committed`);
  assert.ok(all['999'] && all['998']);
  console.log(`concurrency: ${stats.committed} committed, ${stats.rolledBack} rolled back, ${stats.deadlocks} deadlocks, ${readers.length} readers + ${official.length} official clients converged`);
});

function sortObj(o) {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

test('snapshot consistency: committed-but-unharvested changes are not replayed, in-flight ones are not lost', async () => {
  await s.sql(`CREATE TABLE snapc (id int PRIMARY KEY, v text)`);
  await s.server.service.ensureCaptured('public', 'snapc');
  await s.sql(`INSERT INTO snapc VALUES (1, 'before')`);
  const base = await new ShapeReader(s.url, { table: 'snapc' }).sync();     // an existing follower
  s.server.service.pause();
  try {
    await s.sql(`INSERT INTO snapc VALUES (2, 'committed, not yet harvested')`);
    await s.sql(`UPDATE snapc SET v = 'updated, not yet harvested' WHERE id = 1`);
    const inflight = await s.pool.connect();
    await inflight.query('BEGIN');
    await inflight.query(`INSERT INTO snapc VALUES (3, 'in flight during the snapshot')`);
    await inflight.query(`UPDATE snapc SET v = 'in flight update' WHERE id = 2`);
    const reader = new ShapeReader(s.url, { table: 'snapc', where: 'id > 0' });
    await reader.step({ live: false });            // offset=-1: the snapshot, taken now
    assert.deepEqual(Object.keys(reader.byId()).sort(), ['1', '2']);
    await inflight.query('COMMIT');
    inflight.release();
    await s.server.service.resume();
    const want = Object.fromEntries((await s.sql('SELECT id::text, v FROM snapc')).map((r) => [r.id, r]));
    for (const r of [reader, base]) {
      await until(async () => { await r.step({ live: false }); return JSON.stringify(sortObj(r.byId())) === JSON.stringify(sortObj(want)) || null; }, 10000, 'snapshot reader');
      assert.deepEqual(r.violations, []);
    }
  } finally { await s.server.service.resume(); }
});

test('a transaction that started first but commits last is delivered after, not skipped', async () => {
  await s.sql(`CREATE TABLE oorder (id int PRIMARY KEY, v text)`);
  await s.server.service.ensureCaptured('public', 'oorder');
  const reader = await new ShapeReader(s.url, { table: 'oorder' }).sync();
  const seen = [];
  const origStep = reader.step.bind(reader);
  reader.step = async (o) => { const r = await origStep(o); for (const m of r.body ?? []) if ('key' in m) seen.push(m); return r; };
  const early = await s.pool.connect();
  const late = await s.pool.connect();
  try {
    await early.query('BEGIN');
    await early.query(`INSERT INTO oorder VALUES (1, 'started first')`);
    await late.query('BEGIN');
    await late.query(`INSERT INTO oorder VALUES (2, 'started second')`);
    await late.query('COMMIT');
    await until(async () => { await reader.step({ live: true }); return reader.byId()['2'] || null; }, 10000, 'the second transaction');
    assert.equal(reader.byId()['1'], undefined);
    await early.query('COMMIT');
    await until(async () => { await reader.step({ live: true }); return reader.byId()['1'] || null; }, 10000, 'the first transaction');
  } finally { early.release(); late.release(); }
  const [m2, m1] = seen;
  assert.equal(m2.value.id, '2');
  assert.equal(m1.value.id, '1');
  assert.ok(Number(m1.headers.lsn) > Number(m2.headers.lsn), 'committed later → later offset');
  assert.ok(m1.headers.txids[0] < m2.headers.txids[0], 'although its xid is older');
  assert.deepEqual(reader.violations, []);
});
