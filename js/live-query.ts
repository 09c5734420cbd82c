// The live-query observer (STYLE.md #5: the observer lives outside React). It runs a query,
// keeps the last result structurally shared, and re-runs only when the engine reports a
// change to a table the query reads (`tables` from the query result, `tables-changed`
// events). Runs are serialised: changes that arrive during a run cause one more run.
// `subscribe` + `getSnapshot` fit React's useSyncExternalStore.

import { ElectroliteError } from './errors.js';
import { shareRows } from './structural-share.js';
import type { QueryResult, Row } from './types.js';

export type LiveListener<R extends Row> = (result: QueryResult<R>) => void;
export type LiveErrorListener = (error: ElectroliteError) => void;

/** `tasks__synced` / `tasks__overlay` are storage of `tasks` (docs/engine-api.md layout). */
export function logicalTable(name: string): string {
  const lower = name.toLowerCase();
  const m = /^(.*?)__(synced|overlay)$/.exec(lower);
  return m ? m[1]! : lower;
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
  private dirty = false;
  private disposed = false;
  /** Resolves after the first run (result or error). */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;

  constructor(run: () => Promise<QueryResult<R>>, release: () => void) {
    this.run = run;
    this.release = release;
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

  /** Called with the tables of a `tables-changed` event. */
  tablesChanged(tables: readonly string[]): void {
    if (this.disposed) return;
    if (this.tables !== undefined && !tables.some((t) => this.tables!.has(logicalTable(t)))) return;
    this.refresh();
  }

  /** Re-runs the query now (coalesced with a run in progress). */
  refresh(): void {
    if (this.disposed) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = true;
    this.dirty = false;
    void this.runOnce();
  }

  private async runOnce(): Promise<void> {
    try {
      const next = await this.run();
      if (this.disposed) return;
      this.tables = new Set(next.tables.map(logicalTable));
      this.error = undefined;
      const prev = this.result;
      const rows = shareRows(prev?.rows, next.rows, next.columns, prev?.columns);
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
      if (this.dirty && !this.disposed) this.refresh();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.listeners.clear();
    this.errorListeners.clear();
    this.release();
  }
}
