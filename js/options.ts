// Option resolution for Electrolite.open: environment fallbacks (ELECTRIC_URL,
// ELECTRIC_AUTH_TOKEN, ELECTRIC_DEBUG), the legacy ws:// mapping, defaults and validation.
// Bad input throws ElectroliteError('invalid_argument') before anything is opened.

import { ElectroliteError } from './errors.js';
import type { BackoffOptions, OpenOptions, TokenSource } from './types.js';

/** Reads an environment variable without touching `process` where it does not exist. */
export function readEnv(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const value = proc?.env?.[name];
  return value === undefined || value === '' ? undefined : value;
}

export function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return undefined;
}

export interface NormalizedUrl {
  url: string;
  warning?: string;
}

/** Validates the base URL; maps a legacy `ws(s)://host:5133` to `http(s)://host:5133`. */
export function normalizeUrl(raw: string): NormalizedUrl {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ElectroliteError('invalid_argument', `url: not a valid URL: ${JSON.stringify(raw)}`);
  }
  let warning: string | undefined;
  if (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') {
    const mapped = (parsed.protocol === 'ws:' ? 'http:' : 'https:') + raw.slice(parsed.protocol.length);
    warning = `url: ${raw} uses the legacy WebSocket scheme; Electric's Shape API is HTTP, using ${stripSlash(mapped)}`;
    parsed = new URL(mapped);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ElectroliteError('invalid_argument', `url: unsupported scheme ${parsed.protocol} (use http or https)`);
  }
  return warning ? { url: stripSlash(parsed.toString()), warning } : { url: stripSlash(parsed.toString()) };
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

export interface ResolvedOptions {
  /** undefined: local-only (no url given and no ELECTRIC_URL): nothing is synced. */
  url: string | undefined;
  token: TokenSource | undefined;
  debug: boolean;
  storage: string;
  /** The database file for `{ storage: { path } }` (as given), else undefined. */
  storageFile: string | undefined;
  synchronous: 'full' | 'normal';
  vfs: string;
  autoSubscribe: boolean;
  batchSize: number;
  uploadIntervalMs: number;
  compressThreshold: number;
  backoff: Required<BackoffOptions>;
  liveTimeoutMs: number;
  liveSse: boolean;
  clientId: string;
  perfLogIntervalMs: number;
  warnings: string[];
}

function positiveInt(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.floor(value) !== value || value < min) {
    throw new ElectroliteError('invalid_argument', `${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function resolveOptions(options: OpenOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ElectroliteError('invalid_argument', 'Electrolite.open: options must be an object');
  }
  const warnings: string[] = [];
  // No url and no ELECTRIC_URL: a local-only database (queries, writes kept in the outbox).
  const rawUrl = options.url ?? readEnv('ELECTRIC_URL');
  if (rawUrl !== undefined && typeof rawUrl !== 'string') throw new ElectroliteError('invalid_argument', 'url: expected a string');
  const normalized = rawUrl === undefined ? undefined : normalizeUrl(rawUrl);
  const url = normalized?.url;
  if (normalized?.warning) warnings.push(normalized.warning);

  const token = options.token ?? readEnv('ELECTRIC_AUTH_TOKEN');
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw new ElectroliteError('invalid_argument', 'token: expected a string or a function returning one');
  }
  let debug = options.debug;
  if (debug === undefined) debug = parseBool(readEnv('ELECTRIC_DEBUG')) ?? false;

  const rawStorage = options.storage ?? ':memory:';
  let storage: string;
  let storageFile: string | undefined;
  if (typeof rawStorage === 'object' && rawStorage !== null) {
    const path = (rawStorage as { path?: unknown }).path;
    if (typeof path !== 'string' || path === '' || path === ':memory:') {
      throw new ElectroliteError('invalid_argument', 'storage.path: expected a file path');
    }
    storage = storageFile = path;
  } else if (typeof rawStorage !== 'string' || rawStorage === '') {
    throw new ElectroliteError('invalid_argument', 'storage: expected ":memory:", a database name or { path }');
  } else {
    storage = rawStorage;
  }
  const synchronous = options.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal') {
    throw new ElectroliteError('invalid_argument', `synchronous: expected 'full' or 'normal', got ${JSON.stringify(synchronous)}`);
  }
  const b = options.backoff ?? {};
  const backoff = {
    initialMs: positiveInt('backoff.initialMs', b.initialMs, 1000),
    maxMs: positiveInt('backoff.maxMs', b.maxMs, 32000),
    multiplier: b.multiplier ?? 2,
  };
  if (typeof backoff.multiplier !== 'number' || !(backoff.multiplier >= 1)) {
    throw new ElectroliteError('invalid_argument', 'backoff.multiplier: expected a number >= 1');
  }
  if (backoff.maxMs < backoff.initialMs) {
    throw new ElectroliteError('invalid_argument', 'backoff.maxMs: must be >= backoff.initialMs');
  }
  const liveTimeoutMs = positiveInt('liveTimeoutMs', options.liveTimeoutMs, 45000);
  if (liveTimeoutMs <= 20000) {
    throw new ElectroliteError('invalid_argument', 'liveTimeoutMs: must exceed the server long-poll (20000 ms)');
  }
  if (options.liveSse !== undefined && typeof options.liveSse !== 'boolean') {
    throw new ElectroliteError('invalid_argument', 'liveSse: expected a boolean');
  }
  const liveSse = options.liveSse ?? parseBool(readEnv('ELECTRIC_LIVE_SSE')) ?? false;
  return {
    url,
    token,
    debug: debug === true,
    storage,
    storageFile,
    synchronous,
    vfs: options.vfs ?? '',
    autoSubscribe: url !== undefined && (options.autoSubscribe ?? true),
    batchSize: positiveInt('batchSize', options.batchSize, 100),
    uploadIntervalMs: positiveInt('uploadIntervalMs', options.uploadIntervalMs, 5000, 0),
    compressThreshold: positiveInt('compressThreshold', options.compressThreshold, 4096, 0),
    backoff,
    liveTimeoutMs,
    liveSse: liveSse === true,
    clientId: options.clientId ?? randomId(),
    perfLogIntervalMs: positiveInt('perfLogIntervalMs', options.perfLogIntervalMs, 60000),
    warnings,
  };
}
