// A follower tab's side of multi-tab (tabs-protocol.ts): this worker starts no engine; it
// forwards its page's host calls to the leader over the BroadcastChannel and passes the
// leader's replies and the engine's events back to its page, its status marked `follower`.
//
// Handover: when the leader's tab closes, its tab lock is released (the followers learn of
// it) and its database lock goes to the first waiting tab, which opens the storage and
// announces itself (or this worker is that tab: promote()). Until a leader answers,
// requests wait (at most NO_LEADER_TIMEOUT_MS, then fail with `timeout`); requests the old
// leader had not answered are sent again: reads simply run again, writes carry a uid the
// leader records in the write's transaction, so a write the old leader had already applied
// is answered from that record instead of being applied twice. A transaction begun on the
// old leader is lost with it: its calls fail with `network`, and its commit fails unless the
// record shows the commit happened. The page's client is told the host was reopened, so it
// reads its live queries afresh.

import { ElectroliteError } from '../errors.js';
import type { EngineEvent } from '../engine-host.js';
import { HOST_REOPENED } from '../host-port.js';
import { lostTx, RECORDED_WRITES, TX_CALLS } from './host-server.js';
import { toErrorData, type CallMessage, type FromWorker } from './protocol.js';
import type { LocalServer } from './tabs-leader.js';
import {
  channelName, NO_LEADER_TIMEOUT_MS, tabLockName, whenReleased, type RetryInfo, type TabMessage, type ToLeader,
} from './tabs-protocol.js';

interface Pending { msg: CallMessage; retry: RetryInfo; sentTo?: string; since: number }

const asFollower = <T>(s: T): T => ({ ...(s as object), role: 'follower' }) as T;

export class TabFollower {
  readonly id: string;
  /** The leader's tab id (undefined during a handover). */
  leader: string | undefined;
  #database: string;
  #post: (m: FromWorker) => void;
  #channel: BroadcastChannel;
  #pending = new Map<number, Pending>();
  /** The leader this page's open transaction was begun on. */
  #tx: string | undefined;
  #visible: boolean | undefined;
  #local: LocalServer | undefined;
  #stopWatch: AbortController | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #firstLeader: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #lastStatus: unknown;

  constructor(database: string, tabId: string, post: (m: FromWorker) => void) {
    this.id = tabId;
    this.#database = database;
    this.#post = post;
    this.#channel = new BroadcastChannel(channelName(database));
    this.#channel.onmessage = (e: MessageEvent<TabMessage>) => this.#onMessage(e.data);
  }

  /** Resolves once a leader answers (rejects after timeoutMs). */
  connect(timeoutMs: number): Promise<void> {
    const answered = new Promise<void>((resolve, reject) => (this.#firstLeader = { resolve, reject }));
    const timer = setTimeout(() => this.#firstLeader?.reject(new ElectroliteError('timeout',
      `no leader tab answered within ${timeoutMs} ms (the tab holding the database does not respond)`)), timeoutMs);
    this.#say({ k: 'hello', from: this.id });
    return answered.finally(() => { clearTimeout(timer); this.#firstLeader = undefined; });
  }

  /** A host call from this worker's page. */
  forward(msg: CallMessage): void {
    if (this.#local) {
      this.#serveLocal(msg, {});
      return;
    }
    const retry: RetryInfo = {};
    if (this.#tx !== undefined && this.#tx !== this.leader && TX_CALLS.has(msg.method)) {
      if (msg.method !== 'commit') {
        this.#tx = undefined;
        this.#fail(msg.id, lostTx());
        return;
      }
      retry.lostTx = true;
    }
    if (RECORDED_WRITES.has(msg.method)) retry.uid = crypto.randomUUID();
    if (msg.method === 'setVisible') this.#visible = msg.args[0] as boolean;
    this.#pending.set(msg.id, { msg, retry, since: Date.now() });
    this.#send(msg.id);
  }

  /**
   * This worker took the database lock and opened the engine: from now on its page's
   * calls are served here. Requests the old leader had not answered run again (with
   * their retry information).
   */
  promote(server: LocalServer): void {
    this.#local = server;
    this.leader = this.id;
    this.#stopWatch?.abort();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) this.#serveLocal(p.msg, { ...p.retry, ...(p.sentTo !== undefined ? { retry: true } : {}) });
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

  #serveLocal(msg: CallMessage, retry: RetryInfo): void {
    if (this.#tx !== undefined && this.#tx !== this.id && TX_CALLS.has(msg.method)) {
      // a transaction begun on the old leader
      if (msg.method !== 'commit') {
        this.#tx = undefined;
        this.#fail(msg.id, lostTx());
        return;
      }
      retry = { ...retry, lostTx: true };
    }
    this.#track(msg, this.id);
    this.#local!.serve(msg, this.#post, '', retry);
  }

  /** Which leader this page's transaction is on (set by begin, cleared by commit or rollback). */
  #track(msg: CallMessage, on: string | undefined): void {
    if (msg.method === 'begin') this.#tx = on;
    else if (msg.method === 'commit' || msg.method === 'rollback') this.#tx = undefined;
  }

  #say(msg: ToLeader): void {
    try {
      this.#channel.postMessage(msg);
    } catch {
      // channel closed: this worker is closing
    }
  }

  #send(id: number): void {
    const p = this.#pending.get(id);
    if (!p || this.leader === undefined) {
      this.#armTimeout();
      return;
    }
    const again = p.sentTo !== undefined && p.sentTo !== this.leader;
    p.sentTo = this.leader;
    const retry = again ? { ...p.retry, retry: true } : p.retry;
    this.#say({ k: 'req', from: this.id, to: this.leader, msg: p.msg, ...(Object.keys(retry).length ? { retry } : {}) });
  }

  #fail(id: number, err: ElectroliteError): void {
    this.#pending.delete(id);
    if (id >= 0) this.#post({ t: 'reply', id, ok: false, error: toErrorData(err) });
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

  #event(event: EngineEvent): void {
    this.#post({ t: 'event', event: event.type === 'status' ? asFollower(event) : event });
  }

  #onMessage(msg: TabMessage): void {
    switch (msg.k) {
      case 'leader': this.#setLeader(msg.id, msg.status); return;
      case 'all':
        if (msg.msg.t !== 'event') return;
        if (msg.msg.event.type === 'status') this.#lastStatus = msg.msg.event;
        this.#event(msg.msg.event);
        return;
      case 'to': {
        if (msg.to !== this.id || msg.msg.t !== 'reply') return;
        const m = msg.msg;
        const p = this.#pending.get(m.id);
        if (!p) return; // already failed locally (timeout), or not awaited (id -1)
        this.#pending.delete(m.id);
        if (m.ok) this.#track(p.msg, this.leader);
        else if (p.msg.method === 'commit' || p.msg.method === 'rollback') this.#tx = undefined;
        if (m.ok && p.msg.method === 'status') {
          this.#post({ ...m, value: asFollower(m.value) });
          return;
        }
        if (m.id >= 0) this.#post(m);
        return;
      }
      default: return;
    }
  }

  #setLeader(id: string, status: unknown): void {
    if (this.#local || id === this.id) return;
    const previous = this.leader;
    const had = this.#lastStatus !== undefined;
    this.leader = id;
    this.#lastStatus = status;
    this.#firstLeader?.resolve();
    if (previous === id) return;
    this.#watchLeader(id);
    // The page's visibility, then (re)send what is unanswered; after a handover the page's
    // client reads everything afresh from the new leader.
    if (this.#visible !== undefined) {
      const replay: CallMessage = { t: 'call', id: -1, method: 'setVisible', args: [this.#visible] };
      this.#pending.set(-1, { msg: replay, retry: {}, since: Date.now() });
    }
    for (const pid of [...this.#pending.keys()]) this.#send(pid);
    if (had && status) this.#event({ type: 'status', ...(status as object) });
    if (had) this.#event({ type: HOST_REOPENED });
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
        this.#event({ type: 'status', ...(this.#lastStatus as object), connection: 'connecting', handover: true });
      }
      if (this.#pending.size > 0) this.#armTimeout();
    }, stop.signal);
  }
}
