// node --expose-gc bench/shape-memory.mjs [--shapes N] [--rows N] [--budget-mib N]
//
// What one user asking for many distinct `where` shapes costs the dev server: RSS before,
// after N shape snapshots over a tasks table of `rows` rows (~0.5 KB each), and after idle
// eviction (shapeIdleMs 15 s, then a GC). `--budget-mib` sets the per-user shape-data budget
// (default: the server's own, 512 MiB); the count of shapes refused (429) is printed too.
// Real PostgreSQL (tests/support/postgres.mjs) and the built server (dist/server).
import { startStack, shapeRequest } from '../tests/support/server.mjs';

const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const SHAPES = arg('shapes', 150);
const ROWS = arg('rows', 20000);
const BUDGET = arg('budget-mib', 0);
const SECRET = 'shape-memory-bench-secret';

const mib = () => Math.round(process.memoryUsage().rss / 1048576);
const gc = async () => {
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 300));
  globalThis.gc?.();
};

const s = await startStack({
  server: { authSecret: SECRET, shapeIdleMs: 15000, pollMs: 500, ...(BUDGET ? { maxShapeBytesPerUser: BUDGET * 1048576 } : {}) },
});
try {
  const { createAuth } = await import('../dist/server/index.js');
  const headers = { authorization: `Bearer ${createAuth({ secret: SECRET }).issue('mallory')}` };
  await s.sql(`INSERT INTO tasks (id, user_id, title, description, priority)
    SELECT gen_random_uuid(), 'mallory', 'title ' || g, repeat('d', 400), g % 100 FROM generate_series(1, $1::int) g`, [ROWS]);
  await gc();
  const before = mib();
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < SHAPES; i++) {
    const r = await shapeRequest(s.url, { table: 'tasks', offset: '-1', where: `priority >= ${i % 100} OR title <> 'x${i}'` }, headers);
    if (r.status === 200) ok++;
    else if (r.status === 429) refused++;
  }
  await gc();
  const peak = mib();
  await new Promise((r) => setTimeout(r, 17000));
  await gc();
  console.log(JSON.stringify({
    shapes: SHAPES, rows: ROWS, budgetMiB: BUDGET || 512, served: ok, refused429: refused,
    rssMiB: { before, afterShapes: peak, afterEviction: mib() }, liveShapesAfterEviction: s.server.service.shapeCount,
  }));
} finally {
  await s.stop();
}
