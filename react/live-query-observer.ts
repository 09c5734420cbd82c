// Live queries outside React (STYLE.md #5): one shared db.live subscription per database,
// SQL and parameters, reference-counted by its observers; its rows come structurally shared
// from the client's live query (js/live-query.ts), and the last result is kept for a while
// after the last observer leaves, so a remounted component shows local data at once.
//
// Loading ends when the data is worth showing: at once for tables whose local copy already
// holds synced data (a shape with a stored offset) or that are not synced at all; for a
// table still doing its first sync, when its shape is up to date, or when the client is
// offline or in error (then what is local is all there is). So a fresh page shows
// "loading" and then the data, never an empty list in between.

import { logicalTable, type LiveQuery } from '../js/live-query.js';
import type { ElectricClient, Params, QueryResult, QueryState, Row, Unsubscribe } from './types.js';

/** How long an unobserved query keeps its live subscription (ms). */
export const KEEP_ALIVE_MS = 5000;

export const LOADING: QueryState<never> = Object.freeze({ data: undefined, loading: true, error: null });

/** In Node, a pending keep-alive must not hold the process open. */
function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** Tables whose local copy held synced data when first asked (a shape past its first offset). */
function tablesWithLocalData(db: ElectricClient): Set<string> {
  const out = new Set<string>();
  for (const shape of db.status.shapes ?? []) {
    if (shape.isUpToDate || (shape.offset !== undefined && shape.offset !== '' && shape.offset !== '-1')) {
      out.add(logicalTable(shape.table));
    }
  }
  return out;
}

class Entry {
  state: QueryState<Row[]> = LOADING;
  listeners = new Set<() => void>();
  private stop: Unsubscribe | undefined;
  private query: LiveQuery<Row> | undefined;
  private gcTimer: ReturnType<typeof setTimeout> | undefined;
  private ready = false;
  private held: QueryResult | undefined;
  private results = 0;        // live results received (a refresh yields to a newer one)
  private refreshing = false;
  private stopStatus: Unsubscribe | undefined;
  private readonly localData: Set<string>;

  constructor(private db: ElectricClient, private sql: string, private params: Params,
    private drop: () => void) {
    this.localData = tablesWithLocalData(db);
    // An observer created but never subscribed (a discarded render) must not stay cached.
    this.gcTimer = unref(setTimeout(() => this.dispose(), KEEP_ALIVE_MS));
  }

  /** Whether the tables this result read hold data worth showing (see the file comment). */
  private isReady(tables: readonly string[]): boolean {
    const s = this.db.status;
    if (s.isOffline || s.error || s.connection === 'error') return true;
    const read = new Set(tables.map(logicalTable));
    for (const shape of s.shapes ?? []) {
      const t = logicalTable(shape.table);
      if (read.has(t) && !shape.isUpToDate && !this.localData.has(t)) return false;
    }
    return true;
  }

  private onResult(result: QueryResult): void {
    this.results++;
    if (!this.ready && !this.isReady(result.tables ?? [])) {
      this.held = result;
      this.stopStatus ??= this.db.onStatus(() => {
        if (this.held && !this.refreshing && this.isReady(this.held.tables ?? [])) this.refresh();
      });
      return;
    }
    this.show(result);
  }

  /**
   * The status says the data is worth showing now, but the held result may predate it (the
   * first sync's rows land, and its status can arrive before the live result that has them):
   * the live query runs afresh (a changed result arrives through onResult); an unchanged one
   * is shown as it is.
   */
  private refresh(): void {
    const query = this.query;
    if (!query) return;
    const seen = this.results;
    this.refreshing = true;
    query.refresh();
    void query.whenIdle().then(() => {
      this.refreshing = false;
      if (this.ready || this.results !== seen || this.query !== query) return;
      const error = query.getError();
      const snapshot = query.getSnapshot();
      if (error) this.set({ ...this.state, loading: false, error });
      else if (snapshot) this.show(snapshot);
    });
  }

  private show(result: QueryResult): void {
    this.ready = true;
    this.held = undefined;
    this.stopStatus?.();
    this.stopStatus = undefined;
    this.set({ data: result.rows, loading: false, error: null });
  }

  add(listener: () => void): Unsubscribe {
    if (this.gcTimer !== undefined) clearTimeout(this.gcTimer);
    this.gcTimer = undefined;
    this.listeners.add(listener);
    if (!this.stop) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.gcTimer = unref(setTimeout(() => this.dispose(), KEEP_ALIVE_MS));
      }
    };
  }

  private start(): void {
    try {
      const query = this.db.liveQuery(this.sql, this.params);
      this.query = query;
      const off = query.subscribe((result) => this.onResult(result),
        (err) => this.set({ ...this.state, loading: false, error: err }));
      this.stop = () => {
        off();
        query.dispose();
        if (this.query === query) this.query = undefined;
      };
    } catch (err) {
      this.set({ ...this.state, loading: false, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  private set(next: QueryState<Row[]>): void {
    const s = this.state;
    if (s.data === next.data && s.loading === next.loading && s.error === next.error) return;
    this.state = next;
    for (const l of [...this.listeners]) l();
  }

  dispose(): void {
    this.stop?.();
    this.stop = undefined;
    this.stopStatus?.();
    this.stopStatus = undefined;
    this.drop();
  }
}

const caches = new WeakMap<ElectricClient, Map<string, Entry>>();
/** Last results of disposed queries: a remount starts from them (stale, then refreshed). */
const lastResults = new WeakMap<ElectricClient, Map<string, Row[]>>();

function keyOf(sql: string, params: Params): string {
  return JSON.stringify([sql, params], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** An observer of one live query: `subscribe` + `getSnapshot` for useSyncExternalStore. */
export class LiveQueryObserver<R extends Row = Row> {
  private readonly entry: Entry;

  constructor(db: ElectricClient, sql: string, params: Params = []) {
    let cache = caches.get(db);
    if (!cache) caches.set(db, (cache = new Map()));
    const key = keyOf(sql, params);
    let entry = cache.get(key);
    if (!entry) {
      const created: Entry = new Entry(db, sql, [...params], () => {
        if (cache!.get(key) === created) cache!.delete(key);
        if (created.state.data) {
          let last = lastResults.get(db);
          if (!last) lastResults.set(db, (last = new Map()));
          last.set(key, created.state.data);
        }
      });
      const last = lastResults.get(db)?.get(key);
      if (last) created.state = { data: last, loading: false, error: null };
      cache.set(key, (entry = created));
    }
    this.entry = entry;
  }

  subscribe = (listener: () => void): Unsubscribe => this.entry.add(listener);

  getSnapshot = (): QueryState<R[]> => this.entry.state as QueryState<R[]>;

  /** Resolves with the first snapshot that is no longer loading (for code outside React). */
  settled(): Promise<QueryState<R[]>> {
    return new Promise((resolve) => {
      let stop: Unsubscribe | undefined;
      const check = () => {
        const s = this.getSnapshot();
        if (s.loading) return false;
        stop?.();
        resolve(s);
        return true;
      };
      stop = this.subscribe(() => { check(); });
      check();
    });
  }
}
