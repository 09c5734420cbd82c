// The default tables: the package's schema/schema.sql and schema/policies.json.
// Resolved relative to this module (dist/js/ → ../../schema/), read with fs in Node and
// fetched in the browser (bundlers resolve each literal `new URL(..., import.meta.url)` as an
// asset). A 404 or an HTML fallback page is refused with the URL, not parsed as SQL.

import { ElectroliteError } from './errors.js';
import { checkResponse } from './wasm-files.js';

export interface SchemaFiles {
  schemaSql: string;
  policies: Record<string, unknown>;
}

let cached: Promise<SchemaFiles> | undefined;

async function readText(url: URL): Promise<string> {
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (isNode && url.protocol === 'file:') {
    const fsName = 'node:fs/promises'; // a variable, so bundlers leave it alone
    const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as typeof import('node:fs/promises');
    return fs.readFile(url, 'utf8');
  }
  const res = await fetch(url);
  checkResponse(url, res, 'the default schema');
  return res.text();
}

let cachedImage: Promise<Uint8Array | undefined> | undefined;

/**
 * The database a fresh open with the default schema leaves behind, written gzipped by the
 * build (wasm/schema-image.mjs, beside the wasm: 284 KB of mostly empty pages, 11 KB gzipped
 * whatever the server compresses): a new database copies its pages instead of running the
 * schema's DDL (src/schema_image.h). Read with fs in Node, fetched in the browser; undefined
 * when it is missing or cannot be unpacked (the open then runs the DDL, as it does for any
 * other schema), so a bundle that left it out still works.
 */
export function loadDefaultSchemaImage(): Promise<Uint8Array | undefined> {
  cachedImage ??= (async () => {
    const url = new URL('../wasm/electrolite.schema.db.gz', import.meta.url);
    const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
    try {
      if (isNode && url.protocol === 'file:') {
        // Node's own zlib: its web streams and Response would load undici's JS on a cold start.
        const fsName = 'node:fs/promises'; // variables, so bundlers leave them alone
        const zlibName = 'node:zlib';
        const [fs, zlib] = (await Promise.all([
          import(/* @vite-ignore */ /* webpackIgnore: true */ fsName),
          import(/* @vite-ignore */ /* webpackIgnore: true */ zlibName),
        ])) as [typeof import('node:fs/promises'), typeof import('node:zlib')];
        const b = zlib.gunzipSync(await fs.readFile(url));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
      const res = await fetch(url);
      // A 404 or a dev server's HTML fallback page: no image.
      if (!res.ok || (res.headers.get('content-type') ?? '').startsWith('text/html')) return undefined;
      return await gunzipped(new Uint8Array(await res.arrayBuffer()));
    } catch {
      return undefined;
    }
  })();
  return cachedImage;
}

/** The fetched bytes unpacked, or as they are when a server already undid the gzip (Content-Encoding). */
async function gunzipped(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function loadDefaultSchema(): Promise<SchemaFiles> {
  cached ??= (async () => {
    const sqlUrl = new URL('../../schema/schema.sql', import.meta.url);
    const policiesUrl = new URL('../../schema/policies.json', import.meta.url);
    try {
      // Both fetched at once; when both fail, the schema's failure is the one reported
      // (Promise.all would report whichever failed first).
      const policiesRead = readText(policiesUrl);
      policiesRead.catch(() => undefined);
      const schemaSql = await readText(sqlUrl);
      const policiesText = await policiesRead;
      const policies = JSON.parse(policiesText) as Record<string, unknown>;
      delete policies['$comment'];
      return { schemaSql, policies };
    } catch (err) {
      cached = undefined;
      throw new ElectroliteError('schema', `could not load the default schema (${sqlUrl.href}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  })();
  return cached;
}
