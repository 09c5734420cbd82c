// The browser backend of the storage VFS (../storage.ts): a pool of OPFS files, each held
// open as a FileSystemSyncAccessHandle for the worker's lifetime, so SQLite's reads and
// writes are served synchronously (the approach of SQLite's opfs-sahpool and wa-sqlite's
// AccessHandlePoolVFS). Only usable in a dedicated worker.
//
// Layout: the directory `electrolite/<database>.pool/` in the origin's OPFS holds `slot-0` ..
// `slot-<capacity-1>`. Each slot starts with a 4096-byte header — "ELPOOL01", the name's
// length (u32 LE), the SQLite file name (UTF-8, at most 1024 bytes) — and the file's bytes
// follow. An empty name is a free slot. Deleting a file frees its slot (header cleared,
// truncated, flushed).
//
// Handles are exclusive per file: while another worker (a closing tab, another tab) holds
// them, createSyncAccessHandle throws NoModificationAllowedError; this retries with
// backoff up to `maxWaitMs`.

import type { StorageBackend } from '../storage.js';

/** FileSystemSyncAccessHandle (worker-only; not in TypeScript's DOM lib). */
interface SyncHandle {
  read(into: Uint8Array, options: { at: number }): number;
  write(from: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}
type SyncFileHandle = FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncHandle> };

const HEADER = 4096;
const MAGIC = 'ELPOOL01';
const MAX_NAME = 1024;

export interface OpfsPoolOptions {
  /** Files the pool can hold (database, WAL, journal, spares). Default 6. */
  capacity?: number;
  /** How long to keep retrying a handle another worker still holds. Default 5000 ms. */
  maxWaitMs?: number;
  /** Called before each retry (diagnostics). */
  onRetry?: (attempt: number, error: unknown) => void;
}

interface Slot {
  handle: SyncHandle;
  name: string; // '' = free
}

/** True where OPFS sync access handles exist (a secure context's dedicated worker). */
export function opfsAvailable(): boolean {
  const g = globalThis as { navigator?: Navigator; FileSystemFileHandle?: { prototype: object } };
  return typeof g.navigator?.storage?.getDirectory === 'function' &&
    g.FileSystemFileHandle !== undefined && 'createSyncAccessHandle' in g.FileSystemFileHandle.prototype;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OpfsPool implements StorageBackend {
  readonly kind = 'opfs' as const;
  readonly database: string;
  /** Retries needed to get the handles (a late-released handle). */
  readonly retries: number;
  #slots: Slot[];
  #byName = new Map<string, number>();
  #released = false;

  private constructor(database: string, slots: Slot[], retries: number) {
    this.database = database;
    this.#slots = slots;
    this.retries = retries;
    slots.forEach((s, i) => {
      if (s.name !== '') this.#byName.set(s.name, i);
    });
  }

  static directoryName(database: string): string {
    return `${database}.pool`;
  }

  /** Opens (creating) the pool of `database` and takes every slot's handle. */
  static async open(database: string, options: OpfsPoolOptions = {}): Promise<OpfsPool> {
    const capacity = options.capacity ?? 6;
    const root = await navigator.storage.getDirectory();
    const top = await root.getDirectoryHandle('electrolite', { create: true });
    const dir = await top.getDirectoryHandle(OpfsPool.directoryName(database), { create: true });
    const slots: Slot[] = [];
    let retries = 0;
    try {
      for (let i = 0; i < capacity; i++) {
        const file = (await dir.getFileHandle(`slot-${i}`, { create: true })) as SyncFileHandle;
        const deadline = Date.now() + (options.maxWaitMs ?? 5000);
        let handle: SyncHandle | undefined;
        for (let attempt = 1; !handle; attempt++) {
          try {
            handle = await file.createSyncAccessHandle();
          } catch (err) {
            if ((err as { name?: string }).name !== 'NoModificationAllowedError' || Date.now() >= deadline) throw err;
            retries++;
            options.onRetry?.(attempt, err);
            await sleep(Math.min(25 * 2 ** (attempt - 1), 500));
          }
        }
        slots.push({ handle, name: readName(handle) });
      }
    } catch (err) {
      for (const s of slots) s.handle.close();
      throw err;
    }
    return new OpfsPool(database, slots, retries);
  }

  /** Removes the pool's directory (db.clear()); after release(). */
  static async remove(database: string): Promise<void> {
    const root = await navigator.storage.getDirectory();
    const top = await root.getDirectoryHandle('electrolite', { create: true });
    await top.removeEntry(OpfsPool.directoryName(database), { recursive: true }).catch((err: { name?: string }) => {
      if (err?.name !== 'NotFoundError') throw err;
    });
  }

  /** Closes every handle (the worker is done with the database). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const s of this.#slots) s.handle.close();
  }

  open(name: string, create: boolean): number {
    const found = this.#byName.get(name);
    if (found !== undefined) return found;
    if (!create) throw new DOMException(`${name} does not exist`, 'NotFoundError');
    const bytes = new TextEncoder().encode(name);
    if (bytes.length > MAX_NAME) throw new Error(`file name longer than ${MAX_NAME} bytes: ${name}`);
    const free = this.#slots.findIndex((s) => s.name === '');
    if (free < 0) throw new Error(`the OPFS pool of ${this.database} is full (${this.#slots.length} files)`);
    const slot = this.#slots[free]!;
    const header = new Uint8Array(HEADER);
    header.set(new TextEncoder().encode(MAGIC), 0);
    new DataView(header.buffer).setUint32(8, bytes.length, true);
    header.set(bytes, 12);
    slot.handle.truncate(HEADER);
    writeAll(slot.handle, header, 0);
    slot.handle.flush();
    slot.name = name;
    this.#byName.set(name, free);
    return free;
  }

  read(file: number, into: Uint8Array, offset: number): number {
    return this.#handle(file).read(into, { at: HEADER + offset });
  }

  write(file: number, from: Uint8Array, offset: number): void {
    writeAll(this.#handle(file), from, HEADER + offset);
  }

  truncate(file: number, size: number): void {
    this.#handle(file).truncate(HEADER + size);
  }

  sync(file: number): void {
    this.#handle(file).flush();
  }

  size(file: number): number {
    return Math.max(0, this.#handle(file).getSize() - HEADER);
  }

  close(_file: number): void {
    // Handles stay open for the pool's lifetime (release()).
  }

  delete(name: string): boolean {
    const i = this.#byName.get(name);
    if (i === undefined) return false;
    const slot = this.#slots[i]!;
    slot.handle.truncate(0);
    slot.handle.flush();
    slot.name = '';
    this.#byName.delete(name);
    return true;
  }

  stat(name: string): number {
    const i = this.#byName.get(name);
    return i === undefined ? -1 : this.size(i);
  }

  /** The SQLite names held, for diagnostics and tests. */
  files(): string[] {
    return [...this.#byName.keys()];
  }

  #handle(file: number): SyncHandle {
    const slot = this.#slots[file];
    if (!slot || slot.name === '' || this.#released) {
      throw new DOMException(`pool file ${file} is not open`, 'InvalidStateError');
    }
    return slot.handle;
  }
}

function readName(handle: SyncHandle): string {
  if (handle.getSize() < HEADER) return '';
  const header = new Uint8Array(HEADER);
  handle.read(header, { at: 0 });
  if (new TextDecoder().decode(header.subarray(0, 8)) !== MAGIC) return '';
  const len = new DataView(header.buffer).getUint32(8, true);
  if (len === 0 || len > MAX_NAME) return '';
  return new TextDecoder().decode(header.subarray(12, 12 + len));
}

function writeAll(handle: SyncHandle, from: Uint8Array, at: number): void {
  const n = handle.write(from, { at });
  // OPFS writes short only when the origin's quota has no room left.
  if (n !== from.length) throw new DOMException(`wrote ${n} of ${from.length} bytes`, 'QuotaExceededError');
}
