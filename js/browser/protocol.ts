// The messages between the main-thread proxy (client.ts) and the module worker that hosts the
// engine (worker.ts). Everything here is plain data that survives structured clone; errors
// travel as ErrorData and are rebuilt as ElectroliteError with the same code (STYLE.md #10).

import { ElectroliteError, type ErrorData } from '../errors.js';

/** Client methods the proxy forwards to the worker's client (or to an open transaction). */
export const CALL_METHODS = [
  'query', 'exec', 'insert', 'update', 'delete', 'pendingMutations', 'discardMutation',
  'metrics', 'syncNow', 'subscribe', 'unsubscribe', 'setOnline', 'setVisible', 'release',
] as const;
export type CallMethod = (typeof CALL_METHODS)[number];

/** Methods only the worker host implements (lifecycle and transactions). */
export type HostMethod = 'open' | 'begin' | 'commit' | 'rollback' | 'close' | 'clear' | 'prefetch' | 'export';

/** Main thread → worker. */
export type ToWorker =
  | { t: 'call'; id: number; method: CallMethod | HostMethod; args: unknown[]; tx?: number }
  | { t: 'live'; liveId: number; sql: string; params: unknown[] }
  | { t: 'unlive'; liveId: number }
  | { t: 'token'; id: number; token?: string; error?: ErrorData }
  // The engine's wasm, compiled by the page while this worker started (after an `open` with
  // pageCompiles); without `module` the worker compiles it itself.
  | { t: 'module'; module?: WebAssembly.Module; error?: string };

/** Worker → main thread. */
export type FromWorker =
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: ErrorData }
  | { t: 'status'; status: unknown }
  | { t: 'conflict'; event: unknown }
  | { t: 'live'; liveId: number; result: unknown }
  | { t: 'live-error'; liveId: number; error: ErrorData }
  | { t: 'log'; line: string }
  | { t: 'token-request'; id: number };

/** What the `open` call carries: the plain part of the options plus markers for functions. */
export interface WorkerOpenOptions {
  /** Open options with every function removed. */
  options: Record<string, unknown>;
  /** The app gave a token function: the worker asks the main thread for each token. */
  tokenFunction: boolean;
  /** The page compiles the engine's wasm and sends it in a `module` message. */
  pageCompiles?: boolean;
  /** The app gave a logger: debug lines are posted back instead of printed in the worker. */
  forwardLogs: boolean;
  /** URL of an ES module exporting `resolvers` (custom conflict resolvers run in the worker). */
  resolversModule?: string;
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
