// The boundary between the public API (js/client.ts) and the engine host. In Node the host
// runs in-process (createInProcessPort); the browser worker implements the same HostPort over a
// Worker's postMessage. Only plain data crosses it; errors are rebuilt as ElectroliteError.

import { ElectroliteError } from './errors.js';
import { loadEngineModule } from './wasm-loader.js';
import { EngineHost, type EngineBindings, type EngineEvent, type HostConfig, type HostMethods } from './engine-host.js';

export type { EngineEvent, HostMethods };

export interface HostPort {
  call<M extends keyof HostMethods>(
    method: M,
    ...args: Parameters<HostMethods[M]>
  ): Promise<ReturnType<HostMethods[M]>>;
  /** Sets the one event listener; events emitted before it is set are buffered. */
  listen(listener: (ev: EngineEvent) => void): void;
}

/** Loads the engine module. Kept separate so a test can pass its own instance of the real module. */
export type ModuleLoader = () => Promise<EngineBindings>;

export async function defaultModuleLoader(): Promise<EngineBindings> {
  return loadEngineModule();
}

/** Runs the engine host in this thread (Node, tests, SSR-free scripts). */
export async function createInProcessPort(config: HostConfig, load: ModuleLoader = defaultModuleLoader): Promise<HostPort> {
  const module = await load();
  let listener: ((ev: EngineEvent) => void) | undefined;
  const buffered: EngineEvent[] = [];
  const host = EngineHost.start(module, config, (ev) => {
    if (listener) listener(ev);
    else buffered.push(ev);
  });
  return {
    call(method, ...args) {
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
  };
}
