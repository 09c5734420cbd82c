// The engine host in this thread (Node, tests): the port Electrolite.open uses unless it is
// given another. Storage (`{ storage: { path } }` through Node's fs, else the module's memory
// VFS) is prepared while the module loads; a persistent database gets idle WAL checkpoints.

import { loadDefaultSchemaImage } from './default-schema.js';
import { buildEngineOptions, checkImport, usesDefaultSchema } from './engine-options.js';
import { EngineHost, type EngineEvent } from './engine-host.js';
import { ElectroliteError } from './errors.js';
import type { ConnectRequest, HostPort, ModuleLoader } from './host-port.js';
import { OpenClock } from './open-phases.js';
import { idleCheckpointer, prepareStorage } from './storage-open.js';
import { loadEngineModule } from './wasm-loader.js';

export const defaultModuleLoader: ModuleLoader = () => loadEngineModule();

/** Opens the engine in this thread with the request's storage and options. */
export async function connectInProcess(req: ConnectRequest, load: ModuleLoader = defaultModuleLoader): Promise<HostPort> {
  const { options, resolved } = req;
  // The module loads (the wasm compiles) while the default schema and the storage are resolved.
  const module = load();
  module.catch(() => undefined); // awaited below
  const clock = new OpenClock(module);
  const schemaImage = usesDefaultSchema(options) && options.import === undefined ? loadDefaultSchemaImage() : undefined;
  const engineOptions = await buildEngineOptions(options, resolved, req.token);
  const importSnapshot = checkImport(options.import);
  const storage = await prepareStorage(
    { file: resolved.storageFile, name: resolved.storage, vfs: resolved.vfs,
      encryptionKey: options.encryptionKey, synchronous: resolved.synchronous },
    () => module, engineOptions);
  clock.mark('storageReadyMs');
  let host: EngineHost;
  let listener: ((ev: EngineEvent) => void) | undefined;
  const buffered: EngineEvent[] = [];
  let checkpointer: { poke(): void; stop(): void } | undefined;
  try {
    const loaded = await storage.load();
    const image = await schemaImage;
    clock.mark('engineStartedMs');
    host = EngineHost.start(loaded, {
      engineOptions, token: req.token, fetch: options.fetch as never, importSnapshot, awaitToken: req.awaitToken,
      schemaImage: image,
      openPhases: clock.phases,
    }, (ev) => {
      if (ev.type === 'tables-changed') checkpointer?.poke();
      if (listener) listener(ev);
      else buffered.push(ev);
    });
  } catch (err) {
    storage.release(false);
    throw err;
  }
  if (storage.kind !== 'memory') {
    checkpointer = idleCheckpointer(async () => host.query('PRAGMA wal_checkpoint(TRUNCATE)', []));
  }
  let disposed = false;
  return {
    call(method, ...args) {
      if (disposed) return Promise.reject(new ElectroliteError('closed', 'the database is closed'));
      try {
        const fn = host[method] as (...a: unknown[]) => unknown;
        // Async methods (deferredReady) reject with an ElectroliteError too.
        return Promise.resolve(fn.apply(host, args)).catch((err: unknown) => {
          throw ElectroliteError.from(err);
        }) as never;
      } catch (err) {
        return Promise.reject(ElectroliteError.from(err));
      }
    },
    listen(l) {
      listener = l;
      for (const ev of buffered.splice(0)) l(ev);
    },
    dispose(cleared) {
      if (disposed) return;
      disposed = true;
      checkpointer?.stop();
      storage.release(cleared);
    },
  };
}
