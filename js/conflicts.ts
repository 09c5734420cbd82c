// Conflicts as the app sees them: `db.onConflict` listeners for the engine's `conflict`
// events, and custom resolvers (`resolvers` in the open options) that answer its `resolve`
// events with the row to keep, which the engine writes as a new change on the server row.

import type { DebugLog } from './debug-log.js';
import type { EngineEvent } from './engine-host.js';
import { ElectroliteError } from './errors.js';
import { checkRow } from './client-args.js';
import type { HostPort } from './host-port.js';
import type { ConflictEvent, ConflictResolver, Row, Unsubscribe } from './types.js';

export class Conflicts {
  readonly #port: HostPort;
  readonly #resolvers: Record<string, ConflictResolver>;
  readonly #listeners = new Set<(c: ConflictEvent) => void>();
  readonly #log: () => DebugLog | undefined;

  constructor(port: HostPort, resolvers: Record<string, ConflictResolver> | undefined, log: () => DebugLog | undefined) {
    this.#port = port;
    this.#resolvers = { ...(resolvers ?? {}) };
    this.#log = log;
  }

  /** Every resolver must be a function (checked before the database opens). */
  static check(resolvers: Record<string, unknown> | undefined): void {
    for (const [table, fn] of Object.entries(resolvers ?? {})) {
      if (typeof fn !== 'function') throw new ElectroliteError('invalid_argument', `resolvers.${table}: expected a function`);
    }
  }

  /** Tells the host which tables have a resolver (again after it reopened). */
  async tellHost(): Promise<void> {
    for (const table of Object.keys(this.#resolvers)) await this.#port.call('setResolver', table, true);
  }

  listen(cb: (conflict: ConflictEvent) => void): Unsubscribe {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  clear(): void {
    this.#listeners.clear();
  }

  /** A `conflict` event. */
  onConflict(c: ConflictEvent): void {
    for (const cb of [...this.#listeners]) {
      try {
        cb(c);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /**
   * A `resolve` event: the engine asks the app's resolver for the row to keep; the answer
   * goes back to the engine, which writes it as a new change based on the server row.
   */
  async onResolve(ev: EngineEvent): Promise<void> {
    const table = String(ev.table);
    const resolver = this.#resolvers[table];
    const id = String(ev.id);
    try {
      if (!resolver) throw new ElectroliteError('not_found', `no resolver registered for ${table}`);
      const chosen = resolver({ ...(ev.local as Row) }, { ...(ev.remote as Row) });
      checkRow('resolver result', chosen);
      await this.#port.call('resolveConflict', id, chosen);
      this.#log()?.line('conflict', `custom resolver for ${table} resolved ${JSON.stringify(ev.key)}`);
    } catch (err) {
      this.#log()?.line('conflict', `custom resolver for ${table} failed: ${(err as Error).message}`);
      console.warn(`[electrolite] custom resolver for ${table} failed: ${(err as Error).message}`);
    }
  }
}
