// The engine host: the wasm module, one engine handle and its sans-IO loop (drain
// pollRequest → perform with fetch → handleResponse/handleNetworkError; one timer armed at
// pollTimeout; drain pollEvent). Everything it takes and returns is plain data, so the browser
// can run it inside a Worker behind an RPC (see HostMethods); in Node it runs in-process.
// It makes no sync decisions: retries, backoff, offsets and conflicts are the engine's.

import type { EngineModule } from './engine-module.js';
import { ElectroliteError, unwrap } from './errors.js';
import { HostToken } from './host-token.js';
import { noAnswer, serverError, type RequestProblem } from './request-problem.js';
import { since, type OpenPhases } from './open-phases.js';
import { RowWatches, type RowWatch } from './row-watches.js';
import { SseLive } from './sse-live.js';
import {
  dataTransferOf,
  newCounters,
  performRequest,
  RequestFailure,
  type EngineRequest,
  type FetchFn,
  type HostResponse,
  type TransportCounters,
  type UploadBytes,
} from './transport.js';

/** The Embind surface the host uses: the module's one typed surface (js/engine-module.ts). */
export type EngineBindings = EngineModule;

/** An engine event (docs/engine-api.md "Events") plus `host-status` from the host. */
export interface EngineEvent {
  type: string;
  [field: string]: unknown;
}

export interface HostConfig {
  /** The EngineOptions object (serialised to JSON for `open`). */
  engineOptions: Record<string, unknown>;
  /** Initial bearer token (a token *function* stays on the client side). */
  token?: string;
  fetch?: FetchFn;
  /** A db.export() snapshot restored before the engine starts. */
  importSnapshot?: Uint8Array;
  /** The default schema's database image (js/default-schema.ts): a new database copies it. */
  schemaImage?: Uint8Array;
  /**
   * A token function runs on the client side and its first token is not here yet: no request
   * goes out until setToken (an empty token: go without one).
   */
  awaitToken?: boolean;
  /** What the open spent before the engine's own (js/open-phases.ts); the host adds the engine's. */
  openPhases?: OpenPhases;
}

export type { RequestProblem };

export interface RawQueryResult {
  columns: string[];
  rows: unknown[][];
  tables: string[];
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Watchdog for a request the engine gave no timeout (non-live requests answer at once). */
const DEFAULT_REQUEST_TIMEOUT_MS = 60000;

export class EngineHost {
  private readonly m: EngineBindings;
  private readonly h: number;
  private readonly fetchFn: FetchFn;
  private readonly sink: (ev: EngineEvent) => void;
  private readonly watches = new RowWatches();
  private readonly inFlight = new Map<number, { ctl: AbortController; req: EngineRequest }>();
  private readonly counters: TransportCounters = newCounters();
  /** Responses that arrived while an application transaction was open. */
  private readonly deferred: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = -1;
  private pumpScheduled = false;
  /** True until a split build's second part has loaded (see start). */
  private syncHeld = false;
  /** Engine calls that live in a split build's second part, waiting for it (setToken, setUserId). */
  private readonly afterLoad: Array<() => void> = [];
  /** True until the first token arrives (HostConfig.awaitToken). */
  private tokenHeld = false;
  private problem: RequestProblem | null = null;
  private openPhases: OpenPhases = {};
  private txOpen = false;
  private closed = false;
  private networkOnline = true;
  private visible = true;
  private lastRequestFailed = false;
  private readonly liveTimeoutMs: number;
  /** The token last given to the engine, and whether a request carrying it has succeeded. */
  private readonly token = new HostToken();
  /** Opened without a base URL: local-only, no request is ever made (status.sync 'disabled'). */
  private localOnly = false;
  /** Live requests answered from event streams (open option `liveSse`), else undefined. */
  private sse: SseLive | undefined;

  private constructor(m: EngineBindings, h: number, fetchFn: FetchFn, sink: (ev: EngineEvent) => void, liveTimeoutMs: number) {
    this.m = m;
    this.liveTimeoutMs = liveTimeoutMs;
    this.h = h;
    this.fetchFn = fetchFn;
    this.sink = sink;
  }

  /** Opens the engine on an instantiated module and starts the loop. */
  static start(m: EngineBindings, config: HostConfig, sink: (ev: EngineEvent) => void): EngineHost {
    const fetchFn = config.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
    const t0 = performance.now();
    const opened = config.importSnapshot
      ? unwrap<{ handle: number }>(m.openImport(json(config.engineOptions), config.importSnapshot), 'import')
      : config.schemaImage
        ? unwrap<{ handle: number }>(m.openWithSchemaImage(json(config.engineOptions), config.schemaImage), 'open')
        : unwrap<{ handle: number }>(m.open(json(config.engineOptions)), 'open');
    const live = Number(config.engineOptions.liveTimeoutMs);
    const host = new EngineHost(m, opened.handle, fetchFn, sink, live > 0 ? live : 45000);
    host.openPhases = { ...config.openPhases, engineMs: since(t0) };
    host.localOnly = config.engineOptions.baseUrl === undefined;
    if (config.engineOptions.liveSse === true) host.sse = host.sseLive();
    if (config.token) {
      host.token.set(config.token);
      m.setToken(opened.handle, config.token, Date.now());
    } else if (config.awaitToken) {
      host.tokenHeld = true;
    }
    // A split build keeps the sync path (requests, responses, timers) in its second part:
    // the loop only drains events until that has loaded (whoever started it), so the
    // first screen never waits for it and no request needs a synchronous load.
    const loaded = m.deferredLoaded?.();
    if (loaded) {
      host.syncHeld = true;
      void loaded.then(() => {
        host.syncHeld = false;
        if (host.closed) return;
        for (const fn of host.afterLoad.splice(0)) fn();
        if (!host.networkOnline || !host.visible) host.applyOnline();
        host.schedulePump();
      });
    }
    host.schedulePump();
    return host;
  }

  // ---- the sans-IO loop ----

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed || this.txOpen) return;
    if (this.syncHeld || this.tokenHeld) return this.drainEvents();
    while (this.deferred.length > 0) this.deferred.shift()!();
    const now = Date.now();
    for (; !this.localOnly;) {
      const text = this.m.pollRequest(this.h, now);
      if (!text) break;
      this.start(JSON.parse(text) as EngineRequest);
    }
    this.drainEvents();
    this.armTimer();
  }

  private drainEvents(): void {
    const events: EngineEvent[] = [];
    for (;;) {
      const text = this.m.pollEvent(this.h);
      if (!text) break;
      let ev: EngineEvent;
      try {
        ev = JSON.parse(text) as EngineEvent;
      } catch {
        ev = { type: 'error', code: 'internal', message: `engine event is not JSON: ${text.slice(0, 200)}` };
      }
      events.push(ev.type === 'status' ? this.withHostState(ev) : ev);
    }
    for (const ev of this.watches.attach(events, (sql, params) => this.query(sql, params))) this.emit(ev);
  }

  private emit(ev: EngineEvent): void {
    try {
      this.sink(ev);
    } catch (err) {
      // A listener's bug must not stop the loop.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  private armTimer(): void {
    const at = Number(this.m.pollTimeout(this.h));
    if (at === this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at < 0) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = -1;
      this.whenNoTx(() => this.m.handleTimeout(this.h, Date.now()));
      this.pump();
    }, delay);
  }

  /** Runs `fn` now, or after the open application transaction ends. */
  private whenNoTx(fn: () => void): void {
    if (this.txOpen) this.deferred.push(fn);
    else fn();
  }

  private start(req: EngineRequest): void {
    const ctl = new AbortController();
    this.inFlight.set(req.id, { ctl, req });
    // Copy: an Embind view into wasm memory is invalidated when memory grows.
    const bodyCopy = req.hasBody ? new Uint8Array(this.m.requestBody(this.h, req.id)) : undefined;
    // The engine sets each request's timeout; a request without one still gets a watchdog.
    const timed = req.timeoutMs > 0 ? req : { ...req, timeoutMs: req.live ? this.liveTimeoutMs : DEFAULT_REQUEST_TIMEOUT_MS };
    if (this.sse?.take(req, ctl.signal, timed.timeoutMs)) return;
    this.sse?.other(req);
    this.perform(timed, ctl.signal, bodyCopy);
  }

  /** Performs `req` with fetch (a long-poll, a catch-up, an upload) and hands over its outcome. */
  private perform(req: EngineRequest, signal: AbortSignal, bodyCopy?: Uint8Array): void {
    performRequest(this.fetchFn, req, bodyCopy, signal, this.counters, this.zstd).then(
      (res) => this.onResponse(req, res),
      (err: unknown) => this.onFailure(req, err),
    );
  }

  /** The live-mode seam over server-sent events (js/sse-live.ts): it answers through this host. */
  private sseLive(): SseLive {
    return new SseLive(this.fetchFn, this.counters, {
      answer: (req, res) => this.onResponse(req, res),
      fail: (req, failure) => this.onFailure(req, failure),
      longPoll: (req) => {
        const entry = this.inFlight.get(req.id);
        if (entry) this.perform(req.timeoutMs > 0 ? req : { ...req, timeoutMs: this.liveTimeoutMs }, entry.ctl.signal);
      },
      warn: (message) => this.emit({ type: 'log', level: 'warn', message }),
    });
  }

  private onResponse(req: EngineRequest, res: HostResponse): void {
    if (!this.inFlight.delete(req.id) || this.closed) return;
    this.sse?.sawStatus(req, res.status);
    const wasOffline = this.isOffline();
    this.lastRequestFailed = false;
    const hadProblem = this.problem;
    if (res.status >= 500) {
      this.counters.failedRequests++;
      this.counters.serverErrors++;
      this.problem = serverError(hadProblem, req, res);
    } else {
      this.problem = null;
    }
    const { rejected, stale: staleRejection } = this.token.note(req, res.status);
    if (rejected) this.emit(rejected);
    this.whenNoTx(() => {
      const t0 = performance.now();
      const result = this.m.handleResponse(this.h, Date.now(), req.id, res.status, json(res.headers), res.body);
      this.counters.engineMs += performance.now() - t0;
      // A failed response is also reported by the engine as an `error` event; nothing more to do.
      void result;
      // A 401 to a request sent with an older token: the engine now waits for a token, and
      // the current one is newer than the one refused — hand it over again.
      const current = this.token.current;
      if (staleRejection && current !== undefined) this.m.setToken(this.h, current, Date.now());
    });
    if (wasOffline !== this.isOffline() || hadProblem !== this.problem) this.emitHostStatus();
    this.pump();
  }

  private onFailure(req: EngineRequest, err: unknown): void {
    if (!this.inFlight.delete(req.id) || this.closed) return;
    const failure = err instanceof RequestFailure ? err : new RequestFailure('network', String(err));
    const wasOffline = this.isOffline();
    if (failure.kind === 'network') this.lastRequestFailed = true;
    const hadProblem = this.problem;
    if (failure.kind !== 'aborted') {
      this.problem = noAnswer(hadProblem, this.networkOnline ? 'unreachable' : 'offline', failure.message);
    }
    this.whenNoTx(() => this.m.handleNetworkError(this.h, Date.now(), req.id, `${failure.kind}: ${failure.message}`));
    if (wasOffline !== this.isOffline() || hadProblem !== this.problem) this.emitHostStatus();
    this.pump();
  }

  /** The engine's status plus what only the host knows: offline, and local-only. */
  private withHostState<S extends Record<string, unknown>>(s: S): S {
    if (this.localOnly) return { ...s, connection: 'disconnected', sync: 'disabled', isOffline: false };
    return { ...s, isOffline: this.isOffline(), problem: this.problem };
  }

  private isOffline(): boolean {
    return !this.networkOnline || this.lastRequestFailed;
  }

  private emitHostStatus(): void {
    this.emit({ type: 'status', ...this.status() });
  }

  private applyOnline(): void {
    const online = this.networkOnline && this.visible;
    if (this.syncHeld) return this.emitHostStatus(); // told once the sync path is in (start)
    if (!online) {
      // Cut what is in flight; the engine learns it from a network error and waits.
      for (const [id, { ctl, req }] of this.inFlight) {
        if (req.kind !== 'shape' && this.networkOnline) continue; // hidden page: uploads finish
        this.inFlight.delete(id);
        ctl.abort();
        this.whenNoTx(() => this.m.handleNetworkError(this.h, Date.now(), id, this.networkOnline ? 'paused: page hidden' : 'offline'));
      }
    }
    this.whenNoTx(() => this.m.setOnline(this.h, online, Date.now()));
    this.emitHostStatus();
    this.schedulePump();
  }

  // ---- methods callable over RPC (HostMethods) ----

  /** Resolves once a split build's second part is loaded, loading it if needed (js/wasm-deferred.ts). */
  deferredReady(): Promise<void> {
    return this.m.deferredReady?.() ?? Promise.resolve();
  }

  setNetworkOnline(online: boolean): void {
    this.check();
    if (online) this.lastRequestFailed = false;
    if (online === this.networkOnline) return;
    this.networkOnline = online;
    this.problem = online ? null : noAnswer(null, 'offline', 'the network is offline');
    this.applyOnline();
  }

  /** Page visibility (the client reports it): hidden pauses the shape stream. */
  setVisible(visible: boolean): void {
    this.check();
    if (visible === this.visible) return;
    this.visible = visible;
    this.applyOnline();
  }

  /** A new bearer token ('' = none); the first one also lets requests go out (awaitToken). */
  setToken(token: string): void {
    this.check();
    this.token.set(token);
    this.tokenHeld = false;
    // Nothing is requested before the second part is in: no need to load it for this.
    this.whenSyncPath(() => this.m.setToken(this.h, token, Date.now()));
    this.schedulePump();
  }

  /** Runs `fn` now, or once a split build's second part has loaded (see start). */
  private whenSyncPath(fn: () => void): void {
    if (this.syncHeld) this.afterLoad.push(fn);
    else fn();
  }

  /**
   * The signed-in user, once known after open (the token's `sub`): rows of other users are
   * dropped, and typed writes of them refused, from then on.
   */
  setUserId(userId: string): void {
    this.check();
    this.whenSyncPath(() => unwrap(this.m.setUserId(this.h, userId), 'setUserId'));
  }

  syncNow(): void {
    this.check();
    if (this.localOnly) throw new ElectroliteError('invalid_argument', 'syncNow: this database is local-only (opened without a url)');
    const now = Date.now();
    // A failure seen before is not the answer to this attempt (a new one sets it again).
    if (this.problem && this.networkOnline) {
      this.problem = null;
      this.emitHostStatus();
    }
    this.whenNoTx(() => this.m.syncNow(this.h, now));
    this.schedulePump();
  }

  /** Live queries' delta statements, run for each change's keys and sent with it (js/row-watches.ts). */
  watchRows(id: string, watch: RowWatch): void {
    this.watches.watch(id, watch);
  }

  unwatchRows(id: string): void {
    this.watches.unwatch(id);
  }

  query(sql: string, params: unknown[] = []): RawQueryResult {
    this.check();
    const r = unwrap<RawQueryResult>(this.m.query(this.h, sql, json(params)), 'query');
    return { columns: r.columns, rows: r.rows, tables: r.tables ?? [] };
  }

  exec(sql: string, params: unknown[] = []): { changes: number; tables: string[] } {
    this.check();
    const r = unwrap<{ changes: number; tables?: string[] }>(this.m.exec(this.h, sql, json(params), Date.now()), 'exec');
    this.schedulePump();
    return { changes: r.changes ?? 0, tables: r.tables ?? [] };
  }

  /** The mutation id, or null when the write changed nothing. */
  insert(table: string, row: Record<string, unknown>): string | null {
    this.check();
    return this.mutation('insert', this.m.insert(this.h, table, json(row), Date.now()));
  }

  update(table: string, key: Record<string, unknown>, patch: Record<string, unknown>): string | null {
    this.check();
    return this.mutation('update', this.m.update(this.h, table, json(key), json(patch), Date.now()));
  }

  delete(table: string, key: Record<string, unknown>): string | null {
    this.check();
    return this.mutation('delete', this.m.delete(this.h, table, json(key), Date.now()));
  }

  private mutation(what: string, result: string): string | null {
    const r = unwrap<{ mutationId?: string | null }>(result, what);
    this.schedulePump();
    return r.mutationId ?? null;
  }

  begin(): void {
    this.check();
    unwrap(this.m.begin(this.h), 'begin');
    this.txOpen = true;
  }

  commit(): void {
    this.check();
    try {
      unwrap(this.m.commit(this.h), 'commit');
    } finally {
      this.txOpen = false;
      this.schedulePump();
    }
  }

  rollback(): void {
    this.check();
    try {
      unwrap(this.m.rollback(this.h), 'rollback');
    } finally {
      this.txOpen = false;
      this.schedulePump();
    }
  }

  subscribe(shape: Record<string, unknown>): string {
    this.check();
    const r = unwrap<{ shapeId: string }>(this.m.subscribe(this.h, json(shape)), 'subscribe');
    this.schedulePump();
    return r.shapeId;
  }

  unsubscribe(shapeId: string): void {
    this.check();
    for (const [id, { ctl, req }] of this.inFlight) {
      if (req.shapeId === shapeId) {
        this.inFlight.delete(id);
        ctl.abort();
      }
    }
    unwrap(this.m.unsubscribe(this.h, shapeId), 'unsubscribe');
    this.schedulePump();
  }

  /** Asks for a subset of a `changes_only` shape (js/subsets.ts); its rows arrive with a `subset` event. */
  loadSubset(shapeId: string, subset: Record<string, unknown>): string {
    this.check();
    const r = unwrap<{ subsetId: string }>(this.m.loadSubset(this.h, shapeId, json(subset), Date.now()), 'loadSubset');
    this.schedulePump();
    return r.subsetId;
  }

  /** Lets go of a subset: the rows nothing else holds leave the table. Returns how many left. */
  releaseSubset(subsetId: string): number {
    this.check();
    const r = unwrap<{ removed: number }>(this.m.releaseSubset(this.h, subsetId), 'releaseSubset');
    this.schedulePump();
    return r.removed;
  }

  /** The subsets the database holds (kept across reopen). */
  subsets(): Record<string, unknown>[] {
    this.check();
    return unwrap<{ subsets: Record<string, unknown>[] }>(this.m.subsets(this.h), 'subsets').subsets;
  }

  status(): Record<string, unknown> {
    this.check();
    return this.withHostState(JSON.parse(this.m.status(this.h)) as Record<string, unknown>);
  }

  metrics(): Record<string, unknown> {
    this.check();
    const m = unwrap<Record<string, unknown>>(this.m.metrics(this.h, Date.now()), 'metrics');
    delete (m as { ok?: unknown }).ok;
    const dataTransfer = dataTransferOf(this.counters, (m.upload ?? {}) as UploadBytes);
    return { ...m, dataTransfer, transport: { ...this.counters, inFlight: this.inFlight.size }, open: this.openPhases };
  }

  pendingMutations(): unknown[] {
    this.check();
    const parsed = JSON.parse(this.m.pendingMutations(this.h)) as unknown;
    if (Array.isArray(parsed)) return parsed;
    const r = unwrap<{ mutations?: unknown[] }>(JSON.stringify(parsed), 'pendingMutations');
    return r.mutations ?? [];
  }

  discardMutation(id: string): void {
    this.check();
    unwrap(this.m.discardMutation(this.h, id), 'discardMutation');
    this.schedulePump();
  }

  /** Registers (or drops) an app resolver for `table`: the engine then emits `resolve` events. */
  setResolver(table: string, registered: boolean): void {
    this.check();
    unwrap(this.m.setResolver(this.h, table, registered), 'setResolver');
  }

  /** Answers a `resolve` event with the row the app's resolver chose. */
  resolveConflict(resolveId: string, row: Record<string, unknown>): void {
    this.check();
    this.whenNoTx(() => unwrap(this.m.resolveConflict(this.h, resolveId, json(row), Date.now()), 'resolveConflict'));
    this.schedulePump();
  }

  // ---- prefetching, snapshots, sign-out ----

  /** The engine's zstd for response bodies fetch left encoded (Node 20). */
  private readonly zstd = (body: Uint8Array): Uint8Array => {
    const r = this.m.zstdDecompress(body);
    if (typeof r === 'string') unwrap(r, 'content-encoding zstd');
    return new Uint8Array(r as Uint8Array);
  };

  /** Subscribes the child shapes of a parent row (policies' prefetch_children). */
  prefetch(table: string, key: unknown): { shapeIds: string[]; covered: string[] } {
    this.check();
    const r = unwrap<{ shapeIds: string[]; covered: string[] }>(this.m.prefetch(this.h, table, json(key), Date.now()), 'prefetch');
    this.schedulePump();
    return { shapeIds: r.shapeIds ?? [], covered: r.covered ?? [] };
  }

  /** Ends one prefetch; the children go after the grace period. */
  release(table: string, key: unknown): void {
    this.check();
    unwrap(this.m.release(this.h, table, json(key), Date.now()), 'release');
    this.schedulePump();
  }

  /** A zstd-compressed snapshot of the local database (a copy). */
  exportSnapshot(): Uint8Array {
    this.check();
    const r = this.m.exportSnapshot(this.h);
    if (typeof r === 'string') {
      unwrap(r, 'export');
      throw new ElectroliteError('internal', 'export returned no snapshot');
    }
    return new Uint8Array(r);
  }

  /** Sign-out: drops every local table, then closes. */
  clear(): void {
    this.check();
    for (const { ctl } of this.inFlight.values()) ctl.abort();
    this.inFlight.clear();
    unwrap(this.m.clear(this.h), 'clear');
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.sse?.closeAll();
    for (const { ctl } of this.inFlight.values()) ctl.abort();
    this.inFlight.clear();
    this.m.close(this.h);
  }

  private check(): void {
    if (this.closed) throw new ElectroliteError('closed', 'the database is closed');
  }
}

/** The names callable over an RPC boundary (js/host-port.ts: the browser's worker port carries these). */
export type HostMethods = Pick<
  EngineHost,
  | 'deferredReady' | 'setNetworkOnline' | 'setVisible' | 'setToken' | 'setUserId' | 'syncNow' | 'query' | 'exec' | 'insert' | 'update'
  | 'delete' | 'begin' | 'commit' | 'rollback' | 'subscribe' | 'unsubscribe' | 'status' | 'metrics'
  | 'pendingMutations' | 'discardMutation' | 'setResolver' | 'resolveConflict' | 'close'
  | 'prefetch' | 'release' | 'exportSnapshot' | 'clear' | 'loadSubset' | 'releaseSubset' | 'subsets' | 'watchRows' | 'unwatchRows'
>;
