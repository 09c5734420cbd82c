// Live queries outside React (STYLE.md #5): one shared db.live subscription per database,
// SQL and parameters, reference-counted by its observers; each result is structurally
// shared with the previous one, and the last result is kept for a while after the last
// observer leaves, so a remounted component shows local data at once instead of a flash
// of empty content.

import { replaceEqualDeep } from '../js/browser/share.js';
import type { ElectricClient, Params, QueryState, Row, Unsubscribe } from './types.js';

/** How long an unobserved query keeps its live subscription (ms). */
export const KEEP_ALIVE_MS = 5000;

export const LOADING: QueryState<never> = Object.freeze({ data: undefined, loading: true, error: null });

class Entry {
  state: QueryState<Row[]> = LOADING;
  listeners = new Set<() => void>();
  private stop: Unsubscribe | undefined;
  private gcTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private db: ElectricClient, private sql: string, private params: Params,
    private drop: () => void) {}

  add(listener: () => void): Unsubscribe {
    if (this.gcTimer !== undefined) clearTimeout(this.gcTimer);
    this.gcTimer = undefined;
    this.listeners.add(listener);
    if (!this.stop) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.gcTimer = setTimeout(() => this.dispose(), KEEP_ALIVE_MS);
      }
    };
  }

  private start(): void {
    try {
      this.stop = this.db.live(this.sql, this.params,
        (result) => this.set({ data: replaceEqualDeep(this.state.data, result.rows), loading: false, error: null }),
        (err) => this.set({ ...this.state, loading: false, error: err }));
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
