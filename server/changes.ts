// POST /v1/changes: the write endpoint (DESIGN.md "Write endpoint contract"). One Postgres
// transaction per request, mutation ids as idempotency keys, per-table policies (policy.ts).
// Usable on its own in any Node http server:
//
//   const handle = createChangesHandler({ db: pool, policies, auth: createAuth({ secret }) })
//   http.createServer((req, res) => req.url === '/v1/changes' ? handle(req, res) : …)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Upstream, toUpstream, isPgError, type Queryable } from './upstream.js';
import { type Auth, AuthError, createAuth } from './auth.js';
import { type TableInfo, loadTable, TableNotFound, parseTableName } from './catalog.js';
import {
  type Policies, type Mutation, type MutationResult, type TextRow, applyMutation, policyFor, validatePolicies,
  isOwned, OWNER_COLUMN,
} from './policy.js';
import { BadRequest, DEFAULT_BODY_LIMITS, readJsonBody } from './body.js';
import { DISPLAY_SET } from './shape.js';
import { loadDecision } from './decision.js';
import { AppTables } from './tables.js';

export interface ChangesHandlerOptions {
  /** Where a failed request's cause goes (never to the client). Default: stderr. */
  log?: (line: string) => void;
  /** A connection string, a pg.Pool, a PGlite instance or an Upstream. */
  db: unknown;
  policies?: Policies | unknown;
  /** An Auth from createAuth(), or {secret} to make one. Default: dev mode (no secret). */
  auth?: Auth | { secret?: string | null };
  /**
   * The only tables written: an AppTables, or table names in `schema` added to the tables the
   * policies declare. Default: the tables the policies declare.
   */
  tables?: AppTables | readonly string[];
  /** The schema of the app's tables when `tables` is a list. Default `public`. */
  schema?: string;
  /** Largest accepted body after decompression, bytes. Default 16 MiB. */
  maxBodyBytes?: number;
  /** Most mutations in one request. Default 1000. */
  maxMutations?: number;
  /** How long mutation ids are remembered, days. Default 30. */
  idempotencyDays?: number;
}

const MUTATIONS_SQL = `
CREATE TABLE IF NOT EXISTS electric_mutations (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  client_id text,
  tbl text NOT NULL,
  row_key text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  txid text
);
-- Tables created before R7 answered duplicates with the original txid.
ALTER TABLE electric_mutations ADD COLUMN IF NOT EXISTS txid text;
-- Mutation ids are idempotency keys per user: one user's id never answers for another's write.
ALTER TABLE electric_mutations ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX IF NOT EXISTS electric_mutations_owner_id ON electric_mutations (owner, id);
ALTER TABLE electric_mutations DROP CONSTRAINT IF EXISTS electric_mutations_id_key;
CREATE INDEX IF NOT EXISTS electric_mutations_row ON electric_mutations (tbl, row_key, seq);
CREATE INDEX IF NOT EXISTS electric_mutations_age ON electric_mutations (created_at);`;

export type ChangesHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  /** Applies a parsed body for a caller (no HTTP); used by tests and embedders. */
  apply(body: unknown, userId: string | null): Promise<{ txid: string; results: MutationResult[] }>;
};

export function createChangesHandler(opts: ChangesHandlerOptions): ChangesHandler {
  const db: Upstream = toUpstream(opts.db);
  const policies = validatePolicies(opts.policies ?? {});
  const auth: Auth = opts.auth && 'authenticate' in opts.auth ? opts.auth : createAuth((opts.auth as { secret?: string }) ?? {});
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const log = opts.log ?? ((line: string) => console.error(line));
  const keepDays = opts.idempotencyDays ?? 30;
  const maxMutations = opts.maxMutations ?? 1000;
  const appTables = opts.tables instanceof AppTables ? Promise.resolve(opts.tables)
    : AppTables.declare({ policies, tables: opts.tables as readonly string[] | undefined, schema: opts.schema });
  let ready: Promise<void> | null = null;
  loadDecision().catch(() => undefined);   // ahead of the first request, which retries a failure
  const tables = new Map<string, { at: number; info: Promise<TableInfo> }>();
  let requests = 0;

  const table = async (name: string): Promise<TableInfo> => {
    const hit = tables.get(name);
    if (hit && Date.now() - hit.at < 2000) return hit.info;
    const parsed = parseTableName(name);
    if (!parsed) throw new TableNotFound(`invalid table name ${JSON.stringify(name.slice(0, 200))}`);
    if (!(await appTables).has(parsed.schema, parsed.name)) throw TableNotFound.of(parsed);
    const info = loadTable(db, parsed.schema, parsed.name);
    info.catch(() => tables.delete(name));
    tables.set(name, { at: Date.now(), info });
    return info;
  };

  async function apply(body: unknown, userId: string | null) {
    if (!ready) ready = db.exec(MUTATIONS_SQL).catch((e) => { ready = null; throw e; });
    await ready;
    const { mutations, clientId } = parseBody(body, maxMutations);
    const infos = new Map<string, TableInfo>();
    const errors: string[] = [];
    for (const [i, m] of mutations.entries()) {
      try {
        const t = infos.get(m.table) ?? await table(m.table);
        infos.set(m.table, t);
        checkMutation(m, i, t, policyFor(policies, t.name), userId, errors);
      } catch (e) {
        if (e instanceof TableNotFound) errors.push(`mutations[${i}].table: ${e.message}`);
        else throw e;
      }
    }
    if (errors.length) throw new BadRequest(errors);
    for (const [i, m] of mutations.entries()) {
      const t = infos.get(m.table)!;
      const owner = m.value[OWNER_COLUMN] ?? (m.op === 'insert' ? undefined : m.key[OWNER_COLUMN]);
      if (userId !== null && isOwned(t) && owner !== undefined && owner !== userId) {
        throw new BadRequest([`mutations[${i}]: ${OWNER_COLUMN} must be the caller's id`], 403);
      }
    }
    if (++requests % 500 === 0) {
      void db.query(`DELETE FROM electric_mutations WHERE created_at < now() - make_interval(days => $1)`, [keepDays]).catch(() => {});
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await db.transaction(async (tx) => run(tx, mutations, clientId, infos, userId));
      } catch (e) {
        // Serialization failure / deadlock: the whole transaction rolled back; run it again.
        if (isPgError(e) && (e.code === '40001' || e.code === '40P01') && attempt < 4) continue;
        if (isPgError(e) && /^(22|23|42)/.test(e.code) && e.code !== '42P01') {
          throw new BadRequest([`${(e as { mutation?: string }).mutation ? `mutation ${(e as { mutation?: string }).mutation}: ` : ''}${e.message}`]);
        }
        throw e;
      }
    }
  }

  async function run(tx: Queryable, mutations: Mutation[], clientId: string | null, infos: Map<string, TableInfo>, userId: string | null) {
    // Electric's display settings (row values come back exactly as the shape stream shows them)
    // and the transaction id, in one round trip.
    const [{ txid }] = await tx.query<{ txid: string }>(`SELECT pg_current_xact_id()::xid::text AS txid, ${DISPLAY_SET}`);
    const results: MutationResult[] = [];
    const appliedHere = new Set<string>();   // R5: this request's own earlier writes
    for (const m of mutations) {
      const t = infos.get(m.table)!;
      const rowKey = JSON.stringify(t.pk.map((k) => m.key[k]));
      const tbl = `${t.schema}.${t.name}`;
      const owner = userId ?? '';
      const fresh = await tx.query<{ seq: string }>(
        `INSERT INTO electric_mutations (owner, id, client_id, tbl, row_key, txid) VALUES ($1, $2, $3, $4, $5, $6)
          ON CONFLICT (owner, id) DO NOTHING RETURNING seq::text`,
        [owner, m.id, clientId, tbl, rowKey, txid]);
      if (fresh.length === 0) {
        const [orig] = await tx.query<{ status: string; txid: string | null }>(
          'SELECT status, txid FROM electric_mutations WHERE owner = $1 AND id = $2', [owner, m.id]);
        const original = orig?.status ?? 'applied';
        results.push({ id: m.id, status: 'duplicate', original, ...(original === 'applied' && orig?.txid ? { txid: orig.txid } : {}) });
        continue;
      }
      const lastWriter = async () => {
        const r = await tx.query<{ id: string }>(
          `SELECT id FROM electric_mutations WHERE tbl = $1 AND row_key = $2 AND status = 'applied' AND seq <> $3::bigint
            ORDER BY seq DESC LIMIT 1`, [tbl, rowKey, fresh[0].seq]);
        return r.length ? { id: r[0].id, sameRequest: appliedHere.has(r[0].id) } : null;
      };
      let r: MutationResult;
      try {
        r = await applyMutation(tx, t, policyFor(policies, t.name), m, userId, lastWriter);
      } catch (e) {
        if (e && typeof e === 'object') (e as { mutation?: string }).mutation = m.id;
        throw e;
      }
      await tx.query('UPDATE electric_mutations SET status = $2, reason = $3 WHERE seq = $1::bigint', [fresh[0].seq, r.status, r.reason ?? null]);
      if (r.status === 'applied') appliedHere.add(m.id);
      const hidden = policyFor(policies, t.name).exclude ?? [];
      if (r.row) for (const c of hidden) delete r.row[c];
      results.push(r);
    }
    return { txid, results };
  }

  const handler = (async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method !== 'POST') return send(405, { message: 'Method not allowed: use POST' });
      const { userId } = auth.authenticate(req);
      const body = await readJsonBody(req, { maxBytes: maxBody, maxDepth: DEFAULT_BODY_LIMITS.maxDepth });
      send(200, await apply(body, userId));
    } catch (e) {
      if (e instanceof AuthError) return send(401, { message: `Unauthorized - ${e.message}` });
      if (e instanceof BadRequest) return send(e.status, { message: e.status === 403 ? 'Forbidden' : 'Invalid request', errors: e.errors });
      // The cause goes to the server's log, never to the client (it may be PostgreSQL's text).
      log(`error on POST /v1/changes: ${(e as Error).stack ?? (e as Error).message}`);
      send(isPgError(e) ? 503 : 500, { message: 'Internal server error; retry later' });
    }
  }) as ChangesHandler;
  handler.apply = apply;
  return handler;
}

/** JSON values → Postgres text input: strings as-is, objects/arrays as JSON, null stays null. */
function toText(v: unknown): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

function textRow(v: unknown, where: string, errors: string[]): TextRow {
  if (!v || typeof v !== 'object' || Array.isArray(v)) { errors.push(`${where} must be an object`); return {}; }
  const o: TextRow = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    o[k] = toText(x);
  }
  return o;
}

export function parseBody(body: unknown, maxMutations = 1000): { mutations: Mutation[]; clientId: string | null } {
  const errors: string[] = [];
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest(['body must be a JSON object {client_id, mutations}']);
  const b = body as Record<string, unknown>;
  if (b.client_id !== undefined && b.client_id !== null && typeof b.client_id !== 'string') errors.push('client_id must be a string');
  if (!Array.isArray(b.mutations)) throw new BadRequest([...errors, 'mutations must be an array']);
  if (b.mutations.length > maxMutations) {
    throw new BadRequest([`at most ${maxMutations} mutations per request (got ${b.mutations.length}); send them in batches`], 413);
  }
  const mutations: Mutation[] = [];
  b.mutations.forEach((raw: unknown, i: number) => {
    const w = `mutations[${i}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) { errors.push(`${w} must be an object`); return; }
    const m = raw as Record<string, unknown>;
    if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 200) errors.push(`${w}.id must be a non-empty string (the idempotency key)`);
    if (typeof m.table !== 'string' || m.table.length === 0) errors.push(`${w}.table must be a table name`);
    if (m.op !== 'insert' && m.op !== 'update' && m.op !== 'delete') errors.push(`${w}.op must be one of insert, update, delete`);
    const key = textRow(m.key, `${w}.key`, errors);
    const value = m.value === undefined || m.value === null ? {} : textRow(m.value, `${w}.value`, errors);
    const base = m.base === undefined || m.base === null ? null : textRow(m.base, `${w}.base`, errors);
    if (m.op === 'insert' && (m.value === undefined || m.value === null)) errors.push(`${w}.value is required for insert`);
    if (m.op === 'update' && Object.keys(value).length === 0) errors.push(`${w}.value must set at least one column for update`);
    mutations.push({ id: m.id as string, table: m.table as string, op: m.op as Mutation['op'], key, value, base });
  });
  if (errors.length) throw new BadRequest(errors);
  return { mutations, clientId: (b.client_id as string) ?? null };
}

function checkMutation(m: Mutation, i: number, t: TableInfo, pol: ReturnType<typeof policyFor>, userId: string | null, errors: string[]): void {
  const w = `mutations[${i}]`;
  const names = new Set(t.columns.map((c) => c.name));
  if (t.pk.length === 0) { errors.push(`${w}: table ${t.name} has no primary key and cannot be written`); return; }
  const keyCols = Object.keys(m.key);
  const missing = t.pk.filter((k) => !(k in m.key) || m.key[k] === null);
  const extra = keyCols.filter((k) => !t.pk.includes(k));
  if (missing.length) errors.push(`${w}.key is missing primary key column(s): ${missing.join(', ')}`);
  if (extra.length) errors.push(`${w}.key has non-key column(s): ${extra.join(', ')}`);
  for (const [part, row] of [['value', m.value], ['base', m.base ?? {}]] as const) {
    const unknown = Object.keys(row).filter((c) => !names.has(c));
    if (unknown.length) errors.push(`${w}.${part} has unknown column(s) for ${t.name}: ${unknown.join(', ')}`);
  }
  for (const k of t.pk) {
    if (k in m.value && m.value[k] !== m.key[k]) errors.push(`${w}.value changes primary key column ${k}; delete and insert instead`);
  }
  if ((m.op === 'update' || m.op === 'delete') && m.base === null && pol.writable !== false
      && (pol.policy === 'server-wins' || pol.policy === 'custom')) {
    errors.push(`${w}: ${m.op} on ${t.name} (${pol.policy}) needs base, the row the client saw`);
  }
  void userId;
}
