// The leader worker's engine host serving its owners: its own page ('') and the follower
// tabs (tabs-leader.ts). One EngineHost, shared: a transaction is one owner's, and the other
// owners' calls that touch the database wait for it to end; the shape stream pauses only
// when no owner's page is visible; a follower's write carries a uid recorded in the write's
// own transaction (REQUESTS_TABLE), so a write retried after a handover is applied once.
// Every reply waits until what the call wrote is stored (IndexedDB flushes).

import type { EngineEvent, EngineHost, HostMethods } from '../engine-host.js';
import { ElectroliteError } from '../errors.js';
import { REQUESTS_TABLE, type RetryInfo } from './tabs-protocol.js';

/** Calls that never touch the database: they run while another owner's transaction is open. */
const OUTSIDE_TX: ReadonlySet<string> = new Set([
  'status', 'setVisible', 'setNetworkOnline', 'setToken', 'deferredReady', 'syncNow', 'metrics', 'watchRows', 'unwatchRows',
]);
/**
 * What a follower tab's client tells its host is the leader's to say: the leader page's
 * token, user and resolvers are the ones in force (docs/browser-tabs.md).
 */
const LEADER_PAGE_ONLY: ReadonlySet<string> = new Set(['setToken', 'setUserId', 'setResolver']);
/** Calls that belong to the owner's open transaction (and are lost with a previous leader's). */
export const TX_CALLS: ReadonlySet<string> = new Set(['query', 'exec', 'insert', 'update', 'delete', 'commit', 'rollback']);
/** Writes that get a uid when a follower sends them. */
export const RECORDED_WRITES: ReadonlySet<string> = new Set(['insert', 'update', 'delete', 'exec', 'commit']);

const REQUESTS_DDL = `CREATE TABLE IF NOT EXISTS ${REQUESTS_TABLE} (uid TEXT PRIMARY KEY, result TEXT, at INTEGER NOT NULL)`;

export const lostTx = () => new ElectroliteError('network',
  'the transaction was lost: the leader tab closed before it committed (nothing of it was applied)');

export interface ServerHooks {
  /** Resolves once every write so far is stored. */
  flush(): Promise<void>;
  /** What the status adds: where the data lives and this tab's role. */
  placement(): Record<string, unknown>;
}

export class HostServer {
  readonly host: EngineHost;
  #hooks: ServerHooks;
  #txOwner: string | undefined;
  #txEnded: Array<() => void> = [];
  #visibility = new Map<string, boolean>();
  /** Each owner's row watches (js/row-watches.ts), dropped with the owner. */
  #watches = new Map<string, Set<string>>();
  #pruned = false;

  constructor(host: EngineHost, hooks: ServerHooks) {
    this.host = host;
    this.#hooks = hooks;
  }

  /** The status with where the data lives. */
  status(): Record<string, unknown> {
    return { ...this.host.status(), ...this.#hooks.placement() };
  }

  /** An engine event as the owners see it (status with its placement). */
  event(ev: EngineEvent): EngineEvent {
    return ev.type === 'status' ? { ...ev, ...this.#hooks.placement() } : ev;
  }

  /** Runs one owner's call; resolves once what it wrote is stored. */
  async serve(owner: string, method: keyof HostMethods, args: unknown[], retry: RetryInfo = {}): Promise<unknown> {
    let value: unknown;
    try {
      value = await this.#run(owner, method, args, retry);
    } catch (err) {
      await this.#hooks.flush().catch(() => undefined);
      throw err;
    }
    await this.#hooks.flush();
    return value;
  }

  /** Drops what `owner` left behind: its open transaction and its visibility. */
  forget(owner: string): void {
    if (this.#txOwner === owner) {
      try {
        this.host.rollback();
      } catch {
        // the host closed meanwhile
      }
      this.#endTx();
    }
    if (this.#visibility.delete(owner)) this.#applyVisibility();
    for (const id of this.#watches.get(owner) ?? []) this.host.unwatchRows(id);
    this.#watches.delete(owner);
  }

  async #run(owner: string, method: keyof HostMethods, args: unknown[], retry: RetryInfo): Promise<unknown> {
    if (retry.lostTx) {
      // A transaction begun on a previous leader: its commit happened only if recorded.
      if (method !== 'commit' || !retry.uid) throw lostTx();
      await this.#free(owner);
      this.#requestLog();
      if (this.host.query(`SELECT 1 FROM ${REQUESTS_TABLE} WHERE uid = ?`, [retry.uid]).rows.length === 0) throw lostTx();
      return undefined;
    }
    if (method === 'setVisible') {
      this.#visibility.set(owner, args[0] === true);
      return this.#applyVisibility();
    }
    if (method === 'status') return this.status();
    if (method === 'watchRows' || method === 'unwatchRows') {
      const ids = this.#watches.get(owner) ?? new Set<string>();
      this.#watches.set(owner, ids);
      if (method === 'watchRows') ids.add(String(args[0]));
      else ids.delete(String(args[0]));
    }
    if (owner !== '' && LEADER_PAGE_ONLY.has(method)) return undefined;
    if (!OUTSIDE_TX.has(method)) await this.#free(owner);
    const host = this.host as unknown as Record<string, (...a: unknown[]) => unknown>;
    switch (method) {
      case 'begin':
        this.host.begin();
        this.#txOwner = owner;
        return undefined;
      case 'commit':
      case 'rollback': {
        if (this.#txOwner !== owner) throw new ElectroliteError('invalid_argument', `${method}: no transaction is open`);
        try {
          if (method === 'commit' && retry.uid !== undefined) this.#record(retry.uid, null);
          host[method]!();
        } catch (err) {
          if (method === 'commit') this.#rollbackQuietly();
          throw err;
        } finally {
          this.#endTx();
        }
        return undefined;
      }
    }
    if (retry.uid !== undefined && RECORDED_WRITES.has(method) && this.#txOwner !== owner) {
      return this.#recordedWrite(method, args, retry);
    }
    return host[method]!(...args);
  }

  /** Waits while another owner's transaction is open. */
  async #free(owner: string): Promise<void> {
    while (this.#txOwner !== undefined && this.#txOwner !== owner) {
      await new Promise<void>((resolve) => this.#txEnded.push(resolve));
    }
  }

  #endTx(): void {
    this.#txOwner = undefined;
    for (const wake of this.#txEnded.splice(0)) wake();
  }

  #rollbackQuietly(): void {
    try {
      this.host.rollback();
    } catch {
      // nothing open any more
    }
  }

  /** The other tabs' request log: created where needed, pruned of entries older than an hour once. */
  #requestLog(): void {
    this.host.exec(REQUESTS_DDL, []);
    if (this.#pruned) return;
    this.host.exec(`DELETE FROM ${REQUESTS_TABLE} WHERE at < ?`, [Date.now() - 3_600_000]);
    this.#pruned = true;
  }

  #record(uid: string, value: unknown): void {
    this.#requestLog();
    this.host.exec(`INSERT INTO ${REQUESTS_TABLE} (uid, result, at) VALUES (?, ?, ?)`, [uid, JSON.stringify(value ?? null), Date.now()]);
  }

  /** A write from another tab, recorded with its uid in the same transaction (applied once). */
  #recordedWrite(method: string, args: unknown[], retry: RetryInfo): unknown {
    if (retry.retry) {
      this.#requestLog();
      const done = this.host.query(`SELECT result FROM ${REQUESTS_TABLE} WHERE uid = ?`, [retry.uid!]);
      if (done.rows.length > 0) return JSON.parse(String(done.rows[0]![0]));
    }
    this.host.begin();
    try {
      const value = (this.host as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
      this.#record(retry.uid!, value);
      this.host.commit();
      return value;
    } catch (err) {
      this.#rollbackQuietly();
      throw err;
    }
  }

  /** Visible while any tab is (this page counts as visible until it reports otherwise). */
  #applyVisibility(): void {
    this.host.setVisible((this.#visibility.get('') ?? true) || [...this.#visibility.values()].some((v) => v));
  }
}
