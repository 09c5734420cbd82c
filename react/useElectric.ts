// useElectric(): the database, its status and metrics, and whether it is ready.
// useElectricStatus(): just the status (no metrics polling), for status components.
//
// useElectric() subscribes only to what its component reads: `status` and `metrics` /
// `metricsError` are getters that note the read, and the status (or the metrics polling)
// is subscribed from the first render that read it on. A component that takes only `db`
// therefore neither re-renders on each status change (every local write changes
// `pendingChanges`) nor asks the worker for metrics after each one.

import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useElectricClient } from './context.js';
import { metricsObserver, statusObserver, type ElectricStatus, type MetricsState } from './status-observer.js';
import type { ElectricClient, Unsubscribe } from './types.js';

export const NOT_OPEN_STATUS: ElectricStatus = Object.freeze({
  connection: 'disconnected', sync: 'idle', isOffline: false, network: 'online', isUpToDate: false, lastSyncedAt: null,
  pendingChanges: 0, error: null, shapes: [],
}) as ElectricStatus;
const NO_METRICS: MetricsState = Object.freeze({ metrics: undefined, error: null });

const noSubscribe = (): Unsubscribe => () => {};
const notOpen = (): ElectricStatus => NOT_OPEN_STATUS;
const noMetrics = (): MetricsState => NO_METRICS;

export function useElectricStatus(): ElectricStatus {
  const { db } = useElectricClient();
  const o = db ? statusObserver(db) : null;
  return useSyncExternalStore(o ? o.subscribe : noSubscribe, o ? o.getSnapshot : notOpen, notOpen);
}

export interface UseElectric extends MetricsState {
  db: ElectricClient | null;
  isReady: boolean;
  status: ElectricStatus;
  /** Opening the database failed (bad config, no wasm, ...). */
  error: Error | null;
  metricsError: Error | null;
}

/** What a component read of useElectric()'s result (bit flags). */
const STATUS = 1;
const METRICS = 2;

export function useElectric(): UseElectric {
  const { db, error } = useElectricClient();
  // What was read so far (noted by the getters below) and what is subscribed.
  const read = useRef(0);
  const [watched, setWatched] = useState(0);
  const so = db ? statusObserver(db) : null;
  const status = useSyncExternalStore(so && watched & STATUS ? so.subscribe : noSubscribe, so ? so.getSnapshot : notOpen, notOpen);
  const mo = db ? metricsObserver(db) : null;
  const metrics = useSyncExternalStore(mo && watched & METRICS ? mo.subscribe : noSubscribe, mo ? mo.getSnapshot : noMetrics, noMetrics);
  // After each commit: subscribe to what was read and is not subscribed yet (once read, kept).
  useEffect(() => {
    if (read.current & ~watched) setWatched(watched | read.current);
  });
  return {
    db, isReady: db !== null, error,
    get status() { read.current |= STATUS; return status; },
    get metrics() { read.current |= METRICS; return metrics.metrics; },
    get metricsError() { read.current |= METRICS; return metrics.error; },
  };
}
