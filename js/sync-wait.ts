// Waiting on the status: db.waitForStatus(pred), and what db.syncNow() waits for, and how long
// (docs/client-api.md "Sync control"): it settles within a known bound instead of waiting out
// its timeout when the server is gone.

import { ElectroliteError, type ErrorCode } from './errors.js';
import type { Status, Unsubscribe } from './types.js';

/** Status error codes of the transport (js/engine-host.ts RequestProblem): the next answer clears them. */
const TRANSIENT: ReadonlySet<string> = new Set(['unreachable', 'server_error', 'offline']);

/** How long a status error may last after syncNow before syncNow rejects with it. */
export const SYNC_FAILURE_GRACE_MS = 2000;

/** An error the engine reports (the transport's problems rank below the client's own). */
export function isEngineError(e: Status['error']): boolean {
  return e !== null && !TRANSIENT.has(e.code);
}

/**
 * Resolves with the first status that is up to date with nothing pending. Rejects: `offline`
 * at once when the network is offline; with the status error once it has lasted
 * SYNC_FAILURE_GRACE_MS (an error cleared meanwhile restarts the count); `timeout` after
 * `timeoutMs`. `details.status` is the status at that moment.
 */
export function waitForSync(current: () => Status, onStatus: (cb: (s: Status) => void) => Unsubscribe, timeoutMs: number): Promise<Status> {
  return new Promise((resolve, reject) => {
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const fail = (e: { code: string; message: string }) =>
      finish(() => reject(new ElectroliteError(e.code as ErrorCode, e.message, { details: { status: current() } })));
    const check = (s: Status) => {
      if (s.isUpToDate && s.pendingChanges === 0 && s.sync !== 'syncing') return finish(() => resolve(s));
      if (s.network === 'offline') return fail({ code: 'offline', message: 'the network is offline' });
      if (!s.error) {
        if (graceTimer !== undefined) clearTimeout(graceTimer);
        graceTimer = undefined;
      } else if (graceTimer === undefined) {
        graceTimer = setTimeout(() => {
          const e = current().error;
          if (e) fail(e);
          else graceTimer = undefined;
        }, SYNC_FAILURE_GRACE_MS);
      }
    };
    const off = onStatus(check);
    const timer = setTimeout(() => fail({ code: 'timeout', message: `not up to date within ${timeoutMs} ms` }), timeoutMs);
    function finish(fn: () => void): void {
      off();
      clearTimeout(timer);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      fn();
    }
    check(current());
  });
}

/**
 * Resolves with the first status (current or later) for which `pred` holds; with
 * `rejectOnError`, rejects on the first status that carries an error; `timeout` after `timeoutMs`.
 */
export function waitForStatus<S extends Status>(
  current: () => S,
  onStatus: (cb: (s: S) => void) => Unsubscribe,
  pred: (s: S) => boolean,
  timeoutMs: number,
  rejectOnError: boolean,
): Promise<S> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (fn: () => void) => {
      off();
      if (timer !== undefined) clearTimeout(timer);
      fn();
    };
    const check = (s: S) => {
      if (pred(s)) finish(() => resolve(s));
      else if (rejectOnError && s.error) finish(() => reject(new ElectroliteError(s.error!.code as ErrorCode, s.error!.message)));
    };
    const off = onStatus(check);
    timer = setTimeout(
      () => finish(() => reject(new ElectroliteError('timeout', `status condition not reached within ${timeoutMs} ms`))),
      timeoutMs,
    );
    check(current());
  });
}
