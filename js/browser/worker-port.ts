// The page's side of the browser runtime: the HostPort (js/host-port.ts) over a dedicated
// module worker that hosts the engine (worker.ts; in a follower tab the worker forwards to the
// leader tab's). The client is the same Electrolite as in Node; this file only carries calls,
// replies and events, and owns the worker's life: its start (the page compiles the wasm
// meanwhile), why it failed to load, and its end when the page goes away; and tells the worker
// when the page has shown its first screen (first-screen.ts).

import type { EngineEvent } from '../engine-host.js';
import { ElectroliteError } from '../errors.js';
import type { ConnectRequest, Connector, HostPort } from '../host-port.js';
import { compileEngineWasm, diagnoseScript } from '../wasm-files.js';
import { FirstScreen } from './first-screen.js';
import { fromErrorData, toErrorData, type FromWorker, type ToWorker, type WorkerOpen } from './protocol.js';

export interface WorkerPortOptions {
  /** URL of the worker script (default: worker.js next to this module). */
  workerUrl?: string | URL;
  /** An already-created module worker running worker.js. */
  worker?: Worker;
  persistence?: 'auto' | 'idb';
}

/** Open options that are functions (or only mean something on the page) stay here. */
const PAGE_ONLY = ['token', 'resolvers', 'logger', 'fetch', 'workerUrl', 'worker', 'resolversModule', 'persistence'];

/**
 * Where the default worker script is, for error messages, when this module was not bundled
 * (a bundler names the worker itself). Not a `new URL(…)`: a second literal would make
 * bundlers copy worker.js as a plain asset too.
 */
function defaultWorkerUrl(): string | undefined {
  const here = String(import.meta.url);
  return /\/browser\/worker-port\.js([?#].*)?$/.test(here) ? here.replace(/worker-port\.js([?#].*)?$/, 'worker.js') : undefined;
}

/**
 * Vite 7 and older pre-bundle this module into node_modules/.vite/deps/ in dev without
 * rebasing its `new URL('./worker.js', import.meta.url)` (Vite 8 does): say what to do.
 */
function optimizedByOldVite(): string {
  return /\/\.vite\/deps\//.test(String(import.meta.url))
    ? ' (this module was pre-bundled into .vite/deps, where Vite 7 and older do not rebase its worker URL: use Vite 8, or in vite.config optimizeDeps: { exclude: [\'electrolite\'], include: [\'react\', \'react/jsx-runtime\', \'react-dom/client\'] } — see the README)'
    : '';
}

/** Connects Electrolite.open to an engine in a worker. */
export function connectWorker(opts: WorkerPortOptions): Connector {
  return (req) => WorkerPort.open(req, opts);
}

class WorkerPort implements HostPort {
  #worker: Worker;
  #opts: WorkerPortOptions;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: ElectroliteError) => void; method: string }>();
  #firstScreen = new FirstScreen(() => {
    if (!this.#closed) this.#worker.postMessage({ t: 'shown' } satisfies ToWorker);
  });
  #listener: ((ev: EngineEvent) => void) | undefined;
  #buffered: EngineEvent[] = [];
  #closed: ElectroliteError | undefined;
  #unwatch: () => void = () => {};

  private constructor(worker: Worker, opts: WorkerPortOptions) {
    this.#worker = worker;
    this.#opts = opts;
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.#onMessage(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => void this.#workerFailed(e));
  }

  /** Starts the worker, opens the engine in it and resolves once it is ready. */
  static async open(req: ConnectRequest, opts: WorkerPortOptions): Promise<WorkerPort> {
    // With the default worker (next to this module, the wasm beside both), the page compiles
    // the wasm while the worker starts and hands the module over (structured clone).
    const compiling = opts.worker === undefined && opts.workerUrl === undefined ? compileEngineWasm() : undefined;
    compiling?.catch(() => undefined);
    const worker = opts.worker ?? (opts.workerUrl !== undefined
      ? new Worker(opts.workerUrl, { type: 'module', name: 'electrolite' })
      // Written out literally: bundlers (Vite, webpack 5, Next.js) recognise exactly this form
      // and bundle worker.js with what it imports.
      : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'electrolite' }));
    const port = new WorkerPort(worker, opts);
    const options: Record<string, unknown> = { ...req.options, clientId: req.resolved.clientId };
    for (const k of PAGE_ONLY) delete options[k];
    const open: WorkerOpen = {
      options,
      ...(req.token !== undefined ? { token: req.token } : {}),
      awaitToken: req.awaitToken,
      resolverTables: Object.keys(req.options.resolvers ?? {}),
      ...(opts.persistence !== undefined ? { persistence: opts.persistence } : {}),
      ...(compiling ? { pageCompiles: true } : {}),
    };
    try {
      const opened = port.#request((id) => ({ t: 'open', id, open }));
      compiling?.then(
        (module) => port.#postModule({ t: 'module', module }),
        (err: unknown) => port.#postModule({ t: 'module', error: String((err as Error)?.message ?? err) }),
      );
      await opened;
    } catch (err) {
      port.dispose(false);
      throw err;
    }
    port.#watchPage();
    return port;
  }

  call(method: string, ...args: unknown[]): Promise<never> {
    return this.#request((id) => ({ t: 'call', id, method: method as never, args }), method) as Promise<never>;
  }

  listen(listener: (ev: EngineEvent) => void): void {
    this.#listener = listener;
    for (const ev of this.#buffered.splice(0)) listener(ev);
  }

  dispose(_cleared: boolean): void {
    if (this.#closed) return;
    this.#unwatch();
    this.#worker.terminate();
    this.#fail(new ElectroliteError('closed', 'database closed'));
  }

  #request(make: (id: number) => ToWorker, what = 'open'): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method: what });
      this.#firstScreen.started(what);
      try {
        this.#worker.postMessage(make(id));
      } catch (err) {
        this.#pending.delete(id);
        this.#firstScreen.answered(what);
        reject(new ElectroliteError('invalid_argument', `${what}: arguments cannot be sent to the worker (${toErrorData(err).message})`));
      }
    });
  }

  /** A browser that cannot clone a WebAssembly.Module: the worker compiles it itself. */
  #postModule(msg: ToWorker & { t: 'module' }): void {
    if (this.#closed) return;
    try {
      this.#worker.postMessage(msg);
    } catch (err) {
      this.#worker.postMessage({ t: 'module', error: toErrorData(err).message });
    }
  }

  #onMessage(msg: FromWorker): void {
    if (msg.t === 'event') {
      if (this.#listener) this.#listener(msg.event);
      else this.#buffered.push(msg.event);
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    this.#firstScreen.answered(p.method);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(fromErrorData(msg.error));
  }

  /**
   * A script that did not load says nothing in its event: fetch it (and, unbundled, the glue
   * it imports from dist/wasm/) to say why.
   */
  async #workerFailed(e: ErrorEvent): Promise<void> {
    const url = this.#opts.worker ? undefined : this.#opts.workerUrl ?? defaultWorkerUrl();
    const glue = url !== undefined && this.#opts.workerUrl === undefined ? new URL('../../wasm/electrolite.mjs', url) : undefined;
    const why = e.message || (url && (await diagnoseScript(url))) || (glue && (await diagnoseScript(glue))) ||
      `could not load the worker script${url ? ` ${String(url)}` : ''}${optimizedByOldVite()}`;
    const err = new ElectroliteError(e.message ? 'internal' : 'io', `worker failed: ${why}`);
    this.#rejectPending(err);
    this.#onMessage({ t: 'event', event: { type: 'error', code: err.code, message: err.message } });
  }

  /**
   * Stops the worker when the page goes away, also into the back/forward cache (`persisted`):
   * WebKit keeps such a page's worker, and with it the database's lock, and a frozen leader
   * answers no other tab.
   */
  #watchPage(): void {
    const g = globalThis as unknown as {
      addEventListener?: (type: string, fn: (e: Event) => void) => void;
      removeEventListener?: (type: string, fn: (e: Event) => void) => void;
    };
    const pagehide = (e: Event) => {
      this.#unwatch();
      this.#worker.terminate();
      this.#fail(new ElectroliteError('closed', (e as Event & { persisted?: boolean }).persisted
        ? 'the page went into the back/forward cache (reload it to reopen the database)' : 'the page was unloaded'));
    };
    g.addEventListener?.('pagehide', pagehide);
    this.#unwatch = () => g.removeEventListener?.('pagehide', pagehide);
  }

  #rejectPending(err: ElectroliteError): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #fail(err: ElectroliteError): void {
    this.#closed = err;
    this.#rejectPending(err);
  }
}
