// Public types of the client API (docs/client-api.md). Plain data only, so every value
// here can cross a postMessage boundary unchanged (the browser runs the engine host in a Worker).

import type { OpenPhases } from './open-phases.js';

export type { OpenPhases };

export type Row = Record<string, unknown>;
export type Params = readonly unknown[];

/** A fresh bearer token, or a function that returns one (called again after a 401). */
export type TokenSource = string | (() => string | Promise<string>);

/** A custom conflict resolver: given the local and the server row, returns the row to keep. */
export type ConflictResolver = (local: Row, remote: Row) => Row;

export interface ColumnDecl {
  name: string;
  type: string;
  notNull?: boolean;
}

/** A table declaration (docs/engine-api.md TableDecl). */
export interface TableDecl {
  name: string;
  columns?: ColumnDecl[];
  primaryKey?: string[];
  policy?: Record<string, unknown>;
}

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  multiplier?: number;
}

export interface OpenOptions {
  /**
   * Electric base URL; falls back to ELECTRIC_URL. `ws://` is mapped to `http://`. Without
   * either the database is local-only: queries and writes work, writes stay in the outbox,
   * and `status.sync` is `'disabled'`.
   */
  url?: string;
  /** Bearer token or a function returning one; falls back to ELECTRIC_AUTH_TOKEN. */
  token?: TokenSource;
  /** Table declarations; default: the package's schema/schema.sql + schema/policies.json. */
  tables?: TableDecl[];
  /** Schema SQL (CREATE TABLE ...) for the synced tables; default: the package's schema. */
  schemaSql?: string;
  /** Conflict policies (policies.json shape); default: the package's policies. */
  policies?: Record<string, unknown>;
  /**
   * ':memory:' (default); a database name (in the browser: an OPFS database; in Node: a
   * name in the module's memory VFS); or `{ path }`: a file on disk through Node's fs.
   */
  storage?: string | { path: string };
  /** Encrypts the stored database (32 bytes, or a passphrase): docs/encryption.md. */
  encryptionKey?: Uint8Array | string;
  /** 'full' (default: each commit survives power loss) or 'normal' (survives a crash of the app). */
  synchronous?: 'full' | 'normal';
  /** Name of a registered SQLite VFS ('' = the module's default). */
  vfs?: string;
  /** Debug logging; falls back to ELECTRIC_DEBUG. */
  debug?: boolean;
  /** Where debug lines go (default console.debug). */
  logger?: (line: string) => void;
  /** Interval of the periodic performance line when debug is on (default 60 s). */
  perfLogIntervalMs?: number;
  /** Subscribe one shape per declared table (default true). */
  autoSubscribe?: boolean;
  /** Mutations per upload batch (default 100). */
  batchSize?: number;
  /** Upload interval in ms (default 5000). */
  uploadIntervalMs?: number;
  /** Upload bodies above this many bytes are zstd-compressed (default 4096). */
  compressThreshold?: number;
  /** Retry backoff (defaults 1000 / 32000 / 2). */
  backoff?: BackoffOptions;
  /** Client watchdog for live long-polls, ms (default 45000; must exceed the server's 20 s). */
  liveTimeoutMs?: number;
  /**
   * Live updates over server-sent events (`live_sse`) instead of long-polls (default false):
   * one open stream per shape delivers each change as it commits. A shape falls back to
   * long-polling when its streams keep ending within a second (a proxy that buffers them).
   */
  liveSse?: boolean;
  /** A stable id of this client (default: a random UUID). */
  clientId?: string;
  /** Custom conflict resolvers by table. */
  resolvers?: Record<string, ConflictResolver>;
  /** The fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** A `db.export()` snapshot to restore before syncing (resumes from its offsets). */
  import?: Uint8Array | ArrayBuffer;
  /** The signed-in user (default: the token's JWT `sub`): synced rows of other users are dropped and reported. */
  userId?: string;
  /** The column holding the owning user (default `user_id`). */
  userColumn?: string;
  /** How long released prefetched children stay local (default 30000 ms). */
  prefetchGraceMs?: number;
  /** How often retention checks for expired rows (default 60000 ms). */
  retentionIntervalMs?: number;
  /** Rows pruned per retention transaction (default 200). */
  retentionBatch?: number;
}

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'error';
/** `disabled`: the database was opened without a `url` (local-only); nothing is synced. */
export type SyncState = 'idle' | 'syncing' | 'error' | 'disabled';

export interface ShapeStatus {
  id: string;
  table: string;
  handle?: string;
  offset?: string;
  isUpToDate: boolean;
}

export interface StatusError {
  /**
   * `auth`, `protocol`, ... from the engine; `unreachable` (requests get no answer) and
   * `server_error` (5xx answers) from the transport; `auth` or `unreachable` also when the
   * token function fails.
   */
  code: string;
  message: string;
  /** server_error / unreachable: failed requests in a row. */
  count?: number;
}

/** Whether the server can be reached: `offline` (no network), `unreachable` (no answer). */
export type NetworkState = 'online' | 'offline' | 'unreachable';

export interface Status {
  connection: ConnectionState;
  sync: SyncState;
  /** True when `network` is not `online`. */
  isOffline: boolean;
  network: NetworkState;
  isUpToDate: boolean;
  lastSyncedAt: number | null;
  pendingChanges: number;
  error: StatusError | null;
  shapes: ShapeStatus[];
}

export interface ConflictEvent {
  table: string;
  key: Row;
  policy: string;
  outcome: string;
  local: Row | null;
  remote: Row | null;
  reason?: string;
}

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  columns: string[];
  /** Tables the statement read (what a live query watches). */
  tables: string[];
}

export interface ExecResult {
  changes: number;
  tables: string[];
}

export interface ShapeSubscription {
  table: string;
  /**
   * Electric's `where` (PostgreSQL syntax, `$1`… from `params`). It may hold a subquery,
   * e.g. `environment_id IN (SELECT id FROM environments WHERE is_active)`: rows then move in
   * and out of the local table as the subquery's answer changes (docs/client-api.md).
   */
  where?: string;
  params?: Params;
  columns?: string[];
  replica?: 'default' | 'full';
  id?: string;
  /**
   * `'full'` (default): the whole shape, then its changes. `'on-demand'`: nothing until
   * `db.loadSubset(shapeId, …)` asks for rows (Electric's `log=changes_only` + subset
   * snapshots), then their changes. `'progressive'`: subsets at once for the first screen,
   * the whole shape behind them; once it is in, subsets are no longer needed.
   */
  mode?: SyncMode;
}

export type SyncMode = 'full' | 'on-demand' | 'progressive';

export interface PendingMutation {
  id: string;
  table: string;
  op: string;
  key?: Row;
  value?: Row;
  [extra: string]: unknown;
}

/** What db.metrics() returns: the engine's metrics plus the host's transport counters. */
export type Metrics = Record<string, unknown> & {
  transport: {
    requests: number;
    failedRequests: number;
    bytesIn: number;
    /** Response bytes on the wire (compressed size when the server compressed). */
    bytesInWire: number;
    bytesOut: number;
    watchdogAborts: number;
    /** Time spent in the engine applying responses (decode + SQLite), ms. */
    engineMs: number;
    inFlight: number;
  };
  /** Where the open's time went (js/open-phases.ts): ms since it began, and the engine's own open. */
  open: OpenPhases;
};

export type Unsubscribe = () => void;
