// The dev sync server for this example, with a large `tasks` table: on first start it seeds
// ROWS tasks in one INSERT … SELECT generate_series (before any shape exists, so no client
// is sent them), indexes `priority` (the column the app pages by: unique, so a keyset cursor
// is exact) and serves the built app (dist/) next to the sync endpoints.
//
//   node server.mjs                                # embedded PGlite in ./.electrolite-data
//   DATABASE_URL=postgres://… node server.mjs     # a real PostgreSQL
//   ROWS=20000 PORT=5133 node server.mjs           # defaults: 1,000,000 rows, port 5133
import { createServer } from 'electrolite/server';

const databaseUrl = process.env.DATABASE_URL || null;
const rows = Number(process.env.ROWS ?? 1_000_000);
const port = Number(process.env.PORT ?? 5133);

const server = await createServer({
  databaseUrl,
  dataDir: process.env.DATA_DIR ?? './.electrolite-data',
  staticDir: process.env.STATIC_DIR ?? 'dist',
});
const [{ n }] = await server.db.query('SELECT count(*)::int AS n FROM tasks');
if (Number(n) === 0) {
  const t0 = performance.now();
  const seed = async (q) => {
    await q.query(
      `INSERT INTO tasks (id, user_id, title, description, status, priority)
       SELECT gen_random_uuid(), 'example-user', 'task ' || g, 'description of task ' || g,
              (array['pending','in_progress','completed','failed','cancelled'])[1 + g % 5], g
       FROM generate_series(1, $1::int) g`, [rows]);
    await q.query('CREATE UNIQUE INDEX IF NOT EXISTS tasks_priority ON tasks (priority)');
  };
  try {
    // No shape exists yet, so these rows need no change-log entries (shapes read them from the
    // table): replica mode skips the server's capture triggers, which would otherwise log a
    // million-row transaction the server must work through before it answers the first shape.
    await server.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await seed(tx);
    });
  } catch (err) {
    if (err.code !== '42501') throw err; // not a superuser: seed through the triggers
    await seed(server.db);
  }
  await server.db.query('ANALYZE tasks');
  console.log(`seeded ${rows} tasks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else {
  console.log(`tasks already holds ${n} rows`);
}
const url = await server.listen(port, process.env.HOST ?? '127.0.0.1');
console.log(`on-demand example: open ${url}/`);

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void server.close().then(() => process.exit(0)));
