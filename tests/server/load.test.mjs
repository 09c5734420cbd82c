// Load: 100 concurrent long-polling clients (10 users × 10 clients, each restricted to its user
// by JWT) and 20 writers using POST /v1/changes for LOAD_SECONDS (default 30) on loopback.
// Every client must converge to exactly its user's rows in the database, with no errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, ShapeReader, sleep, until, uid } from '../support/server.mjs';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
const SECRET = 'load-secret';
let s, auth;
before(async () => {
  s = await startStack({ server: { authSecret: SECRET, longPollMs: 5000, pollMs: 100 } });
  const { createAuth } = await import('../../dist/server/index.js');
  auth = createAuth({ secret: SECRET });
});
after(async () => { await s?.stop(); });

test(`100 long-polling clients and 20 writers for ${SECONDS}s converge with no errors`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  const users = Array.from({ length: 10 }, (_, i) => `load-user-${i}`);
  const tokens = Object.fromEntries(users.map((u) => [u, auth.issue(u)]));
  const errors = [];
  let running = true;
  const clients = [];
  const loops = [];
  for (let i = 0; i < 100; i++) {
    const user = users[i % users.length];
    const r = new ShapeReader(s.url, { table: 'tasks' }, { authorization: `Bearer ${tokens[user]}` });
    r.user = user;
    clients.push(r);
    loops.push((async () => {
      try {
        await r.sync();
        while (running) await r.step({ live: true });
      } catch (e) { errors.push(`client ${i}: ${e.message}`); }
    })());
  }
  const stats = { requests: 0, mutations: 0, applied: 0, rejected: 0 };
  // Each writer works on its own rows, so no write is ever legitimately rejected.
  const owned = {};
  const stopAt = Date.now() + SECONDS * 1000;
  const writers = Array.from({ length: 20 }, (_, w) => (async () => {
    while (Date.now() < stopAt) {
      const user = users[(w + stats.requests) % users.length];
      const mine = (owned[`${w}:${user}`] ??= []);
      const mutations = [];
      for (let k = 0; k < 1 + (stats.requests % 3); k++) {
        const roll = Math.random();
        if (mine.length < 5 || roll < 0.4) {
          const id = uid();
          mine.push(id);
          mutations.push({ id: uid(), table: 'tasks', op: 'insert', key: { id }, value: { title: `w${w}`, priority: k } });
        } else if (roll < 0.85) {
          const id = mine[Math.floor(Math.random() * mine.length)];
          mutations.push({ id: uid(), table: 'tasks', op: 'update', key: { id }, value: { title: `w${w}-${stats.requests}`, priority: stats.requests % 100 } });
        } else {
          const id = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
          mutations.push({ id: uid(), table: 'tasks', op: 'delete', key: { id } });
        }
      }
      try {
        const res = await fetch(`${s.url}/v1/changes`, {
          method: 'POST', headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: `w${w}`, mutations }),
        });
        const body = await res.json();
        if (res.status !== 200) errors.push(`writer ${w}: ${res.status} ${JSON.stringify(body)}`);
        else for (const r of body.results) {
          if (r.status === 'applied') stats.applied++;
          else { stats.rejected++; errors.push(`writer ${w}: ${JSON.stringify(r)}`); }
        }
      } catch (e) { errors.push(`writer ${w}: ${e.message}`); }
      stats.requests++;
      stats.mutations += mutations.length;
      await sleep(10);
    }
  })());
  await Promise.all(writers);
  const t0 = Date.now();
  const want = {};
  for (const u of users) {
    want[u] = JSON.stringify((await s.sql(`SELECT id::text, title, priority::text FROM tasks WHERE user_id = $1 ORDER BY id`, [u])));
  }
  const view = (r) => JSON.stringify([...r.rows.values()].map((x) => ({ id: x.id, title: x.title, priority: x.priority })).sort((a, b) => (a.id < b.id ? -1 : 1)));
  let convergeMs = -1;
  try {
    await until(() => {
      const lag = clients.filter((r) => view(r) !== want[r.user]);
      if (process.env.LOAD_DEBUG && lag.length) console.log(Date.now() - t0, 'lagging', lag.length, lag.slice(0, 2).map((r) => [r.user, r.offset, r.rows.size]));
      return lag.length === 0 || null;
    }, 60000, 'all clients to converge');
    convergeMs = Date.now() - t0;
  } finally {
    running = false;
    await Promise.all(loops);
  }
  const requests = clients.reduce((n, r) => n + r.requests, 0);
  const violations = clients.flatMap((r) => r.violations);
  console.log(`load: ${SECONDS}s, ${stats.requests} write requests (${stats.mutations} mutations, ${stats.applied} applied, ${stats.rejected} rejected), `
    + `${requests} shape requests from 100 clients, converged ${convergeMs} ms after the last write, ${s.server.service.shapeCount} shapes`);
  assert.deepEqual(errors, []);
  assert.deepEqual(violations, []);
  assert.equal(stats.rejected, 0);
  assert.ok(stats.requests > SECONDS * 10, `only ${stats.requests} write requests`);
});
