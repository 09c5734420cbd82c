// Security, prefetching and snapshots on the client side: the signed-in user (the JWT's `sub`) for the engine's
// client-side row check, retention/prefetch options, the import snapshot's validation and
// waiting for prefetched child shapes. Everything decided here is option plumbing; the
// engine does the work (src/engine_retention.cc, src/engine_prefetch.cc, src/snapshot_export.cc).

import { ElectroliteError } from './errors.js';
import type { OpenOptions, Status } from './types.js';

/** The `sub` claim of a JWT, or undefined when the token is not a readable JWT. */
export function jwtSubject(token: string | undefined): string | undefined {
  if (!token) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const text =
      typeof atob === 'function'
        ? new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)))
        : '';
    const claims = JSON.parse(text) as { sub?: unknown };
    return typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

function nonNegativeInt(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ElectroliteError('invalid_argument', `${name}: expected an integer >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Engine options for security, prefetching and snapshots: `userId` (explicit, else the token's `sub`; rows of other users
 * are dropped and reported), `userColumn`, `prefetchGraceMs`, `retentionIntervalMs`,
 * `retentionBatch`.
 */
export function extraEngineOptions(options: OpenOptions, token: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.userId !== undefined && (typeof options.userId !== 'string' || options.userId === '')) {
    throw new ElectroliteError('invalid_argument', 'userId: expected a non-empty string');
  }
  const userId = options.userId ?? jwtSubject(token);
  if (userId) out.userId = userId;
  if (options.userColumn !== undefined) {
    if (typeof options.userColumn !== 'string' || options.userColumn === '') {
      throw new ElectroliteError('invalid_argument', 'userColumn: expected a column name');
    }
    out.userColumn = options.userColumn;
  }
  const grace = nonNegativeInt('prefetchGraceMs', options.prefetchGraceMs);
  if (grace !== undefined) out.prefetchGraceMs = grace;
  const interval = nonNegativeInt('retentionIntervalMs', options.retentionIntervalMs);
  if (interval !== undefined) {
    if (interval === 0) throw new ElectroliteError('invalid_argument', 'retentionIntervalMs: expected an integer >= 1');
    out.retentionIntervalMs = interval;
  }
  const batch = nonNegativeInt('retentionBatch', options.retentionBatch);
  if (batch !== undefined) {
    if (batch === 0) throw new ElectroliteError('invalid_argument', 'retentionBatch: expected an integer >= 1');
    out.retentionBatch = batch;
  }
  return out;
}

/** `import`: a db.export() snapshot (Uint8Array or ArrayBuffer). */
export function checkImport(value: unknown): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new ElectroliteError('invalid_argument', 'import: expected the Uint8Array db.export() returned');
}

/** A parent key for prefetch/release: a string or integer id, or `{ id }`. */
export function checkKey(key: unknown): string | number | Record<string, unknown> {
  if (typeof key === 'string' && key !== '') return key;
  if (typeof key === 'number' && Number.isInteger(key)) return key;
  if (typeof key === 'object' && key !== null && !Array.isArray(key) && Object.keys(key).length === 1) {
    return key as Record<string, unknown>;
  }
  throw new ElectroliteError('invalid_argument', 'key: expected the parent row id (string or integer) or { id }');
}

/** Whether every one of `shapeIds` is up to date in `s`. */
export function shapesUpToDate(s: Status, shapeIds: string[]): boolean {
  const shapes = (s as unknown as { shapes?: Array<{ id: string; isUpToDate: boolean }> }).shapes ?? [];
  return shapeIds.every((id) => shapes.some((sh) => sh.id === id && sh.isUpToDate));
}
