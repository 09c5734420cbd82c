// The public API, in Node and in the browser alike: Electrolite.open(...) → db. Talks to the
// engine host only through a HostPort (js/host-port.ts: in this thread in Node; the browser's
// worker, or the leader tab's, in a page), so everything here is plain async calls and
// events. Owns what must stay next to the app: live queries (structurally shared here, once),
// status, the token function and when to ask it again, page visibility and network events,
// debug output. By concept, beside it: what is synced — shapes, their modes, subsets and
// prefetches (js/shapes.ts, js/subsets.ts) — and conflicts and custom resolvers
// (js/conflicts.ts).

import { checkParams, checkRow, checkSql, checkTable, resolveToken } from './client-args.js';
import { Conflicts } from './conflicts.js';
import { DebugLog } from './debug-log.js';
import type { EngineEvent } from './engine-host.js';
import { ElectroliteError } from './errors.js';
import { jwtSubject, tokenUsable } from './jwt.js';
import { HOST_REOPENED, type Connector, type HostPort, type ModuleLoader } from './host-port.js';
import { LiveQuery, type LiveErrorListener, type LiveListener } from './live-query.js';
import { IncrementalView, type KeyChanges, type RawResult } from './live-incremental.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { ShapeApi } from './shapes.js';
import type { SubsetHandle, SubsetInfo, SubsetOptions } from './subsets.js';
import { watchPage } from './page-events.js';
import { INITIAL_STATUS, normalizeStatus, sameStatus } from './status.js';
import { toObjects } from './structural-share.js';
import { isEngineError, waitForStatus, waitForSync } from './sync-wait.js';
import { savedToken, saveToken, TokenKeeper, type TokenProblem } from './token-keeper.js';
import { TxQueue } from './tx-queue.js';
import type {
  ConflictEvent,
  ExecResult,
  Metrics,
  OpenOptions,
  Params,
  PendingMutation,
  QueryResult,
  Row,
  ShapeSubscription,
  Status,
  Unsubscribe,
} from './types.js';

/** What a transaction callback receives: the same calls, inside the transaction. */
export interface Transaction {
  query<R extends Row = Row>(sql: string, params?: Params): Promise<QueryResult<R>>;
  exec(sql: string, params?: Params): Promise<ExecResult>;
  insert(table: string, row: Row): Promise<string | null>;
  update(table: string, key: Row, patch: Row): Promise<string | null>;
  delete(table: string, key: Row): Promise<string | null>;
}

export interface AdvancedOpenOptions {
  /** Opens the engine elsewhere (the browser's worker port) instead of in this thread. */
  connect?: Connector;
  /** An engine host already open behind a port (instead of `connect`). */
  port?: HostPort;
  /** Loads the engine module for the in-process host (default js/wasm-loader.ts). */
  loadModule?: ModuleLoader;
}

/** The in-process port, loaded only when used: a page's bundle carries no engine host. */
const connectInProcess: (loadModule?: ModuleLoader) => Connector = (loadModule) => async (req) => {
  const spec = ['./in-process.js'][0]!; // a variable: bundlers leave it alone
  const m = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as typeof import('./in-process.js');
  return m.connectInProcess(req, loadModule);
};

/** `S`: the status, with what the port adds (the browser's storage and tab role). */
export class Electrolite<S extends Status = Status> {
  private readonly port: HostPort;
  private readonly options: ResolvedOptions;
  private readonly conflicts: Conflicts;
  private readonly debugLog: DebugLog | undefined;
  /** Listeners of `S` statuses (kept as Status so that Electrolite<S> is covariant in S). */
  private readonly statusListeners = new Set<(s: Status) => void>();
  private readonly liveQueries = new Set<LiveQuery<Row>>();
  private readonly shapes: ShapeApi;
  private currentStatus: S = INITIAL_STATUS as S;
  /** Transactions run one at a time; other calls wait while one is open or queued. */
  private readonly txQueue = new TxQueue();
  /** Runs the token function in the background (a function `token` only). */
  private tokenKeeper: TokenKeeper | undefined;
  /** The token function's failure, shown in status while the engine reports no error. */
  private tokenProblem: TokenProblem | null = null;
  /** `userId` given at open (else the token's `sub` is handed to the engine as tokens arrive). */
  private readonly fixedUserId: boolean;
  private readonly openedUserId: string | undefined;
  /** The last engine `error` event, shown in status until the shape next syncs. */
  private lastError: { code: string; message: string; shapeId?: string } | null = null;
  private rawStatus: Record<string, unknown> = {};
  private perfTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly cleanups: Array<() => void> = [];
  /** What this client last told the host (told again when the host is reopened). */
  private visible = true;
  private networkOnline = true;
  /** A split build's second part is known to be in (engineWhole). */
  private wholeEngine = false;

  private constructor(port: HostPort, options: ResolvedOptions, opened: OpenOptions) {
    this.port = port;
    this.options = options;
    this.conflicts = new Conflicts(port, opened.resolvers, () => this.debugLog);
    this.fixedUserId = opened.userId !== undefined;
    this.openedUserId = opened.userId;
    if (options.debug) this.debugLog = new DebugLog(opened.logger);
    this.shapes = new ShapeApi({
      port,
      status: () => this.currentStatus,
      waitForStatus: (pred, timeoutMs, rejectOnError) => this.waitForStatus(pred as (s: S) => boolean, timeoutMs, rejectOnError),
      checkOpen: () => this.checkOpen(),
      isClosed: () => this.closed,
      idle: () => this.txQueue.idle(),
    });
  }

  /**
   * Opens a local database and starts syncing. Resolves from local storage without waiting for
   * the network or the token: a token function runs in the background (see TokenKeeper).
   * Every failure is an ElectroliteError. See docs/client-api.md.
   */
  static async open<S extends Status = Status>(options: OpenOptions = {}, advanced: AdvancedOpenOptions = {}): Promise<Electrolite<S>> {
    try {
      return await Electrolite.openLocal<S>(options, advanced);
    } catch (err) {
      throw ElectroliteError.from(err);
    }
  }

  private static async openLocal<S extends Status>(options: OpenOptions, advanced: AdvancedOpenOptions): Promise<Electrolite<S>> {
    const resolved = resolveOptions(options);
    for (const w of resolved.warnings) console.warn(`[electrolite] ${w}`);
    Conflicts.check(options.resolvers);
    // A token function is not awaited (startToken): the database opens from local data.
    const source = options.token ?? resolved.token;
    const token = typeof source === 'function' ? undefined : await resolveToken(source);
    const given = advanced.port;
    const connect = advanced.connect ?? (given ? async () => given : connectInProcess(advanced.loadModule));
    const port = await connect({ options, resolved, token, awaitToken: typeof source === 'function' });
    const db = new Electrolite<S>(port, resolved, options);
    port.listen((ev) => db.onEvent(ev));
    try {
      await db.conflicts.tellHost();
      db.applyStatus(await port.call('status'));
      if (typeof source === 'function') await db.startToken(source);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw ElectroliteError.from(err);
    }
    db.startPerfLog();
    db.cleanups.push(watchPage({
      setVisible: (v) => (db.closed ? Promise.resolve() : db.setVisible(v)),
      setOnline: (v) => (db.closed ? Promise.resolve() : db.setOnline(v)),
    }));
    return db;
  }

  /**
   * The host behind the port was opened again (this tab took over as leader, or the leader
   * changed): tell it again what it knew, and read every live query afresh.
   */
  private async hostReopened(): Promise<void> {
    try {
      await this.conflicts.tellHost();
      if (!this.visible) await this.port.call('setVisible', false);
      if (!this.networkOnline) await this.port.call('setNetworkOnline', false);
      const token = this.tokenKeeper?.current;
      if (token) await this.useToken(token, false);
      this.applyStatus(await this.port.call('status'));
      await this.shapes.subsets.reclaim();
    } catch (err) {
      this.debugLog?.line('host', `could not set up the reopened engine: ${(err as Error).message}`);
    }
    for (const q of this.liveQueries) q.reopened();
  }

  /**
   * A token function: the last good token (kept in the local database) is used at once while
   * it is valid, and the function runs in the background; until a token arrives no request
   * goes out. Its failures show in the status and are retried with backoff.
   */
  private async startToken(fn: () => string | Promise<string>): Promise<void> {
    this.tokenKeeper = new TokenKeeper(fn, this.options.backoff, {
      apply: (token) => this.useToken(token),
      problem: (p) => {
        this.tokenProblem = p;
        this.applyStatus(this.rawStatus);
      },
      log: (line) => this.debugLog?.line('auth', line),
    });
    this.cleanups.push(() => this.tokenKeeper?.stop());
    const saved = await savedToken(this.port);
    const userId = this.fixedUserId ? this.openedUserId : undefined;
    if (saved && tokenUsable(saved) && (userId === undefined || jwtSubject(saved) === userId)) {
      this.tokenKeeper.current = saved;
      await this.useToken(saved, false);
    }
    void this.tokenKeeper.fetch();
  }

  /** Hands a token to the engine (and its `sub` as the user, unless `userId` was given). */
  private async useToken(token: string, save = true): Promise<void> {
    if (this.closed) return;
    const sub = jwtSubject(token);
    if (sub && !this.fixedUserId) await this.port.call('setUserId', sub);
    await this.port.call('setToken', token);
    if (save && token) {
      await this.engineWhole();
      await saveToken(this.port, token).catch((err: Error) => this.debugLog?.line('auth', `could not keep the token: ${err.message}`));
    }
  }

  // ---- status, conflicts, metrics ----

  /** The latest status (updated from engine events). */
  get status(): S {
    return this.currentStatus;
  }

  /** Calls `cb` on every status change; returns the unsubscribe function. */
  onStatus(cb: (status: S) => void): Unsubscribe {
    const listener = cb as (s: Status) => void;
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  onConflict(cb: (conflict: ConflictEvent) => void): Unsubscribe {
    return this.conflicts.listen(cb);
  }

  async metrics(): Promise<Metrics> {
    this.checkOpen();
    await this.engineWhole();
    return (await this.port.call('metrics')) as Metrics;
  }

  async pendingMutations(): Promise<PendingMutation[]> {
    this.checkOpen();
    await this.engineWhole();
    return (await this.port.call('pendingMutations')) as PendingMutation[];
  }

  async discardMutation(id: string): Promise<void> {
    if (typeof id !== 'string' || id === '') throw new ElectroliteError('invalid_argument', 'discardMutation: expected a mutation id');
    this.checkOpen();
    await this.engineWhole();
    await this.port.call('discardMutation', id);
  }

  /**
   * Uploads pending writes and re-requests every shape now (an upload stopped by a 401 tries
   * again; so does a failing token function). Resolves with the status once it is up to date
   * with nothing pending. Rejects with an ElectroliteError: `offline` at once when the network
   * is offline; the status error (`unreachable`, `server_error`, `auth`, `protocol`, ...) once
   * it has lasted SYNC_FAILURE_GRACE_MS (2 s) after the call (the engine's immediate retries
   * get that long); `timeout` after `timeoutMs`. So it settles within about 2 s of the first
   * failed attempt when the server is gone.
   */
  async syncNow(timeoutMs = 30000): Promise<S> {
    this.checkOpen();
    if (this.currentStatus.sync === 'disabled') {
      throw new ElectroliteError('invalid_argument', 'syncNow: this database is local-only (opened without a url)');
    }
    await this.engineWhole();
    if (this.tokenProblem) void this.tokenKeeper?.fetch();
    await this.port.call('syncNow');
    return waitForSync(() => this.currentStatus, (cb) => this.onStatus(cb), timeoutMs) as Promise<S>;
  }

  /** Resolves with the first status (current or later) for which `pred` holds. */
  waitForStatus(pred: (s: S) => boolean, timeoutMs = 30000, rejectOnError = false): Promise<S> {
    return waitForStatus(() => this.currentStatus, (cb) => this.onStatus(cb), pred, timeoutMs, rejectOnError);
  }

  // ---- local data ----

  async query<R extends Row = Row>(sql: string, params?: Params): Promise<QueryResult<R>> {
    checkSql(sql);
    const p = checkParams(params);
    await this.idle();
    return this.rawQuery<R>(sql, p);
  }

  private async rawQuery<R extends Row>(sql: string, params: unknown[]): Promise<QueryResult<R>> {
    const r = await this.port.call('query', sql, params);
    return { rows: toObjects<R>(r.columns, r.rows), columns: r.columns, tables: r.tables };
  }

  async exec(sql: string, params?: Params): Promise<ExecResult> {
    checkSql(sql);
    const p = checkParams(params);
    await this.idle();
    await this.engineWhole();
    return this.port.call('exec', sql, p);
  }

  async insert(table: string, row: Row): Promise<string | null> {
    const t = checkTable(table);
    const r = checkRow('row', row);
    await this.idle();
    await this.engineWhole();
    return this.port.call('insert', t, r);
  }

  async update(table: string, key: Row, patch: Row): Promise<string | null> {
    const t = checkTable(table);
    const k = checkRow('key', key);
    const p = checkRow('patch', patch);
    await this.idle();
    await this.engineWhole();
    return this.port.call('update', t, k, p);
  }

  async delete(table: string, key: Row): Promise<string | null> {
    const t = checkTable(table);
    const k = checkRow('key', key);
    await this.idle();
    await this.engineWhole();
    return this.port.call('delete', t, k);
  }

  /**
   * Runs `fn` in one local transaction: every write commits together (rows and outbox
   * entries) or, if `fn` throws, none does. Other calls wait until it ends.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new ElectroliteError('invalid_argument', 'transaction: expected a function');
    this.checkOpen();
    const turn = this.txQueue.enter();
    let active = false;
    const guard = () => {
      if (!active) throw new ElectroliteError('invalid_argument', 'transaction: used after it ended');
    };
    const tx: Transaction = {
      query: async (sql, params) => (guard(), this.rawQuery(checkSql(sql), checkParams(params))),
      exec: async (sql, params) => (guard(), this.port.call('exec', checkSql(sql), checkParams(params))),
      insert: async (table, row) => (guard(), this.port.call('insert', checkTable(table), checkRow('row', row))),
      update: async (table, key, patch) =>
        (guard(), this.port.call('update', checkTable(table), checkRow('key', key), checkRow('patch', patch))),
      delete: async (table, key) => (guard(), this.port.call('delete', checkTable(table), checkRow('key', key))),
    };
    try {
      await turn.ready;
      this.checkOpen();
      await this.engineWhole();
      await this.port.call('begin');
      active = true;
      let result: T;
      try {
        result = await fn(tx);
      } catch (err) {
        active = false;
        await this.port.call('rollback').catch(() => undefined);
        throw err;
      }
      active = false;
      try {
        await this.port.call('commit');
      } catch (err) {
        await this.port.call('rollback').catch(() => undefined);
        throw err;
      }
      return result;
    } finally {
      active = false;
      turn.release();
    }
  }

  /**
   * Before a write (or anything else off the first-query path): a split build's second part
   * (js/wasm-deferred.ts) is loaded, so a part that cannot be fetched fails the call here,
   * cleanly, rather than inside the engine. Queries never wait for it.
   */
  private async engineWhole(): Promise<void> {
    if (this.wholeEngine) return;
    await this.port.call('deferredReady');
    this.wholeEngine = true;
  }

  /** Waits while a transaction holds (or is queued for) the database. */
  private async idle(): Promise<void> {
    this.checkOpen();
    await this.txQueue.idle();
  }

  // ---- live queries ----

  /**
   * Runs `sql` now and again whenever a table it reads changes; `cb` gets each new result
   * (unchanged rows keep their identity). Returns the unsubscribe function.
   */
  live<R extends Row = Row>(sql: string, params: Params | undefined, cb: LiveListener<R>, onError?: LiveErrorListener): Unsubscribe {
    if (typeof cb !== 'function') throw new ElectroliteError('invalid_argument', 'live: expected a callback');
    const q = this.liveQuery<R>(sql, params);
    q.subscribe(cb, onError);
    return () => q.dispose();
  }

  /** The observer behind live(): getSnapshot/subscribe for useSyncExternalStore. */
  liveQuery<R extends Row = Row>(sql: string, params?: Params): LiveQuery<R> {
    checkSql(sql);
    const p = checkParams(params);
    this.checkOpen();
    const q: LiveQuery<R> = new LiveQuery<R>(
      async () => {
        await this.idle();
        return this.rawQuery<R>(sql, p);
      },
      () => this.liveQueries.delete(q as unknown as LiveQuery<Row>),
      {
        sql, params: p,
        query: (s, params) => this.port.call('query', s, [...params]),
        idle: () => this.idle(),
        createView: IncrementalView.create,
        watch: (id, w) => this.port.call('watchRows', id, w),
        unwatch: (id) => this.port.call('unwatchRows', id),
      },
    );
    this.liveQueries.add(q as unknown as LiveQuery<Row>);
    return q;
  }

  // ---- what is synced: shapes, subsets, prefetches (js/shapes.ts, js/subsets.ts) ----

  /** Adds a shape (e.g. one environment's tasks, `mode` 'full' | 'on-demand' | 'progressive'); returns its id. */
  subscribe(shape: ShapeSubscription): Promise<string> {
    return this.shapes.subscribe(shape);
  }

  unsubscribe(shapeId: string): Promise<void> {
    return this.shapes.unsubscribe(shapeId);
  }

  /**
   * Loads a subset of an on-demand (or progressive) shape: resolves once its rows are in the
   * local table, with a handle whose `release()` lets them go (docs/client-api.md).
   */
  loadSubset(shapeId: string, subset: SubsetOptions = {}): Promise<SubsetHandle> {
    this.checkOpen();
    return this.shapes.subsets.load(shapeId, subset);
  }

  /** The subsets the database holds (kept across reopen). */
  subsets(): Promise<SubsetInfo[]> {
    this.checkOpen();
    return this.shapes.subsets.list();
  }

  // ---- page visibility / network (watchPage calls these from the page's events) ----

  /** Hidden: the shape stream pauses (uploads go on). */
  async setVisible(visible: boolean): Promise<void> {
    this.visible = visible;
    await this.port.call('setVisible', visible);
  }

  /** Offline: nothing is requested until online again. */
  async setOnline(online: boolean): Promise<void> {
    this.networkOnline = online;
    await this.port.call('setNetworkOnline', online);
  }

  // ---- prefetching, snapshots, sign-out ----

  /**
   * Syncs the rows related to one parent row now, as the declarations' `prefetch_children`
   * say (a task's agent executions, ...). Resolves once they are local (or after
   * `timeoutMs`, rejecting) with the function that releases them; released children are
   * dropped after the grace period (`prefetchGraceMs`) unless prefetched again.
   */
  prefetch(table: string, key: unknown, timeoutMs = 30000): Promise<() => Promise<void>> {
    return this.shapes.prefetch(table, key, timeoutMs);
  }

  /** Ends one prefetch of `table` row `key` (same as calling the function prefetch returned). */
  release(table: string, key: unknown): Promise<void> {
    return this.shapes.release(table, key);
  }

  /**
   * A zstd-compressed snapshot of the local database (synced rows, pending writes, shape
   * offsets) for `Electrolite.open({ import })`.
   */
  async export(): Promise<Uint8Array> {
    await this.idle();
    await this.engineWhole();
    return this.port.call('exportSnapshot');
  }

  /** Sign-out: removes the local database (rows, pending writes, shapes) and closes. */
  async clear(): Promise<void> {
    await this.idle();
    this.shutDown();
    try {
      await this.port.call('clear');
    } finally {
      this.port.dispose(true);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.shutDown();
    try {
      await this.port.call('close');
    } finally {
      this.port.dispose(false);
    }
  }

  private shutDown(): void {
    this.closed = true;
    if (this.perfTimer !== undefined) clearInterval(this.perfTimer);
    for (const fn of this.cleanups.splice(0)) fn();
    for (const q of [...this.liveQueries]) q.dispose();
    this.statusListeners.clear();
    this.conflicts.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new ElectroliteError('closed', 'the database is closed');
  }

  // ---- events from the host ----

  private onEvent(ev: EngineEvent): void {
    if (this.closed) return;
    this.debugLog?.event(ev);
    switch (ev.type) {
      case 'tables-changed': {
        const tables = Array.isArray(ev.tables) ? (ev.tables as string[]) : [];
        const keys = ev.keys !== null && typeof ev.keys === 'object' ? (ev.keys as Record<string, KeyChanges>) : undefined;
        const rows = ev.rows !== null && typeof ev.rows === 'object' ? (ev.rows as Record<string, RawResult>) : undefined;
        for (const q of this.liveQueries) q.tablesChanged(tables, keys, rows);
        return;
      }
      case 'status':
        this.applyStatus(ev);
        return;
      case 'conflict':
        this.conflicts.onConflict(ev as unknown as ConflictEvent);
        return;
      case 'error':
        this.lastError = { code: String(ev.code ?? 'internal'), message: String(ev.message ?? ''), shapeId: ev.shapeId as string | undefined };
        this.applyStatus(this.rawStatus);
        return;
      case 'sync':
        if (this.lastError && (this.lastError.shapeId === undefined || this.lastError.shapeId === ev.shapeId)) {
          this.lastError = null;
          this.applyStatus(this.rawStatus);
        }
        return;
      case 'resolve':
        void this.conflicts.onResolve(ev);
        return;
      case 'subset':
        this.shapes.subsets.onEvent(ev);
        return;
      case 'auth-rejected':
        void this.tokenKeeper?.rejected(ev.tokenWasAccepted === true);
        return;
      case HOST_REOPENED:
        void this.hostReopened();
        return;
      default:
        return;
    }
  }

  /** The engine's status; an `error` event not yet followed by a sync shows as `error`. */
  private applyStatus(raw: Record<string, unknown>): void {
    this.rawStatus = raw;
    let next = normalizeStatus(raw, this.currentStatus) as S;
    if (!isEngineError(next.error) && this.lastError) next = { ...next, error: { code: this.lastError.code, message: this.lastError.message } };
    if (!isEngineError(next.error) && this.tokenProblem) next = { ...next, error: { ...this.tokenProblem } };
    // A token endpoint that does not answer: the server is unreachable, whether or not a request went out.
    if (this.tokenProblem?.code === 'unreachable' && next.network === 'online') next = { ...next, network: 'unreachable', isOffline: true };
    if (sameStatus(next, this.currentStatus)) return;
    this.currentStatus = next;
    this.shapes.subsets.statusChanged(next);
    for (const cb of [...this.statusListeners]) {
      try {
        cb(next);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private startPerfLog(): void {
    if (!this.debugLog) return;
    this.perfTimer = setInterval(() => {
      this.metrics().then(
        (m) => this.debugLog?.perf(m),
        () => undefined,
      );
    }, this.options.perfLogIntervalMs);
    (this.perfTimer as { unref?: () => void }).unref?.();
  }
}
