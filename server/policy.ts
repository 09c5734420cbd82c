// Conflict policies of the write endpoint (POST /v1/changes). The client engine (src/) decides
// the same way; these rules are the contract, keep both sides in step.
//
// ============================== POLICY RULES ==============================================
// Inputs. A request is a list of mutations m = {id, table, op, key, value, base}. Each is applied
// in order inside ONE Postgres transaction. For m on table T:
//   cur   = the row of T with key m.key that the caller owns (owned tables: user_id = caller;
//           a row of another user is treated as absent), read FOR UPDATE.
//   value = the columns the client sets (insert: the new row; update: changed columns;
//           delete: optional, only its timestamp column is used).
//   base  = what the client saw before its change (optional; column → value).
//   ts    = the policy's timestamp column (policies.json "timestamp"; default "updated_at").
// Values are compared with Postgres semantics of the column's type; NULL equals NULL and
// sorts below every value.
//
// R0 Refusals (checked first):
//   a. unknown table, unknown column in key/value/base, key ≠ exactly the PK columns → HTTP 400,
//      nothing applied.
//   b. owned table (has user_id) and value.user_id present and ≠ caller → HTTP 403, nothing applied.
//      On insert a missing user_id is filled with the caller's id.
//   c. table with "writable": false → this mutation is `rejected`, reason "read_only".
//   d. update/delete on a server-wins or custom table without base → HTTP 400.
// R1 Stamping: if T has column ts and an insert/update's value does not set it, the write sets
//    ts = now() (transaction time), and that is the value used in R4.
// R2 Missing rows: update of an absent row → rejected "not_found" (row null);
//    delete of an absent row → applied (nothing to do).
// R3 Conflict: m conflicts with cur iff
//      insert and cur exists; or
//      update/delete and base is absent; or
//      update/delete and some column c of base has cur[c] ≠ base[c].
//    No conflict → applied.
// R4 A conflict is resolved by T's policy:
//    last-write-wins: t_in = value[ts] (after R1; delete: value[ts] if sent, else now()),
//      t_cur = cur[ts]. t_in > t_cur → applied; t_in < t_cur → rejected "stale";
//      equal → R5.
//    importance (order [c1, c2, c3], default importance, last_accessed_at, updated_at):
//      candidate = cur overlaid with value (after R1). Compare (candidate.c1, c2, c3) with
//      (cur.c1, c2, c3) lexicographically: greater → applied; smaller → rejected "lower_importance";
//      equal → R5. A conflicting delete is rejected "conflict".
//    server-wins (and custom, whose merge happens on the client, which then writes the merged
//      row with base = the server row it merged with): rejected "conflict".
// R5 Tie: the incoming write wins iff w was applied earlier in the same request (a request's
//    mutations are the client's writes in order; stamped by R1 they share the transaction time),
//    or m.id > w.id (plain string comparison of the ids), where w is the last mutation this
//    endpoint applied to that row; if none is recorded the server's row wins (rejected "stale").
//    (A client cannot know w.id; it should predict "server wins" on a tie and take the server's
//    answer.)
// R6 Insert on an existing row, when it wins, becomes an update of cur with the insert's value.
// R7 Idempotency: m.id is recorded in the same transaction, per user; a mutation id the same user
//    sent before (in an earlier request or earlier in this one) is answered `duplicate` with its original status
//    and, when that was `applied`, the txid of the transaction that applied it (so a client
//    whose first answer was lost still matches the write's echo on the shape stream); it is
//    never applied again.
// Results: applied → row = the row as written (every column, Postgres text); rejected → row =
//    cur (or null); the response's txid is pg_current_xact_id()::xid of the transaction.
// ==========================================================================================
import type { Queryable } from './upstream.js';
import { type TableInfo, type Column, qualified, quoteIdent } from './catalog.js';

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
  /** Compares typed tuples a and b: 1, 0 or -1 (NULL lowest). */
  const compare = async (cols: string[], a: TextRow, b: TextRow): Promise<number> => {
    reset();
    const terms = cols.map((c) => {
      const C = col(t, c);
      const x = p(a[c] ?? null, C), y = p(b[c] ?? null, C);
      return `CASE WHEN ${x} IS NOT DISTINCT FROM ${y} THEN 0 WHEN ${x} IS NULL THEN -1 WHEN ${y} IS NULL THEN 1
                   WHEN ${x} > ${y} THEN 1 ELSE -1 END`;
    });
    const [r] = await tx.query<{ r: string }>(`SELECT (${terms.map((s, i) => `(${s}) * ${3 ** (cols.length - i)}`).join(' + ')})::text AS r`, params);
    return Math.sign(Number(r.r));
  };
  const baseMatches = async (cur: TextRow): Promise<boolean> => {
    const cols = Object.keys(m.base ?? {});
    if (cols.length === 0) return true;
    return eqAll(cols, cur);
  };
  const eqAll = async (cols: string[], cur: TextRow): Promise<boolean> => {
    reset();
    const terms = cols.map((c) => `(${p(m.base![c], col(t, c))} IS NOT DISTINCT FROM ${p(cur[c], col(t, c))})`);
    const [r] = await tx.query<{ ok: string }>(`SELECT (${terms.join(' AND ')})::text AS ok`, params);
    return r.ok === 'true' || r.ok === 't';
  };
  const tieBreak = async (cur: TextRow): Promise<MutationResult> => {
    const w = await lastWriter();
    if (w !== null && (w.sameRequest || m.id > w.id)) return win();
    return { id: m.id, status: 'rejected', reason: 'stale', row: cur };
  };
  const win = async (): Promise<MutationResult> => {
    if (m.op === 'delete') { await doDelete(); return { id: m.id, status: 'applied', row: null }; }
    const row = await doUpdate();
    return { id: m.id, status: 'applied', row };
  };

  if (pol.writable === false) return { id: m.id, status: 'rejected', reason: 'read_only', row: await readCur() };

  let cur = await readCur();
  if (m.op === 'insert' && !cur) {
    const row = await doInsert();
    if (row) return { id: m.id, status: 'applied', row };
    // Another unique constraint, a row of another user, or a row inserted concurrently.
    cur = await readCur();
    if (!cur) return { id: m.id, status: 'rejected', reason: 'conflict', row: null };
  }
  if (!cur) {
    if (m.op === 'delete') return { id: m.id, status: 'applied', row: null };
    return { id: m.id, status: 'rejected', reason: 'not_found', row: null };
  }
  // R3
  const conflict = m.op === 'insert' || m.base === null || !(await baseMatches(cur));
  if (!conflict) return win();

  // R4
  if (pol.policy === 'last-write-wins' && hasTs) {
    const tIn: TextRow = { [tsCol]: m.op === 'delete' ? (m.value[tsCol] ?? await now()) : value[tsCol] };
    const c = await compare([tsCol], tIn, cur);
    if (c > 0) return win();
    if (c < 0) return { id: m.id, status: 'rejected', reason: 'stale', row: cur };
    return tieBreak(cur);
  }
  if (pol.policy === 'importance') {
    if (m.op === 'delete') return { id: m.id, status: 'rejected', reason: 'conflict', row: cur };
    const order = (pol.order ?? ['importance', 'last_accessed_at', 'updated_at']).filter((c) => allCols.includes(c));
    const candidate = { ...cur, ...value };
    const c = await compare(order, candidate, cur);
    if (c > 0) return win();
    if (c < 0) return { id: m.id, status: 'rejected', reason: 'lower_importance', row: cur };
    return tieBreak(cur);
  }
  return { id: m.id, status: 'rejected', reason: 'conflict', row: cur };
}
