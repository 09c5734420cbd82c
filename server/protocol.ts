// Electric Shape API vocabulary in one place: header names, offsets, row keys, the live cursor
// (../shared/spec/electric-protocol.md §1.3, §2.2, §2.4, §3.2).

export const H = {
  handle: 'electric-handle',
  offset: 'electric-offset',
  schema: 'electric-schema',
  cursor: 'electric-cursor',
  upToDate: 'electric-up-to-date',
  hasData: 'electric-has-data',
  snapshot: 'electric-snapshot',
  server: 'electric-server',
} as const;

export const EXPOSED_HEADERS = [
  'electric-cursor', 'electric-handle', 'electric-has-data', 'electric-offset', 'electric-schema',
  'electric-up-to-date', 'electric-snapshot', 'electric-internal-known-error', 'retry-after', 'etag',
].join(', ');

export const SERVER_NAME = 'Electrolite-dev/0.1 (ElectricSQL/1.7-compatible)';

/** A position in a shape log. tx 0 is the snapshot region; op Infinity is `_inf`. */
export interface Offset { tx: number; op: number }

export const BEFORE_ALL: Offset = { tx: -1, op: 0 };
export const SNAPSHOT_END: Offset = { tx: 0, op: Infinity };

export function parseOffset(s: string): Offset | null {
  if (s === '-1') return BEFORE_ALL;
  const m = /^(\d+)_(\d+|inf)$/.exec(s);
  if (!m) return null;
  const tx = Number(m[1]);
  const op = m[2] === 'inf' ? Infinity : Number(m[2]);
  if (!Number.isSafeInteger(tx) || (op !== Infinity && !Number.isSafeInteger(op))) return null;
  return { tx, op };
}

export function formatOffset(o: Offset): string {
  if (o.tx < 0) return '-1';
  return `${o.tx}_${o.op === Infinity ? 'inf' : o.op}`;
}

export function compareOffsets(a: Offset, b: Offset): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  if (a.op === b.op) return 0;
  return a.op < b.op ? -1 : 1;
}

/** `"schema"."table"` with `/` and `.` doubled inside the names (§2.4). */
export function relationKey(schema: string, table: string): string {
  const esc = (s: string) => s.replace(/\//g, '//').replace(/\./g, '..');
  return `"${esc(schema)}"."${esc(table)}"`;
}

/** `"schema"."table"/"pk1"/"pk2"`; NULL parts are `_` (§2.4). */
export function rowKey(rel: string, parts: (string | null)[]): string {
  let k = rel;
  for (const p of parts) k += p === null ? '/_' : `/"${p.replace(/\//g, '//')}"`;
  return k;
}

const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9);

/** §3.2: next interval boundary in seconds, never ≤ the client's cursor. */
export function nextCursor(nowMs: number, intervalSec: number, clientCursor: string | null): string {
  const t = Math.max(1, Math.round(intervalSec));
  const next = Math.ceil((nowMs - CURSOR_EPOCH_MS) / 1000 / t) * t;
  const prev = clientCursor && /^\d+$/.test(clientCursor) ? Number(clientCursor) : 0;
  if (next <= prev) return String(prev + 1 + Math.floor(Math.random() * 3600));
  return String(next);
}

/** FNV-1a, 32 bit: the `{hash}` part of a handle. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

let lastMicros = 0;
/** `{hash}-{unix µs}`, strictly increasing µs so a handle is never reused (§1.4). */
export function newHandle(definitionKey: string): string {
  const us = Math.max(lastMicros + 1, Math.floor((performance.timeOrigin + performance.now()) * 1000));
  lastMicros = us;
  return `${hash32(definitionKey)}-${us}`;
}

export function upToDate(globalLastSeen: number): string {
  return JSON.stringify({ headers: { control: 'up-to-date', global_last_seen_lsn: String(globalLastSeen) } });
}

export const MUST_REFETCH = JSON.stringify([{ headers: { control: 'must-refetch' } }]);
