// The bearer token the engine host sends, and which refusals of it the client must hear of:
// a 401/403 to a request that carried the current token is an `auth-rejected` event
// (`tokenWasAccepted`: whether that token ever worked), so the client can ask its token
// function for a new one; a refusal of a request sent with an older token is stale.

import type { EngineRequest } from './transport.js';

export type AuthRejected = {
  type: 'auth-rejected';
  status: number;
  kind: EngineRequest['kind'];
  tokenWasAccepted: boolean;
};

export class HostToken {
  #token: string | undefined;
  #accepted = false;

  /** The token requests carry (undefined: none). */
  get current(): string | undefined {
    return this.#token;
  }

  /** A new token ('' = none). */
  set(token: string): void {
    if (token !== this.#token) this.#accepted = false;
    this.#token = token === '' ? undefined : token;
  }

  /**
   * The answer `status` to `req`: the event to report (a refusal of the current token), and
   * whether it was a refusal of an older token (stale: the engine must be handed the current
   * one again).
   */
  note(req: EngineRequest, status: number): { rejected?: AuthRejected; stale: boolean } {
    if (this.#token === undefined) return { stale: false };
    // An upload's 403 refuses a mutation (the engine rejects it), not the token.
    const refused = status === 401 || (status === 403 && req.kind !== 'upload');
    const auth = req.headers['authorization'] ?? req.headers['Authorization'];
    if (auth !== `Bearer ${this.#token}`) return { stale: refused };
    if (status >= 200 && status < 400) this.#accepted = true;
    else if (refused) return { rejected: { type: 'auth-rejected', status, kind: req.kind, tokenWasAccepted: this.#accepted }, stale: false };
    return { stale: false };
  }
}
