// The browser client: the same Electrolite as in Node, over a port to the dedicated module
// worker that hosts the engine (worker-port.ts, worker.ts). Live queries, status, the token
// function, custom resolvers, waitForStatus and prefetch run here, on the page, exactly as in
// Node. Importing this file touches no browser global; only open() creates the Worker.

import { Electrolite } from '../client.js';
import { ElectroliteError } from '../errors.js';
import type { ConflictResolver, OpenOptions, Status } from '../types.js';
import { connectWorker } from './worker-port.js';

/** Where the data lives: OPFS; IndexedDB without OPFS sync access handles; else memory (said, not hidden). */
export type StorageKind = 'opfs' | 'idb' | 'memory';
/**
 * `storageReason`: why a named database is not in OPFS (no sync access handles, open in another tab).
 * `role`: whether this tab's worker hosts the engine ('leader') or forwards to the tab that
 * does ('follower'; one leader per origin and database). `handover`: the leader tab closed
 * and another is taking over (requests wait for it).
 */
export type BrowserStatus = Status & {
  storage: StorageKind; storageReason?: string; role?: 'leader' | 'follower'; handover?: boolean;
};

export interface BrowserOpenOptions extends Omit<OpenOptions, 'fetch'> {
  /**
   * URL of the worker script (default: worker.js next to this module; with the default the
   * page also compiles the engine's wasm while the worker starts, and hands it over).
   */
  workerUrl?: string | URL;
  /** An already-created module worker running worker.js (tests, custom bundling). */
  worker?: Worker;
  /** URL of an ES module exporting `resolvers` (custom conflict resolvers; `resolvers` works too). */
  resolversModule?: string | URL;
  /** 'idb': keep a named database in IndexedDB even where OPFS works (docs/storage.md). */
  persistence?: 'auto' | 'idb';
}

/** The browser's database: an Electrolite whose status says where the data lives. */
export type BrowserElectrolite = Electrolite<BrowserStatus>;

async function importResolvers(url: string | URL): Promise<Record<string, ConflictResolver>> {
  const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ String(url))) as { resolvers?: unknown; default?: unknown };
  const resolvers = (mod.resolvers ?? mod.default) as Record<string, ConflictResolver> | undefined;
  if (!resolvers || typeof resolvers !== 'object') {
    throw new ElectroliteError('invalid_argument', `resolversModule ${String(url)}: exports no \`resolvers\` object`);
  }
  return resolvers;
}

export const BrowserElectrolite = {
  /** Starts the worker, opens the engine in it and resolves once it is ready. */
  async open(options: BrowserOpenOptions = {}): Promise<BrowserElectrolite> {
    if (typeof Worker === 'undefined' && !options.worker) {
      throw new ElectroliteError('invalid_argument', 'BrowserElectrolite needs Worker (use Electrolite.open in Node)');
    }
    const { workerUrl, worker, resolversModule, persistence, ...rest } = options;
    const opened: OpenOptions = { ...rest };
    if (resolversModule !== undefined) opened.resolvers = { ...(await importResolvers(resolversModule)), ...rest.resolvers };
    return Electrolite.open<BrowserStatus>(opened, {
      connect: connectWorker({
        ...(workerUrl !== undefined ? { workerUrl } : {}),
        ...(worker !== undefined ? { worker } : {}),
        ...(persistence !== undefined ? { persistence } : {}),
      }),
    });
  },
};
