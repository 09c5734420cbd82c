// What the React layer needs from a database: the one client class, Electrolite (js/client.ts),
// whether its engine runs in this thread (Node) or in the browser's worker.

import type { Electrolite, Transaction } from '../js/client.js';
import type { ConflictEvent, Metrics, Params, QueryResult, Row, Status, Unsubscribe } from '../js/types.js';

export type { ConflictEvent, Metrics, Params, QueryResult, Row, Status, Unsubscribe };

/** The status as React shows it: the browser's adds where the data lives. */
export type ElectricStatus = Status & { storage?: string };

/** Reads and writes allowed inside `db.transaction(fn)`. */
export type ElectricTransaction = Transaction;

/** The open database the provider and hooks use. */
export type ElectricClient = Electrolite<ElectricStatus>;

/** A hook's view of a query: data once known, loading until then, the last error. */
export interface QueryState<T> {
  data: T | undefined;
  loading: boolean;
  error: Error | null;
}
