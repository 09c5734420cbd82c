// The peers' `tasks` tables filled the same way in every workload that needs rows in place
// (heap, live-query): `rows` from shape-log.mjs's generateTasks, the schema and values of
// engine-ingest.mjs's raw ceiling, one transaction of prepared inserts.
import { createRequire } from 'node:module';
import { rawRows, rawSchema } from './engine-ingest.mjs';

/** better-sqlite3 (native) :memory: database holding `rows` in `tasks`. */
export function betterSqliteWithTasks(rows) {
  const Database = createRequire(import.meta.url)('better-sqlite3');
  const db = new Database(':memory:');
  const s = rawSchema();
  db.exec(s.table);
  const ins = db.prepare(s.insert);
  const values = rawRows(rows).values;
  db.transaction(() => { for (const v of values) ins.run(v); })();
  return db;
}

/** @sqlite.org/sqlite-wasm :memory: database holding `rows` in `tasks`; also its sqlite3 API. */
export async function sqliteWasmWithTasks(rows) {
  const { default: init } = await import('@sqlite.org/sqlite-wasm');
  const sqlite3 = await init();
  const db = new sqlite3.oo1.DB(':memory:');
  const s = rawSchema();
  db.exec(s.table);
  const ins = db.prepare(s.insert);
  db.exec('BEGIN');
  for (const v of rawRows(rows).values) ins.bind(v).stepReset();
  db.exec('COMMIT');
  ins.finalize();
  return { sqlite3, db };
}

/** Inserts `rows` into PGlite's `tasks` (created from TASKS_SCHEMA_SQL) in batches of 5,000. */
export async function pgliteInsertTasks(pg, rows) {
  for (let i = 0; i < rows.length; i += 5000) {
    await pg.query('insert into tasks select * from json_populate_recordset(null::tasks, $1)', [JSON.stringify(rows.slice(i, i + 5000))]);
  }
}
