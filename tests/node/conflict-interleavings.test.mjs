// Two clients of one user edit the same row while offline, for every policy, and reconnect in
// randomised interleavings against the real dev server and PostgreSQL:
//  * which client reconnects (and so reaches the server) first, and which wrote first;
//  * for the second: its upload reaches the server before the first's change reaches it
//    (shape responses delayed), the change arrives under its pending edit first (uploads held
//    back until its stream has caught up), or no control at all.
// Both clients and PostgreSQL converge to the policy's answer, and the custom resolver is
// called exactly once, on the client whose write met the other's, whatever the order.
// CONFLICT_SEED=<n> replays a run (the seed is printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, startFaultProxy, eventually, upToDate } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

const SEED = Number(process.env.CONFLICT_SEED ?? Date.now() % 1_000_000_007);
const ROUNDS = Number(process.env.CONFLICT_ROUNDS ?? 2);
const USER = 'interleavings';
const SEEDED_IMPORTANCE = 5;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mergeState = (local, remote) => ({
  ...remote,
  state: { v: [String(local.state?.v), String(remote.state?.v)].sort().join('+') },
});

// Per policy: the demo table (schema/policies.json; the custom one is server-wins on the server
// and `custom` on clients that register a resolver), how to seed and edit a row, how to read
// the value that decides, and the value the policy must end with.
const POLICIES = {
  'last-write-wins': {
    table: 'tasks',
    seed: (sql, id) => sql(`insert into tasks (id, user_id, title) values ($1, $2, 'seed')`, [id, USER]),
    edit: (e) => ({ title: e.label }),
    read: 'SELECT title AS v FROM tasks WHERE id = $1',
    // The later write (both are stamped with the client's clock) wins.
    expect: ({ later }) => later.label,
  },
  'server-wins': {
    table: 'agent_executions',
    seed: (sql, id) => sql(`insert into agent_executions (id, user_id, agent_type, error) values ($1, $2, 'coder', 'seed')`, [id, USER]),
    edit: (e) => ({ error: e.label }),
    read: 'SELECT error AS v FROM agent_executions WHERE id = $1',
    expect: ({ first }) => first.label,
  },
  importance: {
    table: 'agent_memory',
    seed: (sql, id) => sql(`insert into agent_memory (id, user_id, agent_type, context_key, content, importance)
      values ($1, $2, 'planner', 'k', 'seed', $3)`, [id, USER, SEEDED_IMPORTANCE]),
    edit: (e) => ({ content: e.label, importance: e.importance }),
    read: 'SELECT content AS v FROM agent_memory WHERE id = $1',
    // The second write competes as the first's row overlaid with what it changed: an
    // importance equal to the seeded 5 is no change, so it competes at the first's importance;
    // equal importance (and last_accessed_at) goes to the later updated_at, i.e. the later write.
    expect: ({ first, second, later }) => {
      const candidate = second.importance === SEEDED_IMPORTANCE ? first.importance : second.importance;
      if (candidate !== first.importance) return (candidate > first.importance ? second : first).label;
      return later.label;
    },
  },
  custom: {
    table: 'workflow_executions',
    seed: (sql, id) => sql(`insert into workflow_executions (id, user_id, state) values ($1, $2, '{"v":"seed"}')`, [id, USER]),
    edit: (e) => ({ state: { v: e.label } }),
    read: `SELECT state AS v FROM workflow_executions WHERE id = $1`,
    expect: ({ first, second }) => [first.label, second.label].sort().join('+'),
    resolver: true,
  },
};
const ORDERS = ['upload-first', 'change-first', 'free'];

let stack;
let clients;
before(async () => {
  stack = await startStack({ longPollMs: 5000 });
  const open = async (name) => {
    const proxy = await startFaultProxy(stack.serverUrl);
    const c = { name, proxy, resolved: [], conflicts: [] };
    const merge = (local, remote) => {
      c.resolved.push({ local, remote });
      return mergeState(local, remote);
    };
    c.db = await Electrolite.open({
      url: proxy.url, token: stack.token(USER), uploadIntervalMs: 50,
      backoff: { initialMs: 50, maxMs: 300 }, resolvers: { workflow_executions: merge },
    });
    c.db.onConflict((e) => c.conflicts.push(e));
    return c;
  };
  clients = [await open('x1'), await open('x2')];
  await Promise.all(clients.map((c) => upToDate(c.db)));
});
after(async () => {
  for (const c of clients ?? []) {
    await c.db.close().catch(() => undefined);
    await c.proxy.close().catch(() => undefined);
  }
  await stack?.stop();
});

const valueOf = (v) => (v && typeof v === 'object' ? v.v : typeof v === 'string' && v.startsWith('{') ? JSON.parse(v).v : v);
const shapeOffset = (c, table) => c.db.status.shapes.find((x) => x.table === table)?.offset;
const synced = (c) => c.db.waitForStatus((s) => s.pendingChanges === 0 && !s.isOffline, 30000);

async function settledOffset(c, table) {
  let target = shapeOffset(c, table);
  for (let still = 0; still < 4; ) {
    await new Promise((r) => setTimeout(r, 60));
    const now = shapeOffset(c, table);
    still = now === target ? still + 1 : 0;
    target = now;
  }
  return target;
}

async function trial(rand, policyName, order, n) {
  const P = POLICIES[policyName];
  const id = randomUUID();
  const [A, B] = rand() < 0.5 ? clients : [clients[1], clients[0]];   // A reaches the server first
  const what = `trial ${n} (seed ${SEED}): ${policyName}, ${order}, ${A.name} first`;
  await P.seed(stack.sql, id);
  for (const c of clients) {
    await eventually(async () => (await c.db.query(P.read, [id])).rows.length === 1, 20000, `${what}: ${c.name} sees the row`);
  }
  const resolvedBefore = clients.map((c) => c.resolved.length);
  for (const c of clients) c.proxy.down();
  await Promise.all(clients.map((c) => c.db.waitForStatus((s) => s.isOffline, 10000)));

  // Offline edits, in a random wall-clock order (last-write-wins stamps them).
  // Distinct importances; the lower one is sometimes the seeded one (no change at all).
  const [i1, i2] = [3 + Math.floor(rand() * 3), 6 + Math.floor(rand() * 3)];
  const edits = new Map([[A, { label: `${A.name}-${n}`, importance: rand() < 0.5 ? i1 : i2 }]]);
  edits.set(B, { label: `${B.name}-${n}`, importance: edits.get(A).importance === i1 ? i2 : i1 });
  const writeOrder = rand() < 0.5 ? [A, B] : [B, A];
  for (const c of writeOrder) {
    await c.db.update(P.table, { id }, P.edit(edits.get(c)));
    await new Promise((r) => setTimeout(r, 5));
  }

  // A reconnects, uploads (no conflict: its base is the seeded row) and streams its own write.
  A.proxy.up();
  await synced(A);
  await eventually(async () => String(valueOf((await stack.sql(P.read, [id]))[0]?.v)) === edits.get(A).label, 20000, `${what}: A's write in PostgreSQL`);

  if (order === 'upload-first') {
    // B's upload is answered before A's change reaches B.
    B.proxy.inject({ kind: 'delay', ms: 1500, match: /GET \/v1\/shape/, times: Infinity });
    B.proxy.up();
    await synced(B);
  } else if (order === 'change-first') {
    // A's change arrives under B's pending edit before B's upload goes.
    const target = await settledOffset(A, P.table);
    B.proxy.inject({ kind: 'status', status: 503, headers: { 'retry-after': '0' }, match: /POST \/v1\/changes/, times: Infinity });
    B.proxy.up();
    await eventually(() => shapeOffset(B, P.table) === target, 20000, `${what}: B's stream at A's offset`);
    B.proxy.clearFaults();
    await synced(B);
  } else {
    B.proxy.up();
    await synced(B);
  }
  B.proxy.clearFaults();

  const expected = P.expect({
    first: edits.get(A), second: edits.get(B), later: edits.get(writeOrder[1]),
  });
  const seen = async () => ({
    postgres: valueOf((await stack.sql(P.read, [id]))[0]?.v),
    ...Object.fromEntries(await Promise.all(clients.map(async (c) => [c.name, valueOf((await c.db.query(P.read, [id])).rows[0]?.v)]))),
  });
  try {
    await eventually(async () => Object.values(await seen()).every((v) => String(v) === expected), 20000,
      `${what}: PostgreSQL and both clients hold ${expected}`);
  } catch (err) {
    const conflicts = clients.map((c) => [c.name, c.conflicts.filter((e) => valueOf(e.key?.id) === id || e.key?.id === id)]);
    throw new Error(`${err.message}\nseen: ${JSON.stringify(await seen())}\nedits: ${JSON.stringify([...edits].map(([c, e]) => [c.name, e]))}` +
      `\nconflicts: ${JSON.stringify(conflicts)}`);
  }
  const calls = clients.map((c, i) => c.resolved.length - resolvedBefore[i]);
  const want = clients.map((c) => (P.resolver && c === B ? 1 : 0));
  assert.deepEqual(calls, want, `${what}: resolver calls per client`);
  if (P.resolver) {
    const [call] = B.resolved.slice(-1);
    assert.equal(valueOf(call.local.state), edits.get(B).label, `${what}: the resolver's local row is B's edit`);
    assert.equal(valueOf(call.remote.state), edits.get(A).label, `${what}: the resolver's remote row is A's`);
  }
}

test('two clients converge to each policy\'s answer in every interleaving; the resolver runs exactly once', async (t) => {
  const rand = prng(SEED);
  t.diagnostic(`CONFLICT_SEED=${SEED}`);
  const plan = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of Object.keys(POLICIES)) for (const o of ORDERS) plan.push([p, o]);
  }
  for (let i = plan.length - 1; i > 0; i--) {   // shuffled, so orders meet each other's leftovers
    const j = Math.floor(rand() * (i + 1));
    [plan[i], plan[j]] = [plan[j], plan[i]];
  }
  const started = Date.now();
  for (const [n, [p, o]] of plan.entries()) await trial(rand, p, o, n);
  t.diagnostic(`${plan.length} trials in ${Date.now() - started} ms`);
});
