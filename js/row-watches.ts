// Changed rows sent with the change. A live query maintained from changed keys
// (js/live-incremental.ts) registers its delta statement with the engine host; each
// `tables-changed` event whose keys touch the watched table runs that statement for those
// keys at once — right after the change committed, in the host — and carries the rows
// (`rows: { [watchId]: { columns, rows } }`), so the client applies the change without asking
// for them: one round trip to the worker less between a write and the re-rendered list. Only
// a change that comes alone carries rows (a single write; a transaction's writes come
// together, and the client's one query for all their keys beats a statement per write). An
// event with more keys than MAX_WATCHED_KEYS, keys named differently, or a statement that
// fails carries no rows for that watch: the client asks, as it would without a watch.

import type { RawQueryResult } from './engine-host.js';
import { ElectroliteError } from './errors.js';
import { logicalTable } from './live-query.js';

export interface RowWatch {
  /** The table the query reads (as written in it). */
  table: string;
  /** Its primary key columns, in the order the keys parameter lists them. */
  key: string[];
  /** The delta statement: its own parameters, then the keys as one JSON array parameter. */
  sql: string;
  params: unknown[];
}

/** Keys beyond this many in one event: the client's own single query is the better deal. */
export const MAX_WATCHED_KEYS = 64;

interface EventKeys { columns?: unknown; rows?: unknown }

export class RowWatches {
  readonly #watches = new Map<string, RowWatch & { logical: string }>();

  watch(id: string, w: RowWatch): void {
    const ok = typeof id === 'string' && id !== '' && w !== null && typeof w === 'object' &&
      typeof w.table === 'string' && w.table !== '' && typeof w.sql === 'string' && w.sql !== '' &&
      Array.isArray(w.key) && w.key.length > 0 && w.key.every((k) => typeof k === 'string' && k !== '') &&
      Array.isArray(w.params);
    if (!ok) {
      throw new ElectroliteError('invalid_argument',
        'watchRows: expects an id and { table, key: [column, …], sql, params: [] } with a non-empty table, key and statement');
    }
    this.#watches.set(id, { ...w, key: w.key.map(String), logical: logicalTable(w.table) });
  }

  unwatch(id: string): void {
    this.#watches.delete(id);
  }

  /**
   * The events the engine emitted together, the one `tables-changed` among them (when it came
   * alone) with the rows of every watch its keys touch.
   */
  attach<E extends { type: string; keys?: unknown }>(events: E[], query: (sql: string, params: unknown[]) => RawQueryResult): E[] {
    if (this.#watches.size === 0) return events;
    const changes = events.filter((ev) => ev.type === 'tables-changed');
    if (changes.length !== 1) return events;
    const one = changes[0]!;
    const withRows = this.#withRows(one, query);
    return withRows === one ? events : events.map((ev) => (ev === one ? withRows : ev));
  }

  #withRows<E extends { type: string; keys?: unknown }>(ev: E, query: (sql: string, params: unknown[]) => RawQueryResult): E {
    if (ev.keys === null || typeof ev.keys !== 'object') return ev;
    const keys = ev.keys as Record<string, EventKeys>;
    let rows: Record<string, RawQueryResult> | undefined;
    for (const [id, w] of this.#watches) {
      const values = keysOf(keys, w);
      if (!values || values.length === 0 || values.length > MAX_WATCHED_KEYS) continue;
      try {
        const arg = JSON.stringify(w.key.length === 1 ? values.map((k) => k[0]) : values);
        (rows ??= {})[id] = query(w.sql, [...w.params, arg]);
      } catch {
        // the client asks for them itself
      }
    }
    return rows ? { ...ev, rows } : ev;
  }
}

/** The changed keys of the watched table (null when a table of it names them otherwise). */
function keysOf(keys: Record<string, EventKeys>, w: RowWatch & { logical: string }): unknown[][] | null {
  const out: unknown[][] = [];
  for (const [table, k] of Object.entries(keys)) {
    if (logicalTable(table) !== w.logical) continue;
    if (!Array.isArray(k.columns) || !Array.isArray(k.rows) || k.columns.length !== w.key.length) return null;
    for (let i = 0; i < w.key.length; i++) if (String(k.columns[i]).toLowerCase() !== w.key[i]!.toLowerCase()) return null;
    for (const r of k.rows) out.push(r as unknown[]);
  }
  return out;
}
