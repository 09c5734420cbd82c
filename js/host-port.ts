// The one seam between the client (js/client.ts) and the engine host (js/engine-host.ts).
// The client makes plain async calls and gets events; where the host runs is the port's
// business: in this thread (js/in-process.ts: Node, tests), or in the browser's dedicated
// worker (js/browser/worker-port.ts), which in a follower tab forwards to the leader tab's
// worker. Only plain data crosses; errors come back as ElectroliteError.

import type { EngineBindings, EngineEvent, HostMethods } from './engine-host.js';
import type { ResolvedOptions } from './options.js';
import type { OpenOptions } from './types.js';

export type { EngineEvent, HostMethods };

export interface HostPort {
  call<M extends keyof HostMethods>(
    method: M,
    ...args: Parameters<HostMethods[M]>
  ): Promise<ReturnType<HostMethods[M]>>;
  /** Sets the one event listener; events emitted before it is set are buffered. */
  listen(listener: (ev: EngineEvent) => void): void;
  /**
   * After the engine closed (`close`, or `clear` with `cleared`): lets go of what the port
   * holds (files, the worker). Calls made after it reject with `closed`.
   */
  dispose(cleared: boolean): void;
}

/** What a port needs to open the engine: the app's options as given and as resolved. */
export interface ConnectRequest {
  options: OpenOptions;
  resolved: ResolvedOptions;
  /** The token, when the app gave one (not a function). */
  token: string | undefined;
  /** A token function runs in the client: no request goes out until its first token. */
  awaitToken: boolean;
}

/** Opens the engine somewhere and returns the port to it. */
export type Connector = (request: ConnectRequest) => Promise<HostPort>;

/** Loads the engine module. Kept separate so a test can pass its own instance of the real module. */
export type ModuleLoader = () => Promise<EngineBindings>;

/**
 * Events a port adds to the engine's: the engine behind the port was opened again (a tab
 * took over as leader), so what the client had told it (token, resolvers, visibility) must
 * be told again and every live query read afresh.
 */
export const HOST_REOPENED = 'host-reopened';
