// Where the engine's files are, and fetching them so that a wrong answer says so.
//
// Each file is named by its own literal `new URL('<relative path>', import.meta.url)`: Vite,
// webpack 5, Next.js and Rollup recognise exactly that form, emit the file and rewrite the URL,
// and without a bundler it resolves next to this module. No URL is derived from another file's
// name (a bundler renames every file with its own hash).
//
// A dev server or CDN that does not have a file usually answers 404 or, worse, 200 with the
// app's index.html (an SPA fallback); both become an ElectroliteError (`io`) naming the URL,
// the status and the content type, instead of "expected magic word 00 61 73 6d".
//
// Importing this file touches no browser global and no Node module.

import { ElectroliteError } from './errors.js';

/** electrolite.wasm: what opening a database and its first queries run. */
export function engineWasmUrl(): URL {
  return new URL('../wasm/electrolite.wasm', import.meta.url);
}

/** electrolite.deferred.wasm: the rest (sync, uploads, zstd), loaded after the first query. */
export function deferredWasmUrl(): URL {
  return new URL('../wasm/electrolite.deferred.wasm', import.meta.url);
}

/**
 * A URL the app gave (an option): relative to the page or worker, like fetch, else (Node) to
 * this module. Never `new URL(<expression>, import.meta.url)`: webpack takes that form for a
 * file reference and warns that the request is an expression.
 */
export function givenUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href?: string } }).location?.href ?? MODULE_URL;
  return new URL(String(url), base);
}
const MODULE_URL: string = import.meta.url;

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** A one-line description of a response that is not the file asked for. */
function answered(url: URL | string, response: { status: number; headers: { get(name: string): string | null } }): string {
  const type = response.headers.get('content-type');
  return `GET ${String(url)} answered ${response.status}${type ? ` (${type})` : ''}`;
}

const SERVE_HINT = 'is the package\'s file served at that URL? (a server\'s HTML fallback answers for missing files)';

/** Throws unless `response` is a 2xx that is not an HTML page. */
export function checkResponse(url: URL | string, response: Response, what: string): void {
  const type = response.headers.get('content-type') ?? '';
  if (!response.ok || /^text\/html\b/i.test(type)) {
    throw new ElectroliteError('io', `${what}: ${answered(url, response)}; ${SERVE_HINT}`);
  }
}

/** Throws unless `bytes` start with WebAssembly's magic number. */
export function checkWasmBytes(url: URL | string, bytes: ArrayBuffer | Uint8Array, status = 200, type = ''): void {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (WASM_MAGIC.every((b, i) => view[i] === b)) return;
  const head = Array.from(view.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ElectroliteError('io',
    `${String(url)} is not WebAssembly (${status}${type ? ` ${type}` : ''}, starts with ${head || 'nothing'}); ${SERVE_HINT}`);
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles a .wasm (once per URL; a failed load may be retried): read in Node, fetched elsewhere. */
export function compileCached(url: URL): Promise<WebAssembly.Module> {
  let pending = compiled.get(url.href);
  if (pending === undefined) {
    pending = url.protocol === 'file:' ? readWasm(url) : fetchWasm(url);
    compiled.set(url.href, pending);
    pending.catch(() => compiled.delete(url.href));
  }
  return pending;
}

/**
 * Compiles the engine's first part without instantiating it. A page compiles it while its
 * worker starts and posts the WebAssembly.Module there (js/browser/client.ts).
 */
export function compileEngineWasm(options: { wasmUrl?: string | URL } = {}): Promise<WebAssembly.Module> {
  return compileCached(options.wasmUrl === undefined ? engineWasmUrl() : givenUrl(options.wasmUrl));
}

async function readWasm(url: URL): Promise<WebAssembly.Module> {
  const fsName = 'node:fs/promises'; // a variable, so bundlers leave it alone
  const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as typeof import('node:fs/promises');
  const bytes = await fs.readFile(url);
  checkWasmBytes(url, bytes);
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return WebAssembly.compile(copy);
}

/** Fetches and compiles a .wasm over HTTP(S), with the checks above. */
export async function fetchWasm(url: URL): Promise<WebAssembly.Module> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (err) {
    throw new ElectroliteError('network', `GET ${url.href} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  checkResponse(url, response, 'the engine\'s WebAssembly');
  const type = response.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  // Served with another MIME type: compile from bytes rather than fail, once they look right.
  const bytes = await response.arrayBuffer();
  checkWasmBytes(url, bytes, response.status, type);
  return WebAssembly.compile(bytes);
}

/**
 * Why a script URL did not load as a worker (the browser's `error` event says nothing):
 * fetches it and describes a failed or HTML answer; undefined when it looks fine.
 */
export async function diagnoseScript(url: URL | string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { credentials: 'same-origin' });
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || /^text\/html\b/i.test(type)) return answered(url, response);
    return undefined;
  } catch (err) {
    return `GET ${String(url)} failed: ${(err as Error)?.message ?? String(err)}`;
  }
}
