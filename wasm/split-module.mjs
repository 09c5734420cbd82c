// Splits dist/wasm/electrolite.wasm into the part a page needs before its first query and the
// rest (electrolite.deferred.wasm), guided by a profile of that first-query path. Run by
// scripts/build.sh after the TypeScript build (the profile drives the real client):
//   node wasm/split-module.mjs [dist/wasm]
//
// 1. `wasm-split --instrument` the linked module and load it through js/wasm-loader.ts.
// 2. Drive the first screen of an app as the demo does, with the real client and no network
//    (requests never answer): open a fresh file database with the default schema, the
//    demo's task and environment queries as one-off and live queries, status; reopen it and
//    do the same on a database with rows (written beforehand by an uninstrumented instance,
//    so the write path is not counted); an in-memory database likewise.
// 3. `wasm-split --profile` keeps every function that ran in electrolite.wasm and moves the
//    rest behind placeholders (js/wasm-deferred.ts loads them).
//
// Idempotent: a module that is already split is left alone. Without Binaryen's wasm-split
// (or with EL_WASM_SPLIT=0) the unsplit module stays, which loads and works the same.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = resolve(process.argv[2] ?? join(root, 'dist/wasm'));
const wasmFile = join(dir, 'electrolite.wasm');
const deferredFile = join(dir, 'electrolite.deferred.wasm');
const glue = join(dir, 'electrolite.mjs');
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

function isSplit(file) {
  return WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(file))).some((i) => i.module === 'placeholder');
}

function findWasmSplit() {
  try {
    execFileSync('wasm-split', ['--version'], { stdio: 'ignore' });
    return 'wasm-split';
  } catch {
    return undefined;
  }
}

if (process.env.EL_WASM_SPLIT === '0') {
  if (existsSync(deferredFile) && !isSplit(wasmFile)) rmSync(deferredFile);
  console.log('split-module: EL_WASM_SPLIT=0, electrolite.wasm left whole');
  process.exit(0);
}
if (isSplit(wasmFile) && existsSync(deferredFile)) {
  console.log('split-module: electrolite.wasm is already split');
  process.exit(0);
}
const wasmSplit = findWasmSplit();
if (!wasmSplit) {
  rmSync(deferredFile, { force: true });
  console.log('split-module: no wasm-split (Binaryen) on PATH, electrolite.wasm left whole');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'el-split-'));
const features = ['--enable-mutable-globals', '--enable-sign-ext'];
const { Electrolite } = await import(pathToFileURL(join(root, 'dist/js/index.js')).href);
const { loadEngineModule } = await import(pathToFileURL(join(root, 'dist/js/wasm-loader.js')).href);

/** A fetch that never answers (aborts reject), so no response path runs. */
const silentFetch = (_url, init) =>
  new Promise((_resolve, reject) => {
    init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  });
const openOptions = (storage) => ({
  url: 'http://127.0.0.1:9', fetch: silentFetch, ...(storage ? { storage } : {}),
});
const USER = 'user-1';
const screens = [
  ['SELECT * FROM tasks WHERE user_id = ? ORDER BY created_at DESC, id', [USER]],
  ['SELECT * FROM environments WHERE user_id = ? ORDER BY name, id', [USER]],
  ['SELECT * FROM tasks ORDER BY updated_at DESC LIMIT 50', []],
];

async function firstScreen(db) {
  db.status;
  for (const [sql, params] of screens) await db.query(sql, params);
  const offs = [];
  await Promise.all(screens.map(([sql, params]) => new Promise((resolveLive) => {
    offs.push(db.live(sql, params, () => resolveLive()));
  })));
  for (const off of offs) off();
  db.status;
}

try {
  // Rows for the reopened database, written by an uninstrumented instance.
  const rowsDb = join(work, 'rows.db');
  {
    const m = await loadEngineModule({ moduleUrl: pathToFileURL(glue), wasmUrl: pathToFileURL(wasmFile) });
    const db = await Electrolite.open(openOptions({ path: rowsDb }), { loadModule: async () => m });
    const envId = '00000000-0000-4000-8000-000000000001';
    await db.insert('environments', { id: envId, user_id: USER, name: 'default', is_active: true });
    await db.transaction(async (tx) => {
      for (let i = 0; i < 400; i++) {
        await tx.insert('tasks', {
          id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`, user_id: USER, environment_id: envId,
          title: `task ${i}`, description: 'x'.repeat(i % 200), status: ['pending', 'in_progress', 'completed'][i % 3],
        });
      }
    });
    await db.close();
  }

  const instrumented = join(work, 'instrumented.wasm');
  execFileSync(wasmSplit, [wasmFile, '--instrument', ...features, '-o', instrumented]);
  let instance;
  const m = await loadEngineModule({
    moduleUrl: pathToFileURL(glue), wasmUrl: pathToFileURL(instrumented), onInstance: (i) => (instance = i),
  });
  const loadModule = async () => m;
  for (const storage of [{ path: join(work, 'fresh.db') }, { path: join(work, 'fresh.db') }, { path: rowsDb }, undefined]) {
    const db = await Electrolite.open(openOptions(storage), { loadModule });
    await firstScreen(db);
    await db.close();
  }

  const memory = Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory);
  const writeProfile = instance.exports.__write_profile;
  const size = writeProfile(0, 0);
  const at = memory.buffer.byteLength;
  memory.grow(Math.ceil(size / 65536) + 1);
  writeProfile(at, size);
  const profile = join(work, 'profile.data');
  writeFileSync(profile, new Uint8Array(memory.buffer, at, size));

  const primary = join(work, 'primary.wasm');
  const secondary = join(work, 'deferred.wasm');
  execFileSync(wasmSplit, [wasmFile, '--split', ...features, `--profile=${profile}`, '--export-prefix=%',
    '--placeholder-namespace=placeholder', '--import-namespace=primary', '-o1', primary, '-o2', secondary]);
  const before = readFileSync(wasmFile);
  copyFileSync(secondary, deferredFile);
  renameSync(primary, wasmFile);
  const after = readFileSync(wasmFile);
  const rest = readFileSync(deferredFile);
  console.log(`split-module: electrolite.wasm ${kb(before.length)} (${kb(gzipSync(before, { level: 9 }).length)} gz) → ` +
    `first part ${kb(after.length)} (${kb(gzipSync(after, { level: 9 }).length)} gz) + ` +
    `electrolite.deferred.wasm ${kb(statSync(deferredFile).size)} (${kb(gzipSync(rest, { level: 9 }).length)} gz)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
