// The live-query observer (STYLE.md #5: the observer lives outside React). It runs a query,
// keeps the last result structurally shared, and re-runs only when the engine reports a
// change to a table the query reads (`tables` from the query result, `tables-changed`
// events). Runs are serialised: changes that arrive during a run cause one more run.
// A query of the shape js/live-sql.ts recognises is maintained from the changed keys the
// events carry (js/live-incremental.ts); any other query, and any change not known by key,
// re-runs in full. Such a query also registers its delta statement with the engine host
// (js/row-watches.ts): an event that carries the changed rows for it is applied without a
// query. `subscribe` + `getSnapshot` fit React's useSyncExternalStore.

import { ElectroliteError } from './errors.js';
import type { IncrementalView, KeyChanges, RawQuery, RawResult } from './live-incremental.js';
import type { RowWatch } from './row-watches.js';
import { shareRows } from './structural-share.js';
import type { QueryResult, Row } from './types.js';

/**
 * What incremental maintenance needs: the statement, its parameters, a raw query call that
 * runs at once (in the same tick) and `idle`, which waits until no transaction is open.
 */
export interface LiveSource {
  sql: string;
  params: readonly unknown[];
  query: RawQuery;
  idle: () => Promise<void>;
  /** `IncrementalView.create` (js/live-incremental.ts); tests hand in their own. */
  createView: <V extends Row>(sql: string, params: readonly unknown[], query: RawQuery) => Promise<IncrementalView<V> | null>;
  /** Registers (drops) the view's delta statement with the engine host: changes then carry its rows. */
  watch?: (id: string, watch: RowWatch) => Promise<void>;
  unwatch?: (id: string) => Promise<void>;
}

let watchCount = 0;
/** An id no other live query of any tab uses (watches of all tabs meet in the leader's host). */
const newWatchId = () => `${Math.random().toString(36).slice(2)}.${++watchCount}`;

/** Pending changed keys beyond this many: one full run is cheaper. */
const MAX_PENDING_KEYS = 1024;

export type LiveListener<R extends Row> = (result: QueryResult<R>) => void;
export type LiveErrorListener = (error: ElectroliteError) => void;

/** `tasks__synced` / `tasks__overlay` are storage of `tasks` (docs/engine-api.md layout). */
export function logicalTable(name: string): string {
  const lower = name.toLowerCase();
  const m = /^(.*?)__(synced|overlay)$/.exec(lower);
  return m ? m[1]! : lower;
}

/** Runs `fn` in a new task (after pending I/O callbacks and replies of the current one). */
function nextTask(fn: () => void): void {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (typeof g.setImmediate === 'function') g.setImmediate(fn);
  else setTimeout(fn, 0);
}

export class LiveQuery<R extends Row = Row> {
  private readonly run: () => Promise<QueryResult<R>>;
  private readonly release: () => void;
  private readonly listeners = new Set<LiveListener<R>>();
  private readonly errorListeners = new Set<LiveErrorListener>();
  private result: QueryResult<R> | undefined;
  private error: ElectroliteError | undefined;
  /** Tables the query read in its last run; undefined until the first run (re-run on any change). */
  private tables: Set<string> | undefined;
  private running = false;
  /** A re-run is queued for the next task (tablesChanged). */
  private deferred = false;
  private dirty = false;
  private disposed = false;
  private readonly source: LiveSource | undefined;
  /** undefined: not tried yet; null: not maintainable, full runs. */
  private view: IncrementalView<R> | null | undefined;
  /** Keys changed since the last run started (key string -> values); all: not known by key. */
  private pendingKeys = new Map<string, unknown[]>();
  private pendingAll = true;
  /**
   * The delta statement's row of each pending key, as the last event touching it carried it
   * (null: none, the row is gone or out of the query); a key its last event sent no rows
   * for is not here. With every pending key here, no query is needed.
   */
  private pendingRows = new Map<string, unknown[] | null>();
  private sentColumns: string[] | undefined;
  /** The id of this query's delta statement in the engine host, once registered. */
  private watchId: string | undefined;
  /** Resolves after the first run (result or error). */
  readonly ready: Promise<void>;
  /** Runs so far: `full` (the whole query) and `delta` (from changed keys; `sent` of them from rows the change carried). */
  readonly stats = { full: 0, delta: 0, sent: 0 };
  private idleWaiters: Array<() => void> = [];
  private resolveReady!: () => void;

  constructor(run: () => Promise<QueryResult<R>>, release: () => void, source?: LiveSource) {
    this.run = run;
    this.release = release;
    this.source = source;
    this.view = source ? undefined : null;
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
    this.refresh();
  }

  /** The last result (structurally shared), or undefined before the first run finished. */
  getSnapshot(): QueryResult<R> | undefined {
    return this.result;
  }

  getError(): ElectroliteError | undefined {
    return this.error;
  }

  /** Listens for new results; returns the unsubscribe function. */
  subscribe(listener: LiveListener<R>, onError?: LiveErrorListener): () => void {
    this.listeners.add(listener);
    if (onError) this.errorListeners.add(onError);
    return () => {
      this.listeners.delete(listener);
      if (onError) this.errorListeners.delete(onError);
    };
  }

  /**
   * Called with the tables of a `tables-changed` event and, where the engine knew them, the
   * changed primary keys by table (a table without keys changed in an unknown way).
   */
  tablesChanged(tables: readonly string[], keys?: Readonly<Record<string, KeyChanges>>,
    rows?: Readonly<Record<string, RawResult>>): void {
    if (this.disposed) return;
    const mine = this.tables === undefined ? tables : tables.filter((t) => this.tables!.has(logicalTable(t)));
    if (mine.length === 0) return;
    this.noteKeys(mine, keys, this.watchId !== undefined ? rows?.[this.watchId] : undefined);
    // After the current task: the write that caused the change answers its caller first
    // (in the worker: its reply is posted before the re-run), then the query re-runs.
    if (!this.deferred) {
      this.deferred = true;
      nextTask(() => {
        this.deferred = false;
        this.schedule();
      });
    }
  }

  private noteKeys(tables: readonly string[], keys: Readonly<Record<string, KeyChanges>> | undefined, sent: RawResult | undefined): void {
    const view = this.view;
    if (this.pendingAll || !view || !keys) {
      this.pendingAll = true;
      return;
    }
    for (const t of tables) {
      const list = logicalTable(t) === logicalTable(view.table) ? view.keysOf(keys[t]) : null;
      if (list === null) {
        this.pendingAll = true;
        return;
      }
      const rows = keys[t]!.rows;
      for (let i = 0; i < list.length; i++) {
        this.pendingKeys.set(list[i]!, rows[i]!);
        if (sent) this.pendingRows.set(list[i]!, null);
        else this.pendingRows.delete(list[i]!);
      }
    }
    if (sent) {
      this.sentColumns = sent.columns;
      for (const r of sent.rows) if (this.pendingRows.has(view.keyOfRow(r))) this.pendingRows.set(view.keyOfRow(r), r);
    }
    if (this.pendingKeys.size > MAX_PENDING_KEYS) this.pendingAll = true;
  }

  /** Re-runs the query now (coalesced with a run in progress). */
  refresh(): void {
    if (this.disposed) return;
    this.pendingAll = true;
    this.schedule();
  }

  /** The engine host was opened again (a tab took over): its watch is told again, and the query runs afresh. */
  reopened(): void {
    const id = this.watchId;
    if (id !== undefined && this.view) {
      this.source?.watch?.(id, this.view.watch()).catch(() => {
        if (this.watchId === id) this.watchId = undefined;
      });
    }
    this.refresh();
  }

  private schedule(): void {
    if (this.disposed) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = true;
    this.dirty = false;
    void this.runOnce();
  }

  /**
   * The changes to apply now. Taken right before the statement runs (after waiting for a
   * transaction to end), so one run sees every key a transaction reported: a result never
   * shows half of a transaction.
   */
  private takePending(): { all: boolean; keys: Map<string, unknown[]>; sent: RawResult | undefined } {
    const rows = this.pendingRows;
    const sent = this.sentColumns !== undefined && rows.size === this.pendingKeys.size
      ? { columns: this.sentColumns, rows: [...rows.values()].filter((r): r is unknown[] => r !== null), tables: [] }
      : undefined;
    const taken = { all: this.pendingAll, keys: this.pendingKeys, sent };
    this.pendingAll = false;
    this.pendingKeys = new Map();
    this.pendingRows = new Map();
    this.dirty = false;
    return taken;
  }

  /** The next result: incrementally when possible; `shared` when its rows are already shared. */
  private async compute(): Promise<{ next: QueryResult<R>; shared: boolean }> {
    const source = this.source;
    if (this.view === undefined && source) {
      try {
        await source.idle();
        this.view = await source.createView<R>(source.sql, source.params, source.query);
      } catch {
        this.view = null;
      }
      if (this.view && source.watch && !this.disposed) {
        const id = newWatchId();
        this.watchId = id;
        source.watch(id, this.view.watch()).catch(() => {
          if (this.watchId === id) this.watchId = undefined;
        });
      }
    }
    const view = this.view;
    if (view && source) {
      try {
        await source.idle();
        // From here to the query call nothing yields: no event can slip in between.
        const { all, keys, sent } = this.takePending();
        let ok = false;
        if (!all && view.ready) ok = keys.size === 0 || (await view.delta(keys, sent));
        if (ok) {
          this.stats.delta++;
          if (sent && keys.size > 0) this.stats.sent++;
        } else {
          ok = await view.full();
          this.stats.full++;
        }
        if (ok) return { next: view.result(), shared: true };
      } catch {
        // A derived statement failed: the original runs (and reports its own error, if any).
      }
      this.view = null;
      this.unwatch();
    }
    this.takePending();
    this.stats.full++;
    return { next: await this.run(), shared: false };
  }

  private async runOnce(): Promise<void> {
    try {
      const { next, shared } = await this.compute();
      if (this.disposed) return;
      this.tables = new Set(next.tables.map(logicalTable));
      this.error = undefined;
      const prev = this.result;
      const rows = shared ? next.rows : shareRows(prev?.rows, next.rows, next.columns, prev?.columns);
      if (prev && rows === prev.rows) {
        // Nothing the caller can see changed: keep the old result, no callback.
      } else {
        this.result = { rows, columns: next.columns, tables: next.tables };
        for (const l of [...this.listeners]) {
          try {
            l(this.result);
          } catch (err) {
            queueMicrotask(() => {
              throw err;
            });
          }
        }
      }
    } catch (err) {
      if (this.disposed) return;
      this.error = ElectroliteError.from(err);
      for (const l of [...this.errorListeners]) {
        try {
          l(this.error);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
      if (this.errorListeners.size === 0) {
        console.warn(`[electrolite] live query failed: ${this.error.code}: ${this.error.message}`);
      }
    } finally {
      this.resolveReady();
      this.running = false;
      if (this.dirty && !this.disposed) this.schedule();
      else if (!this.deferred) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Resolves once no run is in progress or pending (tests, benchmarks). */
  whenIdle(): Promise<void> {
    if ((!this.running && !this.deferred) || this.disposed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops this query's delta statement from the engine host (no view any more, or disposed). */
  private unwatch(): void {
    if (this.watchId !== undefined) void this.source?.unwatch?.(this.watchId).catch(() => undefined);
    this.watchId = undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unwatch();
    for (const w of this.idleWaiters.splice(0)) w();
    this.listeners.clear();
    this.errorListeners.clear();
    this.release();
  }
}
