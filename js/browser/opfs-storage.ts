// Storage for the engine in the browser worker (worker.ts): the OPFS pool (opfs-pool.ts)
// when this context has OPFS sync access handles, else IndexedDB (idb-storage.ts: pages in
// memory, each call's changes flushed before its reply), else memory — and the status says
// which, never silently.
//
// One worker per origin and database holds the files: a Web Lock `electrolite:<database>`
// is taken before the handles and held until release(). A second holder (another tab, or
// this page's previous worker still shutting down) is waited for up to `maxWaitMs`; after
// that this worker runs in memory and `reason` says why.

import { ElectroliteError } from '../errors.js';
import { attachStorage, resolveEncryptionKey } from '../storage.js';
import { IdbStorage, idbAvailable } from './idb-storage.js';
import { OpfsPool, opfsAvailable } from './opfs-pool.js';

export interface BrowserStorage {
  kind: 'opfs' | 'idb' | 'memory';
  /** The VFS to open the database with ('' = the module's memory VFS). */
  vfs: string;
  /** Why the database is not in OPFS (undefined with OPFS, and for ':memory:'). */
  reason?: string;
  /** Retries it took to get the handles (a late-released handle). */
  retries: number;
  /** Resolves once every write so far is stored (IndexedDB: flushed; else at once). */
  flush(): Promise<void>;
  /** Closes the handles and drops the lock (after the engine closed). */
  release(): void;
  /** Deletes the database's files (db.clear()); after release(). */
  remove(): Promise<void>;
}

const memory = (reason?: string): BrowserStorage => ({
  kind: 'memory', vfs: '', retries: 0, async flush() {}, release() {}, async remove() {}, ...(reason ? { reason } : {}),
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

export interface BrowserStorageOptions {
  maxWaitMs?: number;
  /** The database's lock, taken already by the multi-tab election (tabs-protocol.ts). */
  unlock?: () => void;
  /** 'idb': IndexedDB even where OPFS works (tests, benchmarks). Default 'auto'. */
  persistence?: 'auto' | 'idb';
  /** IndexedDB flushes are 'strict' under 'full' (default), 'relaxed' under 'normal'. */
  synchronous?: 'full' | 'normal';
}

const NO_OPFS = 'OPFS sync access handles are not available in this context (insecure origin, WebKitGTK, old browser)';

/** `module` may still be loading: it is awaited only once the handles are open. */
export async function openBrowserStorage(
  module: unknown,
  database: string,
  encryptionKey: unknown,
  options: BrowserStorageOptions = {},
): Promise<BrowserStorage> {
  if (database === ':memory:') return memory();
  // A database created in IndexedDB stays there (its rows and pending writes are not moved).
  const stays = opfsAvailable() && options.persistence !== 'idb' && (await inIndexedDb(database));
  const opfs = options.persistence !== 'idb' && opfsAvailable() && !stays;
  if (!opfs && !idbAvailable()) return memory(`${NO_OPFS}, nor is IndexedDB`);
  const maxWaitMs = options.maxWaitMs ?? 5000;
  const key = await resolveEncryptionKey(encryptionKey, database);
  // The multi-tab election (tabs-protocol.ts) may hold the lock already and pass `unlock`.
  const unlock = options.unlock ?? (await takeLock(database, maxWaitMs));
  if (!unlock) return memory(`the database ${database} is open in another tab`);
  if (!opfs) {
    const why = options.persistence === 'idb' ? 'persistence: \'idb\' was asked for'
      : stays ? `${database} was created in IndexedDB` : NO_OPFS;
    return openIdb(module, database, key, unlock, why, options.synchronous);
  }
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
    async flush() {},
    remove: () => OpfsPool.remove(database),
  };
}

/** Whether IndexedDB holds `database` (false where indexedDB.databases() is missing). */
async function inIndexedDb(database: string): Promise<boolean> {
  if (!idbAvailable() || typeof indexedDB.databases !== 'function') return false;
  const list = await indexedDB.databases().catch(() => []);
  return list.some((d) => d.name === IdbStorage.databaseName(database));
}

async function openIdb(
  module: unknown, database: string, key: Uint8Array | undefined, unlock: () => void, why: string,
  synchronous: 'full' | 'normal' | undefined,
): Promise<BrowserStorage> {
  let idb: IdbStorage;
  try {
    idb = await IdbStorage.open(database, { durability: synchronous === 'normal' ? 'relaxed' : 'strict' });
  } catch (err) {
    unlock();
    const e = err as { name?: string; message?: string };
    return memory(`${why}, and IndexedDB could not be opened: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
  }
  let vfs: string;
  try {
    vfs = attachStorage(await module, idb, database, key);
  } catch (err) {
    idb.release();
    unlock();
    throw err instanceof ElectroliteError ? err : ElectroliteError.from(err);
  }
  let released = false;
  return {
    kind: 'idb',
    vfs,
    reason: `${why}: the database persists in IndexedDB`,
    retries: 0,
    flush: () => idb.flush().catch((err: { name?: string; message?: string }) => {
      throw new ElectroliteError(err?.name === 'QuotaExceededError' ? 'storage_full' : 'io',
        `IndexedDB: ${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`, { cause: err });
    }),
    release() {
      if (released) return;
      released = true;
      idb.release();
      unlock();
    },
    remove: () => IdbStorage.remove(database),
  };
}
