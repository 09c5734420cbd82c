// The dedicated module worker that hosts the engine in the browser: the EngineHost (fetch
// loop, timers) next to the wasm module and the storage, served to the page's port
// (worker-port.ts) with host-server.ts. The client itself runs on the page; only host calls,
// replies and events cross, as plain data.
//
// Storage: a named database lives in OPFS (opfs-storage.ts: Web Lock, access-handle pool,
// host-storage VFS in wasm/), optionally encrypted; without OPFS sync access handles in
// IndexedDB (idb-storage.ts: a call's changes are flushed before its reply goes out), else in
// memory. Every status says which (`storage: 'opfs' | 'idb' | 'memory'`, and `storageReason`).
//
// Tabs: a named database has one leader per origin (tabs-protocol.ts). This worker takes
// the database's Web Lock before the storage handles are created; when another tab holds
// it, this worker opens nothing and forwards its page's calls to the leader
// (tabs-follower.ts) until it takes the lock over and opens the engine itself; its page's
// client is then told the host was reopened. The leader serves the other tabs with the same
// code as its own page (host-server.ts, owner = their tab id; tabs-leader.ts). Status says
// which (`role: 'leader' | 'follower'`).

import { loadDefaultSchema, loadDefaultSchemaImage } from '../default-schema.js';
import { EngineHost, type EngineBindings, type EngineEvent } from '../engine-host.js';
import { buildEngineOptions, checkImport, usesDefaultSchema } from '../engine-options.js';
import { ElectroliteError } from '../errors.js';
import { HOST_REOPENED } from '../host-port.js';
import { resolveOptions } from '../options.js';
import { OpenClock, since } from '../open-phases.js';
import { idleCheckpointer, prepareStorage } from '../storage-open.js';
import type { OpenOptions } from '../types.js';
import { compileEngineWasm, loadEngineModule } from '../wasm-loader.js';
import { limitLivePolls } from './connection-limit.js';
import { HostServer } from './host-server.js';
import { openBrowserStorage, type BrowserStorage } from './opfs-storage.js';
import { toErrorData, type CallMessage, type FromWorker, type ToWorker, type WorkerOpen } from './protocol.js';
import { TabFollower } from './tabs-follower.js';
import { TabLeader, type LocalServer } from './tabs-leader.js';
import { holdLock, lockName, NO_LEADER_TIMEOUT_MS, tabLockName, tabsAvailable, type RetryInfo } from './tabs-protocol.js';

interface WorkerScope {
  postMessage(msg: FromWorker): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<ToWorker>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;
const post = (msg: FromWorker) => scope.postMessage(msg);
const postEvent = (event: EngineEvent) => post({ t: 'event', event });

let server: HostServer | undefined;
let storage: BrowserStorage | undefined;
let checkpointer: { poke(): void; stop(): void } | undefined;
let opening: Promise<unknown> | undefined;
/** Multi-tab state: this tab's id, its locks, and its role once open. */
// (getRandomValues: crypto.randomUUID exists only in secure contexts, this file runs in any)
const tabId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
let releaseTab: (() => void) | undefined;
let releaseLeader: (() => void) | undefined;
let stopWaiting: AbortController | undefined;
let leader: TabLeader | undefined;
let follower: TabFollower | undefined;

/** Where the data lives, added to every status. */
const placement = () => ({
  storage: storage?.kind ?? 'memory', ...(storage?.reason ? { storageReason: storage.reason } : {}), role: 'leader',
});

async function open(req: WorkerOpen): Promise<void> {
  if (server || opening || follower) throw new ElectroliteError('invalid_argument', 'open: this worker already hosts a database');
  // The engine's glue is a static import of js/wasm-loader.ts and each .wasm its own literal
  // URL (js/wasm-files.ts), so bundlers emit them with this script.
  // It compiles while the locks are taken and the OPFS handles opened (openEngine awaits it
  // only to attach the storage), and the default schema is fetched meanwhile.
  const module: Promise<EngineBindings> = req.pageCompiles ? loadPageModule() : loadEngineModule(ON_DEMAND);
  module.catch(() => undefined); // awaited below; a failure rejects open()
  engineModule = module;
  // metrics().open; this worker's clock starts at its creation, so now is its start-up.
  const clock = new OpenClock(module, { workerStartMs: since(0) });
  if (req.options['schemaSql'] === undefined && req.options['tables'] === undefined) {
    loadDefaultSchema().catch(() => undefined); // cached for openEngine
    if (req.options['import'] === undefined) void loadDefaultSchemaImage(); // likewise (never rejects)
  }
  const raw = req.options['storage'] as string | { path?: string } | undefined;
  const name = typeof raw === 'object' && raw !== null ? String(raw.path ?? ':memory:') : (raw ?? ':memory:');
  if (name === ':memory:' || !tabsAvailable()) return openEngine(req, module, name, clock);
  // Election: the database lock is taken before any storage handle is created.
  releaseTab = await holdLock(tabLockName(name, tabId));
  const unlock = await holdLock(lockName(name), { ifAvailable: true });
  if (unlock) return openEngine(req, module, name, clock, unlock);
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
  stopWaiting = new AbortController();
  const promoted = holdLock(lockName(name), { signal: stopWaiting.signal }).then(async (granted) => {
    // Taking over: the page's client tells this new host what it told the old one.
    await openEngine({ ...req, options: { ...req.options, import: undefined } }, module, name,
      new OpenClock(module), granted!);
    f.promote(localServer);
    follower = undefined;
    postEvent({ type: HOST_REOPENED });
  });
  promoted.catch((err: unknown) => {
    if ((err as { name?: string })?.name === 'AbortError') return; // closed while waiting
    const e = ElectroliteError.from(err);
    postEvent({ type: 'error', code: e.code, message: `taking over as leader failed: ${e.message}` });
  });
  try {
    await Promise.race([f.connect(NO_LEADER_TIMEOUT_MS), promoted]);
    // A follower serves no first screen, and may have to lead while offline: load it all now.
    loadDeferredPart();
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

async function loadPageModule(): Promise<EngineBindings> {
  const wasm = fromPage.then((m) => m ?? compileEngineWasm());
  try {
    return await loadEngineModule({ wasm, ...ON_DEMAND });
  } catch {
    // A page whose idea of the wasm URL differs from this worker's: compile the right one.
    return loadEngineModule(ON_DEMAND);
  }
}

/**
 * A split engine build's second part (js/wasm-deferred.ts) is fetched once the page says its
 * first screen is shown (the `shown` message: the first frame painted after its first query
 * was answered, first-screen.ts), so it never competes with the first screen; a follower
 * tab's at once (it may have to lead while offline); a page that never says so (no query, a
 * hidden tab) gets it DEFERRED_FALLBACK_MS after open. That fallback is long on purpose: a
 * page still busy between open and its first query (a first visit on a loaded machine takes
 * more than half a second) must not see it fetched first. Until it is in, the engine host
 * sends no request, and a write waits for it (js/client.ts).
 */
const ON_DEMAND = { deferredLoad: 'on-demand' } as const;
const DEFERRED_FALLBACK_MS = 3000;
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
  req: WorkerOpen, module: Promise<EngineBindings>, name: string, clock: OpenClock, unlock?: () => void,
): Promise<void> {
  const options = { ...req.options } as OpenOptions;
  // Fetched while the storage opens: a new database copies it instead of running the DDL.
  const schemaImage = usesDefaultSchema(options) && options.import === undefined ? loadDefaultSchemaImage() : undefined;
  let host: EngineHost | undefined;
  try {
    // The lock stays ours until close (the storage's release must not drop it: a tab whose
    // OPFS failed still leads, in memory, so that two tabs never both open the files).
    storage = await openBrowserStorage(module, name, options.encryptionKey, {
      ...(unlock ? { unlock: () => {} } : {}), persistence: req.persistence === 'idb' ? 'idb' : undefined,
      synchronous: options.synchronous,
    });
    clock.mark('storageReadyMs');
    await module; // a memory database attached nothing: the module must still have loaded
    if (storage.reason && storage.kind === 'memory') {
      console.warn(`[electrolite] storage ${JSON.stringify(name)}: ${storage.reason}; running in memory`);
    }
    options.storage = storage.kind === 'memory' ? ':memory:' : name;
    delete options.encryptionKey; // applied by the VFS
    const resolved = resolveOptions(options);
    const engineOptions = await buildEngineOptions(options, resolved, req.token, req.resolverTables);
    await prepareStorage({ file: undefined, name: resolved.storage, vfs: storage.vfs, encryptionKey: undefined,
      synchronous: resolved.synchronous }, () => module, engineOptions);
    const image = await schemaImage;
    clock.mark('engineStartedMs');
    host = EngineHost.start(await module, {
      engineOptions,
      token: req.token,
      // Keep connections free for uploads on HTTP/1.1 (connection-limit.ts).
      fetch: limitLivePolls((input, init) => fetch(input, init)) as typeof fetch,
      importSnapshot: checkImport(options.import),
      awaitToken: req.awaitToken,
      schemaImage: image,
      openPhases: clock.phases,
    }, (ev) => onEngineEvent(ev));
  } catch (err) {
    host?.close();
    storage?.release();
    storage = undefined;
    unlock?.();
    throw err;
  }
  releaseLeader = unlock;
  server = new HostServer(host, { flush: () => storage?.flush() ?? Promise.resolve(), placement });
  if (storage.kind !== 'memory') {
    const s = server;
    checkpointer = idleCheckpointer(async () => s.host.query('PRAGMA wal_checkpoint(TRUNCATE)', []));
  }
  if (unlock) leader = new TabLeader(name, tabId, localServer);
  setTimeout(loadDeferredPart, DEFERRED_FALLBACK_MS);
}

/**
 * The engine's events go to this page and every follower tab; a resolver's question and an
 * auth rejection only to this page's client (the one that asks the app and hands the answer).
 */
function onEngineEvent(raw: EngineEvent): void {
  if (raw.type === 'tables-changed') checkpointer?.poke();
  const event = server ? server.event(raw) : { ...raw, ...(raw.type === 'status' ? placement() : {}) };
  postEvent(event);
  if (event.type !== 'resolve' && event.type !== 'auth-rejected') leader?.broadcast({ t: 'event', event });
}

/** What the leader runs for each owner: its own page ('') and the follower tabs. */
const localServer: LocalServer = {
  serve(msg: CallMessage, reply: (m: FromWorker) => void, owner: string, retry: RetryInfo = {}) {
    answer(msg, reply, () => {
      if (owner !== '' && (msg.method === 'close' || msg.method === 'clear')) {
        throw new ElectroliteError('invalid_argument', `${msg.method}() of another tab is not run by the leader`);
      }
      return need().serve(owner, msg.method, msg.args, retry);
    });
  },
  forget(owner: string) {
    server?.forget(owner);
  },
  status: () => server?.status(),
};

function need(): HostServer {
  if (!server) throw new ElectroliteError('closed', 'the database is not open');
  return server;
}

function answer(msg: { id: number; method?: string }, reply: (m: FromWorker) => void, run: () => Promise<unknown> | unknown): void {
  Promise.resolve().then(run).then(
    (value) => reply({ t: 'reply', id: msg.id, ok: true, value }),
    (err: unknown) => reply({ t: 'reply', id: msg.id, ok: false, error: toErrorData(err) }),
  );
}

/** The page closes (or clears) this database: everything this worker holds goes. */
async function shutDown(clear: boolean): Promise<void> {
  if (follower) {
    if (clear) {
      throw new ElectroliteError('invalid_argument',
        'clear() runs in the leader tab (status.role === \'leader\'); this tab forwards to it');
    }
    stopWaiting?.abort();
    follower.close();
    follower = undefined;
    releaseTab?.();
    return;
  }
  leader?.close();
  leader = undefined;
  checkpointer?.stop();
  const s = server;
  server = undefined;
  if (clear) s?.host.clear();
  else s?.host.close();
  // The last changes (the closing checkpoint) are stored before the lock goes; a failed
  // flush still releases everything, and close() reports it.
  const unstored = clear ? undefined : await storage?.flush().then(() => undefined, (err: unknown) => err);
  storage?.release();
  if (clear) await storage?.remove();
  releaseLeader?.();
  releaseTab?.();
  if (unstored) throw unstored;
}

scope.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.t) {
    case 'open':
      answer(msg, post, () => (opening = open(msg.open).finally(() => { opening = undefined; })));
      return;
    case 'call':
      if (msg.method === 'close' || msg.method === 'clear') answer(msg, post, () => shutDown(msg.method === 'clear'));
      // A follower forwards everything but its own lifecycle to the leader.
      else if (follower) follower.forward(msg);
      else localServer.serve(msg, post, '');
      return;
    case 'module':
      pageModule?.(msg.module);
      pageModule = undefined;
      return;
    case 'shown':
      loadDeferredPart();
      return;
  }
});
