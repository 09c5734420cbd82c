// The main-thread side of the browser runtime: a small proxy with the same API as the Node
// client, forwarding every call to the module worker that hosts the engine (worker.ts).
// Importing this file touches no browser global; only open() creates the Worker.

import type { Transaction } from '../client.js';
import { ElectroliteError, type ErrorCode } from '../errors.js';
import { LiveQuery } from '../live-query.js';
import { shareRows } from '../structural-share.js';
import type {
  ConflictEvent, ExecResult, Metrics, OpenOptions, Params, PendingMutation, QueryResult, Row,
  ShapeSubscription, Status, Unsubscribe,
} from '../types.js';
import {
  fromErrorData, toErrorData, type CallMethod, type FromWorker, type HostMethod, type ToWorker,
  type WorkerOpenOptions,
} from './protocol.js';
import { replaceEqualDeep } from './share.js';
import { compileEngineWasm, diagnoseScript } from '../wasm-files.js';

/** Where the data lives: OPFS; IndexedDB without OPFS sync access handles; else memory (said, not hidden). */
export type StorageKind = 'opfs' | 'idb' | 'memory';
/**
 * `storageReason`: why a named database is not in OPFS (no sync access handles, open in another tab).
 * `role`: whether this tab's worker hosts the engine ('leader') or forwards to the tab that
 * does ('follower'; one leader per origin and database). `handover`: the leader tab closed
 * and another is taking over (requests wait for it).
 */
export type BrowserStatus = Status & {
  storage: StorageKind; storageReason?: string; role?: 'leader' | 'follower'; handover?: boolean;
};

export interface BrowserOpenOptions extends Omit<OpenOptions, 'fetch' | 'resolvers'> {
  /**
   * URL of the worker script (default: worker.js next to this module; with the default the
   * page also compiles the engine's wasm while the worker starts, and hands it over).
   */
  workerUrl?: string | URL;
  /** An already-created module worker running worker.js (tests, custom bundling). */
  worker?: Worker;
  /** URL of an ES module exporting `resolvers`: custom conflict resolvers run in the worker. */
  resolversModule?: string | URL;
  /** 'idb': keep a named database in IndexedDB even where OPFS works (docs/storage.md). */
  persistence?: 'auto' | 'idb';
}

/**
 * Where the default worker script is, for error messages, when this module was not bundled
 * (a bundler names the worker itself). Not a `new URL(…)`: a second literal would make
 * bundlers copy worker.js as a plain asset too.
 */
function defaultWorkerUrl(): string | undefined {
  const here = String(import.meta.url);
  return /\/browser\/client\.js([?#].*)?$/.test(here) ? here.replace(/client\.js([?#].*)?$/, 'worker.js') : undefined;
}

/**
 * Vite 7 and older pre-bundle this module into node_modules/.vite/deps/ in dev without
 * rebasing its `new URL('./worker.js', import.meta.url)` (Vite 8 does): say what to do.
 */
function optimizedByOldVite(): string {
  return /\/\.vite\/deps\//.test(String(import.meta.url))
    ? ' (this module was pre-bundled into .vite/deps, where Vite 7 and older do not rebase its worker URL: use Vite 8, or optimizeDeps: { exclude: [\'electrolite\'] })'
    : '';
}

type LiveCallback = (result: QueryResult) => void;
interface LiveEntry { cb: LiveCallback; onError?: (err: ElectroliteError) => void; last?: QueryResult }


export class BrowserElectrolite {
  #worker: Worker;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: ElectroliteError) => void }>();
  #lives = new Map<number, LiveEntry>();
  #statusListeners = new Set<(s: BrowserStatus) => void>();
  #conflictListeners = new Set<(e: ConflictEvent) => void>();
  #status: BrowserStatus;
  #closed = false;
  #options: BrowserOpenOptions;
  #unwatch: () => void = () => {};

  private constructor(worker: Worker, options: BrowserOpenOptions) {
    this.#worker = worker;
    this.#options = options;
    this.#status = {
      connection: 'disconnected', sync: 'idle', isOffline: false, network: 'online', isUpToDate: false,
      lastSyncedAt: null, pendingChanges: 0, error: null, shapes: [], storage: 'memory',
    };
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.#onMessage(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => void this.#workerFailed(e));
  }

  /**
   * A script that did not load says nothing in its event: fetch it (and, unbundled, the glue
   * it imports from dist/wasm/) to say why.
   */
  async #workerFailed(e: ErrorEvent): Promise<void> {
    const url = this.#options.worker ? undefined : this.#options.workerUrl ?? defaultWorkerUrl();
    const glue = url !== undefined && this.#options.workerUrl === undefined ? new URL('../../wasm/electrolite.mjs', url) : undefined;
    const why = e.message || (url && (await diagnoseScript(url))) || (glue && (await diagnoseScript(glue))) ||
      `could not load the worker script${url ? ` ${String(url)}` : ''}${optimizedByOldVite()}`;
    this.#fail(new ElectroliteError(e.message ? 'internal' : 'io', `worker failed: ${why}`));
  }

  /** Starts the worker, opens the engine in it and resolves once it is ready. */
  static async open(options: BrowserOpenOptions = {}): Promise<BrowserElectrolite> {
    if (typeof Worker === 'undefined' && !options.worker) {
      throw new ElectroliteError('invalid_argument', 'BrowserElectrolite needs Worker (use Electrolite.open in Node)');
    }
    // With the default worker (next to this module, the wasm beside both), the page compiles
    // the wasm while the worker starts and hands the module over (structured clone).
    const compiling = options.worker === undefined && options.workerUrl === undefined ? compileEngineWasm() : undefined;
    compiling?.catch(() => undefined);
    const worker = options.worker ?? (options.workerUrl !== undefined
      ? new Worker(options.workerUrl, { type: 'module', name: 'electrolite' })
      // Written out literally: bundlers (Vite, webpack 5, Next.js) recognise exactly this form
      // and bundle worker.js with what it imports.
      : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'electrolite' }));
    const db = new BrowserElectrolite(worker, options);
    const { workerUrl: _u, worker: _w, resolversModule, token, logger, ...rest } = options;
    const plain: Record<string, unknown> = { ...rest };
    if (typeof token === 'string') plain['token'] = token;
    const open: WorkerOpenOptions = {
      options: plain,
      tokenFunction: typeof token === 'function',
      forwardLogs: typeof logger === 'function',
      ...(resolversModule !== undefined ? { resolversModule: String(resolversModule) } : {}),
      ...(compiling ? { pageCompiles: true } : {}),
    };
    try {
      const opened = db.#call('open', [open]);
      compiling?.then(
        (module) => db.#postModule({ t: 'module', module }),
        (err: unknown) => db.#postModule({ t: 'module', error: String((err as Error)?.message ?? err) }),
      );
      const status = await opened;
      db.#setStatus(status as BrowserStatus);
      db.#watchPage();
    } catch (err) {
      worker.terminate();
      db.#closed = true;
      throw err;
    }
    return db;
  }

  get status(): BrowserStatus { return this.#status; }

  onStatus(cb: (s: BrowserStatus) => void): Unsubscribe {
    this.#statusListeners.add(cb);
    return () => { this.#statusListeners.delete(cb); };
  }

  onConflict(cb: (e: ConflictEvent) => void): Unsubscribe {
    this.#conflictListeners.add(cb);
    return () => { this.#conflictListeners.delete(cb); };
  }

  query<R extends Row = Row>(sql: string, params: Params = []): Promise<QueryResult<R>> {
    return this.#call('query', [sql, params]) as Promise<QueryResult<R>>;
  }
  exec(sql: string, params: Params = []): Promise<ExecResult> {
    return this.#call('exec', [sql, params]) as Promise<ExecResult>;
  }
  /** Local insert (row + outbox entry); resolves with the mutation id (null: nothing changed). */
  insert(table: string, row: Row): Promise<string | null> {
    return this.#call('insert', [table, row]) as Promise<string | null>;
  }
  update(table: string, key: Row, patch: Row): Promise<string | null> {
    return this.#call('update', [table, key, patch]) as Promise<string | null>;
  }
  delete(table: string, key: Row): Promise<string | null> {
    return this.#call('delete', [table, key]) as Promise<string | null>;
  }
  pendingMutations(): Promise<PendingMutation[]> {
    return this.#call('pendingMutations', []) as Promise<PendingMutation[]>;
  }
  async discardMutation(id: string): Promise<void> { await this.#call('discardMutation', [id]); }
  metrics(): Promise<Metrics> { return this.#call('metrics', []) as Promise<Metrics>; }
  /** Uploads pending writes and re-requests every shape; resolves when up to date. */
  syncNow(timeoutMs?: number): Promise<Status> {
    return this.#call('syncNow', timeoutMs === undefined ? [] : [timeoutMs]) as Promise<Status>;
  }
  subscribe(shape: ShapeSubscription): Promise<string> { return this.#call('subscribe', [shape]) as Promise<string>; }
  async unsubscribe(shapeId: string): Promise<void> { await this.#call('unsubscribe', [shapeId]); }
  async setOnline(online: boolean): Promise<void> { await this.#call('setOnline', [online]); }
  async setVisible(visible: boolean): Promise<void> { await this.#call('setVisible', [visible]); }

  /**
   * Resolves with the first status (current or later) for which `pred` holds; with
   * `rejectOnError`, rejects on the first status that carries an error.
   */
  waitForStatus(pred: (s: BrowserStatus) => boolean, timeoutMs = 30000, rejectOnError = false): Promise<BrowserStatus> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new ElectroliteError('timeout', `status condition not reached within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = (fn: () => void) => {
        off();
        clearTimeout(timer);
        fn();
      };
      const check = (s: BrowserStatus) => {
        if (pred(s)) finish(() => resolve(s));
        else if (rejectOnError && s.error) {
          const e = s.error;
          finish(() => reject(new ElectroliteError(e.code as ErrorCode, e.message)));
        }
      };
      const off = this.onStatus(check);
      check(this.#status);
    });
  }

  /** Runs fn in one engine transaction in the worker: committed if fn resolves, else rolled back. */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new ElectroliteError('invalid_argument', 'transaction: expected a function');
    const txId = (await this.#call('begin', [])) as number;
    const via = (method: CallMethod) => (...args: unknown[]) => this.#call(method, args, txId);
    const tx = {
      query: via('query'), exec: via('exec'), insert: via('insert'), update: via('update'), delete: via('delete'),
    } as Transaction;
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      await this.#call('rollback', [], txId).catch(() => undefined);
      throw err;
    }
    await this.#call('commit', [], txId);
    return result;
  }

  /**
   * Runs sql now and again whenever a table it reads changes; cb gets each result with
   * unchanged rows keeping their identity. Returns the unsubscribe function.
   */
  live<R extends Row = Row>(
    sql: string, params: Params, cb: (result: QueryResult<R>) => void,
    onError?: (err: ElectroliteError) => void,
  ): Unsubscribe {
    const liveId = this.#nextId++;
    this.#lives.set(liveId, { cb: cb as LiveCallback, ...(onError ? { onError } : {}) });
    this.#post({ t: 'live', liveId, sql, params: [...params] });
    return () => {
      if (this.#lives.delete(liveId) && !this.#closed) this.#post({ t: 'unlive', liveId });
    };
  }

  /** The page's online/offline events and visibility, forwarded to the worker's host. */
  #watchPage(): void {
    const g = globalThis as unknown as {
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
      navigator?: { onLine?: boolean };
      document?: { visibilityState?: string; addEventListener(t: string, fn: () => void): void;
        removeEventListener(t: string, fn: () => void): void };
    };
    const quiet = (p: Promise<void>) => void p.catch(() => undefined);
    const online = () => quiet(this.setOnline(true));
    const offline = () => quiet(this.setOnline(false));
    const visibility = () => quiet(this.setVisible(g.document?.visibilityState !== 'hidden'));
    // Leaving the page: pause the shape stream at once (its long-polls hold the browser's six
    // HTTP/1.1 connections per host and would stall the next page's requests for a whole poll),
    // resume if the navigation was cancelled, and stop the worker when the page goes away.
    const beforeunload = () => {
      quiet(this.setVisible(false));
      setTimeout(() => quiet(this.setVisible(g.document?.visibilityState !== 'hidden')), 1000);
    };
    // Also into the back/forward cache (`persisted`): WebKit keeps such a page's worker, and
    // with it the database's lock, and a frozen leader answers no other tab.
    const pagehide = (e: Event) => {
      this.#closed = true;
      this.#worker.terminate();
      this.#fail(new ElectroliteError('closed', (e as Event & { persisted?: boolean }).persisted
        ? 'the page went into the back/forward cache (reload it to reopen the database)' : 'the page was unloaded'));
    };
    g.addEventListener?.('online', online);
    g.addEventListener?.('offline', offline);
    g.addEventListener?.('pagehide', pagehide as () => void);
    g.addEventListener?.('beforeunload', beforeunload);
    g.document?.addEventListener('visibilitychange', visibility);
    this.#unwatch = () => {
      g.removeEventListener?.('online', online);
      g.removeEventListener?.('offline', offline);
      g.removeEventListener?.('pagehide', pagehide as () => void);
      g.removeEventListener?.('beforeunload', beforeunload);
      g.document?.removeEventListener('visibilitychange', visibility);
    };
    if (g.navigator?.onLine === false) offline();
    if (g.document?.visibilityState === 'hidden') visibility();
  }

  /**
   * Syncs the rows related to one parent row now (the declarations' `prefetch_children`);
   * resolves once they are local with the function that releases them.
   */
  async prefetch(table: string, key: unknown, timeoutMs?: number): Promise<() => Promise<void>> {
    await this.#call('prefetch', timeoutMs === undefined ? [table, key] : [table, key, timeoutMs]);
    let released = false;
    return async () => {
      if (released || this.#closed) return;
      released = true;
      await this.release(table, key);
    };
  }
  async release(table: string, key: unknown): Promise<void> { await this.#call('release', [table, key]); }
  /** A zstd-compressed snapshot of the local database (for `open({ import })`). */
  export(): Promise<Uint8Array> { return this.#call('export', []) as Promise<Uint8Array>; }

  /** Sign-out: removes the local database (rows, pending writes, shapes, OPFS files) and closes. */
  async clear(): Promise<void> {
    if (this.#closed) return;
    this.#unwatch();
    try {
      await this.#call('clear', []);
    } finally {
      this.#closed = true;
      this.#worker.terminate();
      this.#fail(new ElectroliteError('closed', 'database cleared'));
    }
  }

  /**
   * The observer behind live(), as in the Node client (getSnapshot/subscribe/ready/dispose):
   * the worker pushes each new result and the observer re-reads the latest one.
   */
  liveQuery<R extends Row = Row>(sql: string, params: Params = []): LiveQuery<R> {
    let current: QueryResult<R> | undefined;
    let failure: ElectroliteError | undefined;
    let first!: (r: QueryResult<R>) => void;
    const firstResult = new Promise<QueryResult<R>>((resolve) => (first = resolve));
    const run = async (): Promise<QueryResult<R>> => {
      if (failure) throw failure;
      return current ?? firstResult;
    };
    let stop: Unsubscribe = () => {};
    const q = new LiveQuery<R>(run, () => stop());
    stop = this.live<R>(sql, params, (result) => {
      current = result;
      failure = undefined;
      first(result);
      q.refresh();
    }, (err) => {
      failure = err;
      if (!current) first(Promise.reject(err) as never);
      q.refresh();
    });
    return q;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#unwatch();
    try {
      await this.#call('close', []);
    } finally {
      this.#closed = true;
      this.#worker.terminate();
      this.#fail(new ElectroliteError('closed', 'database closed'));
    }
  }

  #call(method: CallMethod | HostMethod, args: unknown[], tx?: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ElectroliteError('closed', 'database closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#post({ t: 'call', id, method, args, ...(tx !== undefined ? { tx } : {}) });
      } catch (err) {
        this.#pending.delete(id);
        reject(new ElectroliteError('invalid_argument', `${method}: arguments cannot be sent to the worker (${toErrorData(err).message})`));
      }
    });
  }

  #post(msg: ToWorker): void { this.#worker.postMessage(msg); }

  /** A browser that cannot clone a WebAssembly.Module: the worker compiles it itself. */
  #postModule(msg: ToWorker & { t: 'module' }): void {
    try {
      this.#post(msg);
    } catch (err) {
      this.#post({ t: 'module', error: toErrorData(err).message });
    }
  }

  #setStatus(status: BrowserStatus): void {
    this.#status = replaceEqualDeep(this.#status, status);
    for (const cb of [...this.#statusListeners]) cb(this.#status);
  }

  #onMessage(msg: FromWorker): void {
    switch (msg.t) {
      case 'reply': {
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(fromErrorData(msg.error));
        return;
      }
      case 'status': this.#setStatus(msg.status as BrowserStatus); return;
      case 'conflict': for (const cb of [...this.#conflictListeners]) cb(msg.event as ConflictEvent); return;
      case 'live': {
        const entry = this.#lives.get(msg.liveId);
        if (!entry) return;
        const next = msg.result as QueryResult;
        const rows = shareRows(entry.last?.rows, next.rows, next.columns, entry.last?.columns);
        entry.last = rows === entry.last?.rows && entry.last.tables.join() === next.tables.join()
          ? entry.last : { ...next, rows };
        entry.cb(entry.last);
        return;
      }
      case 'live-error': {
        const entry = this.#lives.get(msg.liveId);
        const err = fromErrorData(msg.error);
        if (entry?.onError) entry.onError(err);
        else if (entry) console.error('electrolite live query failed:', err);
        return;
      }
      case 'log': (this.#options.logger ?? console.debug)(msg.line); return;
      case 'token-request': void this.#answerToken(msg.id); return;
    }
  }

  async #answerToken(id: number): Promise<void> {
    const source = this.#options.token;
    try {
      const token = typeof source === 'function' ? await source() : source;
      this.#post({ t: 'token', id, ...(token !== undefined ? { token } : {}) });
    } catch (err) {
      this.#post({ t: 'token', id, error: toErrorData(err) });
    }
  }

  #fail(err: ElectroliteError): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    if (err.code !== 'closed') {
      this.#setStatus({ ...this.#status, connection: 'error', error: { code: err.code, message: err.message } });
    }
  }
}
