// useLiveQuery(sql, params): the rows of a live query, re-rendering when they change.
// A thin hook over LiveQueryObserver (live-query-observer.ts), which lives outside React.

import { useMemo, useSyncExternalStore } from 'react';
import { useElectricClient } from './context.js';
import { LOADING, LiveQueryObserver } from './live-query-observer.js';
import type { Params, QueryState, Row, Unsubscribe } from './types.js';

export interface LiveQueryResult<R> {
  rows: R[] | undefined;
  loading: boolean;
  error: Error | null;
}

const noSubscribe = (): Unsubscribe => () => {};
const loading = (): QueryState<never> => LOADING;

export function useLiveQuery<R extends Row = Row>(sql: string, params: Params = []): LiveQueryResult<R> {
  const { db, error: openError } = useElectricClient();
  const paramsKey = JSON.stringify(params, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const observer = useMemo(
    () => (db ? new LiveQueryObserver<R>(db, sql, params) : null),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [db, sql, paramsKey],
  );
  const state = useSyncExternalStore(
    observer ? observer.subscribe : noSubscribe,
    observer ? observer.getSnapshot : loading,
    loading,
  );
  if (!observer && openError) return { rows: undefined, loading: false, error: openError };
  return { rows: state.data, loading: state.loading, error: state.error };
}
