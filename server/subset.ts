// Subset snapshots (../shared/spec/electric-protocol.md §2.9): a `subset__*` GET or a POST whose
// JSON body holds `{where, params, order_by, limit, offset}` answers one page of the shape's rows
// with the snapshot's visibility (`xmin`, `xmax`, `xip_list`) and `database_lsn`, so a
// `log=changes_only` client can merge it with the stream: a change whose transaction is visible
// in the snapshot is already in the rows, one that is not is delivered by the stream after the
// offset this response names.
//
// Consistency. The rows are read in a REPEATABLE READ READ ONLY transaction under the shape's own
// filter AND the subset's. `database_lsn` is the change-log head after a harvest that started
// once the snapshot was taken: every transaction visible in the snapshot had committed by then,
// so it has a tx offset at or below `database_lsn`, and whatever is logged above it is not in
// the rows. The response's `electric-offset` is the offset the client sent (its stream position
// does not move, so nothing is skipped or sent twice), or for a client that has none yet the
// shape's last offset before the snapshot (everything after it either is in the rows or comes
// through the stream).
//
// The subset's `where` and `order_by` pass the same checks as a shape's `where` (where.ts);
// their parameters are numbered after the shape's own.
import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BadRequest, readJsonBody } from './body.js';
import { qualified } from './catalog.js';
import type { Offset } from './protocol.js';
import { type Shape, DISPLAY_SET, ShapeQueryFailed } from './shape.js';
import { type ShapeService, ShapeLimit } from './shapes.js';
import { checkOrderBy } from './order-by.js';
import { type CheckedWhere, checkWhere, paramsMismatch, WhereError } from './where.js';

/** Rows one subset may return; a larger `limit`, or an unlimited subset past it, is refused. */
export const MAX_SUBSET_ROWS = 100_000;
/** POST bodies of subset requests. */
const BODY_LIMITS = { maxBytes: 1024 * 1024, maxDepth: 64 };

export interface SubsetParams {
  where: string | null;
  params: string[];
  orderBy: string | null;
  limit: number | null;
  offset: number | null;
}

/** A refused subset: `errors` goes under `errors.subset` of the 400 (Electric's nesting). */
export class SubsetError extends Error {
  constructor(readonly errors: Record<string, string[]>) { super('invalid subset'); }
}

const KEYS = ['where', 'params', 'order_by', 'limit', 'offset', 'where_expr', 'order_by_expr'] as const;

/** The subset of a GET's `subset__*` parameters, or null when it has none. */
export function subsetFromQuery(sp: URLSearchParams): SubsetParams | null {
  const raw: Record<string, unknown> = {};
  let any = false;
  for (const [k, v] of sp) {
    if (!k.startsWith('subset__')) continue;
    any = true;
    const name = k.slice('subset__'.length);
    if (name === 'params') {
      try { raw.params = JSON.parse(v); } catch { throw new SubsetError({ params: ['must be a JSON object of parameter values'] }); }
    } else raw[name] = v;
  }
  return any ? validate(raw) : null;
}

/** The subset of a POST body (`{where, …}`, or the legacy `{subset: {where, …}}`). */
export async function subsetFromBody(req: IncomingMessage, query: SubsetParams | null): Promise<SubsetParams> {
  let body: unknown;
  try {
    body = await readJsonBody(req, BODY_LIMITS);
  } catch (e) {
    if (e instanceof BadRequest) throw e;
    throw new BadRequest(['Invalid JSON in request body']);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SubsetError({ body: ['must be a JSON object'] });
  let o = body as Record<string, unknown>;
  if (o.subset && typeof o.subset === 'object' && !Array.isArray(o.subset)) o = o.subset as Record<string, unknown>;
  const fromBody = validate(o);
  if (!query) return fromBody;
  return {
    where: fromBody.where ?? query.where, params: fromBody.params.length ? fromBody.params : query.params,
    orderBy: fromBody.orderBy ?? query.orderBy, limit: fromBody.limit ?? query.limit, offset: fromBody.offset ?? query.offset,
  };
}

function validate(o: Record<string, unknown>): SubsetParams {
  const errors: Record<string, string[]> = {};
  const add = (k: string, m: string) => { (errors[k] ??= []).push(m); };
  for (const k of Object.keys(o)) if (!(KEYS as readonly string[]).includes(k)) add(k, 'is not a subset parameter');
  const str = (k: string): string | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') { add(k, 'must be a string'); return null; }
    return v;
  };
  const int = (k: string, min: number, max: number): number | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) { add(k, `must be an integer of at least ${min}`); return null; }
    if (n > max) { add(k, `must be at most ${max}`); return null; }
    return n;
  };
  const where = str('where');
  const orderBy = str('order_by');
  const limit = int('limit', 1, MAX_SUBSET_ROWS);
  const offset = int('offset', 0, Number.MAX_SAFE_INTEGER);
  const params: string[] = [];
  const p = o.params;
  if (p !== undefined && p !== null) {
    const entries: [string, unknown][] = Array.isArray(p) ? p.map((v, i) => [String(i + 1), v]) : typeof p === 'object' ? Object.entries(p) : [];
    if (typeof p !== 'object') add('params', 'must be a JSON object of parameter values');
    const byNum = new Map<number, string>();
    for (const [k, v] of entries) {
      if (!/^[1-9]\d{0,3}$/.test(k)) { add('params', `parameter names are numbers from 1, not ${JSON.stringify(k).slice(0, 40)}`); break; }
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') { add('params', `parameter ${k} must be a string`); break; }
      byNum.set(Number(k), String(v));
    }
    for (let i = 1; i <= byNum.size; i++) {
      if (!byNum.has(i)) { add('params', `parameters must be numbered 1..${byNum.size} without gaps`); break; }
      params.push(byNum.get(i)!);
    }
  }
  if ((limit !== null || offset !== null) && orderBy === null) add('order_by', 'order_by is required when limit or offset is present');
  if (Object.keys(errors).length) throw new SubsetError(errors);
  return { where, params, orderBy, limit, offset };
}

export interface SubsetResult {
  /** The response body: `{metadata, data}`. */
  body: string;
  /** The offset the client's stream continues from. */
  offset: Offset;
}

/**
 * Reads one subset of `shape`. `excluded` are the policy's hidden columns, which neither
 * clause may read; `clientOffset` is the stream position the client sent (null: none yet).
 */
export async function readSubset(service: ShapeService, shape: Shape, subset: SubsetParams, excluded: Set<string>,
  clientOffset: Offset | null): Promise<SubsetResult> {
  const { sql: filter, params } = shape.filterSql();
  const base = params.length;
  const check = (k: string, f: () => CheckedWhere): CheckedWhere => {
    let c: CheckedWhere;
    try { c = f(); } catch (e) {
      if (e instanceof WhereError) throw new SubsetError({ [k]: [e.message] });
      throw e;
    }
    const hidden = [...c.columns].filter((x) => excluded.has(x));
    if (hidden.length) throw new SubsetError({ [k]: [`column ${hidden[0]} is excluded from sync and cannot be used`] });
    return c;
  };
  const where = subset.where === null ? null : check('where', () => checkWhere(subset.where!, shape.table, { paramBase: base }));
  const order = subset.orderBy === null ? null : check('order_by', () => checkOrderBy(subset.orderBy!, shape.table, { paramBase: base }));
  const mismatch = paramsMismatch([...(where?.params ?? []), ...(order?.params ?? [])], subset.params.length);
  if (mismatch) throw new SubsetError({ params: [mismatch] });
  const conds = [filter, where ? `(${where.sql})` : ''].filter(Boolean);
  const limit = subset.limit ?? MAX_SUBSET_ROWS + 1;
  const t = shape.table;
  const cols = shape.selectList();
  const sql = `SELECT ${cols} FROM ${qualified({ schema: t.schema, name: t.name })}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`
    + `${order ? ` ORDER BY ${order.sql}` : ''} LIMIT ${limit}${subset.offset ? ` OFFSET ${subset.offset}` : ''}`;
  const before = shape.lastOffset;
  const mark = randomInt(1, 2 ** 31 - 1);
  let snapshot = '';
  let rows: Record<string, string | null>[] = [];
  await shape.reader.read(service.db, async (tx) => {
    [{ s: snapshot }] = await tx.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
    rows = await tx.query<Record<string, string | null>>(sql, [...params, ...subset.params]);
  }, { isolation: 'repeatable read' }, DISPLAY_SET).catch((e) => {
    const f = ShapeQueryFailed.from(e);
    if (f instanceof ShapeQueryFailed) throw new SubsetError({ where: [`the subset's query failed: ${f.message}`] });
    throw f;
  });
  if (rows.length > MAX_SUBSET_ROWS) {
    throw new SubsetError({ limit: [`the subset has more than ${MAX_SUBSET_ROWS} rows: page it with limit and order_by`] });
  }
  // Every transaction visible in the snapshot has committed: one harvest gives each a tx offset.
  await service.harvestCommitted();
  if (service.lastError) throw new ShapeLimit('the change log could not be read; retry later', 503);
  const [xmin, xmax, xip] = snapshot.split(':');
  const relation = [t.schema, t.name];
  const data = rows.map((r) => {
    const value: Record<string, string | null> = {};
    shape.selected.forEach((c, i) => { value[c] = r[`c${i}`] ?? null; });
    return JSON.stringify({ key: shape.keyOf(value), value, headers: { operation: 'insert', relation, snapshot_mark: mark, ...shape.tagsOf(r.ct ?? null) } });
  });
  const metadata = {
    xmin, xmax, xip_list: xip ? xip.split(',') : [], snapshot_mark: mark, database_lsn: String(service.log.head),
  };
  return { body: `{"metadata":${JSON.stringify(metadata)},"data":[${data.join(',')}]}`, offset: clientOffset ?? before };
}
