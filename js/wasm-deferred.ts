// The second part of a split engine build (wasm/split-module.mjs).
//
// The build splits the .wasm with Binaryen's wasm-split: the functions a page needs up to its
// first query (instantiate, open, schema, query, live-query registration) stay in
// electrolite.wasm; the rest (sync decoding and apply, uploads, conflicts, zstd, export, …)
// move to electrolite.deferred.wasm. The first part imports one placeholder per moved function
// (`placeholder.<table index>`); instantiating the second part with the first's exports
// (`primary.*`) writes the real functions into those table slots.
//
// - `ready()` loads the second part asynchronously (fetch/read + compile off the main path).
// - A placeholder called before that loads it synchronously — `fs.readFileSync` in Node, a
//   synchronous XHR in a worker — then calls the real function, so a split build behaves
//   exactly like an unsplit one. Where neither is possible (a page's main thread) the loader
//   awaits `ready()` before handing out the module.
// - A second part that cannot be loaded fails the call with an ElectroliteError (`io`), and
//   every later call into it the same way.

import { ElectroliteError } from './errors.js';
import { checkWasmBytes } from './wasm-files.js';

type WasmFn = (...args: unknown[]) => unknown;
type NodeFs = { readFileSync(path: URL): Uint8Array<ArrayBuffer> };

/** electrolite.wasm → electrolite.deferred.wasm (a query string is kept). */
export function deferredUrlOf(wasmUrl: URL): URL {
  const url = new URL(wasmUrl.href);
  url.pathname = url.pathname.replace(/(\.wasm)?$/, '.deferred.wasm');
  return url;
}

/** True where a synchronous load works: Node, or a worker (sync XHR + sync compile). */
function canLoadSync(url: URL): boolean {
  if (url.protocol === 'file:') return true;
  const g = globalThis as { importScripts?: unknown; XMLHttpRequest?: unknown };
  return typeof g.importScripts === 'function' && typeof g.XMLHttpRequest === 'function';
}

export class DeferredPart {
  private primary: WebAssembly.Instance | undefined;
  private table: WebAssembly.Table | undefined;
  private loaded = false;
  private failure: ElectroliteError | undefined;
  private loading: Promise<void> | undefined;
  private retries = 0;
  private readonly real = new Map<number, WasmFn>();
  private markLoaded!: () => void;
  /** Resolves once the second part is in, however it got there. */
  readonly loaded$ = new Promise<void>((resolve) => (this.markLoaded = resolve));

  private constructor(
    private readonly names: readonly string[],
    private readonly url: URL,
    private readonly compile: (url: URL) => Promise<WebAssembly.Module>,
    private readonly fs: NodeFs | undefined,
  ) {}

  /** The deferred part of `primary`, or undefined for an unsplit build. */
  static async of(
    primary: WebAssembly.Module,
    url: URL,
    compile: (url: URL) => Promise<WebAssembly.Module>,
  ): Promise<DeferredPart | undefined> {
    const names = WebAssembly.Module.imports(primary)
      .filter((i) => i.module === 'placeholder')
      .map((i) => i.name);
    if (names.length === 0) return undefined;
    let fs: NodeFs | undefined;
    if (url.protocol === 'file:') {
      const fsName = 'node:fs'; // a variable, so bundlers leave it alone
      fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as NodeFs;
    }
    return new DeferredPart(names, url, compile, fs);
  }

  /** Whether the loader must await `ready()` before handing out the module. */
  get needsAsyncLoad(): boolean {
    return !canLoadSync(this.url);
  }

  /** The `placeholder` import object of the first part. */
  placeholders(): Record<string, WasmFn> {
    const out: Record<string, WasmFn> = {};
    for (const name of this.names) {
      const index = Number(name);
      out[name] = (...args: unknown[]) => this.call(index, args);
    }
    return out;
  }

  /** The first part's instance (its exports are the second part's imports). */
  attach(instance: WebAssembly.Instance): void {
    this.primary = instance;
    this.table = Object.values(instance.exports).find((e): e is WebAssembly.Table => e instanceof WebAssembly.Table);
  }

  /**
   * Loads the second part without blocking; idempotent. A failed load rejects, and is tried
   * again in the background with backoff (0.5 s doubling to 30 s) until it succeeds.
   */
  ready(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    if (this.loading === undefined) {
      this.loading = this.compile(this.url)
        .then((module) => this.instantiate(module))
        .catch((err: unknown) => {
          this.loading = undefined;
          const delay = Math.min(30_000, 500 * 2 ** this.retries++);
          const retry = setTimeout(() => void this.ready().catch(() => undefined), delay) as { unref?: () => void };
          retry.unref?.(); // Node: a retry alone does not keep the process alive
          throw this.error(err);
        });
    }
    return this.loading;
  }

  private call(index: number, args: unknown[]): unknown {
    if (!this.loaded) this.loadNow(index);
    let fn = this.real.get(index);
    if (fn === undefined) {
      fn = this.table!.get(index) as WasmFn;
      this.real.set(index, fn);
    }
    return fn(...args);
  }

  private loadNow(index: number): void {
    if (this.failure) throw this.failure;
    // Visible in a profiler's timeline: a synchronous load on the way to a first query means
    // the split (wasm/split-module.mjs) missed a path.
    performance.mark?.('electrolite:deferred-sync-load', { detail: { placeholder: index } });
    try {
      this.instantiate(new WebAssembly.Module(this.readSync()));
    } catch (err) {
      this.failure = err instanceof ElectroliteError ? err : this.error(err);
      throw this.failure;
    }
  }

  private readSync(): ArrayBuffer | Uint8Array<ArrayBuffer> {
    if (this.fs) {
      const bytes = this.fs.readFileSync(this.url);
      checkWasmBytes(this.url, bytes);
      return bytes;
    }
    if (!canLoadSync(this.url)) throw new Error('a synchronous load needs Node or a worker');
    const xhr = new XMLHttpRequest();
    xhr.open('GET', this.url.href, false);
    xhr.responseType = 'arraybuffer';
    xhr.send();
    const type = xhr.getResponseHeader('content-type') ?? '';
    if (xhr.status !== 200) throw new Error(`GET ${this.url.href} answered ${xhr.status}${type ? ` (${type})` : ''}`);
    checkWasmBytes(this.url, xhr.response as ArrayBuffer, xhr.status, type);
    return xhr.response as ArrayBuffer;
  }

  private instantiate(module: WebAssembly.Module): void {
    if (this.loaded) return;
    if (this.primary === undefined || this.table === undefined) {
      throw new Error('the first part is not instantiated (or exports no table)');
    }
    const exports = this.primary.exports;
    const primary: Record<string, WebAssembly.ExportValue> = {};
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module !== 'primary' || !(imp.name in exports)) {
        throw new Error(`${this.url.href} imports ${imp.module}.${imp.name}, which the first part does not export (parts of different builds?)`);
      }
      primary[imp.name] = exports[imp.name]!;
    }
    new WebAssembly.Instance(module, { primary }); // fills the first part's table slots
    this.loaded = true;
    this.markLoaded();
  }

  private error(err: unknown): ElectroliteError {
    const message = err instanceof Error ? err.message : String(err);
    return new ElectroliteError('io', `could not load the engine's deferred part (${this.url.href}): ${message}`, { cause: err });
  }
}
