// The messages between a page's port (worker-port.ts) and the module worker that hosts the
// engine (worker.ts): the HostPort seam (js/host-port.ts) carried over postMessage. Everything
// here is plain data that survives structured clone; errors travel as ErrorData and are
// rebuilt as ElectroliteError with the same code (STYLE.md #10).

import { ElectroliteError, type ErrorData } from '../errors.js';
import type { EngineEvent, HostMethods } from '../engine-host.js';

/** A host call: the method name and its arguments, answered by a `reply` with the same id. */
export interface CallMessage { t: 'call'; id: number; method: keyof HostMethods; args: unknown[] }

/** Page → worker. */
export type ToWorker =
  | { t: 'open'; id: number; open: WorkerOpen }
  | CallMessage
  // The engine's wasm, compiled by the page while this worker started (after an `open` with
  // pageCompiles); without `module` the worker compiles it itself.
  | { t: 'module'; module?: WebAssembly.Module; error?: string }
  // The page has shown its first screen (first-screen.ts): a split build's second part may load.
  | { t: 'shown' };

export type Reply =
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: ErrorData };

/** Worker → page: replies, and the engine's events (status with where it runs). */
export type FromWorker = Reply | { t: 'event'; event: EngineEvent };

/** What `open` carries: the open options without functions, and what the client decided. */
export interface WorkerOpen {
  /** Open options with every function removed (token, resolvers, logger, fetch). */
  options: Record<string, unknown>;
  /** The token, when the app gave one (not a function). */
  token?: string;
  /** A token function runs on the page: no request goes out until its first token. */
  awaitToken: boolean;
  /** Tables with an app resolver (declared with the `custom` policy). */
  resolverTables: string[];
  /** 'idb': keep a named database in IndexedDB even where OPFS works. */
  persistence?: 'auto' | 'idb';
  /** The page compiles the engine's wasm and sends it in a `module` message. */
  pageCompiles?: boolean;
}

/** Any thrown value as ErrorData (keeps an ElectroliteError's code). */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof ElectroliteError) return err.toJSON();
  const e = ElectroliteError.from(err);
  const data = e.toJSON();
  if (err instanceof Error && err.name !== 'Error') data.details = { name: err.name };
  return data;
}

/** ErrorData back into the same class with the same code. */
export function fromErrorData(data: ErrorData): ElectroliteError {
  return ElectroliteError.fromJSON(data);
}
