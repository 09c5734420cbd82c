// What the React layer needs from a database: the client API, implemented by the
// Node client (js/) and by the browser proxy (js/browser/). Kept structural so both fit.

import type {
  ConflictEvent, ExecResult, Metrics, Params, PendingMutation, QueryResult, Row, Status, Unsubscribe,
} from '../js/types.js';

export type { ConflictEvent, Metrics, Params, QueryResult, Row, Status, Unsubscribe };

/** Reads and writes allowed inside `db.transaction(fn)`. */
export interface ElectricTransaction {
  query<R extends Row = Row>(sql: string, params?: Params): Promise<QueryResult<R>>;
  exec(sql: string, params?: Params): Promise<ExecResult>;
  insert(table: string, row: Row): Promise<unknown> | unknown;
  update(table: string, key: Row, patch: Row): Promise<unknown> | unknown;
  delete(table: string, key: Row): Promise<unknown> | unknown;
}

export interface ElectricClient extends ElectricTransaction {
  readonly status: Status & { storage?: string };
  onStatus(cb: (status: Status) => void): Unsubscribe;
  onConflict?(cb: (event: ConflictEvent) => void): Unsubscribe;
  live<R extends Row = Row>(sql: string, params: Params, cb: (result: QueryResult<R>) => void,
    onError?: (err: Error) => void): Unsubscribe;
  transaction<T>(fn: (tx: ElectricTransaction) => Promise<T>): Promise<T>;
  metrics(): Promise<Metrics> | Metrics;
  syncNow(): Promise<void> | void;
  pendingMutations(): Promise<PendingMutation[]> | PendingMutation[];
  close(): Promise<void> | void;
}

/** A hook's view of a query: data once known, loading until then, the last error. */
export interface QueryState<T> {
  data: T | undefined;
  loading: boolean;
  error: Error | null;
}
