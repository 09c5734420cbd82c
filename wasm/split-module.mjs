// Splits dist/wasm/electrolite.wasm into the part a page needs before its first query and the
// rest (electrolite.deferred.wasm), guided by a profile of that first-query path. Run by
// scripts/build.sh after the TypeScript build (the profile drives the real client):
//   node wasm/split-module.mjs [dist/wasm]
//
// 1. `wasm-split --instrument` the linked module and load it through js/wasm-loader.ts.
// 2. Drive the first screen of an app as the demo does, with the real client holding its sync
//    loop as it does until the second part is in (no requests, no timers): open a fresh file
//    database with the default schema and run the demo's task and environment queries as
//    one-off and live queries, status, and a set of sorts, groupings and joins; reopen it; do
//    the same on a database of 10,000 synced rows with local changes over them (made
//    beforehand by an uninstrumented instance, so the sync and write paths are not counted)
//    and on an in-memory database.
// 3. `wasm-split --keep-funcs`: electrolite.wasm keeps every function that ran plus SQLite and
//    libc but their whole SQL features (keepList below); the rest moves behind placeholders
//    that js/wasm-deferred.ts fills from electrolite.deferred.wasm.
//
// Idempotent: a module that is already split is left alone. Without Binaryen's wasm-split
// (or with EL_WASM_SPLIT=0) the unsplit module stays, which loads and works the same.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = resolve(process.argv[2] ?? join(root, 'dist/wasm'));
const wasmFile = join(dir, 'electrolite.wasm');
const deferredFile = join(dir, 'electrolite.deferred.wasm');
const glue = join(dir, 'electrolite.mjs');
// Written by the link (--emit-symbol-map; the .wasm is the same with or without it).
const symbolsFile = join(dir, 'electrolite.mjs.symbols');
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// The linked module's imports, read once (compiling 1 MB of wasm is not free).
const linkedImports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile)));
const isSplit = linkedImports.some((i) => i.module === 'placeholder');

/** Binaryen's wasm-split: on PATH (Debian's binaryen), else beside emsdk's emcc. */
function findWasmSplit() {
  const candidates = ['wasm-split'];
  try {
    const root = execFileSync('em-config', ['BINARYEN_ROOT'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (root) candidates.push(join(root, 'bin', 'wasm-split'));
  } catch { /* no em-config: PATH only */ }
  for (const c of candidates) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch { /* next */ }
  }
  return undefined;
}

// The link's symbol map is for this script only: it never ships.
process.on('exit', () => rmSync(symbolsFile, { force: true }));
if (process.env.EL_WASM_SPLIT === '0') {
  if (isSplit) {
    console.error('split-module: EL_WASM_SPLIT=0, but electrolite.wasm is split already; relink it (cmake --build build/wasm)');
    process.exit(1);
  }
  rmSync(deferredFile, { force: true });
  console.log('split-module: EL_WASM_SPLIT=0, electrolite.wasm left whole');
  process.exit(0);
}
if (isSplit) {
  if (existsSync(deferredFile)) {
    console.log('split-module: electrolite.wasm is already split');
    process.exit(0);
  }
  console.error(`split-module: ${wasmFile} is a first part without its electrolite.deferred.wasm; relink it (cmake --build build/wasm)`);
  process.exit(1);
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
// The benchmarks' shape-log generator: realistic tasks rows in Electric's wire format.
const { generateTasks, snapshotResponses } = await import(pathToFileURL(join(root, 'bench/lib/shape-log.mjs')).href);

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
  ['SELECT id, title, status, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50', []],
  ['SELECT count(*) AS n FROM tasks', []],
];
// What else an app's first screen may ask of SQLite's read path (sorts with ties and beyond
// the page cache, grouping, joins, subqueries, expressions), so that SQLite's query engine
// rarely waits for the deferred part. SQL features beyond these load it on first use.
const variety = [
  'SELECT * FROM tasks ORDER BY status, priority DESC, created_at LIMIT 20 OFFSET 10',
  'SELECT * FROM tasks ORDER BY description',
  'SELECT id FROM tasks ORDER BY title COLLATE NOCASE DESC',
  'SELECT status, count(*), min(created_at), max(updated_at), sum(priority), avg(priority) FROM tasks GROUP BY status ORDER BY 2 DESC',
  'SELECT DISTINCT user_id FROM tasks',
  "SELECT t.id, e.name FROM tasks t LEFT JOIN environments e ON e.id = t.environment_id WHERE t.status IN ('pending', 'in_progress') AND t.title LIKE '%1%' ORDER BY t.updated_at DESC LIMIT 100",
  'SELECT * FROM tasks t WHERE EXISTS (SELECT 1 FROM environments e WHERE e.user_id = t.user_id) OR t.priority > (SELECT avg(priority) FROM tasks)',
  "SELECT id, upper(title), length(description), substr(title, 1, 10), coalesce(description, ''), cast(priority AS TEXT) || '!' FROM tasks WHERE user_id = ? LIMIT 50",
  'SELECT count(*) FROM (SELECT user_id, status FROM tasks GROUP BY 1, 2 HAVING count(*) > 1)',
];

async function firstScreen(db) {
  db.status;
  for (const [sql, params] of screens) await db.query(sql, params);
  for (const sql of variety) await db.query(sql, sql.includes('?') ? [USER] : []);
  const offs = [];
  await Promise.all(screens.map(([sql, params]) => new Promise((resolveLive) => {
    offs.push(db.live(sql, params, () => resolveLive()));
  })));
  for (const off of offs) off();
  db.status;
}

const ZSTD = /^(ZSTD|HUF_|FSE_|HIST_|BIT_|XXH|POOL_|ERR_|ZDICT)/;
/**
 * C functions that go by the profile after all: SQL features a first screen rarely uses and
 * that are whole subsystems (JSON, window functions, date/time and math functions, ALTER,
 * ANALYZE, VACUUM, ATTACH, foreign keys, integrity_check, hot-journal playback), what no read
 * reaches (virtual tables — pragma table functions, json_each —, EXPLAIN's text, DDL the
 * engine never generates: foreign keys, generated columns, RETURNING, DROP TABLE; the
 * statements that write: DELETE, UPDATE … FROM, triggers, upserts — a write loads the second
 * part anyway), and the C library's number parsing and 128-bit float helpers the engine's sync
 * path calls. A query that uses one loads the second part then (once).
 */
const SQL_FEATURES = new RegExp('^(' + [
  'json\\w*', 'sqlite3Json\\w*', 'window\\w*', 'sqlite3Window\\w*', 'selectWindow\\w*', 'nth_value\\w*', 'ntile\\w*',
  'rename\\w*', 'alter\\w*', 'sqlite3Alter\\w*', '\\w*ConstraintFunc', 'dropColumnFunc', 'sqlite3RenameExpr\\w*',
  'analy\\w*', 'sqlite3Analy\\w*', 'stat(Get|Push|Init|Accum)\\w*', 'openStatTable', 'sqlite3ClearStatTables',
  'sqlite3Fk\\w*', 'fk[A-Z]\\w*', 'attachFunc', 'detachFunc', 'codeAttach', 'sqlite3Vacuum', 'sqlite3RunVacuum', 'execSql',
  'sqlite3Reindex', 'checkTreePage', 'checkList', 'checkAppendMsg', 'pager_playback\\w*', 'readJournalHdr', 'readSuperJournal',
  '(date|time|datetime|strftime|julianday|unixepoch|timediff|ctime|cdate|ctimestamp)Func', 'isDate', 'compute(JD|YMD|HMS)\\w*',
  'parse(HhMmSs|YyyyMmDd|Modifier|TimezoneOffset)', 'toLocaltime', 'setDateTimeToCurrent', 'setRawDateNumber', 'getDigits',
  '(pow|exp|log|log1p|expm1|sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|asinh|acosh|atanh|fmod|fmodl|scalbn|scalbnl)',
  '__(sin|cos|tan|rem_pio2)', '(log|math\\w*|trunc|ceiling|pi|degToRad|radToDeg)Func',
  'strtod', 'strtoll', '__shgetc', 'scanexp', '__\\w*tf\\w*', '__floatscan', 'decfloat', 'hexfloat', '__intscan',
  'sqlite3Vtab\\w*', 'vtab\\w*', 'sqlite3_declare_vtab', 'pragmaVtab\\w*', 'whereLoopAddVirtual\\w*', 'sqlite3WhereAddExplainText',
  'sqlite3WhereExplainBloomFilter', 'sqlite3CreateForeignKey', 'sqlite3AddGenerated', 'sqlite3ComputeGeneratedColumns',
  'sqlite3ExprCodeGeneratedColumn', 'sqlite3AddReturning', 'sqlite3DropTable', 'sqlite3DropTriggerPtr', 'triggerStepAllocate',
  'sqlite3DeleteFrom', 'updateFromSelect', 'sqlite3CodeRowTrigger\\w*', 'getRowTrigger', 'sqlite3UpsertDup',
].join('|') + ')$');

/**
 * The functions the first part keeps: every one the profile saw run, plus all of SQLite and
 * libc (C functions: no `::` in the symbol map, and not zstd's). SQLite's query engine takes
 * rare branches (a b-tree rebalance in a sort, a spill to a temp file) that no profile covers
 * reliably; a sync load in the middle of a query costs more than SQLite's unused corners
 * weigh. The engine's own C++ and zstd go by the profile alone. Binaryen names a function
 * without a name section by its index among the defined functions.
 */
function keepList(profile, scratch1, scratch2) {
  const out = execFileSync(wasmSplit, [wasmFile, '--split', ...features, `--profile=${profile}`, '-v',
    '-o1', scratch1, '-o2', scratch2], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = out.split('\n').find((l) => l.startsWith('Keeping functions:'));
  if (!line) throw new Error('wasm-split -v printed no "Keeping functions:" line');
  const keep = new Set(line.slice('Keeping functions:'.length).split(',').map((x) => x.trim()).filter(Boolean));
  if (!existsSync(symbolsFile)) {
    console.warn(`split-module: no ${symbolsFile} (link with --emit-symbol-map): splitting SQLite by the profile too`);
    return [...keep];
  }
  for (const [name, symbol] of definedFunctions()) {
    if (!symbol.includes('::') && !ZSTD.test(symbol) && !SQL_FEATURES.test(symbol)) keep.add(name);
  }
  return [...keep];
}

/**
 * Binaryen's name of each defined function (its index among them, as a string) → its name
 * in the link's symbol map (which numbers the imported functions first).
 */
function definedFunctions() {
  const imported = linkedImports.filter((i) => i.kind === 'function').length;
  const out = new Map();
  for (const line of readFileSync(symbolsFile, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    const index = Number(line.slice(0, colon));
    if (colon > 0 && index >= imported) out.set(String(index - imported), line.slice(colon + 1));
  }
  return out;
}

try {
  // The reopened database: 10,000 synced tasks (a recorded-style shape log answered by a
  // fake fetch) plus local writes over them, made by an uninstrumented instance so neither
  // the sync path nor the write path is counted.
  const rowsDb = join(work, 'rows.db');
  {
    const m = await loadEngineModule({ moduleUrl: pathToFileURL(glue), wasmUrl: pathToFileURL(wasmFile) });
    const rows = generateTasks(10000);
    const log = new Map(snapshotResponses(rows).map((r) => [r.offset, r]));
    const empty = { status: 200, headers: { 'electric-handle': '1-1', 'electric-offset': '0_inf', 'electric-schema': '{}',
      'electric-up-to-date': '', 'content-type': 'application/json' }, body: '[{"headers":{"control":"up-to-date"}}]' };
    const shapeFetch = (url, init) => {
      const q = new URL(String(url)).searchParams;
      const r = q.get('live') === 'true' ? undefined
        : q.get('table') === 'tasks' ? log.get(q.get('offset')) : q.get('offset') === '-1' ? empty : undefined;
      return r ? Promise.resolve(new Response(r.body, { status: r.status, headers: r.headers })) : silentFetch(url, init);
    };
    const db = await Electrolite.open({ ...openOptions({ path: rowsDb }), fetch: shapeFetch }, { loadModule: async () => m });
    await db.waitForStatus((s) => s.isUpToDate, 120000);
    await db.transaction(async (tx) => {
      for (const row of rows.slice(0, 30)) await tx.update('tasks', { id: row.id }, { title: `${row.title} (edited)` });
      await tx.delete('tasks', { id: rows[40].id });
      for (let i = 0; i < 500; i++) {
        await tx.insert('tasks', { id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`, user_id: rows[i].user_id, title: `local ${i}` });
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
  // As a split build's host does until the second part is in: no requests, no timers
  // (js/engine-host.ts), so the sync and upload paths stay out of the profile.
  m.deferredLoaded = () => new Promise(() => {});
  const loadModule = async () => m;
  for (const storage of [{ path: join(work, 'fresh.db') }, { path: join(work, 'fresh.db') }, { path: rowsDb }, undefined]) {
    const db = await Electrolite.open(openOptions(storage), { loadModule });
    await firstScreen(db);
    await db.close();
  }
  // The default schema opens a new database from its image (wasm/schema-image.mjs): an app's
  // own schema (here the same tables, given as text) runs the DDL, which stays in this part too.
  {
    const schemaSql = readFileSync(join(root, 'schema/schema.sql'), 'utf8');
    const policies = JSON.parse(readFileSync(join(root, 'schema/policies.json'), 'utf8'));
    delete policies.$comment;
    const db = await Electrolite.open({ ...openOptions({ path: join(work, 'own.db') }), schemaSql, policies }, { loadModule });
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
  const keepFile = join(work, 'keep.txt');
  writeFileSync(keepFile, keepList(profile, primary, secondary).join('\n'));
  execFileSync(wasmSplit, [wasmFile, '--split', ...features, `--keep-funcs=@${keepFile}`, '--export-prefix=%',
    '--placeholder-namespace=placeholder', '--import-namespace=primary', '-o1', primary, '-o2', secondary,
    ...(process.env.EL_WASM_SPLIT_MAP ? ['--placeholdermap'] : [])]);
  if (process.env.EL_WASM_SPLIT_MAP) {
    // EL_WASM_SPLIT_MAP=file: `<placeholder>:<function>` per line, to find what a synchronous
    // load (performance mark 'electrolite:deferred-sync-load', detail.placeholder) was for.
    const names = existsSync(symbolsFile) ? definedFunctions() : new Map();
    const lines = readFileSync(`${primary}.placeholders`, 'utf8').split('\n').filter(Boolean).map((l) => {
      const colon = l.indexOf(':');
      return `${l.slice(0, colon)}:${names.get(l.slice(colon + 1)) ?? l.slice(colon + 1)}`;
    });
    writeFileSync(process.env.EL_WASM_SPLIT_MAP, `${lines.join('\n')}\n`);
  }
  const before = readFileSync(wasmFile);
  copyFileSync(secondary, deferredFile);
  renameSync(primary, wasmFile);
  const after = readFileSync(wasmFile);
  const rest = readFileSync(deferredFile);
  console.log(`split-module: electrolite.wasm ${kb(before.length)} (${kb(gzipSync(before, { level: 9 }).length)} gz) → ` +
    `first part ${kb(after.length)} (${kb(gzipSync(after, { level: 9 }).length)} gz) + ` +
    `electrolite.deferred.wasm ${kb(rest.length)} (${kb(gzipSync(rest, { level: 9 }).length)} gz)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
