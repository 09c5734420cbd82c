// A follower tab's side of multi-tab (tabs-protocol.ts): this worker starts no engine; it
// forwards its page's calls and live queries to the leader over the BroadcastChannel and
// passes the leader's replies, live results, statuses and conflicts back to its page.
//
// Handover: when the leader's tab closes, its tab lock is released (the followers learn of
// it) and its database lock goes to the first waiting tab, which opens the storage and
// announces itself (or this worker is that tab: promote()). Until a leader answers,
// requests wait (at most NO_LEADER_TIMEOUT_MS, then fail with `timeout`); requests the old
// leader had not answered are sent again: reads simply run again, writes carry a uid the
// leader records in the write's transaction, so a write the old leader had already applied
// is answered from that record instead of being applied twice. A transaction begun on the
// old leader is lost with it: its calls fail with `network`, and its commit fails unless the
// record shows the commit happened.

import { ElectroliteError } from '../errors.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { toErrorData } from './protocol.js';
import type { LocalServer } from './tabs-leader.js';
import {
  channelName, NO_LEADER_TIMEOUT_MS, tabLockName, whenReleased, type RetryInfo, type TabMessage, type ToLeader,
} from './tabs-protocol.js';

/** Writes that get a uid (recorded by the leader so a retry applies them once). */
const WRITES = new Set(['insert', 'update', 'delete', 'exec', 'commit']);

interface Pending { msg: Extract<ToWorker, { t: 'call' }>; retry: RetryInfo; sentTo?: string; since: number }

export class TabFollower {
  readonly id: string;
  /** The leader's tab id (undefined during a handover). */
  leader: string | undefined;
  #database: string;
  #post: (m: FromWorker) => void;
  #channel: BroadcastChannel;
  #pending = new Map<number, Pending>();
  #lives = new Map<number, { sql: string; params: unknown[] }>();
  /** Transaction ids and the leader they were begun on. */
  #txs = new Map<number, string>();
  #visible: boolean | undefined;
  #local: LocalServer | undefined;
  #stopWatch: AbortController | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #firstLeader: { resolve: (status: unknown) => void; reject: (e: Error) => void } | undefined;
  #lastStatus: unknown;
  /** Called with each status from the leader (this worker adds its role). */
  onStatus: (status: unknown) => void = () => {};

  constructor(database: string, tabId: string, post: (m: FromWorker) => void) {
    this.id = tabId;
    this.#database = database;
    this.#post = post;
    this.#channel = new BroadcastChannel(channelName(database));
    this.#channel.onmessage = (e: MessageEvent<TabMessage>) => this.#onMessage(e.data);
  }

  /** Resolves with the leader's status once a leader answers (rejects after timeoutMs). */
  connect(timeoutMs: number): Promise<unknown> {
    const answered = new Promise<unknown>((resolve, reject) => (this.#firstLeader = { resolve, reject }));
    const timer = setTimeout(() => this.#firstLeader?.reject(new ElectroliteError('timeout',
      `no leader tab answered within ${timeoutMs} ms (the tab holding the database does not respond)`)), timeoutMs);
    this.#say({ k: 'hello', from: this.id });
    return answered.finally(() => { clearTimeout(timer); this.#firstLeader = undefined; });
  }

  get status(): unknown { return this.#lastStatus; }

  /** A message from this worker's page. */
  forward(msg: ToWorker): void {
    if (this.#local) {
      this.#serveLocal(msg, {});
      return;
    }
    switch (msg.t) {
      case 'call': {
        const retry: RetryInfo = {};
        if (msg.tx !== undefined && this.#txs.get(msg.tx) !== this.leader) {
          if (msg.method !== 'commit') {
            this.#txs.delete(msg.tx);
            this.#fail(msg.id, new ElectroliteError('network',
              'the transaction was lost: the leader tab closed before it committed (nothing of it was applied)'));
            return;
          }
          retry.lostTx = true;
        }
        if (WRITES.has(msg.method)) retry.uid = crypto.randomUUID();
        if (msg.method === 'setVisible') this.#visible = msg.args[0] as boolean;
        this.#pending.set(msg.id, { msg, retry, since: Date.now() });
        this.#send(msg.id);
        return;
      }
      case 'live':
        this.#lives.set(msg.liveId, { sql: msg.sql, params: msg.params });
        this.#request(msg);
        return;
      case 'unlive':
        this.#lives.delete(msg.liveId);
        this.#request(msg);
        return;
      default: return;
    }
  }

  /**
   * This worker took the database lock and opened the engine: from now on its page's
   * messages are served here. Requests the old leader had not answered run again (with
   * their retry information) and the page's live queries are registered again.
   */
  promote(server: LocalServer): void {
    this.#local = server;
    this.leader = this.id;
    this.#stopWatch?.abort();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) this.#serveLocal(p.msg, { ...p.retry, ...(p.sentTo !== undefined ? { retry: true } : {}) });
    for (const [liveId, q] of this.#lives) this.#serveLocal({ t: 'live', liveId, sql: q.sql, params: q.params }, {});
    this.#lives.clear();
    // id -1: an answer the page does not wait for
    if (this.#visible !== undefined) this.#serveLocal({ t: 'call', id: -1, method: 'setVisible', args: [this.#visible] }, {});
    this.#say({ k: 'leave', from: this.id });
    this.#channel.close();
  }

  /** The page closed this database: the leader drops what this tab left behind. */
  close(): void {
    this.#stopWatch?.abort();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (!this.#local) {
      this.#say({ k: 'leave', from: this.id });
      this.#channel.close();
    }
    for (const id of this.#pending.keys()) this.#fail(id, new ElectroliteError('closed', 'database closed'));
  }

  #serveLocal(msg: ToWorker, retry: RetryInfo): void {
    if (msg.t === 'call' && msg.tx !== undefined && this.#txs.has(msg.tx)) {
      // a transaction begun on the old leader; this worker's own transactions are not in #txs
      this.#txs.delete(msg.tx);
      if (msg.method !== 'commit') {
        this.#fail(msg.id, new ElectroliteError('network',
          'the transaction was lost: the leader tab closed before it committed (nothing of it was applied)'));
        return;
      }
      retry = { ...retry, lostTx: true };
    }
    this.#local!.serve(msg, this.#post, '', retry);
  }

  #say(msg: ToLeader): void {
    try {
      this.#channel.postMessage(msg);
    } catch {
      // channel closed: this worker is closing
    }
  }

  #request(msg: ToWorker, retry?: RetryInfo): void {
    if (this.leader === undefined) return; // sent when the leader answers (lives: re-registered)
    this.#say({ k: 'req', from: this.id, to: this.leader, msg, ...(retry ? { retry } : {}) });
  }

  #send(id: number): void {
    const p = this.#pending.get(id);
    if (!p || this.leader === undefined) {
      this.#armTimeout();
      return;
    }
    const again = p.sentTo !== undefined && p.sentTo !== this.leader;
    p.sentTo = this.leader;
    this.#request(p.msg, again ? { ...p.retry, retry: true } : p.retry);
  }

  #fail(id: number, err: ElectroliteError): void {
    this.#pending.delete(id);
    this.#post({ t: 'reply', id, ok: false, error: toErrorData(err) });
  }

  /** While there is no leader, fail requests that waited too long (never hang). */
  #armTimeout(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.leader !== undefined || this.#local) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        return;
      }
      const now = Date.now();
      for (const [id, p] of this.#pending) {
        if (now - p.since > NO_LEADER_TIMEOUT_MS) {
          this.#fail(id, new ElectroliteError('timeout', `${p.msg.method}: no leader tab answered within ${NO_LEADER_TIMEOUT_MS} ms`));
        }
      }
    }, 1000);
  }

  #onMessage(msg: TabMessage): void {
    switch (msg.k) {
      case 'leader': this.#setLeader(msg.id, msg.status); return;
      case 'all':
        if (msg.msg.t === 'status') this.#lastStatus = msg.msg.status;
        if (msg.msg.t === 'status') this.onStatus(msg.msg.status);
        else this.#post(msg.msg);
        return;
      case 'to': {
        if (msg.to !== this.id) return;
        const m = msg.msg;
        if (m.t === 'reply') {
          const p = this.#pending.get(m.id);
          if (!p) return; // already failed locally (timeout) or answered
          this.#pending.delete(m.id);
          if (m.ok && p.msg.method === 'begin' && typeof m.value === 'number') this.#txs.set(m.value, this.leader!);
          if (p.msg.tx !== undefined && (p.msg.method === 'commit' || p.msg.method === 'rollback')) this.#txs.delete(p.msg.tx);
        }
        this.#post(m);
        return;
      }
      default: return;
    }
  }

  #setLeader(id: string, status: unknown): void {
    if (this.#local || id === this.id) return;
    const changed = this.leader !== id;
    this.leader = id;
    this.#lastStatus = status;
    this.#firstLeader?.resolve(status);
    if (!changed) return;
    this.onStatus(status);
    this.#watchLeader(id);
    // re-register live queries and the page's visibility, then (re)send what is unanswered
    for (const [liveId, q] of this.#lives) this.#request({ t: 'live', liveId, sql: q.sql, params: q.params });
    if (this.#visible !== undefined) {
      this.#request({ t: 'call', id: -1, method: 'setVisible', args: [this.#visible] });
    }
    for (const id of [...this.#pending.keys()]) this.#send(id);
  }

  /** Learn of the leader's end (its tab lock released): requests wait for the next one. */
  #watchLeader(id: string): void {
    this.#stopWatch?.abort();
    const stop = new AbortController();
    this.#stopWatch = stop;
    whenReleased(tabLockName(this.#database, id), () => {
      if (stop.signal.aborted || this.leader !== id) return;
      this.leader = undefined;
      if (this.#lastStatus && typeof this.#lastStatus === 'object') {
        this.onStatus({ ...(this.#lastStatus as object), connection: 'connecting', handover: true });
      }
      if (this.#pending.size > 0) this.#armTimeout();
    }, stop.signal);
  }
}
