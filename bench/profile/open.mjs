// Where engine open time goes in Node: Electrolite.open + first query with the default schema
// (7 tables), with only `tasks`, and with no table at all, each in a fresh process; and the
// wasm instantiate separately. node bench/profile/open.mjs
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const mode = process.argv[2];
if (mode) {
  const { Electrolite } = await import(pathToFileURL(join(ROOT, 'dist/js/index.js')).href);
  const { TASKS_SCHEMA_SQL } = await import(pathToFileURL(join(ROOT, 'bench/lib/shape-log.mjs')).href);
  const { loadEngineModule } = await import(pathToFileURL(join(ROOT, 'dist/js/wasm-loader.js')).href);
  const m = await loadEngineModule(); // compile + instantiate once, outside the timed open
  const opts = { url: 'http://127.0.0.1:9', autoSubscribe: false };
  if (mode === 'tasks') Object.assign(opts, { schemaSql: TASKS_SCHEMA_SQL, policies: {} });
  if (mode === 'none') Object.assign(opts, { schemaSql: 'create table t (id int primary key)', policies: {} });
  const t0 = performance.now();
  const db = await Electrolite.open(opts, { loadModule: async () => m });
  const t1 = performance.now();
  await db.query('SELECT 1');
  const t2 = performance.now();
  // A second open in the same (now warm) process: JIT tiers and lazy wasm compilation paid.
  const t3 = performance.now();
  const db2 = await Electrolite.open(opts, { loadModule: async () => loadEngineModule() });
  const t4 = performance.now();
  await db.close();
  await db2.close();
  console.log(JSON.stringify({ open: t1 - t0, query: t2 - t1, warmOpen: t4 - t3 }));
  process.exit(0);
}
for (const m of ['default', 'tasks', 'none']) {
  const runs = [0, 1, 2].map(() => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), m], { encoding: 'utf8' }).trim().split('\n').pop()));
  const med = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[1].toFixed(1);
  console.log(`${m.padEnd(8)} schema: open ${med('open')} ms (cold), first query ${med('query')} ms, second open in the same process ${med('warmOpen')} ms (median of 3)`);
}
