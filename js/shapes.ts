// What the database syncs, as the client asks for it: shapes (`subscribe`, with a sync mode),
// their subsets (js/subsets.ts) and prefetches of a parent row's children. Plain calls over
// the HostPort; the waits are on the client's status.

import { checkParams, checkRow, checkTable } from './client-args.js';
import { ElectroliteError } from './errors.js';
import type { HostPort } from './host-port.js';
import { Subsets } from './subsets.js';
import type { ShapeSubscription, Status } from './types.js';

export interface ShapeApiDeps {
  port: HostPort;
  status: () => Status;
  waitForStatus: (pred: (s: Status) => boolean, timeoutMs: number, rejectOnError: boolean) => Promise<unknown>;
  checkOpen: () => void;
  isClosed: () => boolean;
  /** Resolves when no transaction of this client holds the database. */
  idle: () => Promise<void>;
}

export class ShapeApi {
  readonly subsets: Subsets;
  readonly #d: ShapeApiDeps;

  constructor(deps: ShapeApiDeps) {
    this.#d = deps;
    this.subsets = new Subsets(deps.port, deps.status, deps.idle);
  }

  /**
   * Adds a shape; returns its id. `mode`: `'full'` (default: the whole shape, then its
   * changes), `'on-demand'` (only the subsets loaded with loadSubset, then their changes) or
   * `'progressive'` (subsets at once for the first screen, the whole shape behind them).
   */
  async subscribe(shape: ShapeSubscription): Promise<string> {
    const s = checkRow('shape', shape) as unknown as ShapeSubscription;
    checkTable(s.table);
    if (s.where !== undefined && typeof s.where !== 'string') throw new ElectroliteError('invalid_argument', 'where: expected a string');
    const params = checkParams(s.params);
    const mode = s.mode ?? 'full';
    if (mode !== 'full' && mode !== 'on-demand' && mode !== 'progressive') {
      throw new ElectroliteError('invalid_argument', "mode: expected 'full', 'on-demand' or 'progressive'");
    }
    this.#d.checkOpen();
    const { mode: _mode, ...def } = { ...s, params } as Record<string, unknown>;
    if (mode === 'on-demand') return this.#d.port.call('subscribe', { ...def, log: 'changes_only' });
    if (mode === 'full') return this.#d.port.call('subscribe', def);
    // Progressive: a changes_only companion for the first screen's subsets, and the whole shape
    // once the first of them is in (or after a head start), so its snapshot does not compete
    // with them; subscribed in an earlier session, the whole shape goes on at once.
    const whole = typeof def.id === 'string' && def.id !== '' ? def.id : progressiveId(def);
    const wholeDef = { ...def, id: whole };
    const startWhole = async () => {
      await this.#d.port.call('subscribe', wholeDef);
    };
    if ((this.#d.status().shapes ?? []).some((x) => x.id === whole)) {
      await startWhole();
      if (shapesUpToDate(this.#d.status(), [whole])) return whole;
    }
    const companion = this.subsets.companionId(whole);
    await this.#d.port.call('subscribe', { ...def, id: companion, log: 'changes_only' });
    this.subsets.trackProgressive(whole, companion, startWhole);
    return whole;
  }

  async unsubscribe(shapeId: string): Promise<void> {
    if (typeof shapeId !== 'string' || shapeId === '') throw new ElectroliteError('invalid_argument', 'shapeId: expected a string');
    this.#d.checkOpen();
    await this.#d.port.call('unsubscribe', shapeId);
  }

  async prefetch(table: string, key: unknown, timeoutMs: number): Promise<() => Promise<void>> {
    const t = checkTable(table);
    const k = checkKey(key);
    this.#d.checkOpen();
    const { shapeIds } = await this.#d.port.call('prefetch', t, k);
    let released = false;
    const release = async () => {
      if (released || this.#d.isClosed()) return;
      released = true;
      await this.#d.port.call('release', t, k);
    };
    if (shapeIds.length > 0) {
      try {
        await this.#d.waitForStatus((s) => shapesUpToDate(s, shapeIds), timeoutMs, true);
      } catch (err) {
        await release().catch(() => undefined);
        throw err;
      }
    }
    return release;
  }

  async release(table: string, key: unknown): Promise<void> {
    this.#d.checkOpen();
    await this.#d.port.call('release', checkTable(table), checkKey(key));
  }
}

/** The id of a progressive shape the app did not name: stable for its definition. */
function progressiveId(def: Record<string, unknown>): string {
  const text = JSON.stringify([def.table, def.where ?? '', def.params ?? [], def.columns ?? [], def.replica ?? 'default']);
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    a = Math.imul(a ^ text.charCodeAt(i), 0x01000193) >>> 0;
    b = Math.imul(b ^ text.charCodeAt(i), 0x5bd1e995) >>> 0;
  }
  return `${String(def.table)}#progressive-${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

/** A parent key for prefetch/release: a string or integer id, or `{ id }`. */
export function checkKey(key: unknown): string | number | Record<string, unknown> {
  if (typeof key === 'string' && key !== '') return key;
  if (typeof key === 'number' && Number.isInteger(key)) return key;
  if (typeof key === 'object' && key !== null && !Array.isArray(key) && Object.keys(key).length === 1) {
    return key as Record<string, unknown>;
  }
  throw new ElectroliteError('invalid_argument', 'key: expected the parent row id (string or integer) or { id }');
}

/** Whether every one of `shapeIds` is up to date in `s`. */
export function shapesUpToDate(s: Status, shapeIds: string[]): boolean {
  const shapes = (s as unknown as { shapes?: Array<{ id: string; isUpToDate: boolean }> }).shapes ?? [];
  return shapeIds.every((id) => shapes.some((sh) => sh.id === id && sh.isUpToDate));
}
