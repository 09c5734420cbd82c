// Change capture that works on PostgreSQL and on PGlite (which has no logical replication):
// triggers append every change to `electric_changes` (inserts and deletes once per statement
// from transition tables, updates per row), and a harvester turns the committed ones into an
// ordered, in-memory transaction log.
//
// Visibility horizon. The harvester assigns tx offsets in its own transaction:
// `SELECT … WHERE tx IS NULL` sees only rows of transactions that had committed when the
// statement started (MVCC), so a transaction that started early but commits late is harvested
// late and never skipped. Each harvest groups rows by transaction id and orders the groups by
// their largest change id; two transactions that touched the same row are ordered by the row
// lock, so the later one's changes get larger ids, which keeps the order consistent with
// commit order wherever it matters. Each group gets the next tx offset (`electric_meta.last_tx`,
// so offsets never go back across restarts); its changes get op positions 0, 2, 4, … (the odd
// slot is for the second half of a PK change). Assignment runs under a transaction-scoped
// advisory lock, so several server processes can share one database: each one then reads the
// assigned rows with `tx > (last seen)`, and since assignments commit one after another, what
// a reader sees is always a gap-free prefix of the tx sequence. Old rows are pruned by
// retention.
//
// Values: the trigger function runs with Electric's display settings (`SET` clauses on the
// function) and stores `NEW::text`, the record's text output, with the column names; the
// harvester parses it back into one text value per column (record.ts).
import { type Upstream, isPgError } from './upstream.js';
import { parseRecord } from './record.js';
import { quoteIdent, qualified } from './catalog.js';

export const CHANNEL = 'electric_changes';

export interface Change {
  relation: string;            // "schema.table" (internal key, not the wire form)
  schema: string;
  table: string;
  op: 'I' | 'U' | 'D' | 'T';
  cols: string[];
  old: Record<string, string | null> | null;
  new: Record<string, string | null> | null;
  index: number;               // position in the transaction (op position = 2 * index)
}

export interface Transaction {
  tx: number;                  // tx offset
  xid: bigint;                 // xid8
  xid32: number;
  changes: Change[];
  relations: Set<string>;
}

const DISPLAY_SETTINGS = `SET datestyle = 'ISO, DMY' SET timezone = 'UTC' SET intervalstyle = 'iso_8601'
  SET extra_float_digits = 1 SET bytea_output = 'hex'`;

/**
 * The statement-level capture function `electric_capture_<name>`: every row of the transition
 * table `transition` becomes one `op` change holding the row in `column`.
 */
function bulkCapture(name: string, op: 'I' | 'D', column: 'new_rec' | 'old_rec', transition: string): string {
  return `CREATE OR REPLACE FUNCTION electric_capture_${name}() RETURNS trigger LANGUAGE plpgsql
  ${DISPLAY_SETTINGS} AS $fn$
DECLARE c text[] := ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped ORDER BY attnum);
BEGIN
  INSERT INTO electric_changes (schema_name, table_name, op, cols, ${column})
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, '${op}', c, electric_rec::text FROM ${transition} electric_rec;
  PERFORM pg_notify('${CHANNEL}', '');
  RETURN NULL;
END $fn$;`;
}

export const INSTALL_SQL = `
CREATE TABLE IF NOT EXISTS electric_changes (
  id bigserial PRIMARY KEY,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  schema_name text NOT NULL,
  table_name text NOT NULL,
  op "char" NOT NULL,
  cols text[],
  old_rec text,
  new_rec text,
  tx bigint
);
ALTER TABLE electric_changes ADD COLUMN IF NOT EXISTS tx bigint;
CREATE INDEX IF NOT EXISTS electric_changes_unassigned ON electric_changes (id) WHERE tx IS NULL;
CREATE INDEX IF NOT EXISTS electric_changes_tx ON electric_changes (tx) WHERE tx IS NOT NULL;
CREATE TABLE IF NOT EXISTS electric_meta (
  id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  last_tx bigint NOT NULL DEFAULT 0,
  schema_applied boolean NOT NULL DEFAULT false
);
INSERT INTO electric_meta (id) VALUES (1) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION electric_capture_row() RETURNS trigger LANGUAGE plpgsql
  ${DISPLAY_SETTINGS} AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO electric_changes (schema_name, table_name, op, cols, new_rec)
      VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'I', ARRAY(SELECT json_object_keys(to_json(NEW))), NEW::text);
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO electric_changes (schema_name, table_name, op, cols, old_rec, new_rec)
      VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'U', ARRAY(SELECT json_object_keys(to_json(NEW))), OLD::text, NEW::text);
  ELSE
    INSERT INTO electric_changes (schema_name, table_name, op, cols, old_rec)
      VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'D', ARRAY(SELECT json_object_keys(to_json(OLD))), OLD::text);
  END IF;
  RETURN NULL;
END $fn$;
-- Bulk path: inserts and deletes are captured once per statement from the transition table
-- (one INSERT … SELECT instead of one trigger call per row); updates stay row-level since
-- they need old and new images paired.
${bulkCapture('ins', 'I', 'new_rec', 'electric_new')}
${bulkCapture('del', 'D', 'old_rec', 'electric_old')}
CREATE OR REPLACE FUNCTION electric_capture_stmt() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO electric_changes (schema_name, table_name, op) VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'T');
  END IF;
  PERFORM pg_notify('${CHANNEL}', '');
  RETURN NULL;
END $fn$;
`;

/**
 * Installs the capture triggers on one table (idempotent). Where transition tables are not
 * allowed (e.g. a table with inheritance children) every operation is captured row by row.
 */
export async function captureTable(db: Upstream, schema: string, name: string): Promise<void> {
  const t = qualified({ schema, name });
  const has = await db.query(
    `SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname IN ('electric_capture_ins', 'electric_capture_all')`, [t]);
  if (has.length) return;
  const install = (bulk: boolean) => db.transaction(async (tx) => {
    // CREATE TRIGGER waits for transactions writing the table; don't queue everyone behind it.
    await tx.query(`SET LOCAL lock_timeout = '5s'`);
    for (const trg of ['electric_capture_row', 'electric_capture_stmt', 'electric_capture_ins', 'electric_capture_del', 'electric_capture_all']) {
      await tx.query(`DROP TRIGGER IF EXISTS ${trg} ON ${t}`);
    }
    if (bulk) {
      await tx.query(`CREATE TRIGGER electric_capture_ins AFTER INSERT ON ${t}
        REFERENCING NEW TABLE AS electric_new FOR EACH STATEMENT EXECUTE FUNCTION electric_capture_ins()`);
      await tx.query(`CREATE TRIGGER electric_capture_del AFTER DELETE ON ${t}
        REFERENCING OLD TABLE AS electric_old FOR EACH STATEMENT EXECUTE FUNCTION electric_capture_del()`);
      await tx.query(`CREATE TRIGGER electric_capture_row AFTER UPDATE ON ${t}
        FOR EACH ROW EXECUTE FUNCTION electric_capture_row()`);
      await tx.query(`CREATE TRIGGER electric_capture_stmt AFTER UPDATE OR TRUNCATE ON ${t}
        FOR EACH STATEMENT EXECUTE FUNCTION electric_capture_stmt()`);
    } else {
      await tx.query(`CREATE TRIGGER electric_capture_all AFTER INSERT OR UPDATE OR DELETE ON ${t}
        FOR EACH ROW EXECUTE FUNCTION electric_capture_row()`);
      await tx.query(`CREATE TRIGGER electric_capture_stmt AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t}
        FOR EACH STATEMENT EXECUTE FUNCTION electric_capture_stmt()`);
    }
  });
  try {
    await install(true);
  } catch (e) {
    if (!isPgError(e) || e.code !== '0A000') throw e;   // feature_not_supported: no transition tables here
    await install(false);
  }
}

/** Every ordinary table of the user's schemas (not ours, not the system's). */
export async function userTables(db: Upstream): Promise<{ schema: string; name: string }[]> {
  const rows = await db.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'
        AND c.relname NOT LIKE 'electric\\_%' ORDER BY 1, 2`);
  return rows;
}

type RawChange = {
  id: string; xid: string; schema_name: string; table_name: string; op: string;
  cols: string | null; old_rec: string | null; new_rec: string | null;
};

function toRow(cols: string[], rec: string | null): Record<string, string | null> | null {
  if (rec === null) return null;
  const vals = parseRecord(rec);
  if (vals.length !== cols.length) throw new Error(`record has ${vals.length} fields for ${cols.length} columns`);
  const row: Record<string, string | null> = {};
  cols.forEach((c, i) => { row[c] = vals[i]; });
  return row;
}

const ASSIGN_LOCK = 7234090113; // pg_advisory_xact_lock key of the tx-offset assigner

/**
 * Gives every committed, unassigned change its transaction's tx offset (see top of file). When
 * another process holds the assigner's lock this returns at once (that process assigns), unless
 * `wait`: then it waits its turn, so every change committed before the call is assigned after it.
 */
export async function assign(db: Upstream, opts: { wait?: boolean } = {}): Promise<number> {
  return db.transaction(async (tx) => {
    if (opts.wait) {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ASSIGN_LOCK]);
    } else {
      const [{ locked }] = await tx.query<{ locked: string }>('SELECT pg_try_advisory_xact_lock($1)::text AS locked', [ASSIGN_LOCK]);
      if (locked !== 'true' && locked !== 't') return 0;   // another process is assigning right now
    }
    // A plain index scan, never a bitmap scan: assigning a tx updates each row, which leaves a
    // dead entry in the unassigned index until VACUUM. An index scan marks those entries dead
    // as it passes them, so the next pass skips them in the index; a bitmap scan would visit
    // the heap for every one again, on every pass (after a 1M-row transaction: ~0.5 s each).
    await tx.query(`SELECT set_config('enable_bitmapscan', 'off', true), ${SERIAL}`);
    const raw = await tx.query<{ id: string; xid: string }>(
      'SELECT id::text, xid::text FROM electric_changes WHERE tx IS NULL');
    if (raw.length === 0) return 0;
    const groups = new Map<string, string[]>();
    for (const r of raw) {
      let g = groups.get(r.xid);
      if (!g) groups.set(r.xid, (g = []));
      g.push(r.id);
    }
    const ordered = [...groups.values()].map((g) => g.sort(cmpBig)).sort((a, b) => cmpBig(a[a.length - 1], b[b.length - 1]));
    const [{ last_tx }] = await tx.query<{ last_tx: string }>(
      'UPDATE electric_meta SET last_tx = last_tx + $1 RETURNING last_tx::text', [ordered.length]);
    let next = Number(last_tx) - ordered.length + 1;
    const ids: string[] = [];
    const txs: number[] = [];
    for (const g of ordered) {
      for (const id of g) { ids.push(id); txs.push(next); }
      next++;
    }
    await tx.query(`UPDATE electric_changes c SET tx = v.tx FROM
      (SELECT unnest($1::text[])::bigint AS id, unnest($2::text[])::bigint AS tx) v WHERE c.id = v.id`,
    [pgArray(ids), pgArray(txs.map(String))]);
    return ordered.length;
  });
}

function pgArray(xs: string[]): string { return `{${xs.join(',')}}`; }

/**
 * The harvest's queries run serially. Until ANALYZE catches up with a large assignment the
 * planner expects the whole table after `tx > head` and plans parallel workers, whose start-up
 * (~20 ms) then dominates every pass that finds nothing or a few rows.
 */
const SERIAL = `set_config('max_parallel_workers_per_gather', '0', true)`;

/** Reads the assigned transactions after `after`, in order. */
export async function readAssigned(db: Upstream, after: number): Promise<Transaction[]> {
  const raw = await db.transaction(async (tx) => {
    await tx.query(`SELECT ${SERIAL}`);
    return tx.query<RawChange & { tx: string }>(
      `SELECT c.id::text AS id, c.xid::text AS xid, c.schema_name, c.table_name, c.op::text AS op,
              array_to_json(c.cols)::text AS cols, c.old_rec, c.new_rec, c.tx::text AS tx
         FROM electric_changes c WHERE c.tx > $1 ORDER BY c.tx, c.id`, [after]);
  });
  const out: Transaction[] = [];
  const colsCache = new Map<string, string[]>();
  let cur: Transaction | null = null;
  for (const r of raw) {
    const txn = Number(r.tx);
    if (!cur || cur.tx !== txn) {
      const xid = BigInt(r.xid);
      cur = { tx: txn, xid, xid32: Number(xid % 4294967296n), changes: [], relations: new Set() };
      out.push(cur);
    }
    let cols = colsCache.get(r.cols ?? '');
    if (!cols) { cols = r.cols ? JSON.parse(r.cols) as string[] : []; colsCache.set(r.cols ?? '', cols); }
    const relation = `${r.schema_name}.${r.table_name}`;
    cur.relations.add(relation);
    cur.changes.push({
      relation, schema: r.schema_name, table: r.table_name, op: r.op as Change['op'], cols,
      old: toRow(cols, r.old_rec), new: toRow(cols, r.new_rec), index: cur.changes.length,
    });
  }
  return out;
}

/** Deletes logged changes at or before tx `upTo` (log retention in the database). */
export async function prune(db: Upstream, upTo: number): Promise<void> {
  await db.query('DELETE FROM electric_changes WHERE tx <= $1', [upTo]);
}

function cmpBig(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The in-memory transaction log: bounded, with a trim horizon. */
export class ChangeLog {
  readonly txs: Transaction[] = [];
  /** Transactions with tx ≤ trimmedTx are gone. */
  trimmedTx = 0;
  head = 0;

  constructor(readonly retention: number) {}

  append(txs: Transaction[]): void {
    for (const t of txs) {
      this.txs.push(t);
      this.head = t.tx;
    }
    const excess = this.txs.length - this.retention;
    if (excess > 0) {
      this.trimmedTx = this.txs[excess - 1].tx;
      this.txs.splice(0, excess);
    }
  }

  /** Transactions with tx > after, oldest first. */
  since(after: number): Transaction[] {
    let lo = 0, hi = this.txs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.txs[mid].tx <= after) lo = mid + 1; else hi = mid;
    }
    return this.txs.slice(lo);
  }
}

export { quoteIdent };
