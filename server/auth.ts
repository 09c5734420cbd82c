// HS256 JWT auth with node:crypto. `sub` is the user id. Without a configured secret the server
// runs in dev mode: requests without a token are allowed and see every row, tokens issued by
// POST /v1/token (signed with the dev secret the server keeps in its database, so they outlive
// a restart) restrict to their user as usual. Tokens are read strictly: canonical base64url
// only, `exp` required unless turned off, `aud`/`iss` checked when configured.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface AuthResult { userId: string | null }

export class AuthError extends Error {
  readonly status = 401;
}

export interface Auth {
  readonly dev: boolean;
  /** Verifies the request's bearer token. Throws AuthError. Dev mode without a token → userId null. */
  authenticate(req: IncomingMessage): AuthResult;
  /** Signs a token for `userId` (used by POST /v1/token in dev mode and by tests). */
  issue(userId: string, ttlSeconds?: number): string;
}

const b64url = (b: Buffer) => b.toString('base64url');

export function signJwt(payload: Record<string, unknown>, secret: string): string {
  const head = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const body = b64url(Buffer.from(JSON.stringify(payload)));
  const sig = b64url(createHmac('sha256', secret).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

/** What a token must carry besides a valid signature. */
export interface JwtRules {
  /** Refuse tokens without `exp`. */
  requireExp?: boolean;
  /** When set, `aud` (a string or an array of strings) must contain it. */
  audience?: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
}

/** Decodes one base64url part, refusing every non-canonical spelling (padding, `+/`, stray bits). */
function b64urlPart(s: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new AuthError('malformed token');
  const b = Buffer.from(s, 'base64url');
  if (b64url(b) !== s) throw new AuthError('malformed token');
  return b;
}

function jsonPart(s: string): Record<string, unknown> {
  let v: unknown;
  try { v = JSON.parse(b64urlPart(s).toString('utf8')); } catch (e) {
    if (e instanceof AuthError) throw e;
    throw new AuthError('malformed token');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new AuthError('malformed token');
  return v as Record<string, unknown>;
}

export function verifyJwt(token: string, secret: string, nowSec = Math.floor(Date.now() / 1000), rules: JwtRules = {}): Record<string, unknown> {
  if (token.length > 8192) throw new AuthError('malformed token');
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthError('malformed token');
  const [h, p, s] = parts;
  const header = jsonPart(h);
  if (header.alg !== 'HS256') throw new AuthError('unsupported token algorithm (HS256 required)');
  // The signature must be the canonical base64url of the MAC, character for character.
  const expected = Buffer.from(b64url(createHmac('sha256', secret).update(`${h}.${p}`).digest()));
  const given = Buffer.from(s);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthError('invalid token signature');
  const payload = jsonPart(p);
  const leeway = 5;
  if (payload.exp === undefined && rules.requireExp) throw new AuthError('token has no expiry (exp)');
  if (payload.exp !== undefined && (typeof payload.exp !== 'number' || nowSec > payload.exp + leeway)) throw new AuthError('token expired');
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || nowSec + leeway < payload.nbf)) throw new AuthError('token not yet valid');
  if (rules.audience !== undefined) {
    const aud = payload.aud;
    const ok = aud === rules.audience || (Array.isArray(aud) && aud.includes(rules.audience));
    if (!ok) throw new AuthError('token is not for this audience (aud)');
  }
  if (rules.issuer !== undefined && payload.iss !== rules.issuer) throw new AuthError('token is not from the expected issuer (iss)');
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthError('token has no subject (sub)');
  return payload;
}

export interface AuthOptions extends JwtRules {
  /** HS256 secret. Absent → dev mode. */
  secret?: string | null;
  /**
   * Dev mode only: the secret dev tokens are signed with (kept by the server so its tokens
   * outlive a restart). Default: a random one per process.
   */
  devSecret?: string;
}

export function createAuth(opts: AuthOptions = {}): Auth {
  const dev = !opts.secret;
  const secret = opts.secret || opts.devSecret || randomBytes(32).toString('hex');
  // Production tokens must expire unless the operator says otherwise; dev tokens always do.
  const rules: JwtRules = { requireExp: opts.requireExp ?? !dev, audience: opts.audience, issuer: opts.issuer };
  return {
    dev,
    authenticate(req) {
      const h = req.headers.authorization;
      if (!h) {
        if (dev) return { userId: null };
        throw new AuthError('missing Authorization: Bearer token');
      }
      const m = /^Bearer\s+(\S+)$/i.exec(h);
      if (!m) throw new AuthError('Authorization header must be "Bearer <token>"');
      const payload = verifyJwt(m[1], secret, undefined, rules);
      return { userId: payload.sub as string };
    },
    issue(userId, ttlSeconds = 24 * 3600) {
      const now = Math.floor(Date.now() / 1000);
      return signJwt({ sub: userId, iat: now, exp: now + ttlSeconds }, secret);
    },
  };
}

export const DEV_WARNING = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!!  WARNING: no --auth-secret / AUTH_SECRET given: running in DEV AUTH MODE.  !!',
  '!!  Requests without a token can read and write EVERY user\'s rows, and      !!',
  '!!  POST /v1/token hands out tokens for any user id. Never expose this.     !!',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n');
