// Subsets outside React (STYLE.md #5): what one component's `useSubset` holds. The first
// observer loads the subset (subscribing its shape first when given as a definition, in
// `mode: 'on-demand'` unless it names another); the last one leaving releases it after
// KEEP_ALIVE_MS, so the page it showed stays until the next page's rows have arrived (no
// flash of an empty list) and a remount within that time loads nothing again.

import type { SubsetHandle, SubsetOptions } from '../js/subsets.js';
import type { ShapeSubscription } from '../js/types.js';
import { KEEP_ALIVE_MS } from './live-query-observer.js';
import type { ElectricClient, Unsubscribe } from './types.js';

export interface SubsetState {
  /** True until the subset's rows are in the local table. */
  loading: boolean;
  error: Error | null;
  /** Rows the subset snapshot held (0 while loading). */
  rows: number;
}

export const SUBSET_LOADING: SubsetState = Object.freeze({ loading: true, error: null, rows: 0 });

export class SubsetObserver {
  #state: SubsetState = SUBSET_LOADING;
  readonly #listeners = new Set<() => void>();
  #handle: Promise<SubsetHandle | undefined> | undefined;
  #releaseTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly db: ElectricClient,
    private readonly shape: ShapeSubscription | string,
    private readonly subset: SubsetOptions,
  ) {}

  readonly getSnapshot = (): SubsetState => this.#state;

  readonly subscribe = (listener: () => void): Unsubscribe => {
    if (this.#releaseTimer !== undefined) clearTimeout(this.#releaseTimer);
    this.#releaseTimer = undefined;
    this.#listeners.add(listener);
    this.#handle ??= this.#load();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) return;
      this.#releaseTimer = setTimeout(() => void this.release(), KEEP_ALIVE_MS);
      (this.#releaseTimer as { unref?: () => void }).unref?.();
    };
  };

  /** Lets the subset go now (the keep-alive does this by itself). */
  async release(): Promise<void> {
    if (this.#releaseTimer !== undefined) clearTimeout(this.#releaseTimer);
    this.#releaseTimer = undefined;
    const handle = this.#handle;
    this.#handle = undefined;
    this.#state = SUBSET_LOADING;
    const h = await handle;
    await h?.release().catch(() => undefined);
  }

  async #load(): Promise<SubsetHandle | undefined> {
    try {
      const shapeId = typeof this.shape === 'string'
        ? this.shape
        : await this.db.subscribe({ mode: 'on-demand', ...this.shape });
      const handle = await this.db.loadSubset(shapeId, this.subset);
      this.#set({ loading: false, error: null, rows: handle.rows });
      return handle;
    } catch (err) {
      this.#set({ loading: false, error: err as Error, rows: 0 });
      return undefined;
    }
  }

  #set(state: SubsetState): void {
    this.#state = state;
    for (const l of [...this.#listeners]) l();
  }
}
