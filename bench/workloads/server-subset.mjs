// Workloads `server-subset-page` and `server-subset-shape`: on-demand sync of a large table
// through the dev server (dist/server) on a throw-away PostgreSQL 15 with JWT auth, requests
// from the same Node process over loopback.
//
//   One user's `tasks` of 1M rows (BENCH_SUBSET_ROWS), loaded as a table that was there before
//   the service (not through the change log) and indexed on title.
//   server-subset-shape  ms to make a `log=changes_only` shape on it (offset=-1): no rows read.
//   server-subset-page  subset snapshots of 1,000 rows sorted by title: the first page, a deep
//     page by `offset` (half-way) and the same page by keyset (`where title > $1`); rows per
//     second of each request, HTTP and JSON included. Each page's first row is checked.
// Peers do not apply: the real Electric service is what production uses (see DESIGN.md).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, RUNS, done, emit, emitMissing, log, requireBuilt } from './common.mjs';

requireBuilt('dist/server/index.js');
const { startStack, shapeRequest } = await import(pathToFileURL(join(ROOT, 'tests/support/server.mjs')).href);
const { createAuth } = await import(pathToFileURL(join(ROOT, 'dist/server/index.js')).href);

const ROWS = Number(process.env.BENCH_SUBSET_ROWS ?? 1_000_000);
const PAGE = 1000;
const SECRET = 'bench-subset-secret';
const USER = 'bench-pager';
const s = await startStack({ server: { authSecret: SECRET, longPollMs: 20000 } });
const headers = { authorization: `Bearer ${createAuth({ secret: SECRET }).issue(USER)}` };
const title = (i) => `page task ${String(i).padStart(8, '0')}`;

try {
  log(`server-subset: seeding ${ROWS} tasks of one user`);
  const c = await s.pool.connect();
  try {
    // Capture triggers off for this session: the rows predate the service.
    await c.query('SET session_replication_role = replica');
    await c.query(`insert into tasks (id, user_id, title, description, status, priority, created_at, updated_at)
      select gen_random_uuid(), $1, 'page task ' || lpad(g::text, 8, '0'), 'description of task ' || g,
             (array['pending','in_progress','completed','failed','cancelled'])[1 + g % 5], g % 10, now(), now()
      from generate_series(1, $2::int) g`, [USER, ROWS]);
  } finally { c.release(); }
  await s.sql('create index on tasks (title)');
  await s.sql('analyze tasks');

  const request = async (params) => {
    const t0 = performance.now();
    const r = await shapeRequest(s.url, { table: 'tasks', log: 'changes_only', ...params }, headers);
    return { r, ms: performance.now() - t0 };
  };
  const made = await request({ offset: '-1' });
  if (made.r.status !== 200 || made.r.body.length !== 1) throw new Error(`changes_only shape: ${made.r.status} ${JSON.stringify(made.r.body).slice(0, 200)}`);
  emit({ workload: 'server-subset-shape', subject: 'electrolite', values: [made.ms], unit: 'ms',
    note: `offset=-1&log=changes_only on a ${ROWS.toLocaleString('en')}-row table (snapshot-end only, no rows read)` });

  const shape = { handle: made.r.headers.get('electric-handle'), offset: made.r.headers.get('electric-offset') };
  const half = Math.floor(ROWS / 2);
  const pages = [
    { subject: 'electrolite-first-page', subset: { subset__order_by: 'title', subset__limit: PAGE }, first: title(1), what: 'the first page' },
    { subject: 'electrolite-offset-deep', subset: { subset__order_by: 'title', subset__limit: PAGE, subset__offset: half },
      first: title(half + 1), what: `offset ${half.toLocaleString('en')}` },
    { subject: 'electrolite-keyset-deep', subset: { subset__where: 'title > $1', subset__params: JSON.stringify({ 1: title(half) }), subset__order_by: 'title', subset__limit: PAGE },
      first: title(half + 1), what: `where title > $1: the same page as offset ${half.toLocaleString('en')}` },
  ];
  for (const p of pages) {
    try {
      const values = [];
      await request({ ...shape, ...p.subset });   // warm-up
      for (let i = 0; i < RUNS; i++) {
        const { r, ms } = await request({ ...shape, ...p.subset });
        if (r.status !== 200 || r.body.data.length !== PAGE || r.body.data[0].value.title !== p.first) {
          throw new Error(`${r.status}, ${r.body?.data?.length} rows from ${r.body?.data?.[0]?.value.title}, expected ${PAGE} from ${p.first}`);
        }
        values.push(PAGE / ms * 1000);
      }
      emit({ workload: 'server-subset-page', subject: p.subject, values, unit: 'rows/s', better: 'higher',
        note: `${PAGE.toLocaleString('en')} rows of a ${ROWS.toLocaleString('en')}-row table sorted by title (indexed), ${p.what}` });
    } catch (err) {
      emitMissing({ workload: 'server-subset-page', subject: p.subject, reason: err.message });
    }
  }
} finally {
  await s.stop().catch(() => undefined);
}
done();
