// The one seam between the sync service and its database: real PostgreSQL through `pg`, or
// embedded PGlite (a real Postgres compiled to wasm) when no database URL is given.
// Everything above this file speaks `Upstream`; nothing above it imports `pg` or PGlite.
import pg from 'pg';

export interface Row { [column: string]: unknown }

/** Something that runs one statement: the database itself or an open transaction. */
export interface Queryable {
  query<R extends Row = Row>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface TxOptions {
  /** 'repeatable read' for snapshots; default read committed. */
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
}

export interface Upstream extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs `fn` inside BEGIN … COMMIT on one connection; ROLLBACK if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TxOptions): Promise<T>;
  /** Runs a script of several statements (schema files). */
  exec(sql: string): Promise<void>;
  /** Subscribes to NOTIFY on `channel`; returns the unsubscribe function. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

function beginSql(opts?: TxOptions): string {
  let s = 'BEGIN';
  if (opts?.isolation) s += ` ISOLATION LEVEL ${opts.isolation.toUpperCase()}`;
  if (opts?.readOnly) s += ' READ ONLY';
  return s;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL through node-postgres: a pool for queries and transactions, one dedicated client
// for LISTEN (a pooled client could be handed to someone else between notifications).

// Every value crosses as text: the service formats values itself, never through JS types.
const textTypes = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

export class PgUpstream implements Upstream {
  readonly kind = 'pg' as const;
  readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private listener: pg.Client | null = null;
  private readonly handlers = new Map<string, Set<() => void>>();
  private closed = false;

  /** `source`: a connection string (the pool is ours) or the caller's own pool. */
  constructor(source: string | pg.Pool, poolSize = 20) {
    if (typeof source === 'string') {
      this.pool = new pg.Pool({ connectionString: source, max: poolSize, types: textTypes });
      this.pool.on('error', () => { /* an idle client died; the pool replaces it */ });
      this.ownsPool = true;
    } else {
      this.pool = source;
      this.ownsPool = false;
    }
  }

  async query<R extends Row = Row>(sql: string, params?: unknown[]): Promise<R[]> {
    const res = await this.pool.query({ text: sql, values: params as unknown[], types: textTypes });
    return res.rows as R[];
  }

  async exec(sql: string): Promise<void> { await this.pool.query(sql); }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TxOptions): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query(beginSql(opts));
      const tx: Queryable = {
        query: async <R extends Row>(sql: string, params?: unknown[]) =>
          (await client.query({ text: sql, values: params as unknown[], types: textTypes })).rows as R[],
      };
      const out = await fn(tx);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try { await client.query('ROLLBACK'); } catch { broken = true; }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    if (!this.listener) {
      const opts = (this.pool as unknown as { options: pg.ClientConfig }).options;
      const c = new pg.Client({ ...opts });
      c.on('error', () => { /* reconnect below */ });
      c.on('notification', (m) => { for (const h of this.handlers.get(m.channel) ?? []) h(); });
      c.on('end', () => {
        if (this.listener === c) this.listener = null;
        // The harvester also polls, so a lost LISTEN connection only slows delivery down;
        // try to get it back so notifications resume.
        if (!this.closed) setTimeout(() => { void this.relisten(); }, 500).unref();
      });
      await c.connect();
      this.listener = c;
    }
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.listener.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    set.add(onNotify);
    return async () => { set!.delete(onNotify); };
  }

  private async relisten(): Promise<void> {
    if (this.closed || this.listener) return;
    const saved = [...this.handlers].map(([ch, hs]) => [ch, [...hs]] as const);
    this.handlers.clear();
    try {
      for (const [ch, hs] of saved) for (const h of hs) await this.listen(ch, h);
    } catch { if (!this.closed) setTimeout(() => { void this.relisten(); }, 1000).unref(); }
  }

  async close(): Promise<void> {
    this.closed = true;
    const l = this.listener;
    this.listener = null;
    if (l) await l.end().catch(() => {});
    if (this.ownsPool) await this.pool.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// PGlite: one in-process session. Its own mutex serialises transactions and queries.

type PGliteLike = {
  query: (sql: string, params?: unknown[], opts?: object) => Promise<{ rows: unknown[] }>;
  exec: (sql: string) => Promise<unknown>;
  transaction: <T>(fn: (tx: { query: PGliteLike['query'] }) => Promise<T>) => Promise<T>;
  listen: (channel: string, cb: (payload: string) => void) => Promise<() => Promise<void>>;
  close: () => Promise<void>;
  waitReady?: Promise<void>;
};

/**
 * `@electric-sql/pglite` is an optional peer: a server given a PostgreSQL URL never loads it.
 * Without it, say what to install or what to pass instead of Node's bare ERR_MODULE_NOT_FOUND.
 */
async function importPglite(): Promise<typeof import('@electric-sql/pglite')> {
  try {
    return await import('@electric-sql/pglite');
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code !== 'ERR_MODULE_NOT_FOUND' || !/'@electric-sql\/pglite'/.test(e.message ?? '')) throw err;
    throw new Error('no database URL was given, and the embedded database needs @electric-sql/pglite, which is not installed: '
      + 'run `npm install -D @electric-sql/pglite`, or give a PostgreSQL URL '
      + '(electrolite-server --database-url postgres://…, or DATABASE_URL; createServer({ databaseUrl }))', { cause: err });
  }
}

const pgliteText = { parsers: new Proxy({}, { get: () => (v: string) => v }) };

export class PgliteUpstream implements Upstream {
  readonly kind = 'pglite' as const;
  constructor(readonly db: PGliteLike, private readonly owned: boolean) {}

  static async open(dataDir?: string): Promise<PgliteUpstream> {
    const { PGlite } = await importPglite();
    const db = new PGlite(dataDir) as unknown as PGliteLike;
    if (db.waitReady) await db.waitReady;
    return new PgliteUpstream(db, true);
  }

  async query<R extends Row = Row>(sql: string, params?: unknown[]): Promise<R[]> {
    return (await this.db.query(sql, params, pgliteText)).rows as R[];
  }

  async exec(sql: string): Promise<void> { await this.db.exec(sql); }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TxOptions): Promise<T> {
    return this.db.transaction(async (t) => {
      // PGlite's transaction() has already sent BEGIN; the mode must be the first statement.
      if (opts?.isolation || opts?.readOnly) {
        await t.query(`SET TRANSACTION${opts.isolation ? ` ISOLATION LEVEL ${opts.isolation.toUpperCase()}` : ''}${opts.readOnly ? ' READ ONLY' : ''}`);
      }
      return fn({ query: async <R extends Row>(sql: string, params?: unknown[]) => (await t.query(sql, params, pgliteText)).rows as R[] });
    });
  }

  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    const off = await this.db.listen(channel, () => onNotify());
    return async () => { await off(); };
  }

  async close(): Promise<void> { if (this.owned) await this.db.close(); }
}

/** A `pg.Pool`, a connection string, a PGlite instance or an Upstream → an Upstream. */
export function toUpstream(db: unknown): Upstream {
  if (typeof db === 'string') return new PgUpstream(db);
  if (db && typeof db === 'object') {
    const d = db as Record<string, unknown>;
    if (d.kind === 'pg' || d.kind === 'pglite') return db as Upstream;
    if (db instanceof pg.Pool) return new PgUpstream(db);
    if (typeof d.exec === 'function' && typeof d.transaction === 'function' && typeof d.listen === 'function') {
      return new PgliteUpstream(db as PGliteLike, false);
    }
  }
  throw new TypeError('db must be a connection string, a pg.Pool, a PGlite instance or an Upstream');
}

export function isPgError(e: unknown): e is { code: string; message: string; position?: string } {
  return !!e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string';
}
