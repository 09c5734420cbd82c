// The floor of the ingest row over the design space: the same typed `tasks` rows the ingest
// workload syncs, loaded into SQLite by each design, natively (better-sqlite3) and in our wasm
// build (benchRawInsert, the designs it can express), in memory and to a file. Prints rows/s,
// the median of RUNS, designs interleaved per round so drift hits them alike.
//
//   node bench/profile/ingest-floor.mjs            # ROWS=100000 RUNS=3
//
// Designs (one transaction per 1,000 rows unless named otherwise):
//   pk-inline     rowid table, text PRIMARY KEY (SQLite's autoindex kept per row): the row-by-row path
//   pk-after      rowid table without the key, CREATE UNIQUE INDEX after the load (timed): the bulk path
//   no-index      rowid table, no key at all: the lower bound of any design
//   without-rowid WITHOUT ROWID table keyed by the uuid
//   pk-after-1tx  pk-after in one transaction
//   json-each     pk-after, each 1,000-message response body inserted by one
//                 INSERT … SELECT … FROM json_each(?) (decode in SQLite, not in the engine)
// File variants (native): pk-inline and pk-after with journal_mode=WAL synchronous=NORMAL,
// and pk-after with journal_mode=OFF synchronous=OFF.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TASK_COLUMNS, generateTasks, snapshotResponses } from '../lib/shape-log.mjs';
import { engineLoader, rawRows } from '../lib/engine-ingest.mjs';

const ROWS = Number(process.env.ROWS ?? 100000);
const RUNS = Number(process.env.RUNS ?? 3);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const Database = createRequire(import.meta.url)('better-sqlite3');

const rows = generateTasks(ROWS, { seed: 42 });
const raw = rawRows(rows);
const bodies = snapshotResponses(rows, { perResponse: 1000 }).map((r) => r.body);
const cols = TASK_COLUMNS.map((c) => `${c.name} ${c.type === 'int4' ? 'INTEGER' : 'TEXT'}${c.notNull ? ' NOT NULL' : ''}`);
const table = (key) => `CREATE TABLE tasks (${cols.join(', ')}${key === 'inline' ? ', PRIMARY KEY (id)' : ''})` +
  (key === 'without-rowid' ? ' WITHOUT ROWID' : '');
const withoutRowid = `CREATE TABLE tasks (${cols.join(', ')}, PRIMARY KEY (id)) WITHOUT ROWID`;
const insert = `INSERT INTO tasks VALUES (${TASK_COLUMNS.map(() => '?').join(', ')})`;
const index = 'CREATE UNIQUE INDEX tasks_pk ON tasks (id)';
// Electric sends every value as text: ints are cast like the engine's conversion does.
const jsonInsert = `INSERT INTO tasks SELECT ${TASK_COLUMNS.map((c) =>
  (c.type === 'int4' ? `CAST(value->'value'->>'${c.name}' AS INTEGER)` : `value->'value'->>'${c.name}'`)).join(', ')}
  FROM json_each(?) WHERE value->'headers'->>'operation' = 'insert'`;

const dir = mkdtempSync(join(tmpdir(), 'el-floor-'));
let fileNo = 0;
function nativeRun(design, { file = false, pragmas = '' } = {}) {
  const path = file ? join(dir, `f${++fileNo}.db`) : ':memory:';
  const db = new Database(path);
  if (pragmas) db.exec(pragmas);
  db.exec(design === 'pk-inline' ? table('inline') : design === 'without-rowid' ? withoutRowid : table('none'));
  db.defaultSafeIntegers(true);
  const t0 = performance.now();
  if (design === 'json-each') {
    const stmt = db.prepare(jsonInsert);
    const tx = db.transaction((b) => stmt.run(b));
    for (const b of bodies) tx(b);
  } else {
    const stmt = db.prepare(insert);
    const per = design === 'pk-after-1tx' ? ROWS : 1000;
    const batch = db.transaction((from, to) => { for (let j = from; j < to; j++) stmt.run(raw.values[j]); });
    for (let i = 0; i < ROWS; i += per) batch(i, Math.min(ROWS, i + per));
  }
  if (design.startsWith('pk-after') || design === 'json-each') db.exec(index);
  const ms = performance.now() - t0;
  const n = Number(db.prepare('SELECT count(*) AS n FROM tasks').get().n);
  db.close();
  if (n !== ROWS) throw new Error(`${design}: ${n} rows`);
  if (file) rmSync(path, { force: true });
  return ms;
}

const load = await engineLoader(ROOT);
async function wasmRun(design) {
  const m = await load();
  const setup = design === 'pk-inline' ? table('inline') : design === 'without-rowid' ? withoutRowid : table('none');
  const t0 = performance.now();
  const r = JSON.parse(m.benchRawInsert(`floor-${++fileNo}.db`, setup, insert, TASK_COLUMNS.length, 1000, raw.packed));
  const ms = performance.now() - t0;
  if (r.ok === false || r.rows !== ROWS) throw new Error(`wasm ${design}: ${JSON.stringify(r)}`);
  return ms;
}

const subjects = [
  ...['pk-inline', 'pk-after', 'no-index', 'without-rowid', 'pk-after-1tx', 'json-each'].map((d) => [`native memory ${d}`, () => nativeRun(d)]),
  ['native file WAL/NORMAL pk-inline', () => nativeRun('pk-inline', { file: true, pragmas: 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL' })],
  ['native file WAL/NORMAL pk-after', () => nativeRun('pk-after', { file: true, pragmas: 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL' })],
  ['native file journal OFF/sync OFF pk-after', () => nativeRun('pk-after', { file: true, pragmas: 'PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF' })],
  ...['pk-inline', 'no-index', 'without-rowid'].map((d) => [`wasm (ours) memory ${d}`, () => wasmRun(d)]),
];
const times = new Map(subjects.map(([name]) => [name, []]));
for (let round = 0; round < RUNS + 1; round++) {  // round 0 warms up
  for (const [name, fn] of subjects) {
    const ms = await fn();
    if (round > 0) times.get(name).push(ms);
  }
}
rmSync(dir, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`ingest floor: ${ROWS.toLocaleString('en-US')} tasks rows, median of ${RUNS} (native: better-sqlite3, SQLite ${new Database(':memory:').prepare('select sqlite_version() v').get().v})`);
for (const [name, ms] of times) {
  console.log(`  ${name.padEnd(44)} ${Math.round((ROWS / median(ms)) * 1000).toLocaleString('en-US').padStart(9)} rows/s  (${ms.map((x) => x.toFixed(0)).join(', ')} ms)`);
}
