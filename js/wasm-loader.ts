// Loads the WebAssembly engine (dist/wasm/electrolite.mjs + .wasm) in Node 20 and in a
// browser worker (module or classic) or page.
//
// - SSR-safe: importing this file touches no `window`, `navigator`, `Worker` or Node
//   module; Node's `fs` is imported dynamically, and only when running in Node.
// - The .wasm is compiled once per URL and instantiated per load, through Emscripten's
//   `instantiateWasm` hook. So the glue never fetches or reads anything itself: this
//   avoids Emscripten 3.1.6's `fetch()` of a file path under Node, and the classic-worker
//   pitfall where the .wasm URL resolves against the worker script instead of the glue.
// - Each `loadEngineModule()` call returns a fresh module instance (its own memory and
//   memory VFS); one instance can hold several engines (`open` returns handles).
// - A split build (wasm/split-module.mjs) ships the code the first query runs in
//   electrolite.wasm and the rest in electrolite.deferred.wasm; js/wasm-deferred.ts loads the
//   second part in the background (`deferredReady()`), or synchronously when the engine calls
//   into it first. An unsplit build has no deferred part and loads as before.

import { ElectroliteError } from './errors.js';
import type { EngineModule, EngineModuleFactory, EngineModuleOverrides } from './engine-module.js';
import { DeferredPart, deferredUrlOf } from './wasm-deferred.js';

export type { EngineModule } from './engine-module.js';

export interface LoadEngineOptions {
  /** URL of the Emscripten glue. Default: `../wasm/electrolite.mjs` relative to this file. */
  moduleUrl?: string | URL;
  /** URL of the .wasm. Default: the glue's URL with `.wasm` for `.mjs` (electrolite.wasm). */
  wasmUrl?: string | URL;
  /** The .wasm bytes or a compiled module (or one on its way), if the caller already has them. */
  wasm?: ArrayBuffer | Uint8Array | WebAssembly.Module | PromiseLike<WebAssembly.Module>;
  /** URL of a split build's second part. Default: the .wasm URL with `.deferred.wasm`. */
  deferredWasmUrl?: string | URL;
  /**
   * When a split build's second part loads: 'background' (default) starts it as soon as the
   * module is instantiated; 'on-demand' only when `deferredReady()` is called or the engine
   * first needs it (a page's worker starts it after the first query).
   */
  deferredLoad?: 'background' | 'on-demand';
  /** Build tooling only (wasm/split-module.mjs): sees the raw instance. */
  onInstance?: (instance: WebAssembly.Instance) => void;
}

interface NodeGlobals {
  process?: { versions?: { node?: string } };
  __dirname?: string;
}

/** True in Node (and only there); safe to call anywhere. */
export function isNode(): boolean {
  const g = globalThis as NodeGlobals;
  return typeof g.process?.versions?.node === 'string';
}

/** The default location of the glue, as built by scripts/build.sh. */
export function defaultModuleUrl(): URL {
  return new URL('../wasm/electrolite.mjs', import.meta.url);
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

function resolveUrls(options: LoadEngineOptions): { moduleUrl: URL; wasmUrl: URL } {
  const moduleUrl = new URL(String(options.moduleUrl ?? defaultModuleUrl()), import.meta.url);
  const wasmUrl = new URL(String(options.wasmUrl ?? moduleUrl.href.replace(/\.m?js$/, '.wasm')), moduleUrl);
  return { moduleUrl, wasmUrl };
}

/**
 * Compiles the engine's .wasm (once per URL) without instantiating it. A page compiles it
 * while its worker starts and posts the WebAssembly.Module there (js/browser/client.ts).
 */
export function compileEngineWasm(options: Pick<LoadEngineOptions, 'moduleUrl' | 'wasmUrl'> = {}): Promise<WebAssembly.Module> {
  return compileCached(resolveUrls(options).wasmUrl);
}

/** Instantiates a fresh engine module. Rejects with an ElectroliteError (`io`) on failure. */
export async function loadEngineModule(options: LoadEngineOptions = {}): Promise<EngineModule> {
  const { moduleUrl, wasmUrl } = resolveUrls(options);
  let factory: EngineModuleFactory;
  let wasmModule: WebAssembly.Module;
  try {
    [factory, wasmModule] = await Promise.all([
      importFactory(moduleUrl),
      options.wasm !== undefined ? compileGiven(options.wasm) : compileCached(wasmUrl),
    ]);
  } catch (err) {
    throw new ElectroliteError('io', `could not load the engine (${moduleUrl.href}): ${describe(err)}`, {
      cause: err,
    });
  }
  let deferred: DeferredPart | undefined;
  try {
    const url = new URL(String(options.deferredWasmUrl ?? deferredUrlOf(wasmUrl)), wasmUrl);
    deferred = await DeferredPart.of(wasmModule, url, compileCached);
  } catch (err) {
    throw new ElectroliteError('io', `could not load the engine (${wasmUrl.href}): ${describe(err)}`, { cause: err });
  }
  let instantiateFailed!: (err: unknown) => void;
  const failure = new Promise<never>((_resolve, reject) => {
    instantiateFailed = reject;
  });
  const overrides: EngineModuleOverrides = {
    instantiateWasm(imports, receive) {
      if (deferred) imports['placeholder'] = deferred.placeholders();
      WebAssembly.instantiate(wasmModule, imports).then(
        (instance) => {
          options.onInstance?.(instance);
          deferred?.attach(instance);
          receive(instance, wasmModule);
        },
        (err: unknown) =>
          instantiateFailed(
            new ElectroliteError('io', `could not instantiate ${wasmUrl.href}: ${describe(err)}`, { cause: err }),
          ),
      );
      return {};
    },
  };
  const module = await Promise.race([callFactory(factory, overrides, moduleUrl), failure]);
  const part = deferred;
  module.deferredReady = part ? () => part.ready() : () => Promise.resolve();
  module.deferredLoaded = part ? () => part.loaded$ : () => Promise.resolve();
  if (part?.needsAsyncLoad) await part.ready(); // no synchronous fallback here (a page's main thread)
  else if (part && (options.deferredLoad ?? 'background') === 'background') part.ready().catch(() => undefined);
  return module;
}

async function importFactory(moduleUrl: URL): Promise<EngineModuleFactory> {
  const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ moduleUrl.href)) as {
    default?: unknown;
  };
  if (typeof mod.default !== 'function') {
    throw new Error(`${moduleUrl.href} has no default export (createElectroliteModule)`);
  }
  return mod.default as EngineModuleFactory;
}

function compileGiven(wasm: NonNullable<LoadEngineOptions['wasm']>): Promise<WebAssembly.Module> {
  if (wasm instanceof WebAssembly.Module) return Promise.resolve(wasm);
  if ('then' in wasm) return Promise.resolve(wasm);
  return WebAssembly.compile(wasm instanceof Uint8Array ? copyToArrayBuffer(wasm) : wasm);
}

function compileCached(wasmUrl: URL): Promise<WebAssembly.Module> {
  let pending = compiled.get(wasmUrl.href);
  if (pending === undefined) {
    pending = compileFrom(wasmUrl);
    compiled.set(wasmUrl.href, pending);
    pending.catch(() => compiled.delete(wasmUrl.href)); // a failed load may be retried
  }
  return pending;
}

async function compileFrom(wasmUrl: URL): Promise<WebAssembly.Module> {
  if (wasmUrl.protocol === 'file:') {
    // Node: read from disk. The specifier is a variable so bundlers leave it alone.
    const fsName = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as typeof import('node:fs/promises');
    return WebAssembly.compile(copyToArrayBuffer(await fs.readFile(wasmUrl)));
  }
  const response = await fetch(wasmUrl, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`GET ${wasmUrl.href} answered ${response.status}`);
  const type = response.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  // Served with another MIME type: compile from bytes rather than fail.
  return WebAssembly.compile(await response.arrayBuffer());
}

function copyToArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/**
 * Emscripten 3.1.6's ES-module glue reads the CommonJS global `__dirname` when its
 * factory starts under Node (newer glue does not). Provide it only while the factory's
 * synchronous part runs, and only if the host has none, so host globals stay as they were.
 */
function callFactory(
  factory: EngineModuleFactory,
  overrides: EngineModuleOverrides,
  moduleUrl: URL,
): Promise<EngineModule> {
  const g = globalThis as NodeGlobals;
  if (!isNode() || g.__dirname !== undefined || moduleUrl.protocol !== 'file:') return factory(overrides);
  const path = decodeURIComponent(moduleUrl.pathname);
  g.__dirname = path.slice(0, path.lastIndexOf('/'));
  try {
    return factory(overrides);
  } finally {
    delete g.__dirname;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
