// useSubset(shape, subset): loads the rows a component shows from an on-demand shape, and lets
// them go when it no longer shows them (its `where`/`limit`/... changed, or it unmounted; after
// a keep-alive, so the next page replaces the last without an empty list in between). Read
// the rows with useLiveQuery over the local table; `loading` says whether they are in yet.
//
//   const page = useSubset({ table: 'tasks' }, { where: 'status = $1', params: [status],
//                                                orderBy: 'created_at DESC', limit: 50 })
//   const { rows } = useLiveQuery('SELECT * FROM tasks WHERE status = ? ORDER BY created_at DESC LIMIT 50', [status])

import { useMemo, useSyncExternalStore } from 'react';
import type { SubsetOptions } from '../js/subsets.js';
import type { ShapeSubscription } from '../js/types.js';
import { useElectricClient } from './context.js';
import { SUBSET_LOADING, SubsetObserver, type SubsetState } from './subset-observer.js';
import type { Unsubscribe } from './types.js';

const noSubscribe = (): Unsubscribe => () => {};
const loading = (): SubsetState => SUBSET_LOADING;

/**
 * `shape`: a shape id, or a definition (`{ table, where?, … }`, subscribed with
 * `mode: 'on-demand'` unless it says otherwise). `subset`: `{ where, params, orderBy, limit, offset }`.
 */
export function useSubset(shape: ShapeSubscription | string, subset: SubsetOptions = {}): SubsetState {
  const { db, error: openError } = useElectricClient();
  const key = JSON.stringify([shape, subset], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const observer = useMemo(
    () => (db ? new SubsetObserver(db, shape, subset) : null),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [db, key],
  );
  const state = useSyncExternalStore(
    observer ? observer.subscribe : noSubscribe,
    observer ? observer.getSnapshot : loading,
    loading,
  );
  if (!observer && openError) return { loading: false, error: openError, rows: 0 };
  return state;
}
