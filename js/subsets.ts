// On-demand sync in the client: subsets of a shape synced with `mode: 'on-demand'` (or, until
// its full snapshot is in, `'progressive'`). `db.loadSubset(shapeId, { where, params, orderBy,
// limit, offset })` asks the engine for the rows (a subset snapshot, src/subset.h) and resolves
// once they are in the local table, with a handle whose `release()` lets them go: rows no other
// held subset (and no pending local write) needs leave the table, and live queries follow.
// The same subset loaded twice (by two components, or two tabs) is one subset held twice; the
// engine drops it when both let go.
// Held subsets are kept by the engine across reopen (`db.subsets()` lists them).
//
// Progressive: the shape is subscribed twice, `changes_only` (for subsets: the first screen)
// and whole — the whole one once the first subset is in (or PROGRESSIVE_HEAD_START_MS after the
// companion is ready when no subset was asked for),
// so its snapshot does not compete with the first screen; once it is up to date the first is
// dropped (its rows are the whole shape's now) and loadSubset resolves at once with a handle
// that holds nothing.

import { ElectroliteError } from './errors.js';
import type { EngineEvent } from './engine-host.js';
import type { HostPort } from './host-port.js';
import type { Params, Status } from './types.js';

export interface SubsetOptions {
  /** PostgreSQL `where` over the shape's table (`$1`… from `params`), ANDed with the shape's own. */
  where?: string;
  params?: Params;
  /** Required with `limit` or `offset`, e.g. `created_at DESC, id`. */
  orderBy?: string;
  limit?: number;
  offset?: number;
  /** A stable id of your own (default: derived from the shape and the options). */
  id?: string;
  /** Rejects (and lets the subset go) when the rows are not in after this long. Default 30 s. */
  timeoutMs?: number;
}

export interface SubsetHandle {
  readonly id: string;
  readonly shapeId: string;
  /** Rows the subset snapshot held when it loaded. */
  readonly rows: number;
  /** Lets the rows go (once; later calls do nothing). */
  release(): Promise<void>;
}

export interface SubsetInfo {
  id: string;
  shapeId: string;
  table: string;
  state: 'loading' | 'loaded' | 'error';
  rows: number;
  where?: string;
  params?: string[];
  orderBy?: string;
  limit?: number;
  offset?: number;
}

/** How long a progressive shape waits for its first subset before the whole shape starts anyway. */
export const PROGRESSIVE_HEAD_START_MS = 1000;

type Outcome = { state: 'loaded'; rows: number } | { state: 'error'; message: string };

export class Subsets {
  readonly #port: HostPort;
  readonly #status: () => Status;
  /** Last outcome per subset id, from `subset` events. */
  readonly #outcomes = new Map<string, Outcome>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** This client's live handles per subset (the engine counts holds across clients and tabs). */
  readonly #local = new Map<string, number>();
  /** What each live handle loaded, to load it again on an engine that was reopened. */
  readonly #live = new Set<{ target: string; subset: Record<string, unknown> }>();
  /** Progressive shapes: the whole shape's id → its changes_only companion's id, until the whole is in. */
  readonly #firstScreen = new Map<string, string>();
  /** Progressive shapes whose whole shape is not subscribed yet: starts it. */
  readonly #startWhole = new Map<string, () => void>();
  /** Companions not yet ready: arms the head-start timer once they are. */
  readonly #headStart = new Map<string, () => void>();
  /** Progressive shapes whose whole snapshot is in: their subsets need nothing. */
  readonly #progressiveDone = new Set<string>();

  readonly #idle: () => Promise<void>;

  /** `idle`: resolves when no transaction of this client holds the database. */
  constructor(port: HostPort, status: () => Status, idle: () => Promise<void>) {
    this.#port = port;
    this.#status = status;
    this.#idle = idle;
  }

  /** The changes_only companion of a progressive shape (subscribed before the whole shape). */
  companionId(shapeId: string): string {
    return `${shapeId}~first`;
  }

  /**
   * A progressive shape: subsets go to `companion` until `shapeId` is up to date. `startWhole`
   * subscribes the whole shape: once the first subset is in, or PROGRESSIVE_HEAD_START_MS after
   * the companion is ready for subsets (up to date) when none was asked for.
   */
  trackProgressive(shapeId: string, companion: string, startWhole: () => Promise<void>): void {
    this.#firstScreen.set(shapeId, companion);
    let started = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const start = () => {
      if (started) return;
      started = true;
      if (timer !== undefined) clearTimeout(timer);
      this.#startWhole.delete(shapeId);
      void startWhole().catch(() => undefined);
    };
    const arm = () => {
      if (timer !== undefined || started) return;
      timer = setTimeout(start, PROGRESSIVE_HEAD_START_MS);
      (timer as { unref?: () => void }).unref?.();
    };
    this.#startWhole.set(shapeId, start);
    this.#headStart.set(companion, arm);
    this.statusChanged(this.#status());
  }

  async load(shapeId: string, opts: SubsetOptions = {}): Promise<SubsetHandle> {
    if (typeof shapeId !== 'string' || shapeId === '') throw new ElectroliteError('invalid_argument', 'shapeId: expected a string');
    const subset = checkSubset(opts);
    const companion = this.#firstScreen.get(shapeId);
    if (companion === undefined && this.#progressiveDone.has(shapeId)) {
      return { id: '', shapeId, rows: 0, release: async () => undefined };
    }
    const target = companion ?? shapeId;
    let id: string;
    try {
      id = await this.#port.call('loadSubset', target, subset);
    } catch (err) {
      // The companion went while the call was on its way: the whole shape holds the rows.
      if (companion !== undefined && this.#progressiveDone.has(shapeId)) return { id: '', shapeId, rows: 0, release: async () => undefined };
      throw err;
    }
    this.#local.set(id, (this.#local.get(id) ?? 0) + 1);
    const live = { target, subset };
    this.#live.add(live);
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      this.#live.delete(live);
      await this.#let(id);
    };
    try {
      const outcome = await this.#wait(id, shapeId, opts.timeoutMs ?? 30000);
      return { id, shapeId: target, rows: outcome.rows, release };
    } catch (err) {
      await release().catch(() => undefined);
      throw err;
    } finally {
      this.#startWhole.get(shapeId)?.(); // the first screen is in: the whole shape's turn
    }
  }

  async list(): Promise<SubsetInfo[]> {
    return (await this.#port.call('subsets')) as unknown as SubsetInfo[];
  }

  /** A `subset` event from the engine. */
  onEvent(ev: EngineEvent): void {
    const id = String(ev.subsetId);
    if (ev.state === 'loaded') this.#outcomes.set(id, { state: 'loaded', rows: Number(ev.rows ?? 0) });
    else if (ev.state === 'error') this.#outcomes.set(id, { state: 'error', message: String(ev.message ?? 'subset refused') });
    else return;
    this.#wake(id);
  }

  /** Status changes: a progressive shape whose whole snapshot is in lets its companion go. */
  statusChanged(s: Status): void {
    for (const [companion, arm] of this.#headStart) {
      if (!upToDate(s, companion)) continue;
      this.#headStart.delete(companion);
      arm();
    }
    for (const [shapeId, companion] of this.#firstScreen) {
      if (!upToDate(s, shapeId)) continue;
      this.#firstScreen.delete(shapeId);
      this.#progressiveDone.add(shapeId);
      // The companion's rows are the whole shape's now; its subsets go with it.
      void this.#port.call('unsubscribe', companion).catch(() => undefined);
      for (const id of [...this.#waiters.keys()]) this.#wake(id);
    }
  }

  /** The engine behind the port was opened again: it holds what this client's handles hold. */
  async reclaim(): Promise<void> {
    for (const { target, subset } of this.#live) {
      await this.#port.call('loadSubset', target, subset).catch(() => undefined);
    }
  }

  /** One handle lets go: one hold in the engine ends (it drops the subset at the last). */
  async #let(id: string): Promise<void> {
    const n = (this.#local.get(id) ?? 0) - 1;
    if (n > 0) this.#local.set(id, n);
    else {
      this.#local.delete(id);
      this.#outcomes.delete(id); // a later load waits for the engine's word again
    }
    // not_found: its shape went (progressive handover, unsubscribe), and the subset with it.
    await this.#idle(); // the engine releases nothing inside a transaction
    await this.#port.call('releaseSubset', id).catch((err: unknown) => {
      if (ElectroliteError.from(err).code !== 'not_found') throw err;
    });
  }

  #wake(id: string): void {
    const ws = this.#waiters.get(id);
    if (!ws) return;
    this.#waiters.delete(id);
    for (const w of ws) w();
  }

  #wait(id: string, shapeId: string, timeoutMs: number): Promise<{ rows: number }> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const check = (): boolean => {
        const o = this.#outcomes.get(id);
        if (o?.state === 'loaded') {
          resolve({ rows: o.rows });
          return true;
        }
        if (o?.state === 'error') {
          this.#outcomes.delete(id);
          reject(new ElectroliteError('invalid_argument', o.message));
          return true;
        }
        if (this.#progressiveDone.has(shapeId)) {
          resolve({ rows: 0 });
          return true;
        }
        return false;
      };
      const arm = () => {
        if (check()) {
          if (timer !== undefined) clearTimeout(timer);
          return;
        }
        let ws = this.#waiters.get(id);
        if (!ws) this.#waiters.set(id, (ws = new Set()));
        ws.add(arm);
      };
      timer = setTimeout(() => {
        this.#waiters.get(id)?.delete(arm);
        reject(new ElectroliteError('timeout', `subset ${id} did not load within ${timeoutMs} ms`));
      }, timeoutMs);
      (timer as { unref?: () => void }).unref?.();
      arm();
    });
  }
}

function upToDate(s: Status, shapeId: string): boolean {
  const shapes = (s as unknown as { shapes?: Array<{ id: string; isUpToDate: boolean }> }).shapes ?? [];
  return shapes.some((sh) => sh.id === shapeId && sh.isUpToDate);
}

function checkSubset(o: SubsetOptions): Record<string, unknown> {
  if (typeof o !== 'object' || o === null) throw new ElectroliteError('invalid_argument', 'subset: expected an object');
  const out: Record<string, unknown> = {};
  if (o.where !== undefined) {
    if (typeof o.where !== 'string') throw new ElectroliteError('invalid_argument', 'subset.where: expected a string');
    out.where = o.where;
  }
  if (o.params !== undefined) {
    if (!Array.isArray(o.params)) throw new ElectroliteError('invalid_argument', 'subset.params: expected an array');
    out.params = o.params.map((p) => (p === null || p === undefined ? '' : String(p)));
  }
  if (o.orderBy !== undefined) {
    if (typeof o.orderBy !== 'string') throw new ElectroliteError('invalid_argument', 'subset.orderBy: expected a string');
    out.orderBy = o.orderBy;
  }
  for (const k of ['limit', 'offset'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < (k === 'limit' ? 1 : 0)) {
      throw new ElectroliteError('invalid_argument', `subset.${k}: expected an integer of at least ${k === 'limit' ? 1 : 0}`);
    }
    out[k] = v;
  }
  if (o.id !== undefined) {
    if (typeof o.id !== 'string' || o.id === '') throw new ElectroliteError('invalid_argument', 'subset.id: expected a string');
    out.id = o.id;
  }
  return out;
}
