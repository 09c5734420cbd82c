// Multi-tab: one leader per origin and database (DESIGN.md "Browser runtime"). The worker
// that holds the Web Lock `electrolite:<database>` opens the storage and the engine; the
// workers of other tabs start no engine and forward their page's host calls to
// the leader over the BroadcastChannel `electrolite-tabs:<database>` (tabs-follower.ts,
// tabs-leader.ts). Each tab's worker also holds `electrolite:<database>:tab:<tabId>` for
// its lifetime, so the others learn of its end by requesting that lock (granted when the
// tab's worker is gone). This file: the lock names, the lock helpers and the messages.

import type { CallMessage, FromWorker } from './protocol.js';

export const lockName = (database: string) => `electrolite:${database}`;
export const tabLockName = (database: string, tabId: string) => `electrolite:${database}:tab:${tabId}`;
export const channelName = (database: string) => `electrolite-tabs:${database}`;

/** A local table (never synced) where the leader records the writes it applied for a tab,
 * in the write's own transaction, so a write retried after a handover is applied once. */
export const REQUESTS_TABLE = 'electrolite_tab_requests';

/** How long a tab's request waits for a leader (none elected yet, or a handover) before it fails. */
export const NO_LEADER_TIMEOUT_MS = 15000;

/** What the forwarding needs to make a request safe to retry. */
export interface RetryInfo {
  /** Set on writes: the leader records it with the write (REQUESTS_TABLE). */
  uid?: string;
  /** Sent again after a handover: a write with this uid may already be applied. */
  retry?: boolean;
  /** The call names a transaction begun on a previous leader (lost with it unless committed). */
  lostTx?: boolean;
}

/** Follower → leader. `to` is the leader's tab id (a request for an old leader is ignored). */
export type ToLeader =
  | { k: 'hello'; from: string }
  | { k: 'req'; from: string; to: string; msg: CallMessage; retry?: RetryInfo }
  | { k: 'leave'; from: string };

/** Leader → followers. */
export type FromLeader =
  | { k: 'leader'; id: string; status: unknown }
  | { k: 'to'; to: string; msg: FromWorker }
  | { k: 'all'; msg: FromWorker };

export type TabMessage = ToLeader | FromLeader;

interface Locks {
  request(name: string, options: LockOptions, cb: (lock: Lock | null) => Promise<void> | void): Promise<unknown>;
}

export function webLocks(): Locks | undefined {
  return (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
}

/** True where tabs can elect a leader (Web Locks and BroadcastChannel; secure contexts). */
export function tabsAvailable(): boolean {
  return webLocks() !== undefined && typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel === 'function';
}

/**
 * Requests `name` and holds it until the returned release function is called. With
 * `ifAvailable`, resolves undefined at once when another context holds it; with a
 * signal, rejects with an AbortError when aborted before it was granted.
 */
export function holdLock(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal } = {}): Promise<(() => void) | undefined> {
  const locks = webLocks();
  if (!locks) return Promise.resolve(() => {});
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  return new Promise((resolve, reject) => {
    const opts: LockOptions = options.ifAvailable ? { ifAvailable: true } : options.signal ? { signal: options.signal } : {};
    locks.request(name, opts, (lock) => {
      if (!lock) {
        resolve(undefined);
        return undefined;
      }
      resolve(release);
      return held;
    }).catch(reject);
  });
}

/** Calls `gone` once the context holding `name` has let it go (the tab closed). */
export function whenReleased(name: string, gone: () => void, signal?: AbortSignal): void {
  webLocks()?.request(name, signal ? { signal } : {}, () => { gone(); })
    .catch(() => undefined); // aborted: nobody waits any more
}
