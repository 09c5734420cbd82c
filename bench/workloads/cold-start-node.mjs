// Workload `cold-start-node`: a fresh Node process, in-memory database; time from before
// the library's import to the first query result (import + wasm compile/instantiate + open +
// schema + one SELECT). Each run is a new process, so nothing is cached in V8 or in the loader.
//
//   electrolite      Electrolite.open (default schema: the seed's 7 tables) + SELECT count(*) FROM tasks
//                    (a new database copies the default schema's image: src/schema_image.h)
//   electrolite-ddl  the same tables given as the app's own schemaSql/policies: no image, the DDL runs
//   pglite           PGlite.create() + the tasks DDL + SELECT count(*) FROM tasks
//   sqlite-wasm-raw  sqlite3InitModule() + new oo1.DB(':memory:') + the DDL + SELECT
//   better-sqlite3   require + new Database(':memory:') + the DDL + SELECT
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ROOT, QUICK, done, median, emit, emitMissing, log, requireBuilt } from './common.mjs';
import { TASKS_SCHEMA_SQL } from '../lib/shape-log.mjs';
import { rawSchema } from '../lib/engine-ingest.mjs';

const CHILD = process.argv[2];

/** The default tables as an app's own schema text (so the open runs their DDL). */
async function ownSchema() {
  const { readFile } = await import('node:fs/promises');
  const schemaSql = await readFile(join(ROOT, 'schema/schema.sql'), 'utf8');
  const policies = JSON.parse(await readFile(join(ROOT, 'schema/policies.json'), 'utf8'));
  delete policies.$comment;
  return { schemaSql, policies };
}

async function child(subject) {
  const t0 = performance.now();
  let n;
  if (subject === 'electrolite' || subject === 'electrolite-ddl') {
    // The package as Node resolves it (package.json's `node` condition: the bundled dist/node).
    const { Electrolite } = await import('electrolite');
    const { loadEngineModule } = await import(pathToFileURL(join(ROOT, 'dist/node/wasm-loader.js')).href);
    const tImported = performance.now();
    let loadMs = 0;
    const own = subject === 'electrolite-ddl' ? await ownSchema() : {};
    const db = await Electrolite.open({ url: 'http://127.0.0.1:9', autoSubscribe: false, ...own }, {
      loadModule: async () => {
        const l0 = performance.now();
        const m = await loadEngineModule();
        loadMs = performance.now() - l0;
        return m;
      },
    });
    const tOpen = performance.now();
    n = (await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n;
    const ms = performance.now() - t0;
    await db.close();
    // Phases: import of the JS, wasm compile + instantiate, engine open (SQLite + schema), first query.
    return { ms, phases: { import: tImported - t0, wasm: loadMs, open: tOpen - tImported - loadMs, query: t0 + ms - tOpen } };
  }
  if (subject === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = await PGlite.create();
    await pg.exec(TASKS_SCHEMA_SQL);
    n = (await pg.query('select count(*)::int as n from tasks')).rows[0].n;
    const ms = performance.now() - t0;
    await pg.close();
    return ms;
  }
  if (subject === 'sqlite-wasm-raw') {
    const { default: init } = await import('@sqlite.org/sqlite-wasm');
    const sqlite3 = await init();
    const db = new sqlite3.oo1.DB(':memory:');
    db.exec(rawSchema().table);
    n = db.selectValue('SELECT count(*) FROM tasks');
    return performance.now() - t0;
  }
  if (subject === 'better-sqlite3') {
    const { createRequire } = await import('node:module');
    const Database = createRequire(import.meta.url)('better-sqlite3');
    const db = new Database(':memory:');
    db.exec(rawSchema().table);
    n = db.prepare('SELECT count(*) AS n FROM tasks').get().n;
    return performance.now() - t0;
  }
  throw new Error(`unknown subject ${subject} (${n})`);
}

if (CHILD) {
  const r = await child(CHILD);
  process.stdout.write(`${JSON.stringify(typeof r === 'number' ? { ms: r } : r)}\n`);
  process.exit(0);
}

requireBuilt('dist/node/index.js', 'dist/wasm/electrolite.wasm');
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 3 : 7));
const self = fileURLToPath(import.meta.url);
// Floors: e.g. BENCH_NODE_FLAGS=--liftoff-only (no TurboFan tier-up) for every child process.
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const notes = {
  electrolite: 'Electrolite.open (wasm instantiate + open + default schema of 7 tables, from its image) + first SELECT; goal ≤ 1.0× sqlite-wasm-raw',
  'electrolite-ddl': 'the same with the 7 tables given as schemaSql (their DDL runs: no image)',
  pglite: 'PGlite.create (in memory) + CREATE TABLE + first SELECT',
  'sqlite-wasm-raw': '@sqlite.org/sqlite-wasm init + open :memory: + CREATE TABLE + first SELECT',
  'better-sqlite3': 'native: require + open :memory: + CREATE TABLE + first SELECT',
};
// Rounds interleave the subjects (one fresh process each per round), so drift of the shared
// machine's load falls on all of them alike and the ratios of one run compare like with like.
// Round -1 is unrecorded: it warms the OS file cache. PGlite takes seconds per start: --quick
// gives it 2 runs and no warm-up.
const subjects = Object.keys(notes);
const runsOf = (subject) => (QUICK && subject === 'pglite' ? 2 : RUNS);
const state = new Map(subjects.map((s) => [s, { values: [], phases: [], failed: undefined }]));
for (let i = -1; i < Math.max(...subjects.map(runsOf)); i++) {
  for (const subject of subjects) {
    const st = state.get(subject);
    if (st.failed || i >= runsOf(subject) || (i < 0 && QUICK && subject === 'pglite')) continue;
    try {
      const out = execFileSync(process.execPath, [...NODE_FLAGS, self, subject], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
      const r = JSON.parse(out.trim().split('\n').pop());
      if (i >= 0) st.values.push(r.ms);
      if (i >= 0 && r.phases) st.phases.push(r.phases);
    } catch (err) {
      st.failed = err;
    }
  }
}
for (const subject of subjects) {
  const { values, phases, failed } = state.get(subject);
  if (failed) {
    log(`cold-start-node ${subject}: ${failed.message}`);
    emitMissing({ workload: 'cold-start-node', subject, reason: failed.message.split('\n')[0] });
    continue;
  }
  let phaseNote = '';
  if (phases.length) {
    const med = (k) => median(phases.map((p) => p[k])).toFixed(1);
    phaseNote = `; median phases: import ${med('import')} ms, wasm compile+instantiate ${med('wasm')} ms, open + schema ${med('open')} ms, first query ${med('query')} ms`;
  }
  emit({ workload: 'cold-start-node', subject, values, unit: 'ms', note: `fresh process per run, subjects interleaved; ${notes[subject]}${phaseNote}` });
}
done();
