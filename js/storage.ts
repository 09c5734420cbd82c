// Persistent storage for the wasm engine: a host backend — the OPFS pool or IndexedDB in the
// browser worker (browser/opfs-pool.ts, browser/idb-storage.ts), Node's fs (node-fs-storage.ts) — attached to one
// module instance as a named SQLite VFS, optionally encrypted (wasm/vfs/encrypted_storage.h).
//
// The backend is the facade of wasm/vfs/host_storage.cc's raw layer: it sees byte views and
// numeric offsets only, never a wasm pointer, and may throw — the raw layer catches every
// throw, remembers its message (`storageError`) and returns the operation's SQLite code
// (QuotaExceededError / ENOSPC -> SQLITE_FULL -> ElectroliteError 'storage_full').

import { ElectroliteError, type ErrorCode } from './errors.js';

/** Where a database lives, as statuses report it. */
export type StorageKind = 'opfs' | 'idb' | 'fs' | 'memory';

/**
 * A flat namespace of files, served synchronously. File ids are small non-negative
 * integers. Offsets and sizes are byte counts below 2^53.
 */
export interface StorageBackend {
  readonly kind: StorageKind;
  /** Opens `name` (creating it empty with `create`); throws a NotFoundError/ENOENT otherwise. */
  open(name: string, create: boolean): number;
  /** Reads into `into` from `offset`; returns the bytes read (fewer only at end of file). */
  read(file: number, into: Uint8Array, offset: number): number;
  /** Writes all of `from` at `offset`, growing the file. */
  write(file: number, from: Uint8Array, offset: number): void;
  truncate(file: number, size: number): void;
  /** Makes every earlier write durable. */
  sync(file: number): void;
  size(file: number): number;
  close(file: number): void;
  /** false when there was no such file. */
  delete(name: string): boolean;
  /** The size of `name`, or -1 when it does not exist. */
  stat(name: string): number;
}

/** The storage part of the module (bindings/storage_bindings.cc + host_storage.pre.js). */
interface StorageModule {
  registerStorage(vfs: string, host: number, key: Uint8Array | string): string;
  checkStorage(vfs: string, file: string): string;
  storageError(vfs: string): string;
  elStorage: { hosts: StorageBackend[]; errors: string[] };
}

function unwrap(json: string, what: string): void {
  const r = JSON.parse(json) as { ok: boolean; code?: ErrorCode; message?: string };
  if (!r.ok) throw new ElectroliteError(r.code ?? 'internal', r.message ?? `${what} failed`);
}

/**
 * Registers `backend` in `module` as a new SQLite VFS and returns the VFS name to open the
 * database with. With `key` (32 bytes) every file is encrypted. Refuses a `database` that
 * was written with another key (`auth`, "wrong encryption key") or is not a database.
 */
export function attachStorage(module: unknown, backend: StorageBackend, database: string, key?: Uint8Array): string {
  const m = module as StorageModule;
  const host = m.elStorage.hosts.push(backend) - 1;
  const vfs = `${backend.kind}-${host}`;
  unwrap(m.registerStorage(vfs, host, key ?? ''), 'registerStorage');
  unwrap(m.checkStorage(vfs, database), 'checkStorage');
  return vfs;
}

/** The last error a VFS's backend reported ('' if none), for diagnostics. */
export function storageError(module: unknown, vfs: string): string {
  const m = module as StorageModule;
  return m.storageError(vfs);
}

/** PBKDF2-SHA256 iterations for a passphrase `encryptionKey`. */
export const PASSPHRASE_ITERATIONS = 200_000;

/**
 * The 32-byte key for `encryptionKey`: 32 bytes as given, or a passphrase stretched with
 * PBKDF2-SHA256 (salt: "electrolite:" + the database name). Bad input: `invalid_argument`.
 */
export async function resolveEncryptionKey(key: unknown, database: string): Promise<Uint8Array | undefined> {
  if (key === undefined || key === null) return undefined;
  if (key instanceof Uint8Array) {
    if (key.length !== 32) {
      throw new ElectroliteError('invalid_argument', `encryptionKey: expected 32 bytes, got ${key.length}`);
    }
    return new Uint8Array(key);
  }
  if (typeof key !== 'string' || key === '') {
    throw new ElectroliteError('invalid_argument', 'encryptionKey: expected a Uint8Array of 32 bytes or a non-empty passphrase');
  }
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) {
    throw new ElectroliteError('invalid_argument', 'encryptionKey: a passphrase needs WebCrypto (a secure context); pass 32 random bytes instead');
  }
  const enc = new TextEncoder();
  const base = await subtle.importKey('raw', enc.encode(key), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: enc.encode(`electrolite:${database}`), iterations: PASSPHRASE_ITERATIONS },
    base, 256);
  return new Uint8Array(bits);
}
