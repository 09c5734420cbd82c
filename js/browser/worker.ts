// The dedicated module worker that hosts the engine in the browser: it runs the client
// (Electrolite, with its engine host, fetch loop and timers) next to the wasm module and
// answers the main-thread proxy (client.ts). Only plain data crosses; errors go back as
// ErrorData. A token function, a logger and custom resolvers stay usable: tokens are asked
// of the main thread, log lines are posted back, resolvers are imported from a module URL.
//
// Storage: a named database lives in OPFS (opfs-storage.ts: Web Lock, access-handle pool,
// host-storage VFS in wasm/), optionally encrypted; where OPFS is unavailable it runs in
// memory. Every status says which (`storage: 'opfs' | 'memory'`, and `storageReason`).

import { Electrolite, type Transaction } from '../client.js';
import { ElectroliteError } from '../errors.js';
import type { EngineBindings } from '../engine-host.js';
import { loadEngineModule } from '../wasm-loader.js';
import { openBrowserStorage, type BrowserStorage } from './opfs-storage.js';
import { limitLivePolls } from './connection-limit.js';
import type { ConflictResolver, OpenOptions, Status, Unsubscribe } from '../types.js';
import { CALL_METHODS, toErrorData, type CallMethod, type FromWorker, type ToWorker, type WorkerOpenOptions } from './protocol.js';

interface WorkerScope {
  postMessage(msg: FromWorker): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<ToWorker>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;
const post = (msg: FromWorker) => scope.postMessage(msg);

const ROLLBACK = Symbol('rollback');

let db: Electrolite | undefined;
let storage: BrowserStorage | undefined;
let opening: Promise<unknown> | undefined;
const lives = new Map<number, Unsubscribe>();
const txs = new Map<number, { tx: Transaction; finish: (commit: boolean) => void; done: Promise<void> }>();
const tokenWaiters = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
let nextId = 1;

const withStorage = (s: Status) => ({
  ...s, storage: storage?.kind ?? 'memory', ...(storage?.reason ? { storageReason: storage.reason } : {}),
});

/** The app's token function, run on the main thread ('' = no token). */
function askToken(): Promise<string> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    tokenWaiters.set(id, { resolve, reject });
    post({ t: 'token-request', id });
  });
}

async function open(req: WorkerOpenOptions): Promise<unknown> {
  if (db || opening) throw new ElectroliteError('invalid_argument', 'open: this worker already hosts a database');
  const options = { ...req.options } as OpenOptions;
  // The engine module comes from ../wasm/electrolite.mjs relative to this script (the demo
  // build copies dist/wasm there), loaded statically so bundlers keep it in this file.
  const module = (await loadEngineModule()) as unknown as EngineBindings;
  const raw = options.storage as string | { path?: string } | undefined;
  const name = typeof raw === 'object' && raw !== null ? String(raw.path ?? ':memory:') : (raw ?? ':memory:');
  storage = await openBrowserStorage(module, name, options.encryptionKey);
  if (storage.reason) console.warn(`[electrolite] storage ${JSON.stringify(name)}: ${storage.reason}; running in memory`);
  options.storage = storage.kind === 'opfs' ? name : ':memory:';
  options.vfs = storage.vfs;
  delete options.encryptionKey; // applied by the VFS
  // Keep connections free for uploads on HTTP/1.1 (connection-limit.ts).
  options.fetch = limitLivePolls((input, init) => fetch(input, init)) as typeof fetch;
  if (req.tokenFunction) options.token = askToken;
  if (req.forwardLogs) options.logger = (line: string) => post({ t: 'log', line });
  if (req.resolversModule) {
    const mod = (await import(/* @vite-ignore */ req.resolversModule)) as { resolvers?: unknown; default?: unknown };
    const resolvers = (mod.resolvers ?? mod.default) as Record<string, ConflictResolver> | undefined;
    if (!resolvers || typeof resolvers !== 'object') {
      throw new ElectroliteError('invalid_argument', `resolversModule ${req.resolversModule}: exports no \`resolvers\` object`);
    }
    options.resolvers = resolvers;
  }
  try {
    db = await Electrolite.open(options, { loadModule: async () => module });
  } catch (err) {
    storage.release();
    storage = undefined;
    throw err;
  }
  db.onStatus((s) => post({ t: 'status', status: withStorage(s) }));
  db.onConflict((event) => post({ t: 'conflict', event }));
  return withStorage(db.status);
}

function need(): Electrolite {
  if (!db) throw new ElectroliteError('closed', 'the database is not open');
  return db;
}

async function begin(): Promise<number> {
  const d = need();
  const id = nextId++;
  let finish!: (commit: boolean) => void;
  const gate = new Promise<void>((resolve, reject) => {
    finish = (commit) => (commit ? resolve() : reject(ROLLBACK));
  });
  let started!: (tx: Transaction) => void;
  const txReady = new Promise<Transaction>((resolve) => (started = resolve));
  const done = d.transaction(async (tx) => {
    started(tx);
    await gate;
  });
  const tx = await Promise.race([txReady, done.then(() => {
    throw new ElectroliteError('internal', 'transaction ended before it started');
  })]);
  txs.set(id, { tx, finish, done });
  return id;
}

async function end(id: number | undefined, commit: boolean): Promise<void> {
  const entry = id === undefined ? undefined : txs.get(id);
  if (!entry) throw new ElectroliteError('invalid_argument', `transaction ${id} is not open`);
  txs.delete(id!);
  entry.finish(commit);
  try {
    await entry.done;
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
}

async function call(method: string, args: unknown[], txId: number | undefined): Promise<unknown> {
  switch (method) {
    case 'open': return open(args[0] as WorkerOpenOptions);
    case 'begin': return begin();
    case 'commit': return end(txId, true);
    case 'rollback': return end(txId, false);
    case 'close':
    case 'clear': {
      for (const stop of lives.values()) stop();
      lives.clear();
      const d = db;
      db = undefined;
      if (method === 'clear') await d?.clear();
      else await d?.close();
      storage?.release();
      if (method === 'clear') await storage?.remove();
      return undefined;
    }
    case 'prefetch':
      // The release function stays here; the proxy releases with release(table, key).
      await need().prefetch(args[0] as string, args[1], args[2] as number | undefined);
      return undefined;
    case 'export': return need().export();
  }
  if (!(CALL_METHODS as readonly string[]).includes(method)) {
    throw new ElectroliteError('invalid_argument', `unknown method ${JSON.stringify(method)}`);
  }
  if (txId !== undefined) {
    const entry = txs.get(txId);
    if (!entry) throw new ElectroliteError('invalid_argument', `transaction ${txId} is not open`);
    const fn = (entry.tx as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new ElectroliteError('invalid_argument', `${method} is not allowed in a transaction`);
    return (fn as (...a: unknown[]) => unknown).apply(entry.tx, args);
  }
  const d = need() as unknown as Record<CallMethod, (...a: unknown[]) => unknown>;
  const result = await d[method as CallMethod](...args);
  return method === 'syncNow' && result ? withStorage(result as Status) : result;
}

scope.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.t) {
    case 'call': {
      const run = msg.method === 'open' ? (opening = call('open', msg.args, undefined)) : call(msg.method, msg.args, msg.tx);
      run.then(
        (value) => post({ t: 'reply', id: msg.id, ok: true, value }),
        (err: unknown) => post({ t: 'reply', id: msg.id, ok: false, error: toErrorData(err) }),
      ).finally(() => { if (msg.method === 'open') opening = undefined; });
      return;
    }
    case 'live': {
      try {
        const stop = need().live(msg.sql, msg.params,
          (result) => post({ t: 'live', liveId: msg.liveId, result }),
          (err) => post({ t: 'live-error', liveId: msg.liveId, error: toErrorData(err) }));
        lives.set(msg.liveId, stop);
      } catch (err) {
        post({ t: 'live-error', liveId: msg.liveId, error: toErrorData(err) });
      }
      return;
    }
    case 'unlive': {
      lives.get(msg.liveId)?.();
      lives.delete(msg.liveId);
      return;
    }
    case 'token': {
      const w = tokenWaiters.get(msg.id);
      tokenWaiters.delete(msg.id);
      if (!w) return;
      if (msg.error) w.reject(ElectroliteError.fromJSON(msg.error));
      else w.resolve(msg.token ?? '');
      return;
    }
  }
});
