// A dedicated worker hosting a peer database on OPFS, for bench/workloads/browser.mjs.
// Bundled twice by esbuild: PEER = 'pglite' (PGlite, opfs-ahp://, the PGlite docs' OPFS
// storage for workers) and PEER = 'sqlite' (@sqlite.org/sqlite-wasm on its opfs-sahpool VFS).
// Messages: {op:'open'} → {ms}; {op:'setup', rows} (create + insert); {op:'count'} → {n};
// {op:'list'} → number of rows of the first screen; {op:'insert', row} → {ms} (time inside the worker); {op:'close'}.
/* global PEER, PGLITE_DIR */
let db;

const COLUMNS = ['id', 'user_id', 'title', 'description', 'status', 'priority', 'environment_id', 'created_at', 'updated_at'];
const LIST_SQL = 'SELECT id, title, status, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50';
const PG_DDL = `create table if not exists tasks (id uuid primary key, user_id text not null, title text not null,
  description text, status text not null default 'pending', priority integer not null default 0,
  environment_id uuid, created_at timestamptz not null default now(), updated_at timestamptz not null default now())`;
const SQLITE_DDL = `CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL, title TEXT NOT NULL,
  description TEXT, status TEXT NOT NULL, priority INTEGER NOT NULL, environment_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`;

async function open() {
  if (PEER === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = await PGlite.create(PGLITE_DIR);
    db = {
      exec: (sql) => pg.exec(sql),
      count: async () => (await pg.query('select count(*)::int as n from tasks')).rows[0].n,
      list: async () => (await pg.query(LIST_SQL)).rows.length,
      insertMany: async (rows) => {
        for (let i = 0; i < rows.length; i += 2000) {
          await pg.query('insert into tasks select * from json_populate_recordset(null::tasks, $1)', [JSON.stringify(rows.slice(i, i + 2000))]);
        }
      },
      insert: (row) => pg.query(`insert into tasks (${COLUMNS.join(', ')}) values (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
        COLUMNS.map((c) => row[c])),
      close: () => pg.close(),
      ddl: PG_DDL,
    };
  } else {
    const { default: init } = await import('@sqlite.org/sqlite-wasm');
    const sqlite3 = await init();
    const pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'bench-sahpool' });
    const s = new pool.OpfsSAHPoolDb('/bench.db');
    const insertSql = `INSERT INTO tasks (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
    db = {
      exec: async (sql) => s.exec(sql),
      count: async () => s.selectValue('SELECT count(*) FROM tasks'),
      list: async () => s.selectObjects(LIST_SQL).length,
      insertMany: async (rows) => {
        const stmt = s.prepare(insertSql);
        s.exec('BEGIN');
        for (const r of rows) stmt.bind(COLUMNS.map((c) => (c === 'priority' ? Number(r[c]) : r[c]))).stepReset();
        s.exec('COMMIT');
        stmt.finalize();
      },
      insert: async (row) => s.exec({ sql: insertSql, bind: COLUMNS.map((c) => (c === 'priority' ? Number(row[c]) : row[c])) }),
      close: async () => s.close(),
      ddl: SQLITE_DDL,
    };
  }
}

self.onmessage = async (e) => {
  const msg = e.data;
  try {
    const t0 = performance.now();
    let value;
    if (msg.op === 'open') {
      await open();
      await db.exec(db.ddl); // create-if-missing, like an app's schema at start
    }
    else if (msg.op === 'setup') {
      await db.exec(db.ddl);
      await db.insertMany(msg.rows);
      value = await db.count();
    } else if (msg.op === 'count') value = await db.count();
    else if (msg.op === 'insert') await db.insert(msg.row);
    else if (msg.op === 'close') await db.close();
    self.postMessage({ id: msg.id, ok: true, value, ms: performance.now() - t0 });
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
};
