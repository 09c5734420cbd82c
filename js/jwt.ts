// What the client reads from a JWT without verifying it (the server verifies): its `exp`, to
// know when to fetch a new token, and its `sub`, the signed-in user the engine checks rows
// against. A token that is not a readable JWT has neither.

/** The `exp` claim of a JWT in ms since the epoch, or undefined (not a JWT, no exp). */
export function jwtExpiryMs(token: string | undefined): number | undefined {
  const claims = jwtClaims(token);
  return typeof claims?.exp === 'number' ? claims.exp * 1000 : undefined;
}

/** Whether `token` can still be used at `now`: not past its `exp` (a token without one: yes). */
export function tokenUsable(token: string | undefined, now = Date.now()): boolean {
  if (!token) return false;
  const exp = jwtExpiryMs(token);
  return exp === undefined || exp > now;
}

function jwtClaims(token: string | undefined): { exp?: unknown; sub?: unknown } | undefined {
  if (!token) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const b64 = parts[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const text = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(text) as unknown;
    return claims !== null && typeof claims === 'object' ? (claims as { exp?: unknown; sub?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** The `sub` claim of a JWT, or undefined when the token is not a readable JWT. */
export function jwtSubject(token: string | undefined): string | undefined {
  const sub = jwtClaims(token)?.sub;
  return typeof sub === 'string' && sub !== '' ? sub : undefined;
}
