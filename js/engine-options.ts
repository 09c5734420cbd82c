// The EngineOptions JSON (docs/engine-api.md "Lifecycle") built from the resolved open
// options: the default schema and policies unless the app gives its own, and the `custom`
// policy for every table with an app resolver; the signed-in user (explicit, else the token's
// `sub`) for the engine's row check; prefetch and retention settings; the `import` snapshot.

import { loadDefaultSchema } from './default-schema.js';
import { ElectroliteError } from './errors.js';
import { jwtSubject } from './jwt.js';
import type { ResolvedOptions } from './options.js';
import type { OpenOptions } from './types.js';

/** Whether the engine opens with the package's default tables (no schemaSql, no tables). */
export function usesDefaultSchema(options: OpenOptions): boolean {
  return options.schemaSql === undefined && options.tables === undefined;
}

export async function buildEngineOptions(
  options: OpenOptions,
  resolved: ResolvedOptions,
  token: string | undefined,
  resolverTables: readonly string[] = Object.keys(options.resolvers ?? {}),
): Promise<Record<string, unknown>> {
  let schemaSql = options.schemaSql;
  let policies = options.policies;
  if (usesDefaultSchema(options)) {
    const defaults = await loadDefaultSchema();
    schemaSql = defaults.schemaSql;
    policies ??= defaults.policies;
  }
  if (policies && resolverTables.length > 0) {
    // A table with a custom resolver is declared with the `custom` policy.
    policies = { ...policies };
    for (const table of resolverTables) {
      policies[table] = { ...((policies[table] as object | undefined) ?? {}), policy: 'custom' };
    }
  }
  const engineOptions: Record<string, unknown> = {
    path: resolved.storage,
    vfs: resolved.vfs,
    ...(resolved.url !== undefined ? { baseUrl: resolved.url } : {}),
    clientId: resolved.clientId,
    nowMs: Date.now(),
    schemaSql: schemaSql ?? '',
    policies: policies ?? {},
    autoSubscribe: resolved.autoSubscribe,
    batchSize: resolved.batchSize,
    uploadIntervalMs: resolved.uploadIntervalMs,
    compressThreshold: resolved.compressThreshold,
    backoff: resolved.backoff,
    liveTimeoutMs: resolved.liveTimeoutMs,
    // Read by the host (js/sse-live.ts), not the engine: its requests stay long-polls.
    liveSse: resolved.liveSse,
    debug: resolved.debug,
  };
  if (options.tables) engineOptions.tables = options.tables;
  return Object.assign(engineOptions, accessAndRetentionOptions(options, token));
}

function nonNegativeInt(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ElectroliteError('invalid_argument', `${name}: expected an integer >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Engine options for access, prefetching and retention: `userId` (explicit, else the token's `sub`; rows of other users
 * are dropped and reported), `userColumn`, `prefetchGraceMs`, `retentionIntervalMs`,
 * `retentionBatch`.
 */
function accessAndRetentionOptions(options: OpenOptions, token: string | undefined): Record<string, unknown> {
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
