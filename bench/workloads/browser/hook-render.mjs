// Workload `hook-render` of bench/workloads/browser.mjs: local write → React re-render, in
// Chromium, React 19 production build. Both subjects render the same page (hook-page.jsx):
// the 50 most recently updated of 10,000 persisted tasks through the subject's live-query
// hook, then one row at a time is moved to the top by a local write, and each sample is
// write call → React's layout effect for the commit whose first <li> is that row.
//   electrolite: <ElectricProvider storage='bench-hook.db'> + useLiveQuery, db.update through
//     useElectric()'s db; the database was synced by a first page from the replayed shape log
//     (as cold-start-browser does), so the rows are synced rows and the write goes to the
//     overlay + outbox.
//   pglite: PGliteWorker (PGlite on opfs-ahp:// in a worker, live extension on the page) +
//     @electric-sql/pglite-react's PGliteProvider / useLiveQuery, UPDATE through usePGlite();
//     the table was filled by a first page with the cold-start peers' set-up (peer-worker.mjs).
import { build } from 'esbuild';
import { pgTimestamptz } from '../../lib/shape-log.mjs';
import { QUICK, ROOT, emit, log, nodeStubPlugin, percentile } from '../common.mjs';

export const HOOK_SAMPLES = Number(process.env.BENCH_HOOK_SAMPLES ?? (QUICK ? 100 : 300));
const PGLITE_HOOK_DIR = 'opfs-ahp://bench-hook';

// Subjects whose page did not build (e.g. @electric-sql/pglite-react not installed) → why.
const unbuilt = {};

/**
 * The page bundles (hook-<subject>.js) and the PGlite workers, written into `dir` (served at
 * /peers/). A subject whose bundle fails is reported as not measured; the other workloads run.
 */
export async function buildHookBundles(dir) {
  try { await buildAll(dir); } catch (err) {
    log(`hook-render: bundles not built: ${err.message}`);
    unbuilt.pglite ??= `PGlite worker not built: ${err.message.split('\n').slice(0, 3).join(' ')}`; // the page bundles catch their own
  }
}

async function buildAll(dir) {
  const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, logLevel: 'silent',
    absWorkingDir: ROOT, plugins: [nodeStubPlugin] };
  for (const subject of ['electrolite', 'pglite']) {
    await build({
      ...common, entryPoints: [`${ROOT}/bench/workloads/browser/hook-page.jsx`], outfile: `${dir}/hook-${subject}.js`, jsx: 'automatic',
      define: { SUBJECT: JSON.stringify(subject), 'process.env.NODE_ENV': '"production"' },
      // The page holds both subjects' code; the other subject's packages are never loaded.
      external: subject === 'electrolite' ? ['@electric-sql/pglite*'] : [],
    }).catch((err) => { unbuilt[subject] = `page bundle not built: ${err.message.split('\n').slice(0, 3).join(' ')}`; });
  }
  await build({ ...common, entryPoints: [`${ROOT}/bench/workloads/browser/pglite-hook-worker.mjs`], outfile: `${dir}/pglite-hook-worker.js`,
    define: { PGLITE_DIR: JSON.stringify(PGLITE_HOOK_DIR) } });
  // The set-up page's worker: the cold-start peers' worker on this workload's own directory.
  await build({ ...common, entryPoints: [`${ROOT}/bench/workloads/browser/peer-worker.mjs`], outfile: `${dir}/pglite-hook-setup-worker.js`,
    define: { PEER: '"pglite"', PGLITE_DIR: JSON.stringify(PGLITE_HOOK_DIR) } });
}

export const HOOK_PAGES = {
  '/hook.html': `<!doctype html><meta charset="utf-8"><title>hook-render</title><div id="root"></div><script type="module">
  import('/peers/hook-' + new URLSearchParams(location.search).get('subject') + '.js')
    .catch((err) => { window.__result = { error: String(err && err.stack || err) }; });
</script>`,
};

/**
 * The rows each sample moves to the top, as JSON: the `n` least recently updated rows (none
 * is in the list before its write), each with a new status and an updated_at later than
 * every row and every earlier sample.
 */
export function hookTargets(rows, n) {
  const byAge = [...rows].sort((a, b) => (a.updated_at < b.updated_at ? -1 : 1));
  const latest = Date.parse(byAge.at(-1).updated_at.replace(' ', 'T').replace(/\d{3}\+00$/, 'Z'));
  return JSON.stringify(byAge.slice(0, n).map((r, i) => ({
    id: r.id, status: r.status === 'completed' ? 'in_progress' : 'completed', updated_at: pgTimestamptz(latest + (i + 1) * 1000),
  })));
}

const WHAT = 'write call → React 19 layout effect of the commit whose first <li> is the moved row (DOM updated, before paint)';

/** Runs both subjects; `visit(path)` opens a page and returns its window.__result. */
export async function runHookRender({ visit, measure, ours, pglite, rows }) {
  const skipOf = (samples) => Math.min(20, Math.floor(samples.length / 10)); // first samples warm the JIT
  if (ours) await measure('hook-render:electrolite', async () => {
    if (unbuilt.electrolite) throw new Error(unbuilt.electrolite);
    const setup = await visit('/ours-hook-setup.html');
    log(`hook-render electrolite setup: ${setup.n} rows synced, storage ${setup.storage}`);
    const r = await visit('/hook.html?subject=electrolite');
    if (r.n < rows) throw new Error(`the page found ${r.n} of ${rows} rows`);
    const samples = r.samples.slice(skipOf(r.samples));
    const writes = r.writes.slice(skipOf(r.samples));
    emit({
      workload: 'hook-render', subject: 'electrolite', values: samples, unit: 'ms',
      note: `${samples.length} samples, ${r.n} synced rows: db.update (useElectric) → useLiveQuery → ${WHAT}; storage '${r.storage}'; ` +
        `the db.update promise itself resolved after p50 ${percentile(writes, 50).toFixed(1)} ms`,
      extra: { median: percentile(samples, 50), p99: percentile(samples, 99), storage: r.storage, writeP50: percentile(writes, 50),
        ...(r.storage === 'opfs' ? {} : { caveat: `storage '${r.storage}': not the persisted OPFS database` }) },
    });
  });
  if (pglite) await measure('hook-render:pglite', async () => {
    if (unbuilt.pglite) throw new Error(unbuilt.pglite);
    const setup = await visit('/peer-setup.html?peer=pglite-hook-setup');
    if (setup.n !== rows) throw new Error(`setup stored ${setup.n} rows`);
    const r = await visit('/hook.html?subject=pglite');
    if (r.n !== rows) throw new Error(`the page found ${r.n} of ${rows} rows`);
    const samples = r.samples.slice(skipOf(r.samples));
    const writes = r.writes.slice(skipOf(r.samples));
    emit({
      workload: 'hook-render', subject: 'pglite', values: samples, unit: 'ms',
      note: `${samples.length} samples, ${r.n} rows: UPDATE (usePGlite, PGliteWorker on opfs-ahp) → live extension → ` +
        `@electric-sql/pglite-react useLiveQuery → ${WHAT}; the UPDATE promise itself resolved after p50 ${percentile(writes, 50).toFixed(1)} ms`,
      extra: { median: percentile(samples, 50), p99: percentile(samples, 99), storage: 'opfs-ahp', writeP50: percentile(writes, 50) },
    });
  });
}
