// The EngineOptions JSON (docs/engine-api.md "Lifecycle") built from the resolved open
// options: the default schema and policies unless the app gives its own, and the `custom`
// policy for every table with an app resolver.

import { loadDefaultSchema } from './default-schema.js';
import type { ResolvedOptions } from './options.js';
import type { OpenOptions } from './types.js';

/** Whether the engine opens with the package's default tables (no schemaSql, no tables). */
export function usesDefaultSchema(options: OpenOptions): boolean {
  return options.schemaSql === undefined && options.tables === undefined;
}

export async function buildEngineOptions(
  options: OpenOptions,
  resolved: ResolvedOptions,
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
  return engineOptions;
}
