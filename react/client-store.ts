// Opening and closing the database outside React: the provider retains the store while
// mounted; the database opens on the first retain and closes a moment after the last
// release, so React's StrictMode mount → unmount → mount reuses one database.

import { BrowserElectrolite } from '../js/browser/client.js';
import type { ElectricConfig } from './config.js';
import type { ElectricClient, Unsubscribe } from './types.js';

export interface ClientState {
  db: ElectricClient | null;
  error: Error | null;
}

export type Opener = (config: ElectricConfig) => Promise<ElectricClient>;

/**
 * In a browser, the worker-backed client; elsewhere (Node), the in-process client. The Node
 * client is imported by the package's own name (Node resolves a package's self-reference
 * through its `exports`), from a variable so that browser bundles do not carry the engine
 * host; a relative path would break once a bundler moves this file (Vite's dep optimizer).
 */
export const defaultOpen: Opener = async (config) => {
  if (typeof Worker !== 'undefined' && typeof window !== 'undefined') {
    return BrowserElectrolite.open(config);
  }
  const spec = ['electrolite'][0]!;
  const { Electrolite } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ spec)) as typeof import('../js/index.js');
  return Electrolite.open(config);
};

const CLOSED: ClientState = Object.freeze({ db: null, error: null });

export class ElectricClientStore {
  private state: ClientState;
  private listeners = new Set<() => void>();
  private retained = 0;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private opening: Promise<void> | undefined;
  private readonly owned: boolean;

  /** Either opens with `open(config)` or wraps a database the app opened itself. */
  constructor(private readonly source: { open: Opener; config: ElectricConfig } | { db: ElectricClient }) {
    this.owned = !('db' in source);
    this.state = 'db' in source ? { db: source.db, error: null } : CLOSED;
  }

  subscribe = (listener: () => void): Unsubscribe => {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  };

  getSnapshot = (): ClientState => this.state;

  /** Keeps the database open until the returned release is called. */
  retain(): () => void {
    this.retained++;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    if (this.owned && !this.state.db && !this.opening) this.opening = this.open();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.retained === 0 && this.owned) this.closeTimer = setTimeout(() => void this.close(), 0);
    };
  }

  private async open(): Promise<void> {
    const { open, config } = this.source as { open: Opener; config: ElectricConfig };
    try {
      const db = await open(config);
      if (this.retained === 0) {
        await db.close();
        return;
      }
      this.set({ db, error: null });
    } catch (err) {
      this.set({ db: null, error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      this.opening = undefined;
    }
  }

  private async close(): Promise<void> {
    const db = this.state.db;
    this.set(CLOSED);
    if (db) await db.close();
  }

  private set(next: ClientState): void {
    this.state = next;
    for (const l of [...this.listeners]) l();
  }
}
