// Normalises the engine's status JSON (docs/engine-api.md `status`) into the public Status.

import type { ConnectionState, NetworkState, ShapeStatus, Status, StatusError, SyncState } from './types.js';

const CONNECTIONS: ReadonlySet<string> = new Set(['disconnected', 'connecting', 'connected', 'error']);
const SYNCS: ReadonlySet<string> = new Set(['idle', 'syncing', 'error', 'disabled']);

export const INITIAL_STATUS: Status = Object.freeze({
  connection: 'connecting',
  sync: 'idle',
  isOffline: false,
  network: 'online',
  isUpToDate: false,
  lastSyncedAt: null,
  pendingChanges: 0,
  error: null,
  shapes: [],
}) as Status;

export function normalizeStatus(raw: Record<string, unknown>, fallback: Status = INITIAL_STATUS): Status {
  const connection = CONNECTIONS.has(raw.connection as string) ? (raw.connection as ConnectionState) : fallback.connection;
  const sync = SYNCS.has(raw.sync as string) ? (raw.sync as SyncState) : fallback.sync;
  const e = raw.error as { code?: unknown; message?: unknown } | string | null | undefined;
  let error: StatusError | null = null;
  if (typeof e === 'string' && e !== '') error = { code: 'internal', message: e };
  else if (e && typeof e === 'object') error = { code: String(e.code ?? 'internal'), message: String(e.message ?? '') };
  const problem = raw.problem as { code?: unknown; message?: unknown; count?: unknown } | null | undefined;
  let network: NetworkState = raw.isOffline === true ? 'unreachable' : 'online';
  if (problem && (problem.code === 'offline' || problem.code === 'unreachable')) network = problem.code;
  if (!error && problem && (problem.code === 'unreachable' || problem.code === 'server_error')) {
    error = { code: problem.code, message: String(problem.message ?? ''), count: Number(problem.count ?? 1) };
  }
  const last = raw.lastSyncedAt;
  return {
    ...placement(raw),
    connection,
    sync,
    isOffline: network !== 'online',
    network,
    isUpToDate: raw.isUpToDate === true,
    lastSyncedAt: typeof last === 'number' && last > 0 ? last : null,
    pendingChanges: typeof raw.pendingChanges === 'number' ? raw.pendingChanges : fallback.pendingChanges,
    error,
    shapes: Array.isArray(raw.shapes) ? (raw.shapes as ShapeStatus[]) : fallback.shapes,
  };
}

/**
 * Where the engine runs, as the port reports it with each status (the browser worker:
 * `storage`, `storageReason`, `role`, `handover`); kept as given.
 */
const PLACEMENT = ['storage', 'storageReason', 'role', 'handover'] as const;

function placement(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of PLACEMENT) if (raw[k] !== undefined) out[k] = raw[k];
  return out;
}

export function sameStatus(a: Status, b: Status): boolean {
  const pa = a as unknown as Record<string, unknown>;
  const pb = b as unknown as Record<string, unknown>;
  return (
    PLACEMENT.every((k) => pa[k] === pb[k]) &&
    a.connection === b.connection &&
    a.sync === b.sync &&
    a.isOffline === b.isOffline &&
    a.network === b.network &&
    a.error?.count === b.error?.count &&
    a.isUpToDate === b.isUpToDate &&
    a.lastSyncedAt === b.lastSyncedAt &&
    a.pendingChanges === b.pendingChanges &&
    a.error?.code === b.error?.code &&
    a.error?.message === b.error?.message &&
    JSON.stringify(a.shapes) === JSON.stringify(b.shapes)
  );
}
