// HS256 JWT auth with node:crypto. `sub` is the user id. Without a configured secret the server
// runs in dev mode: requests without a token are allowed and see every row, tokens issued by
// POST /v1/token (signed with a per-process random secret) restrict to their user as usual.
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

export function verifyJwt(token: string, secret: string, nowSec = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthError('malformed token');
  const [h, p, s] = parts;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    throw new AuthError('malformed token');
  }
  if (!header || header.alg !== 'HS256') throw new AuthError('unsupported token algorithm (HS256 required)');
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthError('invalid token signature');
  if (!payload || typeof payload !== 'object') throw new AuthError('malformed token');
  const leeway = 5;
  if (payload.exp !== undefined && (typeof payload.exp !== 'number' || nowSec > payload.exp + leeway)) throw new AuthError('token expired');
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || nowSec + leeway < payload.nbf)) throw new AuthError('token not yet valid');
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthError('token has no subject (sub)');
  return payload;
}

export interface AuthOptions {
  /** HS256 secret. Absent → dev mode. */
  secret?: string | null;
}

export function createAuth(opts: AuthOptions = {}): Auth {
  const dev = !opts.secret;
  const secret = opts.secret || randomBytes(32).toString('hex');
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
      const payload = verifyJwt(m[1], secret);
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
