// Incremental live queries (js/live-incremental.ts): the SQL recogniser, SQLite's value
// ordering, and a randomised comparison of incrementally maintained results with fresh
// queries while local writes (typed and SQL), rollbacks, discards and sync changes hit a
// synced table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Electrolite } from '../../dist/js/index.js';
import { compareText, compareValues, recognise } from '../../dist/js/live-sql.js';

// ---------------------------------------------------------------- recogniser

test('recognise: the maintained shape and its parts', () => {
  const q = recognise('SELECT id, title, status, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50');
  assert.deepEqual(q, {
    table: 'tasks', selectText: 'id, title, status, updated_at', whereText: null,
    orderBy: [{ column: 'updated_at', desc: true }], limit: 50, limitText: 'LIMIT 50', limitParam: null, maxParam: 0,
  });
  const w = recognise('select * from "Tasks" where status = $1 and (priority > 2 or title like ?2) order by "created_at", id asc limit $3 offset 0;',
    ['x', 'y', 7]);
  assert.equal(w.table, 'Tasks');
  assert.equal(w.selectText, '*');
  assert.equal(w.whereText, 'status = $1 and (priority > 2 or title like ?2)');
  assert.deepEqual(w.orderBy, [{ column: 'created_at', desc: false }, { column: 'id', desc: false }]);
  assert.equal(w.limit, 7);
  assert.equal(w.limitParam, '$3');
  assert.equal(w.maxParam, 3);
  assert.equal(recognise('SELECT id FROM t WHERE a = ?5 OR b = ? LIMIT 2').maxParam, 6);
  assert.equal(recognise('SELECT id FROM t WHERE a = ? LIMIT ?', [1, 3]).limit, 3);
  assert.equal(recognise('SELECT id FROM t WHERE a = :a AND b = :a LIMIT ?', [1, 4]).limit, 4);
  assert.equal(recognise('SELECT id FROM t -- comment\n /* x */ ORDER BY id').orderBy[0].column, 'id');
  assert.equal(recognise('SELECT id FROM t').orderBy.length, 0);
});

test('recognise: everything else falls back to full re-runs', () => {
  const no = [
    'SELECT DISTINCT status FROM tasks',
    'SELECT count(*) FROM tasks',
    'SELECT id, lower(title) FROM tasks',
    'SELECT id AS x FROM tasks',
    'SELECT t.id FROM tasks t',
    'SELECT id FROM tasks AS t',
    'SELECT id FROM tasks JOIN users ON users.id = tasks.user_id',
    'SELECT id FROM tasks, users',
    'SELECT id FROM main.tasks',
    'SELECT status FROM tasks GROUP BY status',
    'SELECT id FROM tasks WHERE id IN (SELECT task_id FROM x)',
    'SELECT id FROM tasks WHERE EXISTS (SELECT 1)',
    "SELECT id FROM tasks WHERE updated_at > datetime('now', '-1 day')",
    'SELECT id FROM tasks WHERE random() > 0',
    'SELECT id FROM tasks ORDER BY lower(title)',
    'SELECT id FROM tasks ORDER BY title COLLATE NOCASE',
    'SELECT id FROM tasks ORDER BY title NULLS LAST',
    'SELECT id FROM tasks ORDER BY 1',
    'SELECT id FROM tasks LIMIT 10 OFFSET 5',
    'SELECT id FROM tasks LIMIT 5, 10',
    'SELECT id FROM tasks LIMIT -1',
    'SELECT id FROM tasks LIMIT ?',
    'SELECT id FROM tasks UNION SELECT id FROM users',
    'SELECT id FROM tasks; SELECT 1',
    'WITH x AS (SELECT 1) SELECT id FROM tasks',
    'SELECT id FROM tasks WHERE',
    "SELECT id FROM tasks WHERE title = 'unterminated",
    'UPDATE tasks SET title = 1',
  ];
  for (const sql of no) assert.equal(recognise(sql, []), null, sql);
  assert.equal(recognise('SELECT id FROM t LIMIT ?', ['5']), null, 'a non-number LIMIT parameter');
});

test('SQLite ordering: NULL < numbers < text, text by UTF-8 bytes', () => {
  const sorted = [null, -5, 0, 1, 1.5, 2, '', 'A', 'B', 'a', 'b', '\u00e9', '\uff21', '\u{1f600}'];
  const shuffled = [...sorted].reverse();
  shuffled.sort(compareValues);
  assert.deepEqual(shuffled, sorted);
  assert.equal(compareValues(1, 1.0), 0);
  assert.ok(compareText('\uffff', '\u{10000}') < 0, 'U+FFFF sorts before U+10000 in UTF-8');
  assert.ok(compareText('ab', 'abc') < 0);
});

// ---------------------------------------------------------------- randomised comparison

const SCHEMA = `create table items (
  id      text primary key,
  grp     integer,
  score   integer,
  name    text,
  updated_at timestamptz not null default now()
);`;
const POLICIES = { items: { policy: 'last-write-wins', timestamp: 'updated_at', writable: true } };
const COLUMNS = { id: 'text', grp: 'int4', score: 'int4', name: 'text', updated_at: 'timestamptz' };
const HANDLE = 'h-items';

function schemaHeader() {
  const s = {};
  for (const [name, type] of Object.entries(COLUMNS)) {
    s[name] = { type, ...(name === 'id' ? { pk_index: 0, not_null: true } : {}), ...(name === 'updated_at' ? { not_null: true } : {}) };
  }
  return JSON.stringify(s);
}

/** A fake Electric for one shape of `items`: an initial snapshot, then changes on demand. */
function fakeElectric(initial) {
  const queue = [];
  let offset = 0;
  let wake = null;
  let applied = 0;
  const headers = (o) => ({
    'electric-handle': HANDLE, 'electric-offset': `0_${o}`, 'electric-schema': schemaHeader(),
    'content-type': 'application/json',
  });
  const message = (op, row) => ({
    key: `"public"."items"/"${row.id}"`,
    value: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)])),
    headers: { operation: op, relation: ['public', 'items'] },
  });
  const fetchImpl = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : String(input.url ?? input));
    const method = (init.method ?? 'GET').toUpperCase();
    if (method !== 'GET') throw new TypeError('fetch failed (uploads are not served in this test)');
    const signal = init.signal;
    const at = url.searchParams.get('offset');
    if (at === '-1') {
      const body = [...initial.map((r) => message('insert', r)),
        { headers: { control: 'snapshot-end', xmin: '10', xmax: '10', xip_list: [] } }];
      return new Response(JSON.stringify(body), { status: 200, headers: headers(0) });
    }
    if (url.searchParams.get('live') !== 'true') {
      return new Response(JSON.stringify([{ headers: { control: 'up-to-date', global_last_seen_lsn: '1' } }]),
        { status: 200, headers: { ...headers(offset), 'electric-up-to-date': '' } });
    }
    while (queue.length === 0) {
      await new Promise((resolve, reject) => {
        wake = resolve;
        signal?.addEventListener('abort', () => reject(signal.reason ?? new DOMException('aborted', 'AbortError')), { once: true });
      });
    }
    const batch = queue.splice(0);
    offset++;
    const body = [...batch.map((m) => message(m.op, m.row)), { headers: { control: 'up-to-date', global_last_seen_lsn: String(offset + 1) } }];
    const res = new Response(JSON.stringify(body), {
      status: 200, headers: { ...headers(offset), 'electric-up-to-date': '', 'electric-cursor': String(offset) },
    });
    applied++;
    return res;
  };
  return {
    fetch: fetchImpl,
    push(op, row) {
      queue.push({ op, row });
      wake?.();
    },
    get served() {
      return applied;
    },
  };
}

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [null, '', 'alpha', 'Alpha', 'beta', 'b\u00e9ta', '\uff21wide', '\u{1f600}smile', 'zeta', 'alpha'];

/**
 * Query shapes: `sql`, `params`, `oracle` (the statement whose result must equal the live
 * result exactly: the same SQL, or with the primary key added as the last ORDER BY term,
 * which is how incremental results order ties), `incremental` (whether it is maintained).
 */
const SHAPES = [
  { sql: 'SELECT id, name, score FROM items ORDER BY score DESC, id LIMIT 10', incremental: true },
  { sql: 'SELECT id, name, score FROM items ORDER BY score DESC LIMIT 10', oracle: 'SELECT id, name, score FROM items ORDER BY score DESC, id LIMIT 10', incremental: true },
  { sql: 'SELECT * FROM items WHERE grp = $1 ORDER BY name, score DESC', params: [1], oracle: 'SELECT * FROM items WHERE grp = $1 ORDER BY name, score DESC, id', incremental: true },
  { sql: 'SELECT id, score FROM items ORDER BY score ASC, name DESC LIMIT 7', oracle: 'SELECT id, score FROM items ORDER BY score ASC, name DESC, id LIMIT 7', incremental: true },
  { sql: 'SELECT id, name FROM items WHERE score > ? ORDER BY name LIMIT ?', params: [3, 5], oracle: 'SELECT id, name FROM items WHERE score > ? ORDER BY name, id LIMIT ?', incremental: true },
  { sql: 'SELECT id, grp, score FROM items WHERE name IS NOT NULL', oracle: 'SELECT id, grp, score FROM items WHERE name IS NOT NULL ORDER BY id', incremental: true },
  { sql: 'SELECT id, updated_at FROM items ORDER BY updated_at DESC, id LIMIT 3', incremental: true },
  { sql: 'SELECT grp, count(*) AS n FROM items GROUP BY grp ORDER BY grp', incremental: false },
  { sql: 'SELECT DISTINCT grp FROM items ORDER BY grp', incremental: false },
  { sql: 'SELECT id FROM items ORDER BY lower(name), id LIMIT 5', incremental: false },
];

async function settle(db, queries) {
  // Events are dispatched when the engine call returns; each live query then finishes its run(s).
  for (const q of queries) await q.live.whenIdle();
}

async function check(db, queries, step) {
  for (const q of queries) {
    const fresh = await db.query(q.oracle ?? q.sql, q.params ?? []);
    const live = q.live.getSnapshot();
    assert.deepEqual(live.rows, fresh.rows, `step ${step}: ${q.sql}`);
    assert.deepEqual(live.columns, fresh.columns, `step ${step}: ${q.sql} columns`);
    if (q.oracle) {
      // The tiebreak only orders ties: the statement as written returns the same rows up to
      // the order of tied rows (and, with LIMIT, which tied rows at the end it keeps).
      const plain = await db.query(q.sql, q.params ?? []);
      assert.equal(plain.rows.length, fresh.rows.length, `step ${step}: ${q.sql} row count`);
    }
  }
}

test('incremental live results equal fresh queries under random local writes and sync changes', async () => {
  const rand = rng(20261125);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const value = () => ({ grp: pick([0, 1, 2, null]), score: pick([null, 1, 2, 3, 3, 4, 5, 5, 6]), name: pick(NAMES) });
  const stamp = (i) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  let nextId = 0;
  const newId = () => `k${String(nextId++).padStart(4, '0')}`;
  const initial = Array.from({ length: 40 }, (_, i) => ({ id: newId(), ...value(), updated_at: stamp(i) }));
  const server = fakeElectric(initial);
  const db = await Electrolite.open({
    url: 'http://electric.test', schemaSql: SCHEMA, policies: POLICIES, autoSubscribe: false,
    uploadIntervalMs: 3600000, fetch: server.fetch,
  });
  const queries = [];
  try {
    const shapeId = await db.subscribe({ table: 'items' });
    await db.waitForStatus((s) => s.shapes.some((sh) => sh.id === shapeId && sh.isUpToDate), 10000);
    for (const s of SHAPES) {
      const live = db.liveQuery(s.sql, s.params ?? []);
      await live.ready;
      queries.push({ ...s, live });
    }
    await check(db, queries, 'initial');
    const ids = async () => (await db.query('SELECT id FROM items')).rows.map((r) => r.id);
    let clock = 100;
    for (let step = 0; step < 160; step++) {
      const existing = await ids();
      const op = rand();
      if (op < 0.15) {
        await db.insert('items', { id: newId(), ...value(), updated_at: stamp(clock++) });
      } else if (op < 0.35 && existing.length > 0) {
        const patch = {};
        for (const [k, v] of Object.entries(value())) if (rand() < 0.6) patch[k] = v;
        patch.updated_at = stamp(clock++);
        await db.update('items', { id: pick(existing) }, patch);
      } else if (op < 0.42 && existing.length > 0) {
        await db.delete('items', { id: pick(existing) });
      } else if (op < 0.5) {
        await db.exec('UPDATE items SET score = coalesce(score, 0) + 1, updated_at = ? WHERE grp = ?', [stamp(clock++), pick([0, 1, 2])]);
      } else if (op < 0.55) {
        await db.exec('DELETE FROM items WHERE score = ? AND grp = ?', [pick([1, 2, 6]), pick([0, 1, 2])]);
      } else if (op < 0.6) {
        const v = value();
        await db.exec('INSERT INTO items (id, grp, score, name, updated_at) VALUES (?, ?, ?, ?, ?)', [newId(), v.grp, v.score, v.name, stamp(clock++)]);
      } else if (op < 0.65 && existing.length > 0) {
        // A rolled-back transaction: its writes showed inside it, then vanish.
        await db.transaction(async (tx) => {
          await tx.update('items', { id: pick(existing) }, { score: 99, updated_at: stamp(clock++) });
          await tx.insert('items', { id: newId(), ...value(), updated_at: stamp(clock++) });
          throw new Error('roll back');
        }).catch((err) => assert.equal(err.message, 'roll back'));
      } else if (op < 0.7) {
        // Discarding a pending mutation rolls its overlay back.
        const pending = (await db.pendingMutations()).filter((m) => m.status === 'pending' || m.status === 'failed');
        if (pending.length > 0) await db.discardMutation(pick(pending).id).catch(() => undefined);
      } else {
        // Sync: the server inserts, updates or deletes rows (some under local edits).
        const before = server.served;
        const n = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < n; j++) {
          const kind = rand();
          if (kind < 0.35 || existing.length === 0) {
            server.push('insert', { id: newId(), ...value(), updated_at: stamp(clock++) });
          } else if (kind < 0.8) {
            const v = value();
            const row = { id: pick(existing), updated_at: stamp(clock++) };
            for (const k of Object.keys(v)) if (rand() < 0.6) row[k] = v[k];
            server.push('update', row);
          } else {
            server.push('delete', { id: pick(existing) });
          }
        }
        const deadline = Date.now() + 10000;
        while (server.served === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        // The response is applied right after it is served.
        await db.waitForStatus((s) => s.isUpToDate, 10000);
        await new Promise((r) => setTimeout(r, 5));
      }
      await settle(db, queries);
      await check(db, queries, step);
    }
    for (const q of queries) {
      const stats = q.live.stats;
      if (q.incremental) assert.ok(stats.delta > 20, `${q.sql}: only ${stats.delta} incremental updates (${stats.full} full runs)`);
      // most of them from the rows the change carried (js/row-watches.ts), without a query
      if (q.incremental) assert.ok(stats.sent > stats.delta / 2, `${q.sql}: ${JSON.stringify(stats)}`);
      else assert.equal(stats.delta, 0, `${q.sql} is not maintained incrementally`);
    }
  } finally {
    for (const q of queries) q.live.dispose();
    await db.close();
  }
});

test('the engine reports changed keys: writes carry them, unknown changes do not', async () => {
  const db = await Electrolite.open({
    url: 'http://127.0.0.1:9', schemaSql: SCHEMA, policies: POLICIES, autoSubscribe: false, uploadIntervalMs: 3600000,
  });
  try {
    const q = db.liveQuery('SELECT id, score FROM items ORDER BY score DESC, id LIMIT 2');
    await q.ready;
    await db.insert('items', { id: 'a', score: 5 });
    await db.insert('items', { id: 'b', score: 4 });
    await db.insert('items', { id: 'c', score: 3 });
    await q.whenIdle();
    assert.deepEqual(q.getSnapshot().rows, [{ id: 'a', score: 5 }, { id: 'b', score: 4 }]);
    const full = q.stats.full;
    const a = q.getSnapshot().rows[0];
    await db.update('items', { id: 'c' }, { score: 1 }); // below the kept rows: result unchanged
    await q.whenIdle();
    assert.equal(q.getSnapshot().rows[0], a);
    await db.update('items', { id: 'b' }, { score: 6 }); // moves to the top
    await q.whenIdle();
    assert.deepEqual(q.getSnapshot().rows, [{ id: 'b', score: 6 }, { id: 'a', score: 5 }]);
    assert.equal(q.getSnapshot().rows[1], a, 'unchanged row keeps its identity');
    assert.equal(q.stats.full, full, 'no full re-run for keyed changes that keep the result decidable');
    await db.delete('items', { id: 'a' }); // a kept row leaves a full result: the replacement is unknown
    await q.whenIdle();
    assert.deepEqual(q.getSnapshot().rows, [{ id: 'b', score: 6 }, { id: 'c', score: 1 }]);
    assert.equal(q.stats.full, full + 1);
    // A write to the storage table itself is not known by key: full re-run.
    await db.exec("UPDATE items__synced SET score = 0 WHERE id = 'zz'");
    await q.whenIdle();
    assert.equal(q.stats.full, full + 2);
  } finally {
    await db.close();
  }
});

test('a composite primary key: incremental results equal fresh queries under random writes', async () => {
  const db = await Electrolite.open({
    url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3600000,
    schemaSql: 'create table pairs (a text not null, b integer not null, v integer, primary key (a, b));',
    policies: { pairs: { policy: 'server-wins', writable: true } },
  });
  const rand = rng(7);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const shapes = [
    { sql: 'SELECT a, b, v FROM pairs ORDER BY v DESC, a, b LIMIT 4' },
    { sql: 'SELECT * FROM pairs WHERE v >= ? ORDER BY v', params: [2], oracle: 'SELECT * FROM pairs WHERE v >= ? ORDER BY v, a, b' },
  ];
  const queries = [];
  try {
    for (const s of shapes) {
      const live = db.liveQuery(s.sql, s.params ?? []);
      await live.ready;
      queries.push({ ...s, live });
    }
    for (let step = 0; step < 120; step++) {
      const key = { a: pick(['x', 'y', 'z']), b: pick([1, 2, 3]) };
      const exists = (await db.query('SELECT 1 FROM pairs WHERE a = ? AND b = ?', [key.a, key.b])).rows.length > 0;
      const op = rand();
      if (!exists) await db.insert('pairs', { ...key, v: pick([null, 1, 2, 3, 4]) });
      else if (op < 0.6) await db.update('pairs', key, { v: pick([null, 1, 2, 3, 4, 5]) });
      else if (op < 0.8) await db.delete('pairs', key);
      else await db.exec('UPDATE pairs SET v = coalesce(v, 0) + 1 WHERE a = ?', [key.a]);
      await settle(db, queries);
      await check(db, queries, step);
    }
    for (const q of queries) {
      assert.ok(q.live.stats.delta > 40, `${q.sql}: ${JSON.stringify(q.live.stats)}`);
      assert.ok(q.live.stats.sent > q.live.stats.delta / 2, `${q.sql}: ${JSON.stringify(q.live.stats)}`);
    }
  } finally {
    for (const q of queries) q.live.dispose();
    await db.close();
  }
});

test('a change carries the rows of each maintained query: applied without a query, up to 64 keys', async () => {
  const db = await Electrolite.open({
    url: 'http://127.0.0.1:9', schemaSql: SCHEMA, policies: POLICIES, autoSubscribe: false, uploadIntervalMs: 3600000,
  });
  try {
    const q = db.liveQuery('SELECT id, score FROM items WHERE score >= ? ORDER BY score DESC, id LIMIT 10', [0]);
    await q.ready;
    for (const [id, score] of [['a', 5], ['b', 4], ['c', 3]]) await db.insert('items', { id, score });
    await q.whenIdle();
    const before = { ...q.stats };
    await db.update('items', { id: 'c' }, { score: 9 });
    await q.whenIdle();
    assert.deepEqual(q.getSnapshot().rows, [{ id: 'c', score: 9 }, { id: 'a', score: 5 }, { id: 'b', score: 4 }]);
    assert.deepEqual(q.stats, { full: before.full, delta: before.delta + 1, sent: before.sent + 1 }, 'the rows came with the change');
    await db.update('items', { id: 'a' }, { score: -1 }); // out of the WHERE: the change carries no row for it
    await q.whenIdle();
    assert.deepEqual(q.getSnapshot().rows, [{ id: 'c', score: 9 }, { id: 'b', score: 4 }]);
    assert.equal(q.stats.sent, before.sent + 2);
    // One transaction of 70 rows: more keys than a change carries rows for, so the client asks.
    await db.transaction(async (tx) => {
      for (let i = 0; i < 70; i++) await tx.insert('items', { id: `m${String(i).padStart(2, '0')}`, score: 4 + (i % 7) });
    });
    await q.whenIdle();
    assert.deepEqual(q.getSnapshot().rows, (await db.query('SELECT id, score FROM items WHERE score >= 0 ORDER BY score DESC, id LIMIT 10')).rows);
    assert.equal(q.stats.sent, before.sent + 2, 'no rows carried for 70 keys');
    assert.ok(q.stats.delta + q.stats.full > before.delta + 2 + before.full, 'the client ran the change itself');
  } finally {
    await db.close();
  }
});

test('a malformed row watch is refused; a watch whose statement fails carries no rows and stops nothing', async () => {
  const db = await Electrolite.open({
    url: 'http://127.0.0.1:9', schemaSql: SCHEMA, policies: POLICIES, autoSubscribe: false, uploadIntervalMs: 3600000,
  });
  try {
    const port = db.port;
    for (const bad of [{ table: 'items', key: [], sql: 'SELECT 1', params: [] }, { table: 'items', key: ['id'], sql: '', params: [] },
      { table: 'items', key: ['id'], sql: 'SELECT 1', params: null }, null]) {
      await assert.rejects(port.call('watchRows', 'bad', bad), (e) => e.code === 'invalid_argument', JSON.stringify(bad));
    }
    await port.call('watchRows', 'broken', { table: 'items', key: ['id'], sql: 'SELECT * FROM no_such_table WHERE id IN (SELECT value FROM json_each(?))', params: [] });
    const q = db.liveQuery('SELECT id, score FROM items ORDER BY id', []);
    await q.ready;
    await db.insert('items', { id: 'a', score: 1 });
    await db.update('items', { id: 'a' }, { score: 2 });
    await q.whenIdle();
    assert.deepEqual(q.getSnapshot().rows, [{ id: 'a', score: 2 }]);
  } finally {
    await db.close();
  }
});
