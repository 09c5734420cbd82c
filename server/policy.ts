// The write endpoint's side of conflict policies (POST /v1/changes): the SQL. Which mutation
// is applied and which rejected is decided by the engine's own compiled rules
// (src/conflict_policy.h "THE RULES", R0-R5, through decision.ts), so the endpoint and
// every client decide the same way; tests/fixtures/conflict-cases/ holds the cases both run.
//
// Around the decision, per mutation m = {id, table, op, key, value, base} on table T, in
// the request's ONE Postgres transaction:
//   cur = the row of T with m.key that the caller owns (owned tables: user_id = caller; a row
//         of another user is treated as absent), read FOR UPDATE.
//   R1 stamping: if T has the policy's timestamp column (default updated_at) and an
//      insert/update's value does not set it, it is set to now() (the transaction time).
//   Values are compared as their column's Postgres type (types from pg_catalog).
// Refusals checked by changes.ts first: unknown table/column, key not exactly the primary key
// (400); an owned table's user_id not the caller (403); update/delete on a server-wins or
// custom table without base (400).
// Idempotency (R7): m.id is recorded in the same transaction, per user; a mutation id the same
// user sent before is answered `duplicate` with its original status and, when that was
// `applied`, the txid of the transaction that applied it; it is never applied again.
// Results: applied -> row = the row as written (every column, Postgres text); rejected ->
// row = cur (or null); the response's txid is pg_current_xact_id()::xid of the transaction.
import type { Queryable } from './upstream.js';
import { type TableInfo, type Column, qualified, quoteIdent } from './catalog.js';
import { type DecisionInput, type Verdict, columnTypes, decide } from './decision.js';

export type PolicyName = 'last-write-wins' | 'server-wins' | 'importance' | 'custom';

export interface TablePolicy {
  policy: PolicyName;
  timestamp?: string;
  order?: string[];
  writable?: boolean;
  exclude?: string[];
  [k: string]: unknown;
}

export type Policies = Record<string, TablePolicy>;

export const DEFAULT_POLICY: TablePolicy = { policy: 'server-wins', writable: true };

export function policyFor(policies: Policies, table: string): TablePolicy {
  const p = policies[table];
  return p && typeof p === 'object' ? p : DEFAULT_POLICY;
}

/** Checks a policies.json object; throws with what is wrong. */
export function validatePolicies(p: unknown): Policies {
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error('policies must be a JSON object');
  const out: Policies = {};
  for (const [t, v] of Object.entries(p as Record<string, unknown>)) {
    if (t.startsWith('$')) continue;
    const e = v as TablePolicy;
    if (!e || typeof e !== 'object') throw new Error(`policies.${t} must be an object`);
    if (!['last-write-wins', 'server-wins', 'importance', 'custom'].includes(e.policy)) {
      throw new Error(`policies.${t}.policy must be last-write-wins, server-wins, importance or custom`);
    }
    // The fields the conflict decision reads (it refuses these wrongly typed, per mutation).
    if (e.writable !== undefined && typeof e.writable !== 'boolean') throw new Error(`policies.${t}.writable must be true or false`);
    if (e.timestamp !== undefined && (typeof e.timestamp !== 'string' || e.timestamp === '')) throw new Error(`policies.${t}.timestamp must be a column name`);
    if (e.order !== undefined && (!Array.isArray(e.order) || e.order.some((c) => typeof c !== 'string'))) {
      throw new Error(`policies.${t}.order must be a list of column names`);
    }
    if (e.exclude !== undefined && (!Array.isArray(e.exclude) || e.exclude.some((c) => typeof c !== 'string'))) {
      throw new Error(`policies.${t}.exclude must be a list of column names`);
    }
    out[t] = e;
  }
  return out;
}

export type Text = string | null;
export type TextRow = Record<string, Text>;

export interface Mutation {
  id: string;
  table: string;
  op: 'insert' | 'update' | 'delete';
  key: TextRow;
  value: TextRow;
  base: TextRow | null;
}

export interface MutationResult {
  id: string;
  status: 'applied' | 'rejected' | 'duplicate';
  reason?: string;
  original?: string;
  /** duplicate of an applied mutation: the txid that applied it (R7). */
  txid?: string;
  row?: TextRow | null;
}

export const OWNER_COLUMN = 'user_id';

export function isOwned(t: TableInfo): boolean {
  return t.columns.some((c) => c.name === OWNER_COLUMN);
}

const intIn = (bits: number) => (v: string): boolean => {
  if (!/^(0|-?[1-9]\d{0,18})$/.test(v)) return false;
  const n = BigInt(v), lim = 1n << BigInt(bits - 1);
  return n >= -lim && n < lim;
};
/** Owner column types whose text form of a value is unique: when the caller's id is that form, it compares in the type. */
const CANONICAL_TEXT: Record<string, (v: string) => boolean> = {
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v),
  int2: intIn(16), int4: intIn(32), int8: intIn(64),
};

/**
 * A shape's row restriction: the owner column's text equals the caller's id (`param`, whose value
 * is `id`). Written so an index on the column can serve it: a text or varchar column compares as
 * it is; a uuid or integer column compares in its own type when `id` is that type's canonical
 * text (`col = $n::uuid` holds for exactly the rows `col::text = $n` does), and as text otherwise
 * (no such row has that text, so the caller owns none).
 */
export function ownerCondition(t: TableInfo, column: string, id: string | null, param: string): string {
  const c = t.columns.find((x) => x.name === column);
  const col = quoteIdent(column);
  const typed = c && c.dims === 0 && id !== null ? CANONICAL_TEXT[c.typname] : undefined;
  if (typed?.(id!)) return `${col} OPERATOR(pg_catalog.=) ${param}::pg_catalog.${c!.typname}`;
  return `${col}::text = ${param}`;
}

function col(t: TableInfo, name: string): Column {
  const c = t.columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
}

/** The last mutation this endpoint applied to a row (R5), and whether the current request did. */
export interface LastWriter {
  id: string;
  sameRequest: boolean;
}

/** Applies one mutation under its table's policy (R1–R6). Runs inside the request's transaction. */
export async function applyMutation(
  tx: Queryable, t: TableInfo, pol: TablePolicy, m: Mutation, caller: string | null, lastWriter: () => Promise<LastWriter | null>,
): Promise<MutationResult> {
  const T = qualified(t);
  const allCols = t.columns.map((c) => c.name);
  const selectList = allCols.map((c, i) => `${quoteIdent(c)}::text AS c${i}`).join(', ');
  const toRow = (r: Record<string, unknown>): TextRow => {
    const o: TextRow = {};
    allCols.forEach((c, i) => { o[c] = r[`c${i}`] as Text; });
    return o;
  };
  const params: Text[] = [];
  const p = (v: Text, c: Column) => { params.push(v); return `$${params.length}::${c.fmt}`; };
  const keyWhere = () => {
    const parts = t.pk.map((k) => `${quoteIdent(k)} = ${p(m.key[k], col(t, k))}`);
    if (caller !== null && isOwned(t)) parts.push(`${quoteIdent(OWNER_COLUMN)}::text = ${p(caller, { fmt: 'text' } as Column)}`);
    return parts.join(' AND ');
  };
  const reset = () => { params.length = 0; };

  const readCur = async (): Promise<TextRow | null> => {
    reset();
    const rows = await tx.query(`SELECT ${selectList} FROM ${T} WHERE ${keyWhere()} FOR UPDATE`, params);
    return rows.length ? toRow(rows[0]) : null;
  };

  const tsCol = pol.timestamp ?? 'updated_at';
  const hasTs = allCols.includes(tsCol);
  let nowText: Text | null = null;
  const now = async () => {
    if (nowText === null) nowText = ((await tx.query<{ n: string }>('SELECT now()::text AS n'))[0]).n;
    return nowText;
  };
  const value: TextRow = { ...m.value };
  if (m.op !== 'delete' && hasTs && !(tsCol in value)) value[tsCol] = await now();   // R1
  if (m.op === 'insert') {
    for (const k of t.pk) value[k] = m.key[k];
    if (caller !== null && isOwned(t) && !(OWNER_COLUMN in value)) value[OWNER_COLUMN] = caller;
  }

  const doInsert = async (): Promise<TextRow | null> => {
    reset();
    const cols = Object.keys(value);
    const vals = cols.map((c) => p(value[c], col(t, c)));
    const rows = await tx.query(`INSERT INTO ${T} (${cols.map(quoteIdent).join(', ')}) VALUES (${vals.join(', ')})
      ON CONFLICT DO NOTHING RETURNING ${selectList}`, params);
    return rows.length ? toRow(rows[0]) : null;
  };
  const doUpdate = async (): Promise<TextRow | null> => {
    reset();
    const cols = Object.keys(value).filter((c) => !t.pk.includes(c) || value[c] !== m.key[c]);
    if (cols.length === 0) return readCur();
    const sets = cols.map((c) => `${quoteIdent(c)} = ${p(value[c], col(t, c))}`).join(', ');
    const rows = await tx.query(`UPDATE ${T} SET ${sets} WHERE ${keyWhere()} RETURNING ${selectList}`, params);
    return rows.length ? toRow(rows[0]) : null;
  };
  const doDelete = async () => {
    reset();
    await tx.query(`DELETE FROM ${T} WHERE ${keyWhere()}`, params);
  };

  const types = columnTypes(t);
  const decideFor = async (cur: TextRow | null): Promise<Verdict> => {
    const input: DecisionInput = {
      policy: pol, types, op: m.op, id: m.id, value: m.op === 'delete' ? m.value : value, base: m.base, server: cur,
      // Only a last-write-wins delete may compete at the transaction time: ask for it then.
      ...(m.op === 'delete' && hasTs && pol.policy === 'last-write-wins' ? { now: await now() } : {}),
    };
    const v = await decide(input);
    return v.status === 'needLastWriter' ? decide({ ...input, lastWriter: await lastWriter() }) : v;
  };

  let cur = await readCur();
  for (;;) {
    const v = await decideFor(cur);
    if (v.status !== 'applied') return { id: m.id, status: 'rejected', reason: v.reason ?? 'conflict', row: cur };
    switch (v.action) {
      case 'insert': {
        const row = await doInsert();
        if (row) return { id: m.id, status: 'applied', row };
        // Another unique constraint, a row of another user, or a row inserted concurrently.
        cur = await readCur();
        if (!cur) return { id: m.id, status: 'rejected', reason: 'conflict', row: null };
        continue;   // decide again against the row that is there
      }
      case 'update': return { id: m.id, status: 'applied', row: await doUpdate() };
      case 'delete': await doDelete(); return { id: m.id, status: 'applied', row: null };
      default: return { id: m.id, status: 'applied', row: null };
    }
  }
}
