// Workloads `download-gz` and `download-br`: the bytes a browser fetches before the first
// query — JS (minified ESM, bundled with esbuild the way an app would) plus wasm and data
// files — compressed with gzip -9 and brotli q11, per file, summed.
//
//   electrolite      dist/demo/electrolite.js (browser client) + worker.js + wasm/electrolite.{mjs,wasm}
//                    + wasm/electrolite.schema.db.gz (the default schema's image)
//                    (a split build's first part; its worker fetches electrolite.deferred.wasm
//                    after the first query: js/wasm-deferred.ts)
//   electrolite-all  the same plus electrolite.deferred.wasm: everything the engine ever fetches
//   pglite           PGlite bundle + pglite.wasm + initdb.wasm + pglite.data (all fetched by PGlite.create)
//   pglite-sync      the PGlite bundle with @electric-sql/pglite-sync + the same assets
//   sqlite-wasm-raw  @sqlite.org/sqlite-wasm bundle + sqlite3.wasm
//   electric-client  @electric-sql/client bundle (no storage at all; for scale)
import { build } from 'esbuild';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { QUICK, ROOT, done, emit, nodeStubPlugin, log, requireBuilt } from './common.mjs';

requireBuilt('dist/demo/electrolite.js', 'dist/demo/worker.js', 'dist/demo/wasm/electrolite.wasm');
const pgliteDist = join(ROOT, 'node_modules/@electric-sql/pglite/dist');
const tmp = mkdtempSync(join(tmpdir(), 'el-bench-size-'));

async function bundle(name, source) {
  const entry = join(tmp, `${name}-entry.mjs`);
  writeFileSync(entry, source);
  const outfile = join(tmp, `${name}.js`);
  await build({
    entryPoints: [entry], outfile, bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    minify: true, legalComments: 'none', logLevel: 'error', plugins: [nodeStubPlugin],
    nodePaths: [join(ROOT, 'node_modules')], absWorkingDir: ROOT,
    // Sibling assets referenced with new URL(..., import.meta.url) stay separate files.
    loader: { '.wasm': 'file', '.data': 'file' },
  });
  return outfile;
}

// The Emscripten glue is bundled into worker.js (a static import), not fetched on its own.
// The default schema's image (electrolite.schema.db.gz) is fetched by the worker while the storage
// opens, so it counts before the first query.
const schemaImage = join(ROOT, 'dist/demo/wasm/electrolite.schema.db.gz');
const electrolite = [
  join(ROOT, 'dist/demo/electrolite.js'), join(ROOT, 'dist/demo/worker.js'), join(ROOT, 'dist/demo/wasm/electrolite.wasm'),
  ...(existsSync(schemaImage) ? [schemaImage] : []),
];
const deferredPart = join(ROOT, 'dist/demo/wasm/electrolite.deferred.wasm');
const subjects = {
  electrolite: async () => electrolite,
  ...(existsSync(deferredPart) ? { 'electrolite-all': async () => [...electrolite, deferredPart] } : {}),
  pglite: async () => [
    await bundle('pglite', "export { PGlite } from '@electric-sql/pglite';\n"),
    join(pgliteDist, 'pglite.wasm'), join(pgliteDist, 'initdb.wasm'), join(pgliteDist, 'pglite.data'),
  ],
  'pglite-sync': async () => [
    await bundle('pglite-sync', "export { PGlite } from '@electric-sql/pglite';\nexport { electricSync } from '@electric-sql/pglite-sync';\n"),
    join(pgliteDist, 'pglite.wasm'), join(pgliteDist, 'initdb.wasm'), join(pgliteDist, 'pglite.data'),
  ],
  'sqlite-wasm-raw': async () => [
    await bundle('sqlite-wasm', "export { default } from '@sqlite.org/sqlite-wasm';\n"),
    join(ROOT, 'node_modules/@sqlite.org/sqlite-wasm/dist/sqlite3.wasm'),
  ],
  'electric-client': async () => [
    await bundle('electric-client', "export { ShapeStream, Shape } from '@electric-sql/client';\n"),
  ],
};

/** The wasm build's optimisation levels, when built here (sizes depend on them). */
function buildFlags() {
  try {
    const cache = readFileSync(join(ROOT, 'build/wasm/CMakeCache.txt'), 'utf8');
    const level = (name) => cache.match(new RegExp(`^${name}:STRING=(.*)$`, 'm'))?.[1] ?? '?';
    return ` (engine ${level('EL_WASM_OPT')}, its files off the ingest path ${level('EL_WASM_COLD_OPT')}, SQLite ${level('EL_WASM_SQLITE_OPT')})`;
  } catch {
    return '';
  }
}

// Assets shared by two subjects (PGlite's) are compressed once; brotli q11 of 15 MB is slow.
const cache = new Map();
function compressed(file, bytes) {
  if (!file.startsWith(tmp) && cache.has(file)) return cache.get(file);
  const r = {
    g: gzipSync(bytes, { level: 9 }).length,
    // --quick skips brotli (q11 of PGlite's 15 MB takes minutes on a busy machine).
    b: QUICK ? null : brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length,
  };
  cache.set(file, r);
  return r;
}

try {
  for (const [subject, files] of Object.entries(subjects)) {
    let raw = 0;
    let gz = 0;
    let br = 0;
    const parts = [];
    for (const f of await files()) {
      const bytes = readFileSync(f);
      const { g, b } = compressed(f, bytes);
      raw += bytes.length;
      gz += g;
      br += b;
      parts.push(`${basename(f)} ${(bytes.length / 1024).toFixed(0)}→${(g / 1024).toFixed(0)} KB`);
    }
    const note = `${(raw / 1024).toFixed(0)} KB raw: ${parts.join(', ')}${subject.startsWith('electrolite') ? buildFlags() : ''}`;
    log(`${subject}: ${note}`);
    // Sizes are deterministic: one run.
    emit({ workload: 'download-gz', subject, values: [gz / 1024], unit: 'KB', note });
    if (!QUICK) emit({ workload: 'download-br', subject, values: [br / 1024], unit: 'KB', note: `brotli q11; ${note}` });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
done();
