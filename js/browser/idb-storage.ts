// The browser backend of the storage VFS (../storage.ts) where OPFS sync access handles are
// missing (WebKitGTK, Safari before 17, an insecure origin): the database's files live in
// worker memory, so SQLite's synchronous reads and writes never wait, and flush() writes
// everything changed since the last flush to IndexedDB in ONE transaction. The worker awaits
// flush() after each call and before it replies (worker.ts), so a write the page saw
// acknowledged is in IndexedDB. A write or sync() also schedules a flush (a microtask), which
// persists the sync stream's changes, which no call awaits.
//
// Crash consistency: a flush copies every byte written up to that moment and commits them
// atomically, so IndexedDB always holds the files as they were at one instant: what SQLite
// sees after a crash at that instant with no write torn or reordered, which its WAL recovers.
// A killed worker loses only what no flush committed yet (never acknowledged).
//
// Layout: the IndexedDB database `electrolite:<database>` has two stores: `files` (key: the
// SQLite file name, value: { size }) and `blocks` (key: [name, index], value: a 64 KiB
// Uint8Array holding bytes [index * BLOCK, (index + 1) * BLOCK) of the file; a missing block
// reads as zeros). 64 KiB rather than SQLite's 4 KiB page: IndexedDB's cost is per record, so
// a commit's WAL append is one or two records and a 10,000-row database loads ~16x fewer
// (Chromium, bench/workloads/browser.mjs: durable insert p50 3.4 → 2.3 ms, cold start
// ~390 → 250 ms). A failed flush (quota) changes nothing in IndexedDB and keeps the memory
// state; its changes are carried by the next flush, so nothing is ever half-written.

import type { StorageBackend } from '../storage.js';

const BLOCK = 65536;
const FILES = 'files';
const BLOCKS = 'blocks';

/** True where IndexedDB exists (every worker, including insecure origins). */
export function idbAvailable(): boolean {
  return typeof (globalThis as { indexedDB?: IDBFactory }).indexedDB?.open === 'function';
}

interface MemFile {
  name: string;
  size: number;
  blocks: (Uint8Array | undefined)[];
  /** Blocks written since the last flush. */
  dirty: Set<number>;
  /** Shrunk since the last flush: blocks past the end are deleted in IndexedDB too. */
  shrunk: boolean;
}

export interface IdbStorageOptions {
  /** IndexedDB durability of each flush: 'strict' (synchronous 'full') or 'relaxed'. */
  durability?: 'strict' | 'relaxed';
}

const request = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

function openDatabase(name: string): Promise<IDBDatabase> {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore(FILES);
    r.result.createObjectStore(BLOCKS);
  };
  return request(r);
}

export class IdbStorage implements StorageBackend {
  readonly kind = 'idb' as const;
  readonly database: string;
  /** Flushes committed (diagnostics, tests). */
  flushes = 0;
  #db: IDBDatabase;
  #durability: 'strict' | 'relaxed';
  #files = new Map<string, MemFile>();
  #ids: (MemFile | undefined)[] = [];
  #touched = new Set<MemFile>();
  #deleted = new Set<string>();
  #scheduled = false;
  /** The newest flush (committed, running or queued). */
  #last: Promise<void> = Promise.resolve();
  #running: Promise<void> | undefined;
  /** The flush that starts once the running one ends (it takes every change made until then). */
  #queued: Promise<void> | undefined;
  #released = false;

  private constructor(database: string, db: IDBDatabase, files: MemFile[], options: IdbStorageOptions) {
    this.database = database;
    this.#db = db;
    this.#durability = options.durability ?? 'strict';
    for (const f of files) this.#files.set(f.name, f);
  }

  static databaseName(database: string): string {
    return `electrolite:${database}`;
  }

  /** Opens (creating) the IndexedDB database of `database` and loads its files into memory. */
  static async open(database: string, options: IdbStorageOptions = {}): Promise<IdbStorage> {
    const db = await openDatabase(IdbStorage.databaseName(database));
    try {
      const tx = db.transaction([FILES, BLOCKS], 'readonly');
      const files = tx.objectStore(FILES);
      const blocks = tx.objectStore(BLOCKS);
      const [names, metas, keys, values] = await Promise.all([
        request(files.getAllKeys()), request(files.getAll()), request(blocks.getAllKeys()), request(blocks.getAll()),
      ]);
      const byName = new Map<string, MemFile>();
      names.forEach((name, i) => {
        const size = Number((metas[i] as { size?: number })?.size ?? 0);
        byName.set(String(name), { name: String(name), size, blocks: [], dirty: new Set(), shrunk: false });
      });
      keys.forEach((key, i) => {
        const [name, index] = key as [string, number];
        const f = byName.get(name);
        // A block past the end (none is written) or of no file is ignored.
        if (f && index * BLOCK < f.size) f.blocks[index] = values[i] as Uint8Array;
      });
      db.onversionchange = () => db.close(); // db.clear() of this database elsewhere
      return new IdbStorage(database, db, [...byName.values()], options);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Deletes the database's IndexedDB database (db.clear()); after release(). */
  static remove(database: string): Promise<void> {
    return request(indexedDB.deleteDatabase(IdbStorage.databaseName(database))).then(() => undefined);
  }

  /**
   * Writes every change since the last flush to IndexedDB in one transaction; resolves once
   * it (and every earlier flush) committed. A failed transaction gives its changes back and
   * is retried once; then this rejects with its error (e.g. QuotaExceededError), and the
   * changes stay pending for the next flush.
   *
   * One transaction at a time: the next one is built only once the running one ended, so a
   * failed flush's changes go out again before any later change (never a later change alone).
   */
  async flush(): Promise<void> {
    try {
      await this.#flushOnce();
    } catch (err) {
      if (!this.#dirty()) throw err;
      await this.#flushOnce();
    }
  }

  #flushOnce(): Promise<void> {
    if (this.#released) return this.#last;
    if (this.#queued) return this.#queued;
    if (!this.#dirty()) return this.#running ?? Promise.resolve();
    if (this.#running) {
      const queued = this.#running.catch(() => undefined).then(() => {
        this.#queued = undefined;
        return this.#dirty() ? this.#start() : undefined;
      });
      this.#queued = this.#last = queued;
      return queued;
    }
    return this.#start();
  }

  #dirty(): boolean {
    return this.#touched.size > 0 || this.#deleted.size > 0;
  }

  #start(): Promise<void> {
    // What this flush carries, handed back to the next one if it fails.
    const deleted = new Set(this.#deleted);
    const touched = new Map([...this.#touched].map((f) => [f, { dirty: f.dirty, shrunk: f.shrunk }]));
    let tx: IDBTransaction;
    try {
      tx = this.#db.transaction([FILES, BLOCKS], 'readwrite', { durability: this.#durability });
      const files = tx.objectStore(FILES);
      const blocks = tx.objectStore(BLOCKS);
      const all = (name: string, from = 0) => IDBKeyRange.bound([name, from], [name, Infinity]);
      // Deletions first: a file deleted and created again since the last flush is rewritten.
      for (const name of deleted) {
        files.delete(name);
        blocks.delete(all(name));
      }
      // put() clones its value at once: later writes to a block do not change this flush.
      for (const f of touched.keys()) {
        files.put({ size: f.size }, f.name);
        if (f.shrunk) blocks.delete(all(f.name, f.blocks.length));
        for (const i of f.dirty) {
          const b = f.blocks[i];
          if (b) blocks.put(b, [f.name, i]);
        }
      }
    } catch (err) {
      return Promise.reject(err); // nothing was taken from the pending changes
    }
    for (const f of touched.keys()) {
      f.dirty = new Set();
      f.shrunk = false;
    }
    this.#touched.clear();
    this.#deleted.clear();
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => {
        this.flushes++;
        resolve();
      };
      tx.onabort = () => {
        this.#restore(deleted, touched);
        reject(tx.error ?? new DOMException('the IndexedDB transaction was aborted', 'AbortError'));
      };
    });
    this.#running = this.#last = done;
    const clear = () => { if (this.#running === done) this.#running = undefined; };
    done.then(clear, clear);
    return done;
  }

  /** Hands a failed flush's changes back to the next flush. */
  #restore(deleted: Set<string>, touched: Map<MemFile, { dirty: Set<number>; shrunk: boolean }>): void {
    for (const name of deleted) this.#deleted.add(name);
    for (const [f, was] of touched) {
      if (this.#files.get(f.name) !== f) continue; // deleted since: its deletion is pending
      for (const i of was.dirty) if (i < f.blocks.length) f.dirty.add(i);
      f.shrunk ||= was.shrunk;
      this.#touch(f);
    }
  }

  /** Closes the IndexedDB connection (its last transactions still complete). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#db.close();
  }

  open(name: string, create: boolean): number {
    let f = this.#files.get(name);
    if (!f) {
      if (!create) throw new DOMException(`${name} does not exist`, 'NotFoundError');
      f = { name, size: 0, blocks: [], dirty: new Set(), shrunk: false };
      this.#files.set(name, f);
      this.#touch(f);
    }
    const id = this.#ids.indexOf(f);
    return id >= 0 ? id : this.#ids.push(f) - 1;
  }

  read(file: number, into: Uint8Array, offset: number): number {
    const f = this.#file(file);
    const n = Math.max(0, Math.min(into.length, f.size - offset));
    for (let done = 0; done < n;) {
      const at = offset + done;
      const i = Math.floor(at / BLOCK);
      const from = at - i * BLOCK;
      const len = Math.min(BLOCK - from, n - done);
      const b = f.blocks[i];
      if (b) into.set(b.subarray(from, from + len), done);
      else into.fill(0, done, done + len);
      done += len;
    }
    return n;
  }

  write(file: number, from: Uint8Array, offset: number): void {
    const f = this.#file(file);
    for (let done = 0; done < from.length;) {
      const at = offset + done;
      const i = Math.floor(at / BLOCK);
      const start = at - i * BLOCK;
      const len = Math.min(BLOCK - start, from.length - done);
      const b = (f.blocks[i] ??= new Uint8Array(BLOCK));
      b.set(from.subarray(done, done + len), start);
      f.dirty.add(i);
      done += len;
    }
    f.size = Math.max(f.size, offset + from.length);
    this.#touch(f);
  }

  truncate(file: number, size: number): void {
    const f = this.#file(file);
    if (size < f.size) {
      // Bytes past the end are kept zero, so growing the file again reads zeros.
      const keep = Math.ceil(size / BLOCK);
      if (f.blocks.length > keep) f.blocks.length = keep;
      const last = f.blocks[keep - 1];
      if (last && size % BLOCK !== 0) {
        last.fill(0, size % BLOCK);
        f.dirty.add(keep - 1);
      }
      for (const i of f.dirty) if (i >= keep) f.dirty.delete(i);
      f.shrunk = true;
    }
    f.size = size;
    this.#touch(f);
  }

  sync(_file: number): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.flush().catch(() => undefined); // the worker's awaited flush reports it
    });
  }

  size(file: number): number {
    return this.#file(file).size;
  }

  close(_file: number): void {
    // Ids stay valid while the file exists (SQLite reopens the WAL by name anyway).
  }

  delete(name: string): boolean {
    const f = this.#files.get(name);
    if (!f) return false;
    this.#files.delete(name);
    this.#touched.delete(f);
    this.#deleted.add(name);
    const id = this.#ids.indexOf(f);
    if (id >= 0) this.#ids[id] = undefined;
    return true;
  }

  stat(name: string): number {
    return this.#files.get(name)?.size ?? -1;
  }

  /** The SQLite names held, for diagnostics and tests. */
  files(): string[] {
    return [...this.#files.keys()];
  }

  /** Marks `f` changed and schedules a flush (under synchronous 'normal' no sync() comes). */
  #touch(f: MemFile): void {
    this.#touched.add(f);
    this.sync(0);
  }

  #file(id: number): MemFile {
    const f = this.#ids[id];
    if (!f || this.#released) throw new DOMException(`file ${id} is not open`, 'InvalidStateError');
    return f;
  }
}
