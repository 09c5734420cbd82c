// GET/HEAD/DELETE /v1/shape: parameter validation (§1.2), the snapshot / log / live responses
// (§1.5, §2, §3) and must-refetch (§2.1) on top of ShapeService.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Auth } from './auth.js';
import { AuthError } from './auth.js';
import { type TableInfo, TableNotFound, parseColumnsParam, parseTableName, schemaHeader } from './catalog.js';
import { type Policies, policyFor, isOwned, OWNER_COLUMN } from './policy.js';
import {
  H, type Offset, BEFORE_ALL, MUST_REFETCH, compareOffsets, formatOffset, nextCursor, parseOffset, upToDate,
} from './protocol.js';
import { type Shape, type ShapeDef, ShapeQueryFailed, defKey } from './shape.js';
import { type ShapeService, ShapeLimit } from './shapes.js';
import type { AppTables } from './tables.js';
import { paramsMismatch, WhereError } from './where.js';
import { type CheckedShapeWhere, type SubqueryRef, checkShapeWhere, subqueryTables } from './subquery.js';
import { BadRequest } from './body.js';
import { SubsetError, readSubset, subsetFromBody, subsetFromQuery } from './subset.js';

export interface ShapeHttpContext {
  service: ShapeService;
  /** The only tables served. */
  tables: AppTables;
  auth: Auth;
  policies: Policies;
  longPollMs: number;
  /** How long one SSE response stays open (Electric: 60 s). */
  sseTimeoutMs?: number;
  /** Shutdown signal: held long-polls answer at once. */
  closing: Closing;
  livePolls: LivePolls;
}

export class Closing {
  closed = false;
  private readonly waiters = new Set<() => void>();
  /** Calls `fn` once when closing starts (at once if it has); returns the unsubscribe. */
  on(fn: () => void): () => void {
    if (this.closed) { fn(); return () => {}; }
    this.waiters.add(fn);
    return () => { this.waiters.delete(fn); };
  }
  close(): void {
    this.closed = true;
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
  }
}

type Errors = Record<string, string[] | Record<string, string[]>>;

class InvalidRequest extends Error {
  constructor(readonly errors: Errors) { super('Invalid request'); }
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | null, head: boolean): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(head || body === null ? undefined : body);
}

export async function handleShape(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ShapeHttpContext): Promise<void> {
  const head = req.method === 'HEAD';
  let userId: string | null;
  try {
    userId = ctx.auth.authenticate(req).userId;
  } catch (e) {
    if (e instanceof AuthError) {
      return send(res, 401, { 'cache-control': 'no-store' }, JSON.stringify({ message: `Unauthorized - ${e.message}` }), head);
    }
    throw e;
  }
  const privacy = userId !== null ? 'private' : 'public';
  try {
    if (req.method === 'DELETE') return await deleteShape(res, url, ctx, userId);
    const q = parseParams(url);
    let subset = subsetFromQuery(url.searchParams);
    if (req.method === 'POST') subset = await subsetFromBody(req, subset);
    const table = await loadTableOr400(ctx, q.table!, q.live ? 1000 : 0);
    const def = buildDef(q, table, ctx.policies, userId, await innerTables(ctx, q, table));
    const reqOffset = q.offset!;
    const base: Record<string, string> = { vary: 'authorization' };

    const currentShape = async (): Promise<Shape> => {
      try {
        return await ctx.service.getShape(def, table, userId ?? '');
      } catch (e) {
        if (e instanceof ShapeQueryFailed) throw new InvalidRequest({ where: [`the shape's query failed: ${e.message}`] });
        throw e;
      }
    };
    const refetch = async (): Promise<void> => {
      const fresh = await currentShape();
      send(res, 409, { ...base, [H.handle]: fresh.handle, 'cache-control': `${privacy}, max-age=60, must-revalidate` }, MUST_REFETCH, head);
    };
    const respond = (shape: Shape, status: number, msgs: string[], offset: Offset, opts: { live: boolean; upToDate: boolean; hasData: boolean; cache: string }) => {
      const h: Record<string, string> = {
        ...base, [H.handle]: shape.handle, [H.offset]: formatOffset(offset), [H.hasData]: String(opts.hasData),
        'cache-control': opts.cache,
      };
      if (opts.upToDate) h[H.upToDate] = '';
      if (opts.live) h[H.cursor] = nextCursor(Date.now(), ctx.longPollMs / 1000, q.cursor);
      else h[H.schema] = schemaHeader(table, shape.selected);
      let etag = `"${shape.handle}:${formatOffset(reqOffset)}:${formatOffset(offset)}`;
      if (!opts.hasData) etag += `:${process.hrtime.bigint()}`;
      h.etag = `${etag}"`;
      if (req.headers['if-none-match'] === h.etag) return send(res, 304, h, null, true);
      send(res, status, h, `[${msgs.join(',')}]`, head);
    };

    if (subset) {
      // A subset snapshot (§2.9): the shape's current incarnation, checked like a log request.
      const fresh = reqOffset === BEFORE_ALL || q.now;
      const shape = fresh ? await currentShape() : ctx.service.byHandleGet(q.handle!);
      if (!shape || shape.retired || shape.key !== defKey(def) || shape.table.signature !== table.signature) return await refetch();
      shape.lastUsed = Date.now();
      const excluded = new Set(policyFor(ctx.policies, table.name).exclude ?? []);
      const r = await readSubset(ctx.service, shape, subset, excluded, fresh ? null : reqOffset);
      return send(res, 200, {
        ...base, [H.handle]: shape.handle, [H.offset]: formatOffset(r.offset), [H.schema]: schemaHeader(table, shape.selected),
        [H.snapshot]: 'true', [H.hasData]: 'true', 'cache-control': 'no-cache',
      }, r.body, head);
    }
    if (reqOffset === BEFORE_ALL) {
      const shape = await currentShape();
      shape.lastUsed = Date.now();
      const chunk = shape.snapshotChunks[0];
      const last = shape.snapshotChunks.length === 1;
      return respond(shape, 200, chunk, { tx: 0, op: last ? 0 : 0 }, {
        live: false, upToDate: false, hasData: true,
        cache: `${privacy}, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746`,
      });
    }
    if (q.now) {
      const shape = await currentShape();
      shape.lastUsed = Date.now();
      return respond(shape, 200, [upToDate(shape.processedTx)], shape.lastOffset, {
        live: false, upToDate: true, hasData: false, cache: `${privacy}, max-age=60, stale-while-revalidate=300`,
      });
    }

    const shape = ctx.service.byHandleGet(q.handle!);
    if (!shape || shape.retired || shape.key !== defKey(def) || shape.table.signature !== table.signature) {
      if (shape && !shape.retired && shape.key === defKey(def)) shape.retire('schema change');
      return await refetch();
    }
    shape.lastUsed = Date.now();
    // Fell off the retained log (or the snapshot it continues from is no longer followed by a
    // complete log): refetch.
    if ((reqOffset.tx > 0 && reqOffset.tx < shape.trimmedTx) || (reqOffset.tx === 0 && shape.trimmedTx > shape.startTx)) {
      return await refetch();
    }
    // Snapshot chunks 0_0 … 0_N.
    if (reqOffset.tx === 0 && reqOffset.op !== Infinity && reqOffset.op + 1 < shape.snapshotChunks.length) {
      const i = reqOffset.op + 1;
      return respond(shape, 200, shape.snapshotChunks[i], { tx: 0, op: i }, {
        live: false, upToDate: false, hasData: true, cache: `${privacy}, max-age=60, stale-while-revalidate=300`,
      });
    }

    // Tail and live requests, SSE included, count against the user's limit while they are open.
    const held = ctx.livePolls.hold(userId ?? '');
    if (!held) {
      return send(res, 429, { 'cache-control': 'no-store', 'retry-after': '5' }, JSON.stringify({
        message: `Too many requests - this user already holds ${ctx.livePolls.max} live requests`,
      }), head);
    }
    res.once('close', held);
    if (q.sse) return await serveSse(req, res, shape, reqOffset, ctx, q, { ...base, 'cache-control': `${privacy}, max-age=59` }, head);

    const liveCache = `${privacy}, max-age=5, stale-while-revalidate=5`;
    const tailCache = `${privacy}, max-age=60, stale-while-revalidate=300`;
    const outOfBounds = compareOffsets(reqOffset, shape.lastOffset) > 0;
    const serveLog = (): boolean => {
      const { items, complete } = shape.entriesAfter(reqOffset, ctx.service.chunkBytes);
      if (items.length === 0) return false;
      const msgs = items.map((e) => e.json);
      const end = items[items.length - 1].offset;
      if (complete) msgs.push(upToDate(Math.max(shape.processedTx, end.tx)));
      respond(shape, 200, msgs, end, { live: q.live, upToDate: complete, hasData: true, cache: q.live ? liveCache : tailCache });
      return true;
    };
    if (serveLog()) return;
    const emptyOffset = reqOffset.tx === 0 ? shape.lastOffset : reqOffset;
    if (!q.live && !outOfBounds) {
      return respond(shape, 200, [upToDate(shape.processedTx)], emptyOffset, { live: false, upToDate: true, hasData: true, cache: tailCache });
    }
    // Hold the request until the shape's log grows, it is retired, time runs out or we shut down.
    const timeout = outOfBounds ? ctx.longPollMs / 2 : ctx.longPollMs;
    const deadline = Date.now() + timeout;
    for (;;) {
      const w = shape.waitForChange();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now())); });
      let offClose = () => {};
      const closed = new Promise<'closing'>((r) => { offClose = ctx.closing.on(() => r('closing')); });
      let onGone = () => {};
      const gone = new Promise<'gone'>((r) => { onGone = () => { if (!res.writableEnded) r('gone'); }; res.once('close', onGone); });
      const why = await Promise.race([w.promise.then(() => 'change' as const), timedOut, closed, gone]);
      clearTimeout(timer);
      w.cancel();
      offClose();
      res.off('close', onGone);
      if (why === 'gone') return;
      shape.lastUsed = Date.now();
      if (shape.retired) return await refetch();
      if (why === 'change' && serveLog()) return;
      if (why === 'change' && Date.now() < deadline) continue;
      if (outOfBounds && why === 'timeout') {
        return send(res, 400, { 'cache-control': 'no-store' }, JSON.stringify({ message: 'Invalid request', errors: { offset: ['out of bounds for this shape'] } }), head);
      }
      return respond(shape, 200, [upToDate(shape.processedTx)], emptyOffset, { live: q.live, upToDate: true, hasData: false, cache: liveCache });
    }
  } catch (e) {
    if (e instanceof SubsetError) {
      return send(res, 400, { 'cache-control': 'no-store', 'surrogate-control': 'no-store' }, JSON.stringify({ message: 'Invalid request', errors: { subset: e.errors } }), head);
    }
    if (e instanceof BadRequest) {
      const error = e.status === 413 ? 'Request body too large' : 'Invalid JSON in request body';
      return send(res, e.status, { 'cache-control': 'no-store' }, JSON.stringify({ error, details: e.errors }), head);
    }
    if (e instanceof InvalidRequest) {
      return send(res, 400, { 'cache-control': 'no-store', 'surrogate-control': 'no-store' }, JSON.stringify({ message: 'Invalid request', errors: e.errors }), head);
    }
    if (e instanceof ShapeLimit) {
      return send(res, e.status, { 'cache-control': 'no-store', 'retry-after': '10' }, JSON.stringify({ message: e.message }), head);
    }
    throw e;
  }
}

/** Live requests held per user; a user past `max` is answered 429 at once. */
export class LivePolls {
  private readonly held = new Map<string, number>();
  constructor(readonly max: number) {}
  /** Counts one more held request of `who`; returns its release, or null over the limit. */
  hold(who: string): (() => void) | null {
    const n = this.held.get(who) ?? 0;
    if (n >= this.max) return null;
    this.held.set(who, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(who) ?? 1) - 1;
      if (left > 0) this.held.set(who, left); else this.held.delete(who);
    };
  }
}

/**
 * `live=true&live_sse=true` (§3.3): one `text/event-stream` response that stays open for
 * sseTimeoutMs, sending `data: <message>` events and, after each batch, an up-to-date whose
 * `global_last_seen_lsn` is the batch's last tx (the TS client resumes from `${lsn}_0`).
 */
async function serveSse(req: IncomingMessage, res: ServerResponse, shape: Shape, from: Offset, ctx: ShapeHttpContext,
  q: Params, headers: Record<string, string>, head: boolean): Promise<void> {
  res.writeHead(200, {
    ...headers, 'content-type': 'text/event-stream', 'x-accel-buffering': 'no',
    ...(req.httpVersionMajor >= 2 ? {} : { connection: 'keep-alive' }),   // connection headers are HTTP/1 only
    [H.handle]: shape.handle, [H.offset]: formatOffset(from), [H.cursor]: nextCursor(Date.now(), ctx.longPollMs / 1000, q.cursor),
  });
  if (head) return void res.end();
  res.flushHeaders();
  const deadline = Date.now() + (ctx.sseTimeoutMs ?? 60000);
  let offset = from;
  let gone = false;
  const left = new Promise<'gone'>((r) => { res.once('close', () => { gone = true; r('gone'); }); });
  try {
    while (!gone && !shape.retired && !ctx.closing.closed && Date.now() < deadline) {
      const { items, complete } = shape.entriesAfter(offset, ctx.service.chunkBytes);
      if (items.length) {
        let out = '';
        for (const e of items) out += `data: ${e.json}\n\n`;
        offset = items[items.length - 1].offset;
        if (complete) out += `data: ${upToDate(offset.tx)}\n\n`;
        res.write(out);
        shape.lastUsed = Date.now();
        continue;
      }
      const w = shape.waitForChange();
      let timer: NodeJS.Timeout | undefined;
      const wait = Math.min(21000, deadline - Date.now());
      const idle = new Promise<'idle'>((r) => { timer = setTimeout(() => r('idle'), Math.max(0, wait)); });
      let offClose = () => {};
      const closed = new Promise<'closing'>((r) => { offClose = ctx.closing.on(() => r('closing')); });
      const why = await Promise.race([w.promise.then(() => 'change' as const), idle, closed, left]);
      clearTimeout(timer);
      w.cancel();
      offClose();
      if (why === 'idle' && Date.now() < deadline && !gone) res.write(': keep-alive\n\n');
    }
  } finally {
    if (!res.writableEnded) res.end();
  }
  void req;
}

interface Params {
  table: string | null;
  offset: Offset | null;
  now: boolean;
  handle: string | null;
  live: boolean;
  sse: boolean;
  cursor: string | null;
  where: string | null;
  params: string[];
  columns: string[] | null;
  replica: 'default' | 'full';
  log: 'full' | 'changes_only';
}

function parseParams(url: URL): Params {
  const sp = url.searchParams;
  const errors: Errors = {};
  const add = (k: string, m: string) => { ((errors[k] ??= []) as string[]).push(m); };
  const table = sp.get('table');
  if (!table) add('table', "can't be blank");
  const offsetRaw = sp.get('offset');
  let offset: Offset | null = null;
  let now = false;
  if (offsetRaw === null || offsetRaw === '') add('offset', "can't be blank");
  else if (offsetRaw === 'now') { now = true; offset = { tx: 0, op: Infinity }; }
  else {
    offset = parseOffset(offsetRaw);
    if (!offset) add('offset', 'has invalid format');
  }
  const handle = sp.get('handle');
  const live = sp.has('live') && sp.get('live') !== 'false';
  const liveSse = (sp.has('live_sse') && sp.get('live_sse') !== 'false') || (sp.has('experimental_live_sse') && sp.get('experimental_live_sse') !== 'false');
  if (offset && offset !== BEFORE_ALL && !now && !handle) add('handle', "can't be blank when offset != -1");
  if (live && offset === BEFORE_ALL) add('live', "can't be true when offset == -1");
  if (live && now) add('live', "can't be true when offset is 'now'");
  if (liveSse && !live) add('live_sse', "can't be true unless live is also true");
  const replica = sp.get('replica') ?? 'default';
  if (replica !== 'default' && replica !== 'full') add('replica', 'is invalid');
  const log = sp.get('log') ?? 'full';
  if (log !== 'full' && log !== 'changes_only') add('log', 'is invalid');
  let columns: string[] | null = null;
  const colRaw = sp.get('columns');
  if (colRaw !== null) {
    columns = parseColumnsParam(colRaw);
    if (!columns) add('columns', 'Invalid columns list');
  }
  const where = sp.get('where');
  const pmap = new Map<number, string>();
  for (const [k, v] of sp) {
    const m = /^params\[(\d+)\]$/.exec(k);
    if (m) pmap.set(Number(m[1]), v);
  }
  const params: string[] = [];
  for (let i = 1; i <= pmap.size; i++) {
    if (!pmap.has(i)) { add('params', `parameters must be numbered 1..${pmap.size} without gaps`); break; }
    params.push(pmap.get(i)!);
  }
  if (Object.keys(errors).length) throw new InvalidRequest(errors);
  return {
    table, offset, now, handle: now || offset === BEFORE_ALL ? null : handle, live, sse: live && liveSse, cursor: sp.get('cursor'),
    where, params, columns, replica: replica as Params['replica'], log: log as Params['log'],
  };
}

async function loadTableOr400(ctx: ShapeHttpContext, name: string, maxAgeMs: number): Promise<TableInfo> {
  const t = parseTableName(name);
  if (!t) throw new InvalidRequest({ table: [`Invalid table name ${JSON.stringify(name)}`] });
  if (!ctx.tables.has(t.schema, t.name)) throw new InvalidRequest({ table: [TableNotFound.of(t).message] });
  try {
    return await ctx.service.table(t.schema, t.name, maxAgeMs);
  } catch (e) {
    if (e instanceof TableNotFound) throw new InvalidRequest({ table: [e.message] });
    throw e;
  }
}

/** The app tables a where clause's subquery names, loaded (others are left out: not found). */
async function innerTables(ctx: ShapeHttpContext, q: Params, table: TableInfo): Promise<Map<string, TableInfo>> {
  const out = new Map<string, TableInfo>();
  for (const ref of q.where ? subqueryTables(q.where, table.schema) : []) {
    if (!ctx.tables.has(ref.schema, ref.name)) continue;
    try {
      out.set(`${ref.schema}.${ref.name}`, await ctx.service.table(ref.schema, ref.name, q.live ? 1000 : 0));
    } catch (e) {
      if (!(e instanceof TableNotFound)) throw e;
    }
  }
  return out;
}

function buildDef(q: Params, table: TableInfo, policies: Policies, userId: string | null, inner: Map<string, TableInfo>): ShapeDef {
  const names = table.columns.map((c) => c.name);
  const excluded = new Set(policyFor(policies, table.name).exclude ?? []);
  let columns: string[] | null = null;
  if (q.columns) {
    const unknown = q.columns.filter((c) => !names.includes(c));
    if (unknown.length) throw new InvalidRequest({ columns: [`The following columns are not found on the table: ${unknown.join(', ')}`] });
    const hidden = q.columns.filter((c) => excluded.has(c));
    if (hidden.length) throw new InvalidRequest({ columns: [`The following columns are excluded from sync: ${hidden.join(', ')}`] });
    const missing = table.pk.filter((k) => !q.columns!.includes(k));
    if (missing.length) throw new InvalidRequest({ columns: [`The list of columns must include all primary key columns, missing: ${missing.join(', ')}`] });
    columns = names.filter((c) => q.columns!.includes(c));
  } else if (excluded.size) {
    columns = names.filter((c) => !excluded.has(c));
  }
  let where: string | null = null;
  let sub: ShapeDef['sub'] = null;
  if (q.where !== null) {
    let checked: CheckedShapeWhere;
    try {
      checked = checkShapeWhere(q.where, table, (r: SubqueryRef) => inner.get(`${r.schema}.${r.name}`) ?? null);
    } catch (e) {
      if (e instanceof WhereError) throw new InvalidRequest({ where: [e.message] });
      throw e;
    }
    const hidden = [...checked.columns].filter((c) => excluded.has(c));
    if (checked.subquery) {
      const innerExcluded = new Set(policyFor(policies, checked.subquery.table).exclude ?? []);
      hidden.push(...[...checked.innerColumns].filter((c) => innerExcluded.has(c)));
      const innerTable = inner.get(`${checked.subquery.schema}.${checked.subquery.table}`)!;
      sub = { ...checked.subquery, ownerColumn: userId !== null && isOwned(innerTable) ? OWNER_COLUMN : null };
    }
    if (hidden.length) throw new InvalidRequest({ where: [`column ${hidden[0]} is excluded from sync and cannot be filtered on`] });
    const mismatch = paramsMismatch(checked.params, q.params.length);
    if (mismatch) throw new InvalidRequest({ params: [`where clause: ${mismatch}`] });
    where = checked.plain;
  }
  const owned = userId !== null && isOwned(table);
  return {
    schema: table.schema, table: table.name, where, params: q.params, columns,
    replica: q.replica, log: q.log, ownerColumn: owned ? OWNER_COLUMN : null,
    ownerValue: owned || sub?.ownerColumn ? userId : null, sub,
  };
}

async function deleteShape(res: ServerResponse, url: URL, ctx: ShapeHttpContext, userId: string | null): Promise<void> {
  const name = url.searchParams.get('table');
  if (!name) throw new InvalidRequest({ table: ["can't be blank"] });
  const t = await loadTableOr400(ctx, name, 0);
  ctx.service.deleteShapes(t.schema, t.name, url.searchParams.get('handle') ?? undefined, userId);
  res.writeHead(202, { 'cache-control': 'no-cache' });
  res.end();
}
