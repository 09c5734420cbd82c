// The Node backend of the storage VFS (storage.ts): SQLite's files as real files, served
// with synchronous fs calls on file descriptors, so the same wasm persists in Node
// (`Electrolite.open({ storage: { path: './data.db' } })`).
//
// One process at a time may open a database: a `<path>-lock` file holds the owner's pid
// (a lock left by a killed process is taken over), and a second open in the same process
// is refused. `sync` is fsync; a newly created file also fsyncs its directory.

import type * as NodeFs from 'node:fs';
import { ElectroliteError } from './errors.js';
import type { StorageBackend } from './storage.js';

type Fs = typeof NodeFs;

const openPaths = new Set<string>();

export class NodeFsStorage implements StorageBackend {
  readonly kind = 'fs' as const;
  readonly path: string;
  #fs: Fs;
  #files = new Map<number, number>(); // file id -> fd
  #next = 0;
  #released = false;

  private constructor(fs: Fs, path: string) {
    this.#fs = fs;
    this.path = path;
  }

  /** Locks `path` (absolute) for this process and returns its backend. */
  static async open(path: string): Promise<NodeFsStorage> {
    const fsName = 'node:fs';
    const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as Fs;
    if (openPaths.has(path)) {
      throw new ElectroliteError('io', `storage: ${path} is already open in this process`);
    }
    lock(fs, path);
    openPaths.add(path);
    return new NodeFsStorage(fs, path);
  }

  /** Closes every file and drops the lock (after the engine closed). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const fd of this.#files.values()) this.#fs.closeSync(fd);
    this.#files.clear();
    openPaths.delete(this.path);
    try {
      this.#fs.unlinkSync(`${this.path}-lock`);
    } catch {
      // already gone
    }
  }

  /** Deletes the database and its journals (db.clear()); after release(). */
  removeFiles(): void {
    for (const suffix of ['', '-wal', '-journal']) this.delete(this.path + suffix);
  }

  open(name: string, create: boolean): number {
    const fs = this.#fs;
    const existed = create ? fs.existsSync(name) : true;
    const fd = fs.openSync(name, fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0), 0o644);
    if (!existed) syncDir(fs, name);
    const id = this.#next++;
    this.#files.set(id, fd);
    return id;
  }

  read(file: number, into: Uint8Array, offset: number): number {
    const fd = this.#fd(file);
    let done = 0;
    while (done < into.length) {
      const n = this.#fs.readSync(fd, into, done, into.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(file: number, from: Uint8Array, offset: number): void {
    const fd = this.#fd(file);
    let done = 0;
    while (done < from.length) done += this.#fs.writeSync(fd, from, done, from.length - done, offset + done);
  }

  truncate(file: number, size: number): void {
    this.#fs.ftruncateSync(this.#fd(file), size);
  }

  sync(file: number): void {
    this.#fs.fsyncSync(this.#fd(file));
  }

  size(file: number): number {
    return this.#fs.fstatSync(this.#fd(file)).size;
  }

  close(file: number): void {
    const fd = this.#files.get(file);
    if (fd === undefined) return;
    this.#files.delete(file);
    this.#fs.closeSync(fd);
  }

  delete(name: string): boolean {
    try {
      this.#fs.unlinkSync(name);
      syncDir(this.#fs, name);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false;
      throw err;
    }
  }

  stat(name: string): number {
    const st = this.#fs.statSync(name, { throwIfNoEntry: false });
    return st ? st.size : -1;
  }

  #fd(file: number): number {
    const fd = this.#files.get(file);
    if (fd === undefined) throw Object.assign(new Error(`file ${file} is not open`), { name: 'InvalidStateError' });
    return fd;
  }
}

function syncDir(fs: Fs, name: string): void {
  const slash = name.lastIndexOf('/');
  const dir = slash > 0 ? name.slice(0, slash) : slash === 0 ? '/' : '.';
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the file's own fsync still holds.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

function lock(fs: Fs, path: string): void {
  const lockPath = `${path}-lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o644);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') {
        throw new ElectroliteError('io', `storage: cannot create ${lockPath}: ${(err as Error).message}`, { cause: err });
      }
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
    } catch {
      // vanished or unreadable: treat as stale
    }
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw new ElectroliteError('io', `storage: ${path} is open in another process (pid ${owner})`);
    }
    try {
      fs.unlinkSync(lockPath); // stale: its process is gone
    } catch {
      // raced with another opener; the next attempt decides
    }
  }
  throw new ElectroliteError('io', `storage: could not lock ${path}`);
}
