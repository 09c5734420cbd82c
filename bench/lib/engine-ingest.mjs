// The wasm engine's ingest loop and the raw-insert ceiling from the same build, as
// functions (bench/ingest.mjs runs the same loop inline; bench/workloads/ use these).
// The engine is driven by its sans-IO calls exactly as the JS host drives it:
// pollRequest → (recorded response) → handleResponse → pollEvent.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TASKS_SCHEMA_SQL, TASK_COLUMNS, packRows, sqliteValues } from './shape-log.mjs';

function ok(json, what) {
  const r = JSON.parse(json);
  if (r.ok === false) throw new Error(`${what}: ${r.code}: ${r.message}`);
  return r;
}

/** A loader of fresh engine module instances (each with its own memory and memory VFS). */
export async function engineLoader(root) {
  const { loadEngineModule } = await import(pathToFileURL(join(root, 'dist/js/wasm-loader.js')).href);
  const moduleUrl = pathToFileURL(join(root, 'dist/wasm/electrolite.mjs'));
  return () => loadEngineModule({ moduleUrl });
}

/** Recorded responses as the engine receives them: body bytes and header JSON, by offset. */
export function prepareLog(responses) {
  const encoder = new TextEncoder();
  return {
    rows: null,
    bodies: responses.map((r) => encoder.encode(r.body)),
    headerJson: responses.map((r) => JSON.stringify(r.headers)),
    byOffset: new Map(responses.map((r, i) => [r.offset, i])),
  };
}

let runId = 0;

/**
 * Opens an engine on `m` (memory VFS), answers its requests from `log` until it goes live,
 * and returns { ms (wall of the loop), handle, rows } with the engine still open
 * (call m.close(handle) when done).
 */
export function ingestEngine(m, log, { expectRows } = {}) {
  const now = Date.UTC(2026, 0, 10);
  const opened = ok(m.open(JSON.stringify({
    path: `bench-engine-${++runId}.db`, baseUrl: 'http://electric.bench', clientId: 'bench',
    nowMs: now, schemaSql: TASKS_SCHEMA_SQL, autoSubscribe: true,
  })), 'open');
  const h = opened.handle;
  const t0 = performance.now();
  for (;;) {
    const text = m.pollRequest(h, now);
    if (text === '') throw new Error('engine issued no request');
    const req = JSON.parse(text);
    if (req.ok === false) throw new Error(`pollRequest: ${req.message}`);
    const url = new URL(req.url);
    if (url.searchParams.get('live') === 'true') break;
    const i = log.byOffset.get(url.searchParams.get('offset'));
    if (i === undefined) throw new Error(`no recorded response for ${req.url}`);
    ok(m.handleResponse(h, now, req.id, 200, log.headerJson[i], log.bodies[i]), `handleResponse #${i}`);
    for (let ev = m.pollEvent(h); ev !== ''; ev = m.pollEvent(h)) {
      const e = JSON.parse(ev);
      if (e.type === 'error') throw new Error(`engine error event: ${e.code}: ${e.message}`);
    }
  }
  const ms = performance.now() - t0;
  const rows = Number(ok(m.query(h, 'SELECT count(*) FROM tasks', '[]'), 'count').rows[0][0]);
  if (expectRows !== undefined && rows !== expectRows) throw new Error(`ingested ${rows} rows, expected ${expectRows}`);
  return { ms, handle: h, rows };
}

/** The raw table and insert statement of the same shape as the engine's `tasks`. */
export function rawSchema() {
  const table = `CREATE TABLE tasks (${TASK_COLUMNS.map((c) => {
    const type = c.type === 'int4' ? 'INTEGER' : 'TEXT';
    return `${c.name} ${type}${c.pkIndex === 0 ? ' PRIMARY KEY' : ''}${c.notNull ? ' NOT NULL' : ''}`;
  }).join(', ')})`;
  const insert = `INSERT INTO tasks VALUES (${TASK_COLUMNS.map(() => '?').join(', ')})`;
  return { table, insert, columns: TASK_COLUMNS.length };
}

/** Rows as SQLite values (ints as BigInt), and the packed form benchRawInsert reads. */
export function rawRows(rows) {
  const values = rows.map((r) => sqliteValues(r));
  return { values, packed: packRows(values) };
}

/** Raw SQLite prepared inserts in this wasm build (benchRawInsert), one transaction per `perTx`. */
export function rawInsertEngine(m, packed, expectRows, perTx = 1000) {
  const s = rawSchema();
  const t0 = performance.now();
  const r = ok(m.benchRawInsert(`bench-raw-${++runId}.db`, s.table, s.insert, s.columns, perTx, packed), 'benchRawInsert');
  const ms = performance.now() - t0;
  if (r.rows !== expectRows) throw new Error(`raw inserted ${r.rows} rows, expected ${expectRows}`);
  return { ms };
}
