// Subquery shapes against a real PostgreSQL with JWT auth: "the tasks of my active
// environments" (`environment_id IN (SELECT id FROM environments WHERE is_active)`). Rows carry
// tags; an environment leaving the subquery is a move-out event whose pattern is that tag; one
// entering it brings its tasks as move-in inserts (no lsn) and a snapshot-end. Seen by raw HTTP
// and by the official client, whose messages, applied with the tags, equal the database's
// answer to the same query. The subquery reads only app tables, under the caller's rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeStream } from '@electric-sql/client';
import { startStack, shapeRequest, ShapeReader, until, uid, unrefLongTimers } from '../support/server.mjs';

unrefLongTimers();
const SECRET = 'subquery-secret-0123456789';
let s, auth;
const controllers = [];
before(async () => {
  s = await startStack({ server: { authSecret: SECRET, longPollMs: 1000 } });
  const { createAuth } = await import('../../dist/server/index.js');
  auth = createAuth({ secret: SECRET });
});
after(async () => { for (const c of controllers) c.abort(); await s?.stop(); });

const bearer = (u) => ({ authorization: `Bearer ${auth.issue(u)}` });
const WHERE = 'environment_id IN (SELECT id FROM environments WHERE is_active)';
const env = async (user, active) => {
  const id = uid();
  await s.sql(`INSERT INTO environments (id, user_id, name, is_active) VALUES ($1, $2, 'e', $3)`, [id, user, active]);
  return id;
};
const task = async (user, envId, title) => {
  const id = uid();
  await s.sql(`INSERT INTO tasks (id, user_id, title, environment_id) VALUES ($1, $2, $3, $4)`, [id, user, title, envId]);
  return id;
};
const want = async (user) => (await s.sql(
  `SELECT id::text FROM tasks WHERE user_id = $1 AND environment_id IN (SELECT id FROM environments WHERE is_active AND user_id = $1) ORDER BY id`, [user])).map((r) => r.id);

/** Applies shape messages with tags: move-out removes every row holding a matching tag. */
class TaggedRows {
  rows = new Map(); tags = new Map(); events = []; moveIns = 0; violations = [];
  apply(m) {
    if (m.headers?.event === 'move-out') {
      this.events.push(m);
      for (const p of m.headers.patterns) for (const [k, t] of this.tags) if (t[p.pos] === p.value) { this.rows.delete(k); this.tags.delete(k); }
      return;
    }
    if (!m.key) return;
    const op = m.headers.operation;
    if (m.headers.is_move_in) this.moveIns++;
    // Like the official Shape, an update or delete of a row not held is a protocol violation.
    if (op !== 'insert' && !this.rows.has(m.key)) { this.violations.push(`${op} of unheld ${m.key}`); return; }
    if (op === 'delete') { this.rows.delete(m.key); this.tags.delete(m.key); return; }
    this.rows.set(m.key, { ...(this.rows.get(m.key) ?? {}), ...m.value });
    if (m.headers.tags) this.tags.set(m.key, m.headers.tags);
  }
  ids() { return [...this.rows.values()].map((r) => r.id).sort(); }
}

test('raw HTTP: tags on rows, move-out and move-in as membership changes, the caller\'s rules inside the subquery', async () => {
  const u = 'sq1';
  const e1 = await env(u, true), e2 = await env(u, false), foreign = await env('sq1-other', true);
  const t1 = await task(u, e1, 'a'), t2 = await task(u, e2, 'b'), t3 = await task(u, e1, 'c');
  await task(u, foreign, 'not mine: the environment is another user\'s');
  const reader = await new ShapeReader(s.url, { table: 'tasks', where: WHERE }, bearer(u)).sync();
  assert.deepEqual([...reader.rows.values()].map((r) => r.id).sort(), [t1, t3].sort());
  const first = await shapeRequest(s.url, { table: 'tasks', where: WHERE, offset: '-1' }, bearer(u));
  const tagOf = new Map(first.body.filter((m) => m.key).map((m) => [m.value.id, m.headers.tags]));
  assert.equal(tagOf.get(t1).length, 1);
  assert.deepEqual(tagOf.get(t1), tagOf.get(t3), 'rows of one environment share a tag');
  assert.deepEqual(first.body.find((m) => m.key).headers.active_conditions, [true]);

  const tagged = new TaggedRows();
  for (const m of first.body) tagged.apply(m);
  const follow = async () => {
    const msgs = [];
    for (;;) {
      const r = await reader.step({ live: false });
      msgs.push(...(r.body ?? []));
      if (r.body?.some((m) => m.headers?.control === 'up-to-date')) return msgs;
    }
  };
  // e1 leaves the subquery: one move-out event with e1's tag.
  await s.sql('UPDATE environments SET is_active = false WHERE id = $1', [e1]);
  let msgs = [];
  await until(async () => { msgs.push(...await follow()); return msgs.some((m) => m.headers.event) || null; }, 10000, 'move-out');
  const out = msgs.find((m) => m.headers.event === 'move-out');
  assert.deepEqual(out.headers.patterns, [{ pos: 0, value: tagOf.get(t1)[0] }]);
  assert.ok(out.headers.txids?.length === 1 && out.headers.lsn);
  for (const m of msgs) tagged.apply(m);
  assert.deepEqual(tagged.ids(), []);
  // e2 enters it: its task arrives as a move-in insert, without lsn/txids, then a snapshot-end.
  msgs = [];
  await s.sql('UPDATE environments SET is_active = true WHERE id = $1', [e2]);
  await until(async () => { msgs.push(...await follow()); return msgs.some((m) => m.headers.is_move_in) || null; }, 10000, 'move-in');
  const mi = msgs.find((m) => m.headers.is_move_in);
  assert.equal(mi.value.id, t2);
  assert.equal(mi.headers.operation, 'insert');
  assert.equal(mi.headers.lsn, undefined);
  assert.equal(mi.headers.txids, undefined);
  assert.equal(mi.headers.tags.length, 1);
  assert.ok(msgs.some((m) => m.headers.control === 'snapshot-end' && /^\d+$/.test(m.headers.xmax)));
  for (const m of msgs) tagged.apply(m);
  assert.deepEqual(tagged.ids(), [t2]);
  // A task moved between environments: an update with the new tag and the old in removed_tags.
  // (The new environment's own move-in query may already show the task: it reads the database
  // as it is then; the client takes move-in rows as upserts.)
  const e3 = await env(u, true);
  msgs = [];
  await s.sql('UPDATE tasks SET environment_id = $2 WHERE id = $1', [t2, e3]);
  await until(async () => { msgs.push(...await follow()); return msgs.some((m) => m.key && !m.headers.is_move_in) || null; }, 10000, 'update');
  const up = msgs.find((m) => m.key && !m.headers.is_move_in);
  assert.equal(up.headers.operation, 'update');
  assert.deepEqual(up.headers.removed_tags, mi.headers.tags);
  assert.notDeepEqual(up.headers.tags, mi.headers.tags);
  // Another user's environment turning active moves in nothing of ours.
  msgs = [];
  await s.sql('UPDATE environments SET is_active = false WHERE id = $1', [foreign]);
  await s.sql('UPDATE environments SET is_active = true WHERE id = $1', [foreign]);
  await s.sql('UPDATE tasks SET title = $2 WHERE id = $1', [t2, 'marker']);
  await until(async () => { msgs.push(...await follow()); return msgs.some((m) => m.value?.title === 'marker') || null; }, 10000, 'marker');
  assert.ok(!msgs.some((m) => m.headers.event || m.headers.is_move_in), JSON.stringify(msgs));
  for (const m of msgs) tagged.apply(m);
  assert.deepEqual(tagged.ids(), await want(u));
  assert.deepEqual(tagged.violations, []);
});

for (const liveSse of [false, true]) test(`the official client (${liveSse ? 'SSE' : 'long-poll'}) follows membership changes; its tagged messages equal the database`, async () => {
  const u = `sq2-${liveSse}`;
  const envs = [await env(u, true), await env(u, false), await env(u, true), await env(u, false)];
  for (let i = 0; i < 12; i++) await task(u, envs[i % 4], `t${i}`);
  const controller = new AbortController();
  controllers.push(controller);
  const stream = new ShapeStream({ url: `${s.url}/v1/shape`, params: { table: 'tasks', where: WHERE }, headers: bearer(u),
    signal: controller.signal, liveRequestTimeoutMs: 4000, liveSse });
  const tagged = new TaggedRows();
  stream.subscribe((msgs) => { for (const m of msgs) tagged.apply(m); }, () => {});
  await until(() => stream.isUpToDate || null, 10000, 'up to date');
  assert.deepEqual(tagged.ids(), await want(u));
  // Flip memberships, move tasks and add some, concurrently with each other.
  await Promise.all([
    s.sql('UPDATE environments SET is_active = NOT is_active WHERE id = ANY($1::uuid[])', [[envs[0], envs[1]]]),
    s.sql('UPDATE tasks SET environment_id = $1 WHERE user_id = $2 AND title IN ($3, $4)', [envs[3], u, 't0', 't2']),
    task(u, envs[1], 'new in a now-active environment'),
    s.sql('UPDATE environments SET is_active = true WHERE id = $1', [envs[3]]),
  ]);
  // Then two writers racing: membership flips and tasks moving between environments.
  const titles = Array.from({ length: 12 }, (_, i) => `t${i}`);
  const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
  await Promise.all([0, 1].map(async () => {
    for (let i = 0; i < 40; i++) {
      if (Math.random() < 0.5) await s.sql('UPDATE environments SET is_active = NOT is_active WHERE id = $1', [pick(envs)]);
      else await s.sql('UPDATE tasks SET environment_id = $1 WHERE user_id = $2 AND title = $3', [pick(envs), u, pick(titles)]);
    }
  }));
  await s.sql('DELETE FROM environments WHERE id = $1', [envs[2]]);
  await s.sql('UPDATE environments SET is_active = true WHERE id = $1', [envs[0]]);
  await s.sql('UPDATE tasks SET environment_id = $1 WHERE user_id = $2 AND title = $3', [envs[0], u, 't1']);
  await s.sql('UPDATE tasks SET environment_id = NULL WHERE user_id = $1 AND title = $2', [u, 't6']);
  const expected = await want(u);
  await until(() => JSON.stringify(tagged.ids()) === JSON.stringify(expected) || null, 15000,
    'the client to equal the database');
  assert.ok(tagged.events.length >= 1, 'move-out events reached the official client');
  assert.ok(tagged.ids().length >= 1, 'rows in the shape at the end');
  assert.deepEqual(tagged.violations, []);
  // Every row the client holds has the database's values.
  const db = new Map((await s.sql(`SELECT id::text, title, environment_id::text FROM tasks WHERE user_id = $1`, [u])).map((r) => [r.id, r]));
  for (const r of tagged.rows.values()) assert.deepEqual({ id: r.id, title: r.title, environment_id: r.environment_id }, db.get(r.id));
  assert.ok(tagged.moveIns >= 1, 'move-in rows reached the official client');
});

test('hostile subqueries: non-app tables, catalogs, other forms → 400, never a row', async () => {
  await s.sql('CREATE TABLE IF NOT EXISTS sq_undeclared (id uuid PRIMARY KEY)');
  const cases = [
    'environment_id IN (SELECT id FROM sq_undeclared)',
    'environment_id IN (SELECT oid FROM pg_catalog.pg_authid)',
    'environment_id IN (SELECT id FROM electric_changes)',
    'user_id IN (SELECT rolname FROM pg_roles)',
    'user_id IN (SELECT usename FROM pg_catalog.pg_user)',
    'environment_id IN (SELECT id FROM information_schema.tables)',
    'environment_id IN (SELECT id FROM environments e)',
    'environment_id IN (SELECT id FROM environments, tasks)',
    'environment_id IN (SELECT id FROM environments WHERE id IN (SELECT id FROM environments))',
    'environment_id IN (SELECT id FROM environments WHERE pg_sleep(1) IS NULL)',
    'environment_id IN (SELECT id FROM environments LIMIT 1)',
    'environment_id IN (SELECT id FROM environments UNION SELECT id FROM tasks)',
    'environment_id IN (SELECT name FROM environments)',
    'NOT environment_id IN (SELECT id FROM environments)',
    'environment_id IN (SELECT id FROM environments) OR true',
    'EXISTS (SELECT 1 FROM environments)',
    'environment_id = (SELECT id FROM environments LIMIT 1)',
    'environment_id IN (SELECT id FROM environments) AND id IN (SELECT task_id FROM agent_executions)',
    'environment_id IN (SELECT id FROM ONLY environments)',
    'environment_id IN (SELECT environments.xmin FROM environments)',
  ];
  for (const where of cases) {
    const r = await shapeRequest(s.url, { table: 'tasks', offset: '-1', where }, bearer('sq-attacker'));
    assert.equal(r.status, 400, `${where} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(r.body.errors.where, `${where}: ${JSON.stringify(r.body)}`);
  }
  // Booleans compare by text differently in snapshots ('true') and changes ('t'): refused.
  const b = await shapeRequest(s.url, { table: 'workflows', offset: '-1', where: 'is_active IN (SELECT is_active FROM environments)' }, bearer('sq-attacker'));
  assert.equal(b.status, 400);
  assert.match(b.body.errors.where[0], /compares columns of one type/);
});
