// Workloads `server-shape-throughput`, `server-live-fanout` and `server-mutations`: the dev
// server (dist/server, this repo's Electric stand-in) on a throw-away PostgreSQL 15 with JWT
// auth, loaded from the same Node process over loopback (so client work shares the 2 cores).
//
//   server-shape-throughput  100 clients, one per user, each syncing its user's `tasks` shape
//     (N rows each) from offset -1 to up-to-date at the same time; rows delivered per second.
//     Subject `electrolite` = shapes already known to the server (logs cached), the common
//     case; `electrolite-new-shapes` = the first run, which creates the 100 shapes.
//   server-live-fanout  the same 100 clients long-polling; one write per user lands in
//     Postgres; ms until every client has received its row.
//   server-mutations  20 writers POSTing /v1/changes (insert batches of 50, and of 1) for a
//     fixed time; applied mutations per second.
// Peers do not apply: the real Electric service is what production uses (see DESIGN.md).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { QUICK, ROOT, RUNS, done, emit, emitMissing, log, requireBuilt } from './common.mjs';

requireBuilt('dist/server/index.js');
const { startStack, ShapeReader } = await import(pathToFileURL(join(ROOT, 'tests/support/server.mjs')).href);
const { createAuth } = await import(pathToFileURL(join(ROOT, 'dist/server/index.js')).href);

const CLIENTS = 100;
const PER_USER = Number(process.env.BENCH_SERVER_ROWS ?? (QUICK ? 200 : 1000));
const WRITE_SECONDS = Number(process.env.BENCH_WRITE_SECONDS ?? (QUICK ? 3 : 8));
const SECRET = 'bench-secret';
const s = await startStack({ server: { authSecret: SECRET, longPollMs: 20000, pollMs: 50 } });
const auth = createAuth({ secret: SECRET });
const users = Array.from({ length: CLIENTS }, (_, i) => `bench-user-${String(i).padStart(3, '0')}`);
const headers = Object.fromEntries(users.map((u) => [u, { authorization: `Bearer ${auth.issue(u)}` }]));

try {
  log(`server: seeding ${CLIENTS} users × ${PER_USER} tasks`);
  await s.sql(`insert into tasks (id, user_id, title, description, status, priority, created_at, updated_at)
    select gen_random_uuid(), 'bench-user-' || lpad(((g - 1) % $1)::text, 3, '0'), 'task ' || g,
           'description of task ' || g || ' with some text to make it realistic',
           (array['pending','in_progress','completed','failed','cancelled'])[1 + g % 5], g % 10, now(), now()
    from generate_series(1, $2::int) g`, [CLIENTS, CLIENTS * PER_USER]);

  // ---- initial sync throughput ----
  const syncAll = async () => {
    const readers = users.map((u) => new ShapeReader(s.url, { table: 'tasks' }, headers[u]));
    const t0 = performance.now();
    await Promise.all(readers.map((r) => r.sync()));
    const ms = performance.now() - t0;
    const rows = readers.reduce((n, r) => n + r.rows.size, 0);
    if (rows !== CLIENTS * PER_USER) throw new Error(`clients received ${rows} rows, expected ${CLIENTS * PER_USER}`);
    return { ms, rows, readers };
  };
  const first = await syncAll();
  emit({ workload: 'server-shape-throughput', subject: 'electrolite-new-shapes', values: [first.rows / first.ms * 1000], unit: 'rows/s', better: 'higher',
    note: `${CLIENTS} concurrent clients × ${PER_USER} rows, shapes created by this run (${first.ms.toFixed(0)} ms)` });
  const warm = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    last = await syncAll();
    warm.push(last.rows / last.ms * 1000);
  }
  emit({ workload: 'server-shape-throughput', subject: 'electrolite', values: warm, unit: 'rows/s', better: 'higher',
    note: `${CLIENTS} concurrent clients × ${PER_USER} rows each, offset -1 → up-to-date, shapes known to the server; client = a minimal Shape API reader in the same process` });

  // ---- live fan-out ----
  try {
    const readers = last.readers;
    let running = true;
    const loops = readers.map((r) => (async () => {
      while (running) {
        try { await r.step({ live: true }); } catch (err) { if (running) throw err; }
      }
    })());
    await new Promise((r) => setTimeout(r, 500)); // every client is now holding a long-poll
    const samples = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const ids = users.map(() => randomUUID());
      const t0 = performance.now();
      await s.sql(`insert into tasks (id, user_id, title, status, priority)
        select (ids)::uuid, u, 'fan-out', 'pending', 0 from unnest($1::text[], $2::text[]) as t(ids, u)`, [ids, users]);
      const keys = readers.map((r, k) => `"public"."tasks"/"${ids[k]}"`);
      const deadline = Date.now() + 60000;
      while (!readers.every((r, k) => r.rows.has(keys[k]))) {
        if (Date.now() > deadline) throw new Error('live rows did not reach every client within 60 s');
        await new Promise((r) => setTimeout(r, 2));
      }
      samples.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 200));
    }
    running = false;
    emit({ workload: 'server-live-fanout', subject: 'electrolite', values: samples, unit: 'ms',
      note: `one INSERT per user (${CLIENTS} rows in one transaction) → every one of ${CLIENTS} long-polling clients has its row` });
    // Unblock held long-polls by closing the server below; loops end with errors we ignore.
    void Promise.allSettled(loops);
  } catch (err) {
    emitMissing({ workload: 'server-live-fanout', subject: 'electrolite', reason: err.message });
  }

  // ---- write endpoint ----
  for (const [subject, batch] of [['electrolite', 50], ['electrolite-batch-1', 1]]) {
    const values = [];
    for (let run = 0; run < (QUICK ? 1 : Math.min(RUNS, 3)); run++) {
      let applied = 0;
      let failed = 0;
      const stopAt = performance.now() + WRITE_SECONDS * 1000;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 20 }, (_, w) => (async () => {
        const user = users[w];
        while (performance.now() < stopAt) {
          const mutations = Array.from({ length: batch }, () => {
            const id = randomUUID();
            return { id: randomUUID(), table: 'tasks', op: 'insert', key: { id }, value: { title: `w${w}`, status: 'pending', priority: 1 } };
          });
          const res = await fetch(`${s.url}/v1/changes`, {
            method: 'POST', headers: { ...headers[user], 'content-type': 'application/json' },
            body: JSON.stringify({ client_id: `bench-w${w}`, mutations }),
          });
          const body = await res.json();
          if (res.status !== 200) { failed++; continue; }
          applied += body.results.filter((r) => r.status === 'applied').length;
        }
      })()));
      const secs = (performance.now() - t0) / 1000;
      if (failed) log(`server-mutations: ${failed} failed requests`);
      values.push(applied / secs);
    }
    emit({ workload: 'server-mutations', subject, values, unit: 'mutations/s', better: 'higher',
      note: `20 concurrent writers, ${batch} insert${batch > 1 ? 's' : ''} per POST /v1/changes (one Postgres transaction each), ${WRITE_SECONDS} s per run` });
  }
} finally {
  await s.stop().catch(() => undefined);
}
done();
