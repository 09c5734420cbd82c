// Storage for the engine in the browser worker (worker.ts): the OPFS pool (opfs-pool.ts)
// when this context has OPFS, else memory — and the status says which, never silently.
//
// One worker per origin and database holds the files: a Web Lock `electrolite:<database>`
// is taken before the handles and held until release(). A second holder (another tab, or
// this page's previous worker still shutting down) is waited for up to `maxWaitMs`; after
// that this worker runs in memory and `reason` says why.

import { ElectroliteError } from '../errors.js';
import { attachStorage, resolveEncryptionKey } from '../storage.js';
import { OpfsPool, opfsAvailable } from './opfs-pool.js';

export interface BrowserStorage {
  kind: 'opfs' | 'memory';
  /** The VFS to open the database with ('' = the module's memory VFS). */
  vfs: string;
  /** Why the database is in memory (undefined with OPFS, and for ':memory:'). */
  reason?: string;
  /** Retries it took to get the handles (a late-released handle). */
  retries: number;
  /** Closes the handles and drops the lock (after the engine closed). */
  release(): void;
  /** Deletes the database's files (db.clear()); after release(). */
  remove(): Promise<void>;
}

const memory = (reason?: string): BrowserStorage => ({
  kind: 'memory', vfs: '', retries: 0, release() {}, async remove() {}, ...(reason ? { reason } : {}),
});

/** Takes the database's Web Lock, waiting up to maxWaitMs; the returned function drops it. */
async function takeLock(database: string, maxWaitMs: number): Promise<(() => void) | undefined> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (!locks) return () => {};
  let drop!: () => void;
  const held = new Promise<void>((resolve) => (drop = resolve));
  const granted = new Promise<boolean>((resolve, reject) => {
    const signal = AbortSignal.timeout(maxWaitMs);
    locks.request(`electrolite:${database}`, { signal }, () => {
      resolve(true);
      return held;
    }).catch((err: { name?: string }) => (err?.name === 'AbortError' || err?.name === 'TimeoutError' ? resolve(false) : reject(err)));
  });
  return (await granted) ? drop : undefined;
}

/** `module` may still be loading: it is awaited only once the handles are open. */
export async function openBrowserStorage(
  module: unknown,
  database: string,
  encryptionKey: unknown,
  options: { maxWaitMs?: number; unlock?: () => void } = {},
): Promise<BrowserStorage> {
  if (database === ':memory:') return memory();
  if (!opfsAvailable()) {
    return memory('OPFS is not available in this context (private window, insecure origin or old browser)');
  }
  const maxWaitMs = options.maxWaitMs ?? 5000;
  const key = await resolveEncryptionKey(encryptionKey, database);
  // The multi-tab election (tabs-protocol.ts) may hold the lock already and pass `unlock`.
  const unlock = options.unlock ?? (await takeLock(database, maxWaitMs));
  if (!unlock) return memory(`the database ${database} is open in another tab`);
  let pool: OpfsPool;
  try {
    pool = await OpfsPool.open(database, { maxWaitMs });
  } catch (err) {
    unlock();
    const e = err as { name?: string; message?: string };
    return memory(`OPFS could not be opened: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
  }
  let vfs: string;
  try {
    vfs = attachStorage(await module, pool, database, key);
  } catch (err) {
    pool.release();
    unlock();
    throw err instanceof ElectroliteError ? err : ElectroliteError.from(err);
  }
  let released = false;
  return {
    kind: 'opfs',
    vfs,
    retries: pool.retries,
    release() {
      if (released) return;
      released = true;
      pool.release();
      unlock();
    },
    remove: () => OpfsPool.remove(database),
  };
}
