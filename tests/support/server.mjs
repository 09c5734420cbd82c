// Test helpers: a real PostgreSQL (startPostgres) with the dev sync server on top of it, plus a
// few small HTTP helpers for Shape API requests. Import from tests as
//   import { startStack } from '../support/server.mjs'
import pg from 'pg';
import { startPostgres } from './postgres.mjs';

const dist = new URL('../../dist/server/index.js', import.meta.url);

/** Starts PostgreSQL (unless `databaseUrl` is given) and the server on a free port. */
export async function startStack(opts = {}) {
  const { createServer } = await import(dist.href);
  const cluster = opts.databaseUrl ? null : await startPostgres();
  const databaseUrl = opts.databaseUrl ?? cluster.url;
  const logs = [];
  const server = await createServer({
    databaseUrl, longPollMs: 1000, pollMs: 200, log: (l) => logs.push(l), ...opts.server,
  });
  const url = await server.listen(0);
  // Values formatted as the sync service formats them.
  const pool = new pg.Pool({
    connectionString: databaseUrl, max: 30,
    options: '-c timezone=UTC -c datestyle=ISO,DMY -c extra_float_digits=1',
  });
  pool.on('error', () => {});
  return {
    url, server, pool, databaseUrl, logs,
    sql: async (q, p) => (await pool.query(q, p)).rows,
    async stop() {
      await server.close();
      await pool.end().catch(() => {});
      if (cluster) await cluster.stop();
    },
  };
}

/** GET /v1/shape with query params; returns {status, headers, body (parsed JSON or null)}. */
export async function shapeRequest(base, params, headers = {}, method = 'GET') {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.set(k, String(v));
  const res = await fetch(`${base}/v1/shape?${qs}`, { method, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/**
 * A minimal, independent Shape API reader that materialises rows like the Electric client:
 * insert = set, update = merge, delete = remove, must-refetch = restart.
 */
export class ShapeReader {
  constructor(base, params, headers = {}) {
    this.base = base; this.params = params; this.headers = headers;
    this.rows = new Map(); this.offset = '-1'; this.handle = undefined; this.cursor = undefined;
    this.upToDate = false; this.refetches = 0; this.requests = 0; this.txids = new Set();
    // Protocol violations a correct server never causes: an insert of a key we hold, an
    // update or delete of a key we do not hold, an offset that does not move forward.
    this.violations = [];
  }
  async step({ live = this.upToDate } = {}) {
    const p = { ...this.params, offset: this.offset, handle: this.handle };
    if (live) { p.live = 'true'; p.cursor = this.cursor ?? ''; }
    this.requests++;
    const r = await shapeRequest(this.base, p, this.headers);
    if (r.status === 409) {
      this.rows.clear(); this.offset = '-1'; this.handle = r.headers.get('electric-handle') ?? undefined;
      this.upToDate = false; this.refetches++;
      return r;
    }
    if (r.status !== 200) throw new Error(`shape request failed ${r.status}: ${JSON.stringify(r.body)}`);
    this.handle = r.headers.get('electric-handle');
    this.offset = r.headers.get('electric-offset');
    if (r.headers.get('electric-cursor')) this.cursor = r.headers.get('electric-cursor');
    for (const m of r.body) {
      if (m.headers?.control === 'up-to-date') this.upToDate = true;
      if (!('key' in m)) continue;
      for (const t of m.headers.txids ?? []) this.txids.add(t);
      const op = m.headers.operation;
      const held = this.rows.has(m.key);
      if ((op === 'insert' && held) || (op !== 'insert' && !held && this.params.log !== 'changes_only')) {
        this.violations.push(`${op} of ${held ? 'held' : 'unknown'} key ${m.key} at ${m.headers.lsn}_${m.headers.op_position}`);
      }
      if (op === 'insert') this.rows.set(m.key, { ...m.value });
      else if (op === 'update') this.rows.set(m.key, { ...this.rows.get(m.key), ...m.value });
      else if (op === 'delete') this.rows.delete(m.key);
    }
    return r;
  }
  /** Non-live requests until up-to-date. */
  async sync() {
    this.upToDate = false;
    for (let i = 0; i < 1000 && !this.upToDate; i++) await this.step({ live: false });
    return this;
  }
  byId() {
    const o = {};
    for (const v of this.rows.values()) o[v.id] = v;
    return o;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns truthy or `ms` passes. */
export async function until(fn, ms = 10000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

let n = 0;
/** A fresh uuid-shaped id (deterministic prefix per process, unique counter). */
export function uid() {
  n++;
  const hex = (n.toString(16) + Math.random().toString(16).slice(2)).padEnd(32, '0').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * @electric-sql/client's UpToDateTracker schedules a 60 s localStorage-save timer that is not
 * unref'd, which keeps a Node test process alive for a minute after its last test. Call this
 * in test files that use the official client: timers of 30 s or more no longer hold the
 * process open (they still fire if it is running anyway).
 */
export function unrefLongTimers() {
  const orig = globalThis.setTimeout;
  globalThis.setTimeout = function (fn, ms, ...args) {
    const t = orig(fn, ms, ...args);
    if (ms >= 30000 && t && typeof t.unref === 'function') t.unref();
    return t;
  };
}
