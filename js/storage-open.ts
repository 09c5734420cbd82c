// What Electrolite.open does for `storage`, `encryptionKey` and `synchronous` (docs/client-api.md
// "Storage"): a `{ path }` database is a real file through Node's fs (node-fs-storage.ts); a
// string stays in the module's memory VFS. Runs before the engine opens; release() runs
// after it closed.

import { ElectroliteError } from './errors.js';
import type { ModuleLoader } from './host-port.js';
import { isNode } from './wasm-loader.js';
import { attachStorage, resolveEncryptionKey, type StorageKind } from './storage.js';
import type { EngineBindings } from './engine-host.js';
// Static, not `import('./node-fs-storage.js')`: a dynamic import splits the worker's bundle,
// which Vite 7's default worker format (iife) refuses ("UMD and IIFE output formats are not
// supported for code-splitting builds"). The module touches Node's fs only when it opens a file.
import { NodeFsStorage } from './node-fs-storage.js';

export interface PreparedStorage {
  kind: StorageKind;
  /** Loads the module with the storage attached (and sets the engine options' `vfs`). */
  load: ModuleLoader;
  /** After the engine closed: closes the files, drops the lock, and with `removeFiles` deletes them. */
  release(removeFiles: boolean): void;
}

export interface StorageRequest {
  /** The database file (absolute or relative to the working directory), or undefined: memory. */
  file: string | undefined;
  /** The database name for a memory database (':memory:' or a name in the module's memory VFS). */
  name: string;
  vfs: string;
  encryptionKey: unknown;
  synchronous: 'full' | 'normal';
}

/** Sets `engineOptions.path`, `.vfs` and `.synchronous` for the request. */
export async function prepareStorage(
  req: StorageRequest,
  load: ModuleLoader,
  engineOptions: Record<string, unknown>,
): Promise<PreparedStorage> {
  if (req.file === undefined) {
    if (req.encryptionKey !== undefined) {
      throw new ElectroliteError('invalid_argument', 'encryptionKey: only a file database ({ storage: { path } }) is encrypted');
    }
    Object.assign(engineOptions, { path: req.name, vfs: req.vfs });
    // A VFS attached by attachStorage (the browser worker's OPFS pool or IndexedDB) is durable storage.
    const attached = /^(opfs|idb|fs)-\d+$/.exec(req.vfs)?.[1] as StorageKind | undefined;
    if (attached) engineOptions.synchronous = req.synchronous;
    return { kind: attached === 'opfs' || attached === 'idb' ? attached : 'memory', load, release() {} };
  }
  if (!isNode()) {
    throw new ElectroliteError('invalid_argument', 'storage.path: file databases need Node (in the browser, use BrowserElectrolite with a storage name: OPFS)');
  }
  const pathName = 'node:path';
  const nodePath = (await import(/* @vite-ignore */ /* webpackIgnore: true */ pathName)) as typeof import('node:path');
  const file = nodePath.resolve(req.file);
  const key = await resolveEncryptionKey(req.encryptionKey, nodePath.basename(file));
  const backend = await NodeFsStorage.open(file);
  Object.assign(engineOptions, { path: file, synchronous: req.synchronous });
  return {
    kind: 'fs',
    load: async () => {
      const module = await load();
      try {
        engineOptions.vfs = attachStorage(module, backend, file, key);
      } catch (err) {
        backend.release();
        throw err;
      }
      return module as EngineBindings;
    },
    release(removeFiles) {
      backend.release();
      if (removeFiles) backend.removeFiles();
    },
  };
}

/**
 * Idle checkpoints for a WAL database: `poke()` after each change; once nothing changed for
 * `idleMs`, `checkpoint()` folds the WAL into the database and empties it (a WAL with nothing
 * to replay also makes the next cold start faster; on disk its bytes are kept for the next
 * commits to overwrite, wasm/vfs/wal_space.h). Failures (e.g. busy inside a transaction) are
 * ignored: the next idle period retries, and SQLite's auto-checkpoint bounds the WAL anyway.
 */
export function idleCheckpointer(checkpoint: () => Promise<unknown>, idleMs = 1000): { poke(): void; stop(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  return {
    poke() {
      if (stopped) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (!stopped) checkpoint().catch(() => undefined);
      }, idleMs);
      (timer as { unref?: () => void }).unref?.();
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
