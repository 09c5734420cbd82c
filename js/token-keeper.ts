// The token function, kept off the open path: the database opens from local data at once and
// the function runs in the background. Its failures become a status problem (`auth` when it
// was refused, else `unreachable`) and are retried with full-jitter backoff; the last good
// token stays in use while it is valid (not past its `exp`). A token is also fetched again
// shortly before it expires. This is the one place that decides whether a token the server
// refused is worth asking the function again for (rejected()); the engine host only reports
// the refusals of the current token and whether that token ever worked.

import { resolveToken } from './client-args.js';
import { ElectroliteError } from './errors.js';
import type { HostPort } from './host-port.js';
import { jwtExpiryMs, tokenUsable } from './jwt.js';

export interface TokenProblem {
  code: 'auth' | 'unreachable';
  message: string;
}

export interface TokenKeeperHooks {
  /** Hands a new token to the engine. */
  apply(token: string): Promise<void>;
  /** The function's state changed: null once it works again. */
  problem(p: TokenProblem | null): void;
  log?(line: string): void;
}

export interface TokenBackoff {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/** How long before `exp` a token is fetched again. */
const REFRESH_BEFORE_EXP_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

// The last good token, kept on the device in its own table: never in db.export() snapshots
// (src/snapshot_export.cc skips it), gone with db.clear().
const SECRETS_DDL = 'CREATE TABLE IF NOT EXISTS _el_secrets (key TEXT PRIMARY KEY, value TEXT)';
const TOKEN_KEY = 'lastToken';

/** The saved token, or undefined (none yet, or unreadable). */
export async function savedToken(port: HostPort): Promise<string | undefined> {
  try {
    const r = await port.call('query', 'SELECT value FROM _el_secrets WHERE key = ?', [TOKEN_KEY]);
    const v = r.rows[0]?.[0];
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    return undefined; // no table yet
  }
}

/** Keeps `token` for the next open. REQUIRES: a split build's second part is in (a write). */
export async function saveToken(port: HostPort, token: string): Promise<void> {
  await port.call('exec', SECRETS_DDL, []);
  await port.call('exec', 'INSERT OR REPLACE INTO _el_secrets (key, value) VALUES (?, ?)', [TOKEN_KEY, token]);
}

/** `auth` when the token endpoint refused (401/403, an `auth` ElectroliteError); else `unreachable`. */
export function classifyTokenError(err: unknown): TokenProblem {
  const message = `token function failed: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof ElectroliteError) {
    if (err.code === 'auth') return { code: 'auth', message };
    if (err.code === 'invalid_argument') return { code: 'auth', message };
  }
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 401 || status === 403) return { code: 'auth', message };
  if (/\b40[13]\b|unauthori[sz]ed|forbidden/i.test(message)) return { code: 'auth', message };
  return { code: 'unreachable', message };
}

export class TokenKeeper {
  /** The token in use (undefined: none yet). */
  current: string | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<string | undefined> | undefined;
  private stopped = false;
  /** The current token came from a refresh after a refusal (so a second refusal is final). */
  private fromRefresh = false;
  private refreshing = false;

  constructor(
    private readonly fn: () => string | Promise<string>,
    private readonly backoff: TokenBackoff,
    private readonly hooks: TokenKeeperHooks,
  ) {}

  /**
   * Asks the function for a token now (one call at a time). Resolves with the new token, or
   * undefined when the call failed (then it is retried with backoff) or returned none.
   * Never rejects.
   */
  fetch(): Promise<string | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    if (this.running) return this.running;
    this.clearTimer();
    const run = this.once();
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = undefined;
    });
    return run;
  }

  /**
   * The server refused the current token (401/403): the function is asked once for a new
   * one, and the engine resumes from the same offset. If the refreshed token is refused too
   * before it ever worked, the engine's auth error stays in the status (until the function
   * gives another token on its own schedule, or syncNow). A failing function is retried with
   * backoff.
   */
  async rejected(tokenWasAccepted: boolean): Promise<void> {
    if (this.stopped || this.refreshing) return;
    if (this.fromRefresh && !tokenWasAccepted) {
      this.hooks.log?.('the refreshed token was refused too; waiting for the app');
      return;
    }
    this.refreshing = true;
    try {
      const token = await this.fetch();
      this.hooks.log?.(token ? 'token refreshed after an auth error' : 'no new token after an auth error');
      if (token) this.fromRefresh = true;
    } finally {
      this.refreshing = false;
    }
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  private async once(): Promise<string | undefined> {
    let token: string | undefined;
    try {
      token = await resolveToken(this.fn);
    } catch (err) {
      if (this.stopped) return undefined;
      const problem = classifyTokenError(err);
      this.hooks.log?.(`${problem.message} (${problem.code}); ${this.current && tokenUsable(this.current) ? 'the last token stays in use' : 'no usable token'}`);
      this.hooks.problem(problem);
      this.retryLater();
      return undefined;
    }
    if (this.stopped) return undefined;
    this.attempt = 0;
    this.hooks.problem(null);
    if (token === undefined) {
      this.hooks.log?.('token function returned no token');
      if (this.current === undefined) await this.hooks.apply('');
      return undefined;
    }
    this.current = token;
    await this.hooks.apply(token);
    this.refreshBeforeExpiry(token);
    return token;
  }

  private retryLater(): void {
    this.attempt++;
    const { initialMs, maxMs, multiplier } = this.backoff;
    const cap = Math.min(maxMs, initialMs * multiplier ** Math.min(this.attempt - 1, 30));
    // Full jitter with a floor of a tenth of the cap, so a failing endpoint is not hammered.
    const delay = Math.max(cap / 10, Math.random() * cap);
    this.arm(delay);
  }

  private refreshBeforeExpiry(token: string): void {
    const exp = jwtExpiryMs(token);
    if (exp === undefined) return;
    this.arm(Math.max(1000, exp - REFRESH_BEFORE_EXP_MS - Date.now()));
  }

  private arm(delayMs: number): void {
    this.clearTimer();
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.fetch();
    }, Math.min(MAX_TIMER_MS, delayMs));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
