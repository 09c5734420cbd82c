// Electrolite's development sync service: an Electric-compatible Shape API (GET /v1/shape) and
// the write endpoint (POST /v1/changes) over PostgreSQL, or over embedded PGlite when no
// database URL is given.
import http from 'node:http';
import http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Upstream, PgUpstream, PgliteUpstream, toUpstream } from './upstream.js';
import { type Auth, createAuth, DEV_WARNING } from './auth.js';
import { type Policies, validatePolicies } from './policy.js';
import { createChangesHandler } from './changes.js';
import { ShapeService } from './shapes.js';
import { INSTALL_SQL, userTables } from './capture.js';
import { handleShape, Closing, LivePolls } from './shape-http.js';
import { AppTables } from './tables.js';
import { BadRequest, readJsonBody } from './body.js';
import { loadWhereParser } from './where.js';
import { EXPOSED_HEADERS, SERVER_NAME } from './protocol.js';
import { serveStatic } from './static.js';

export { createChangesHandler } from './changes.js';
export type { ChangesHandler, ChangesHandlerOptions } from './changes.js';
export { createAuth, signJwt, verifyJwt, AuthError } from './auth.js';
export type { Auth } from './auth.js';
export { validatePolicies, applyMutation } from './policy.js';
export type { Policies, TablePolicy, Mutation, MutationResult, LastWriter } from './policy.js';
export { PgUpstream, PgliteUpstream, toUpstream } from './upstream.js';
export type { Upstream, Queryable } from './upstream.js';
export { ShapeService } from './shapes.js';
export { AppTables } from './tables.js';

const PKG_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_SCHEMA = join(PKG_ROOT, 'schema', 'schema.sql');
export const DEMO_POLICIES = join(PKG_ROOT, 'schema', 'policies.json');

export interface ServerOptions {
  /** PostgreSQL URL. Without one (and without `db`), embedded PGlite in `dataDir`. */
  databaseUrl?: string | null;
  /** PGlite data folder (default ./.electrolite-data); `memory://` keeps it in memory. */
  dataDir?: string;
  /** An existing database instead (pg.Pool, PGlite, connection string or Upstream). */
  db?: unknown;
  /** HS256 secret for JWTs. Absent → dev auth mode (loud warning). */
  authSecret?: string | null;
  /** Schema applied on first start to an empty database (default: the demo schema). `false`: never. */
  schemaFile?: string | false;
  /** Policies object or path to a policies.json (default: the demo policies). */
  policies?: Policies | string;
  /**
   * Tables served and written besides those the policies and the schema file declare (names
   * in `tableSchema`). No other table is ever read or written.
   */
  tables?: string[];
  /** The schema the app's tables live in (default `public`). */
  tableSchema?: string;
  /** Refuse tokens without `exp` (default: on with an auth secret). */
  requireExp?: boolean;
  /** When set, tokens' `aud` must name it. */
  jwtAudience?: string;
  /** When set, tokens' `iss` must equal it. */
  jwtIssuer?: string;
  /** Statement timeout of shape queries (snapshots, where filtering), ms. Default 30 000. */
  queryTimeoutMs?: number;
  /** Live shapes per user (default 100) and in all (default 2000). */
  maxShapesPerUser?: number;
  maxShapes?: number;
  /** Shape data (snapshots and logs) per user (default 512 MiB) and in all (default 2 GiB), bytes. */
  maxShapeBytesPerUser?: number;
  maxShapeBytes?: number;
  /** Live and tail requests one user may hold open at once. Default 50. */
  maxLivePerUser?: number;
  /** Longest request URL, bytes. Default 12 288: room for an 8 KB where clause (Node refuses request heads over 16 KiB with 431 anyway). */
  maxUrlBytes?: number;
  longPollMs?: number;
  /** How long one SSE (`live_sse`) response stays open; default 60 000 ms. */
  sseTimeoutMs?: number;
  logRetention?: number;
  pollMs?: number;
  chunkBytes?: number;
  shapeIdleMs?: number;
  /** One log line per request. */
  debug?: boolean;
  /** Folder served at / (the demo page). */
  staticDir?: string | null;
  /**
   * PEM certificate and key: serve HTTPS with HTTP/2 (HTTP/1.1 still accepted). Over HTTP/2 a
   * browser multiplexes every live poll on one connection, so no table waits for a slot.
   */
  tls?: { cert: string | Buffer; key: string | Buffer } | null;
  /** Where log lines go (default console.error). */
  log?: (line: string) => void;
}

export interface ElectroliteServer {
  readonly http: http.Server | http2.Http2SecureServer;
  readonly service: ShapeService;
  readonly db: Upstream;
  readonly auth: Auth;
  url: string;
  listen(port?: number, host?: string): Promise<string>;
  /** Graceful: held long-polls answer, in-flight writes finish, then the database closes. */
  close(): Promise<void>;
}

export async function createServer(opts: ServerOptions = {}): Promise<ElectroliteServer> {
  const log = opts.log ?? ((l: string) => console.error(l));
  await loadWhereParser();
  const db: Upstream = opts.db ? toUpstream(opts.db)
    : opts.databaseUrl ? new PgUpstream(opts.databaseUrl)
      : await PgliteUpstream.open(opts.dataDir ?? './.electrolite-data');
  const ownsDb = !opts.db;
  const policies = validatePolicies(typeof opts.policies === 'string' || opts.policies === undefined
    ? JSON.parse(readFileSync(opts.policies ?? DEMO_POLICIES, 'utf8')) : opts.policies);
  await db.exec(INSTALL_SQL);
  const auth = createAuth({
    secret: opts.authSecret ?? null, devSecret: opts.authSecret ? undefined : await devSecret(db),
    requireExp: opts.requireExp, audience: opts.jwtAudience, issuer: opts.jwtIssuer,
  });
  if (auth.dev) log(DEV_WARNING);
  const schemaFile = opts.schemaFile === false ? null : opts.schemaFile ?? DEMO_SCHEMA;
  const tables = await AppTables.declare({
    schema: opts.tableSchema, tables: opts.tables, policies, schemaSql: schemaFile ? readFileSync(schemaFile, 'utf8') : null,
  });
  if (schemaFile) {
    const [{ applied }] = await db.query<{ applied: string }>('SELECT schema_applied::text AS applied FROM electric_meta');
    if (applied !== 'true' && applied !== 't') {
      if ((await userTables(db)).length === 0) {
        await db.exec(readFileSync(schemaFile, 'utf8'));
        log(`applied schema ${schemaFile}`);
      }
      await db.query('UPDATE electric_meta SET schema_applied = true');
    }
  }

  const service = new ShapeService(db, {
    logRetention: opts.logRetention, pollMs: opts.pollMs, chunkBytes: opts.chunkBytes, shapeIdleMs: opts.shapeIdleMs,
    tables, queryTimeoutMs: opts.queryTimeoutMs, maxShapesPerUser: opts.maxShapesPerUser, maxShapes: opts.maxShapes,
    maxShapeBytesPerUser: opts.maxShapeBytesPerUser, maxShapeBytes: opts.maxShapeBytes,
    log: opts.debug ? log : undefined,
  });
  await service.start();
  const changes = createChangesHandler({ db, policies, auth, tables, log });
  const closing = new Closing();
  const ctx = {
    service, auth, policies, tables, longPollMs: opts.longPollMs ?? 20000, sseTimeoutMs: opts.sseTimeoutMs, closing,
    livePolls: new LivePolls(opts.maxLivePerUser ?? 50),
  };
  const maxUrl = opts.maxUrlBytes ?? 12288;
  let inflight = 0;
  let drained: (() => void) | null = null;

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = Date.now();
    inflight++;
    res.on('close', () => {
      inflight--;
      if (opts.debug) log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`);
      if (inflight === 0 && drained) drained();
    });
    res.setHeader('access-control-allow-origin', req.headers.origin ?? '*');
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    res.setHeader('electric-server', SERVER_NAME);
    if (req.headers.origin) res.setHeader('vary', 'origin');
    void route(req, res).catch((e: Error) => {
      log(`error on ${req.method} ${req.url}: ${e.stack ?? e.message}`);
      if (!res.headersSent) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ message: 'Service unavailable; retry' })); // the cause is in the log above, not for the client
      } else res.destroy();
    });
  };
  const server = opts.tls
    ? http2.createSecureServer({ cert: opts.tls.cert, key: opts.tls.key, allowHTTP1: true },
      onRequest as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)
    : http.createServer(onRequest);
  const sessions = new Set<http2.ServerHttp2Session>();
  if (opts.tls) {
    (server as http2.Http2SecureServer).on('session', (sess) => { sessions.add(sess); sess.once('close', () => sessions.delete(sess)); });
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if ((req.url ?? '').length > maxUrl) {
      res.writeHead(414, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      return void res.end(JSON.stringify({ message: `URI too long: at most ${maxUrl} bytes` }));
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/{2,}/g, '/').replace(/\/$/, '') || '/';
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, HEAD, POST, DELETE, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, content-encoding, if-none-match, traceparent',
        'access-control-max-age': '86400',
      });
      return void res.end();
    }
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    switch (decodeURIComponent(path)) {
      case '/v1/shape':
        if (!['GET', 'HEAD', 'POST', 'DELETE'].includes(req.method ?? '')) return json(405, { message: 'Method not allowed' });
        return handleShape(req, res, url, ctx);
      case '/v1/changes':
        return changes(req, res);
      case '/v1/health':
        return json(200, { status: service.lastError ? 'degraded' : 'active', shapes: service.shapeCount, last_tx: String(service.log.head) });
      case '/v1/token':
        return issueToken(req, res, auth, json);
      default:
        if (opts.staticDir && (req.method === 'GET' || req.method === 'HEAD') && !path.startsWith('/v1/')) {
          if (await serveStatic(opts.staticDir, path, req, res)) return;
        }
        return json(404, { message: 'Not found' });
    }
  }

  let closed: Promise<void> | null = null;
  const self: ElectroliteServer = {
    http: server, service, db, auth, url: '',
    listen(port = 5133, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const addr = server.address() as { port: number };
          self.url = `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
          resolve(self.url);
        });
      });
    },
    close() {
      if (closed) return closed;
      closed = (async () => {
        closing.close();
        const stopped = new Promise<void>((r) => server.close(() => r()));
        (server as http.Server).closeIdleConnections?.();
        if (inflight > 0) {
          let t: NodeJS.Timeout | undefined;
          await Promise.race([
            new Promise<void>((r) => { drained = r; }),
            new Promise<void>((r) => { t = setTimeout(r, 10000); }),
          ]);
          clearTimeout(t);
        }
        (server as http.Server).closeAllConnections?.();
        for (const sess of sessions) sess.destroy();
        await stopped;
        await service.stop();
        if (ownsDb) await db.close();
      })();
      return closed;
    },
  };
  return self;
}

async function issueToken(req: http.IncomingMessage, res: http.ServerResponse, auth: Auth, json: (s: number, b: unknown) => void): Promise<void> {
  if (req.method !== 'POST') return json(405, { message: 'Method not allowed: use POST' });
  if (!auth.dev) return json(404, { message: 'POST /v1/token is only available in dev auth mode (no --auth-secret)' });
  let body: { userId?: unknown; user_id?: unknown };
  try {
    body = await readJsonBody(req, { maxBytes: 65536, maxDepth: 4 }) as typeof body;
  } catch (e) {
    if (!(e instanceof BadRequest)) throw e;
    return json(e.status, { message: 'Invalid request', errors: [...e.errors, 'body must be JSON {"userId": "..."}'] });
  }
  const userId = body?.userId ?? body?.user_id;
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 200) {
    return json(400, { message: 'Invalid request', errors: ['userId must be a non-empty string'] });
  }
  json(200, { token: auth.issue(userId), userId });
}

/** The dev-mode signing secret, kept in the database so dev tokens outlive a restart. */
async function devSecret(db: Upstream): Promise<string> {
  await db.exec('ALTER TABLE electric_meta ADD COLUMN IF NOT EXISTS dev_secret text');
  await db.query('UPDATE electric_meta SET dev_secret = $1 WHERE dev_secret IS NULL', [randomBytes(32).toString('hex')]);
  const [{ secret }] = await db.query<{ secret: string }>('SELECT dev_secret AS secret FROM electric_meta');
  return secret;
}

export function defaultStaticDir(): string | null {
  // The built demo (demo/build.mjs bundles demo/ into dist/demo), not its sources.
  const d = join(PKG_ROOT, 'dist', 'demo');
  return existsSync(join(d, 'index.html')) ? d : null;
}
