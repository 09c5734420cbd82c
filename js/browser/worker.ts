// The dedicated module worker that hosts the engine in the browser: it runs the client
// (Electrolite, with its engine host, fetch loop and timers) next to the wasm module and
// answers the main-thread proxy (client.ts). Only plain data crosses; errors go back as
// ErrorData. A token function, a logger and custom resolvers stay usable: tokens are asked
// of the main thread, log lines are posted back, resolvers are imported from a module URL.
//
// Storage: a named database lives in OPFS (opfs-storage.ts: Web Lock, access-handle pool,
// host-storage VFS in wasm/), optionally encrypted; without OPFS sync access handles in
// IndexedDB (idb-storage.ts: a call's changes are flushed before its reply goes out), else in
// memory. Every status says which (`storage: 'opfs' | 'idb' | 'memory'`, and `storageReason`).
//
// Tabs: a named database has one leader per origin (tabs-protocol.ts). This worker takes
// the database's Web Lock before the storage handles are created; when another tab holds
// it, this worker opens nothing and forwards its page's messages to the leader
// (tabs-follower.ts) until it takes the lock over and opens the engine itself. The leader
// serves the other tabs with the same code as its own page (serve(), owner = their tab id;
// tabs-leader.ts). Status says which (`role: 'leader' | 'follower'`).

import { Electrolite, type Transaction } from '../client.js';
import { ElectroliteError } from '../errors.js';
import type { EngineBindings } from '../engine-host.js';
import { loadDefaultSchema } from '../default-schema.js';
import { compileEngineWasm, loadEngineModule } from '../wasm-loader.js';
import { openBrowserStorage, type BrowserStorage } from './opfs-storage.js';
import { limitLivePolls } from './connection-limit.js';
import type { ConflictResolver, OpenOptions, Status, Unsubscribe } from '../types.js';
import { CALL_METHODS, toErrorData, type CallMethod, type FromWorker, type ToWorker, type WorkerOpenOptions } from './protocol.js';
import { TabFollower } from './tabs-follower.js';
import { TabLeader, type LocalServer } from './tabs-leader.js';
import {
  holdLock, lockName, NO_LEADER_TIMEOUT_MS, REQUESTS_TABLE, tabLockName, tabsAvailable, type RetryInfo,
} from './tabs-protocol.js';

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
/** Live queries by `<owner>:<liveId>` (owner '' = this page, else a follower tab's id). */
const lives = new Map<string, Unsubscribe>();
const txs = new Map<number, { tx: Transaction; finish: (commit: boolean) => void; done: Promise<void>; owner: string }>();
const tokenWaiters = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
let nextId = 1;
/** Multi-tab state: this tab's id, its locks, and its role once open. */
// (getRandomValues: crypto.randomUUID exists only in secure contexts, this file runs in any)
const tabId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
let releaseTab: (() => void) | undefined;
let releaseLeader: (() => void) | undefined;
let stopWaiting: AbortController | undefined;
let leader: TabLeader | undefined;
let follower: TabFollower | undefined;
/** Visibility of this page ('') and of each follower tab: the stream pauses when none is visible. */
const visibility = new Map<string, boolean>();
/** The other tabs' request log (REQUESTS_TABLE): created, and pruned of entries older than an hour, on first use. */
let requestsReady: Promise<unknown> | undefined;

const withStorage = (s: Status) => ({
  ...s, storage: storage?.kind ?? 'memory', ...(storage?.reason ? { storageReason: storage.reason } : {}),
  role: 'leader' as const,
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
  if (db || opening || follower) throw new ElectroliteError('invalid_argument', 'open: this worker already hosts a database');
  // The engine's glue is a static import of js/wasm-loader.ts and each .wasm its own literal
  // URL (js/wasm-files.ts), so bundlers emit them with this script.
  // It compiles while the locks are taken and the OPFS handles opened (openEngine awaits it
  // only to attach the storage), and the default schema is fetched meanwhile.
  const module = (req.pageCompiles ? loadPageModule() : loadEngineModule(ON_DEMAND)) as unknown as Promise<EngineBindings>;
  module.catch(() => undefined); // awaited below; a failure rejects open()
  engineModule = module;
  if (req.options['schemaSql'] === undefined && req.options['tables'] === undefined) {
    loadDefaultSchema().catch(() => undefined); // cached for Electrolite.open
  }
  const raw = req.options['storage'] as string | { path?: string } | undefined;
  const name = typeof raw === 'object' && raw !== null ? String(raw.path ?? ':memory:') : (raw ?? ':memory:');
  if (name === ':memory:' || !tabsAvailable()) return openEngine(req, module, name);
  // Election: the database lock is taken before any storage handle is created.
  releaseTab = await holdLock(tabLockName(name, tabId));
  const unlock = await holdLock(lockName(name), { ifAvailable: true });
  if (unlock) return openEngine(req, module, name, unlock);
  // A follower may have to take over while offline: have what opening needs now.
  try {
    await module;
  } catch (err) {
    releaseTab?.();
    throw err;
  }
  await loadDefaultSchema().catch(() => undefined);
  const f = new TabFollower(name, tabId, post);
  follower = f;
  f.onStatus = (s) => post({ t: 'status', status: { ...(s as object), role: 'follower' } });
  stopWaiting = new AbortController();
  const promoted = holdLock(lockName(name), { signal: stopWaiting.signal }).then(async (granted) => {
    const status = await openEngine(req, module, name, granted!);
    f.promote(localServer);
    follower = undefined;
    return status;
  });
  promoted.catch((err: unknown) => {
    if ((err as { name?: string })?.name === 'AbortError') return; // closed while waiting
    post({ t: 'status', status: { ...(f.status as object ?? {}), role: 'follower', connection: 'error',
      error: { code: ElectroliteError.from(err).code, message: `taking over as leader failed: ${ElectroliteError.from(err).message}` } } });
  });
  try {
    const status = await Promise.race([f.connect(NO_LEADER_TIMEOUT_MS).then((s) => ({ ...(s as object), role: 'follower' })), promoted]);
    // A follower serves no first screen, and may have to lead while offline: load it all now.
    loadDeferredPart();
    return status;
  } catch (err) {
    stopWaiting.abort();
    f.close();
    follower = undefined;
    releaseTab?.();
    throw err;
  }
}

/** The wasm the page compiled meanwhile (`module` message); undefined: compile it here. */
let pageModule: ((module: WebAssembly.Module | undefined) => void) | undefined;
const fromPage = new Promise<WebAssembly.Module | undefined>((resolve) => (pageModule = resolve));

async function loadPageModule(): Promise<unknown> {
  const wasm = fromPage.then((m) => m ?? compileEngineWasm());
  try {
    return await loadEngineModule({ wasm, ...ON_DEMAND });
  } catch {
    // A page whose idea of the wasm URL differs from this worker's: compile the right one.
    return loadEngineModule(ON_DEMAND);
  }
}

/**
 * A split engine build's second part (js/wasm-deferred.ts) is fetched once the first query
 * or live result has gone out, so it never competes with the first screen; 500 ms after
 * open at the latest; a follower tab's at once (it may have to lead while offline). Until it
 * is in, the engine host sends no request, and a write waits for it (js/client.ts).
 */
const ON_DEMAND = { deferredLoad: 'on-demand' } as const;
let engineModule: Promise<EngineBindings> | undefined;
let deferredStarted = false;
function loadDeferredPart(): void {
  if (deferredStarted || engineModule === undefined) return;
  deferredStarted = true;
  const module = engineModule;
  setTimeout(() => void module.then((m) => m.deferredReady?.()).catch(() => undefined), 0);
}

/** Opens storage and the engine in this worker (the leader; `unlock` drops the database lock). */
async function openEngine(
  req: WorkerOpenOptions, module: Promise<EngineBindings>, name: string, unlock?: () => void,
): Promise<unknown> {
  const options = { ...req.options } as OpenOptions;
  try {
    // The lock stays ours until close (the storage's release must not drop it: a tab whose
    // OPFS failed still leads, in memory, so that two tabs never both open the files).
    storage = await openBrowserStorage(module, name, options.encryptionKey, {
      ...(unlock ? { unlock: () => {} } : {}), persistence: req.options['persistence'] as 'idb' | undefined,
      synchronous: options.synchronous,
    });
    await module; // a memory database attached nothing: the module must still have loaded
  } catch (err) {
    storage?.release();
    storage = undefined;
    unlock?.();
    throw err;
  }
  releaseLeader = unlock;
  if (storage.reason && storage.kind === 'memory') {
    console.warn(`[electrolite] storage ${JSON.stringify(name)}: ${storage.reason}; running in memory`);
  }
  options.storage = storage.kind === 'memory' ? ':memory:' : name;
  delete (options as { persistence?: unknown }).persistence;
  options.vfs = storage.vfs;
  delete options.encryptionKey; // applied by the VFS
  // Keep connections free for uploads on HTTP/1.1 (connection-limit.ts).
  options.fetch = limitLivePolls((input, init) => fetch(input, init)) as typeof fetch;
  if (req.tokenFunction) options.token = askToken;
  if (req.forwardLogs) options.logger = (line: string) => post({ t: 'log', line });
  if (req.resolversModule) {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ req.resolversModule)) as { resolvers?: unknown; default?: unknown };
    const resolvers = (mod.resolvers ?? mod.default) as Record<string, ConflictResolver> | undefined;
    if (!resolvers || typeof resolvers !== 'object') {
      throw new ElectroliteError('invalid_argument', `resolversModule ${req.resolversModule}: exports no \`resolvers\` object`);
    }
    options.resolvers = resolvers;
  }
  try {
    db = await Electrolite.open(options, { loadModule: () => module });
    requestsReady = undefined; // the other tabs' request log is created on their first write
  } catch (err) {
    await db?.close().catch(() => undefined);
    db = undefined;
    storage.release();
    storage = undefined;
    releaseLeader = undefined;
    unlock?.();
    throw err;
  }
  db.onStatus((s) => {
    const status = withStorage(s);
    post({ t: 'status', status });
    leader?.broadcast({ t: 'status', status });
  });
  db.onConflict((event) => {
    post({ t: 'conflict', event });
    leader?.broadcast({ t: 'conflict', event });
  });
  if (unlock) leader = new TabLeader(name, tabId, localServer);
  setTimeout(loadDeferredPart, 500);
  return withStorage(db.status);
}

const REQUESTS_DDL = `CREATE TABLE IF NOT EXISTS ${REQUESTS_TABLE} (uid TEXT PRIMARY KEY, result TEXT, at INTEGER NOT NULL)`;
function requestLog(): Promise<unknown> {
  const d = need();
  requestsReady ??= d.exec(REQUESTS_DDL, []).then(() => d.exec(`DELETE FROM ${REQUESTS_TABLE} WHERE at < ?`, [Date.now() - 3_600_000]));
  requestsReady.catch(() => { requestsReady = undefined; });
  return requestsReady;
}

/** A write from another tab, recorded with its uid in the same transaction (applied once). */
async function recordedWrite(method: CallMethod, args: unknown[], retry: RetryInfo): Promise<unknown> {
  await requestLog();
  const d = need();
  if (retry.retry) {
    const done = await d.query(`SELECT result FROM ${REQUESTS_TABLE} WHERE uid = ?`, [retry.uid!]);
    if (done.rows.length > 0) return JSON.parse(String(done.rows[0]!['result']));
  }
  return d.transaction(async (tx) => {
    const fn = (tx as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
    const value = await fn.apply(tx, args);
    await tx.exec(`INSERT INTO ${REQUESTS_TABLE} (uid, result, at) VALUES (?, ?, ?)`,
      [retry.uid!, JSON.stringify(value ?? null), Date.now()]);
    return value;
  });
}

const lostTx = () => new ElectroliteError('network',
  'the transaction was lost: the leader tab closed before it committed (nothing of it was applied)');

/** What the leader runs for each owner: its own page ('') and the follower tabs. */
const localServer: LocalServer = {
  serve,
  forget(owner: string) {
    for (const [key, stop] of lives) {
      if (key.startsWith(`${owner}:`)) {
        stop();
        lives.delete(key);
      }
    }
    for (const [id, entry] of txs) if (entry.owner === owner) void end(id, false).catch(() => undefined);
    if (visibility.delete(owner)) void applyVisibility().catch(() => undefined);
  },
  status: () => (db ? withStorage(db.status) : undefined),
};

/** Visible while any tab is (this page counts as visible until it reports otherwise). */
function applyVisibility(): Promise<void> {
  return need().setVisible((visibility.get('') ?? true) || [...visibility.values()].some((v) => v));
}

function need(): Electrolite {
  if (!db) throw new ElectroliteError('closed', 'the database is not open');
  return db;
}

async function begin(owner: string): Promise<number> {
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
  txs.set(id, { tx, finish, done, owner });
  return id;
}

async function end(id: number | undefined, commit: boolean, uid?: string): Promise<void> {
  const entry = id === undefined ? undefined : txs.get(id);
  if (!entry) throw new ElectroliteError('invalid_argument', `transaction ${id} is not open`);
  txs.delete(id!);
  if (commit && uid !== undefined) {
    try {
      // Inside the transaction: the log may not exist yet (requestLog() would wait for it).
      await entry.tx.exec(REQUESTS_DDL, []);
      await entry.tx.exec(`INSERT INTO ${REQUESTS_TABLE} (uid, result, at) VALUES (?, 'null', ?)`, [uid, Date.now()]);
    } catch (err) {
      entry.finish(false);
      await entry.done.catch(() => undefined);
      throw err;
    }
  }
  entry.finish(commit);
  try {
    await entry.done;
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
}

async function call(
  method: string, args: unknown[], txId: number | undefined, owner = '', retry: RetryInfo = {},
): Promise<unknown> {
  if (retry.lostTx) {
    // A transaction begun on a previous leader: its commit happened only if recorded.
    if (method !== 'commit' || !retry.uid) throw lostTx();
    await requestLog();
    const done = await need().query(`SELECT 1 FROM ${REQUESTS_TABLE} WHERE uid = ?`, [retry.uid]);
    if (done.rows.length === 0) throw lostTx();
    return undefined;
  }
  switch (method) {
    case 'open': return open(args[0] as WorkerOpenOptions);
    case 'begin': return begin(owner);
    case 'commit': return end(txId, true, retry.uid);
    case 'rollback': return end(txId, false);
    case 'close':
    case 'clear': {
      if (owner !== '') throw new ElectroliteError('invalid_argument', `${method}() of another tab is not run by the leader`);
      if (follower) {
        if (method === 'clear') {
          throw new ElectroliteError('invalid_argument',
            'clear() runs in the leader tab (status.role === \'leader\'); this tab forwards to it');
        }
        stopWaiting?.abort();
        follower.close();
        follower = undefined;
        releaseTab?.();
        return undefined;
      }
      for (const stop of lives.values()) stop();
      lives.clear();
      leader?.close();
      leader = undefined;
      const d = db;
      db = undefined;
      if (method === 'clear') await d?.clear();
      else await d?.close();
      // The last changes (the closing checkpoint) are stored before the lock goes; a failed
      // flush still releases everything, and close() reports it.
      const unstored = method === 'close' ? await storage?.flush().then(() => undefined, (err: unknown) => err) : undefined;
      storage?.release();
      if (method === 'clear') await storage?.remove();
      releaseLeader?.();
      releaseTab?.();
      if (unstored) throw unstored;
      return undefined;
    }
    case 'setVisible':
      visibility.set(owner, args[0] as boolean);
      return applyVisibility();
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
  if (retry.uid !== undefined) return recordedWrite(method as CallMethod, args, retry);
  const d = need() as unknown as Record<CallMethod, (...a: unknown[]) => unknown>;
  const result = await d[method as CallMethod](...args);
  return method === 'syncNow' && result ? withStorage(result as Status) : result;
}

/**
 * `run`'s outcome once what it wrote is stored: with IndexedDB the reply waits for the flush
 * of every change so far (a failed flush fails the call), so an acknowledged write is durable.
 */
async function stored<T>(run: Promise<T>): Promise<T> {
  let value: T;
  try {
    value = await run;
  } catch (err) {
    await storage?.flush().catch(() => undefined);
    throw err;
  }
  await storage?.flush();
  return value;
}

/** Serves one owner's message with this worker's engine; answers go to `reply`. */
function serve(msg: ToWorker, reply: (m: FromWorker) => void, owner: string, retry: RetryInfo = {}): void {
  switch (msg.t) {
    case 'call': {
      const run = msg.method === 'open' && owner === ''
        ? (opening = call('open', msg.args, undefined))
        : call(msg.method, msg.args, msg.tx, owner, retry);
      stored(run).then(
        (value) => {
          reply({ t: 'reply', id: msg.id, ok: true, value });
          if (msg.method === 'query') loadDeferredPart();
        },
        (err: unknown) => reply({ t: 'reply', id: msg.id, ok: false, error: toErrorData(err) }),
      ).finally(() => { if (msg.method === 'open' && owner === '') opening = undefined; });
      return;
    }
    case 'live': {
      const key = `${owner}:${msg.liveId}`;
      try {
        lives.get(key)?.();
        const stop = need().live(msg.sql, msg.params,
          (result) => {
            reply({ t: 'live', liveId: msg.liveId, result });
            loadDeferredPart();
          },
          (err) => reply({ t: 'live-error', liveId: msg.liveId, error: toErrorData(err) }));
        lives.set(key, stop);
      } catch (err) {
        reply({ t: 'live-error', liveId: msg.liveId, error: toErrorData(err) });
      }
      return;
    }
    case 'unlive': {
      const key = `${owner}:${msg.liveId}`;
      lives.get(key)?.();
      lives.delete(key);
      return;
    }
    default: return;
  }
}

scope.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.t) {
    case 'call':
    case 'live':
    case 'unlive':
      // A follower forwards everything but its own lifecycle to the leader.
      if (follower && !(msg.t === 'call' && (msg.method === 'close' || msg.method === 'clear' || msg.method === 'open'))) {
        follower.forward(msg);
      } else {
        serve(msg, post, '');
      }
      return;
    case 'module':
      pageModule?.(msg.module);
      pageModule = undefined;
      return;
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
