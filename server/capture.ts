// Change capture that works on PostgreSQL and on PGlite (which has no logical replication):
// row triggers append every change to `electric_changes`, and a single harvester turns the
// committed ones into an ordered, in-memory transaction log.
//
// Visibility horizon. The harvester runs `DELETE FROM electric_changes RETURNING …` in its own
// transaction: MVCC lets it see (and take) only rows of transactions that had committed when
// its statement started, so a transaction that started early but commits late is harvested
// late and never skipped. Each harvest groups rows by transaction id and orders the groups by
// their largest change id; two transactions that touched the same row are ordered by the row
// lock, so the later one's changes get larger ids, which keeps the order consistent with
// commit order wherever it matters. Every harvested transaction gets the next tx offset
// (persisted in `electric_meta.last_tx`, so offsets never go back across restarts); its
// changes get op positions 0, 2, 4, … (the odd slot is for the second half of a PK change).
//
// Values: the trigger function runs with Electric's display settings (`SET` clauses on the
// function) and stores `NEW::text`, the record's text output, with the column names; the
// harvester parses it back into one text value per column (record.ts).
import type { Upstream } from './upstream.js';
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

export const INSTALL_SQL = `
CREATE TABLE IF NOT EXISTS electric_changes (
  id bigserial PRIMARY KEY,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  schema_name text NOT NULL,
  table_name text NOT NULL,
  op "char" NOT NULL,
  cols text[],
  old_rec text,
  new_rec text
);
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
CREATE OR REPLACE FUNCTION electric_capture_stmt() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO electric_changes (schema_name, table_name, op) VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'T');
  END IF;
  PERFORM pg_notify('${CHANNEL}', '');
  RETURN NULL;
END $fn$;
`;

/** Installs the capture triggers on one table (idempotent). */
export async function captureTable(db: Upstream, schema: string, name: string): Promise<void> {
  const t = qualified({ schema, name });
  const has = await db.query(
    `SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'electric_capture_row'`, [t]);
  if (has.length) return;
  await db.transaction(async (tx) => {
    await tx.query(`DROP TRIGGER IF EXISTS electric_capture_row ON ${t}`);
    await tx.query(`DROP TRIGGER IF EXISTS electric_capture_stmt ON ${t}`);
    await tx.query(`CREATE TRIGGER electric_capture_row AFTER INSERT OR UPDATE OR DELETE ON ${t}
      FOR EACH ROW EXECUTE FUNCTION electric_capture_row()`);
    await tx.query(`CREATE TRIGGER electric_capture_stmt AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t}
      FOR EACH STATEMENT EXECUTE FUNCTION electric_capture_stmt()`);
  });
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

/** Takes every committed change out of electric_changes, as ordered transactions. */
export async function harvest(db: Upstream): Promise<Transaction[]> {
  return db.transaction(async (tx) => {
    const raw = await tx.query<RawChange>(
      `DELETE FROM electric_changes RETURNING id::text, xid::text, schema_name, table_name, op::text,
         array_to_json(cols)::text AS cols, old_rec, new_rec`);
    if (raw.length === 0) return [];
    const groups = new Map<string, RawChange[]>();
    for (const r of raw) {
      let g = groups.get(r.xid);
      if (!g) groups.set(r.xid, (g = []));
      g.push(r);
    }
    const ordered = [...groups.values()].map((g) => {
      g.sort((a, b) => cmpBig(a.id, b.id));
      return g;
    }).sort((a, b) => cmpBig(a[a.length - 1].id, b[b.length - 1].id));
    const [{ last_tx }] = await tx.query<{ last_tx: string }>(
      'UPDATE electric_meta SET last_tx = last_tx + $1 RETURNING last_tx::text', [ordered.length]);
    let next = Number(last_tx) - ordered.length + 1;
    return ordered.map((g) => {
      const xid = BigInt(g[0].xid);
      const relations = new Set<string>();
      const changes = g.map((r, index): Change => {
        const cols: string[] = r.cols ? JSON.parse(r.cols) : [];
        const relation = `${r.schema_name}.${r.table_name}`;
        relations.add(relation);
        return {
          relation, schema: r.schema_name, table: r.table_name, op: r.op as Change['op'], cols,
          old: toRow(cols, r.old_rec), new: toRow(cols, r.new_rec), index,
        };
      });
      return { tx: next++, xid, xid32: Number(xid % 4294967296n), changes, relations };
    });
  });
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
