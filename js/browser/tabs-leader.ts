// The leader's side of multi-tab (tabs-protocol.ts): the worker that holds the database's
// Web Lock answers the other tabs' host calls over the BroadcastChannel with its own engine
// and sends the engine's events to all of them (each tab's client runs its own live queries
// from them). When a tab's worker ends (its tab lock is released), its open transaction
// rolls back and its visibility no longer counts.

import type { CallMessage, FromWorker } from './protocol.js';
import {
  channelName, tabLockName, whenReleased, type FromLeader, type RetryInfo, type TabMessage,
} from './tabs-protocol.js';

/** The worker's engine host, serving one owner's messages (`''` = this worker's own page). */
export interface LocalServer {
  serve(msg: CallMessage, reply: (m: FromWorker) => void, owner: string, retry?: RetryInfo): void;
  /** Drops what `owner` left behind: its open transaction, its visibility. */
  forget(owner: string): void;
  /** The current status, as the leader's page sees it. */
  status(): unknown;
}

export class TabLeader {
  readonly id: string;
  #channel: BroadcastChannel;
  #server: LocalServer;
  #database: string;
  #known = new Set<string>();
  #stop = new AbortController();

  constructor(database: string, tabId: string, server: LocalServer) {
    this.id = tabId;
    this.#database = database;
    this.#server = server;
    this.#channel = new BroadcastChannel(channelName(database));
    this.#channel.onmessage = (e: MessageEvent<TabMessage>) => this.#onMessage(e.data);
    this.#announce();
  }

  /** The engine's events go to every follower as well. */
  broadcast(msg: FromWorker): void {
    this.#send({ k: 'all', msg });
  }

  close(): void {
    this.#stop.abort();
    this.#channel.close();
  }

  #announce(): void {
    this.#send({ k: 'leader', id: this.id, status: this.#server.status() });
  }

  #send(msg: FromLeader): void {
    try {
      this.#channel.postMessage(msg);
    } catch {
      // closed channel (the leader is shutting down): followers retry with the next leader
    }
  }

  #onMessage(msg: TabMessage): void {
    switch (msg.k) {
      case 'hello': this.#announce(); return;
      case 'leave': this.#forget(msg.from); return;
      case 'req': {
        if (msg.to !== this.id) return; // meant for a previous leader; the tab sends it again
        this.#watch(msg.from);
        const to = msg.from;
        this.#server.serve(msg.msg, (m) => this.#send({ k: 'to', to, msg: m }), to, msg.retry);
        return;
      }
      default: return; // another leader's messages (a leader that lost its lock is closing)
    }
  }

  /** First request of a tab: clean up after it once its worker is gone. */
  #watch(tabId: string): void {
    if (this.#known.has(tabId)) return;
    this.#known.add(tabId);
    whenReleased(tabLockName(this.#database, tabId), () => this.#forget(tabId), this.#stop.signal);
  }

  #forget(tabId: string): void {
    this.#known.delete(tabId);
    this.#server.forget(tabId);
  }
}
