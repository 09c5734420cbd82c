// Status and metrics outside React: one observer per database. The client replaces its
// status only when something in it changed, so a component re-renders only then; polled
// metrics are structurally shared.

import { replaceEqualDeep } from '../js/structural-share.js';
import type { ElectricClient, ElectricStatus, Metrics, Unsubscribe } from './types.js';

export type { ElectricStatus };

export class StatusObserver {
  private snapshot: ElectricStatus;
  private listeners = new Set<() => void>();
  private stop: Unsubscribe | undefined;

  constructor(private db: ElectricClient) {
    this.snapshot = db.status;
  }

  subscribe = (listener: () => void): Unsubscribe => {
    this.listeners.add(listener);
    if (!this.stop) {
      this.stop = this.db.onStatus(() => this.refresh());
      this.refresh();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.stop?.();
        this.stop = undefined;
      }
    };
  };

  getSnapshot = (): ElectricStatus => this.snapshot;

  private refresh(): void {
    const next = this.db.status;
    if (next === this.snapshot) return;
    this.snapshot = next;
    for (const l of [...this.listeners]) l();
  }
}

export interface MetricsState {
  metrics: Metrics | undefined;
  error: Error | null;
}

/** Polls db.metrics() while observed (and after each status change). */
export class MetricsObserver {
  private snapshot: MetricsState = { metrics: undefined, error: null };
  private listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopStatus: Unsubscribe | undefined;
  private inFlight = false;

  constructor(private db: ElectricClient, private intervalMs = 2000) {}

  subscribe = (listener: () => void): Unsubscribe => {
    this.listeners.add(listener);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.refresh(), this.intervalMs);
      this.stopStatus = this.db.onStatus(() => void this.refresh());
      void this.refresh();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.stopStatus?.();
        this.stopStatus = undefined;
      }
    };
  };

  getSnapshot = (): MetricsState => this.snapshot;

  async refresh(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    let next: MetricsState;
    try {
      const metrics = await this.db.metrics();
      next = { metrics: replaceEqualDeep(this.snapshot.metrics, metrics), error: null };
    } catch (err) {
      next = { metrics: this.snapshot.metrics, error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      this.inFlight = false;
    }
    if (next.metrics === this.snapshot.metrics && next.error === this.snapshot.error) return;
    this.snapshot = next;
    for (const l of [...this.listeners]) l();
  }
}

const statusObservers = new WeakMap<ElectricClient, StatusObserver>();
const metricsObservers = new WeakMap<ElectricClient, MetricsObserver>();

export function statusObserver(db: ElectricClient): StatusObserver {
  let o = statusObservers.get(db);
  if (!o) statusObservers.set(db, (o = new StatusObserver(db)));
  return o;
}

export function metricsObserver(db: ElectricClient): MetricsObserver {
  let o = metricsObservers.get(db);
  if (!o) metricsObservers.set(db, (o = new MetricsObserver(db)));
  return o;
}
