// Loads the WebAssembly engine (dist/wasm/electrolite.mjs + .wasm) in Node 20 and in a
// browser worker (module or classic) or page.
//
// - SSR-safe: importing this file touches no `window`, `navigator`, `Worker` or Node
//   module; Node's `fs` is imported dynamically, and only when running in Node.
// - Bundlers see every file: the glue is a static import, and each .wasm is named by its own
//   literal `new URL(…, import.meta.url)` (js/wasm-files.ts), never derived from the glue's
//   (hashed) name. The .wasm is compiled once per URL and instantiated per load, through
//   Emscripten's `instantiateWasm` hook, and `locateFile` answers with the same URL: the glue
//   never fetches, reads or derives anything itself.
// - Each `loadEngineModule()` call returns a fresh module instance (its own memory and
//   memory VFS); one instance can hold several engines (`open` returns handles).
// - A split build (wasm/split-module.mjs) ships the code the first query runs in
//   electrolite.wasm and the rest in electrolite.deferred.wasm; js/wasm-deferred.ts loads the
//   second part in the background (`deferredReady()`), or synchronously when the engine calls
//   into it first. An unsplit build has no deferred part and loads as before.

import { ElectroliteError } from './errors.js';
import type { EngineModule, EngineModuleFactory, EngineModuleOverrides } from './engine-module.js';
import { DeferredPart, deferredUrlOf } from './wasm-deferred.js';
import { compileCached, deferredWasmUrl, engineWasmUrl, givenUrl } from './wasm-files.js';
import createElectroliteModule from '../wasm/electrolite.mjs';

export { compileEngineWasm } from './wasm-files.js';

export type { EngineModule } from './engine-module.js';

export interface LoadEngineOptions {
  /**
   * URL of another build's Emscripten glue (build tooling and benchmarks; imported by URL).
   * Default: the package's own, imported statically.
   */
  moduleUrl?: string | URL;
  /** URL of the .wasm. Default: `../wasm/electrolite.wasm` relative to this file. */
  wasmUrl?: string | URL;
  /** The .wasm bytes or a compiled module (or one on its way), if the caller already has them. */
  wasm?: ArrayBuffer | Uint8Array | WebAssembly.Module | PromiseLike<WebAssembly.Module>;
  /**
   * URL of a split build's second part. Default: `../wasm/electrolite.deferred.wasm` relative to
   * this file, or, when `wasmUrl` is given, that URL with `.deferred.wasm`.
   */
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

function resolveUrls(options: LoadEngineOptions): { wasmUrl: URL; deferredUrl: URL } {
  const wasmUrl = options.wasmUrl === undefined ? engineWasmUrl() : givenUrl(options.wasmUrl);
  let deferredUrl: URL;
  if (options.deferredWasmUrl !== undefined) deferredUrl = new URL(String(options.deferredWasmUrl), wasmUrl);
  else deferredUrl = options.wasmUrl === undefined ? deferredWasmUrl() : deferredUrlOf(wasmUrl);
  return { wasmUrl, deferredUrl };
}

/** Instantiates a fresh engine module. Rejects with an ElectroliteError (`io`) on failure. */
export async function loadEngineModule(options: LoadEngineOptions = {}): Promise<EngineModule> {
  const { wasmUrl, deferredUrl } = resolveUrls(options);
  const moduleUrl = options.moduleUrl === undefined ? undefined : givenUrl(options.moduleUrl);
  let factory: EngineModuleFactory;
  let wasmModule: WebAssembly.Module;
  try {
    [factory, wasmModule] = await Promise.all([
      moduleUrl ? importFactory(moduleUrl) : (createElectroliteModule as EngineModuleFactory),
      options.wasm !== undefined ? compileGiven(options.wasm) : compileCached(wasmUrl),
    ]);
  } catch (err) {
    if (err instanceof ElectroliteError && err.code === 'io') throw err; // names the URL already
    throw new ElectroliteError('io', `could not load the engine (${(moduleUrl ?? wasmUrl).href}): ${describe(err)}`, { cause: err });
  }
  let deferred: DeferredPart | undefined;
  try {
    deferred = await DeferredPart.of(wasmModule, deferredUrl, compileCached);
  } catch (err) {
    throw new ElectroliteError('io', `could not load the engine (${wasmUrl.href}): ${describe(err)}`, { cause: err });
  }
  let instantiateFailed!: (err: unknown) => void;
  const failure = new Promise<never>((_resolve, reject) => {
    instantiateFailed = reject;
  });
  const overrides: EngineModuleOverrides = {
    locateFile: (path) => (path.endsWith('.wasm') ? wasmUrl.href : path),
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
  const module = await Promise.race([callFactory(factory, overrides, moduleUrl ?? wasmUrl), failure]);
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
  fileUrl: URL,
): Promise<EngineModule> {
  const g = globalThis as NodeGlobals;
  if (!isNode() || g.__dirname !== undefined || fileUrl.protocol !== 'file:') return factory(overrides);
  const path = decodeURIComponent(fileUrl.pathname);
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
