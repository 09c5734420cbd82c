// useElectric(): the database, its status and metrics, and whether it is ready.
// useElectricStatus(): just the status (no metrics polling), for status components.

import { useSyncExternalStore } from 'react';
import { useElectricClient } from './context.js';
import { metricsObserver, statusObserver, type ElectricStatus, type MetricsState } from './status-observer.js';
import type { ElectricClient, Unsubscribe } from './types.js';

export const NOT_OPEN_STATUS: ElectricStatus = Object.freeze({
  connection: 'disconnected', sync: 'idle', isOffline: false, network: 'online', isUpToDate: false, lastSyncedAt: null,
  pendingChanges: 0, error: null, shapes: [],
}) as ElectricStatus;
const NO_METRICS: MetricsState = Object.freeze({ metrics: undefined, error: null });

const noSubscribe = (): Unsubscribe => () => {};

export function useElectricStatus(): ElectricStatus {
  const { db } = useElectricClient();
  const o = db ? statusObserver(db) : null;
  return useSyncExternalStore(o ? o.subscribe : noSubscribe, o ? o.getSnapshot : () => NOT_OPEN_STATUS,
    () => NOT_OPEN_STATUS);
}

export interface UseElectric extends MetricsState {
  db: ElectricClient | null;
  isReady: boolean;
  status: ElectricStatus;
  /** Opening the database failed (bad config, no wasm, ...). */
  error: Error | null;
  metricsError: Error | null;
}

export function useElectric(): UseElectric {
  const { db, error } = useElectricClient();
  const status = useElectricStatus();
  const m = db ? metricsObserver(db) : null;
  const metrics = useSyncExternalStore(m ? m.subscribe : noSubscribe, m ? m.getSnapshot : () => NO_METRICS,
    () => NO_METRICS);
  return { db, isReady: db !== null, status, error, metrics: metrics.metrics, metricsError: metrics.error };
}
