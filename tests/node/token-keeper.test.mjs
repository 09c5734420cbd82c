// TokenKeeper and syncNow's wait without a server: how a failing token function is classified
// and retried, when a token is usable, and how long syncNow waits on a status error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jwtExpiryMs, tokenUsable } from '../../dist/js/jwt.js';
import { TokenKeeper, classifyTokenError } from '../../dist/js/token-keeper.js';
import { SYNC_FAILURE_GRACE_MS, waitForSync } from '../../dist/js/sync-wait.js';
import { ElectroliteError } from '../../dist/js/index.js';
import { signToken } from './client-harness.mjs';

const FAST = { initialMs: 20, maxMs: 80, multiplier: 2 };

test('a token is usable until its exp; a token without exp always', () => {
  const now = Date.now();
  const live = signToken('s', 'u', { expiresInSec: 60, now });
  const dead = signToken('s', 'u', { expiresInSec: -1, now });
  assert.equal(jwtExpiryMs(live), Math.floor(now / 1000) * 1000 + 60000);
  assert.equal(tokenUsable(live, now), true);
  assert.equal(tokenUsable(dead, now), false);
  assert.equal(tokenUsable('opaque-token', now), true);
  assert.equal(tokenUsable(undefined, now), false);
});

test('failures are `auth` when refused, else `unreachable`', () => {
  assert.equal(classifyTokenError(new TypeError('fetch failed')).code, 'unreachable');
  assert.equal(classifyTokenError(new TypeError('Failed to fetch')).code, 'unreachable');
  assert.equal(classifyTokenError(new Error('POST /v1/token: HTTP 401 {"message":"no"}')).code, 'auth');
  assert.equal(classifyTokenError(new Error('Forbidden')).code, 'auth');
  assert.equal(classifyTokenError(Object.assign(new Error('nope'), { status: 403 })).code, 'auth');
  assert.equal(classifyTokenError(new ElectroliteError('auth', 'signed out')).code, 'auth');
  assert.match(classifyTokenError('boom').message, /token function failed: boom/);
});

test('a failing function is retried with backoff until it works; fetch never rejects', async () => {
  let calls = 0;
  const applied = [];
  const problems = [];
  const keeper = new TokenKeeper(async () => {
    calls++;
    if (calls < 4) throw new TypeError('fetch failed');
    return 'tok';
  }, FAST, { apply: async (t) => { applied.push(t); }, problem: (p) => problems.push(p) });
  try {
    assert.equal(await keeper.fetch(), undefined);
    const deadline = Date.now() + 3000;
    while (applied.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(applied, ['tok']);
    assert.equal(calls, 4);
    assert.equal(keeper.current, 'tok');
    assert.deepEqual(problems.map((p) => p?.code ?? null), ['unreachable', 'unreachable', 'unreachable', null]);
  } finally {
    keeper.stop();
  }
});

test('one call at a time; stop() ends the retries', async () => {
  let calls = 0;
  let release;
  const keeper = new TokenKeeper(() => { calls++; return new Promise((r) => (release = r)); }, FAST, { apply: async () => {}, problem: () => {} });
  const a = keeper.fetch();
  const b = keeper.fetch();
  assert.equal(a, b);
  release('t1');
  assert.equal(await a, 't1');
  assert.equal(calls, 1);
  let failing = 0;
  const stopped = new TokenKeeper(async () => { failing++; throw new Error('down'); }, FAST, { apply: async () => {}, problem: () => {} });
  await stopped.fetch();
  stopped.stop();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(failing, 1);
  keeper.stop();
});

function statusSource(initial) {
  let current = initial;
  const listeners = new Set();
  return {
    get: () => current,
    on: (cb) => { listeners.add(cb); return () => listeners.delete(cb); },
    set(next) { current = { ...current, ...next }; for (const l of [...listeners]) l(current); },
  };
}
const BASE = { isUpToDate: false, pendingChanges: 1, sync: 'syncing', network: 'online', error: null };

test('syncNow\'s wait: resolves when up to date, rejects at once offline, after the grace period on a lasting error', async () => {
  let s = statusSource(BASE);
  let p = waitForSync(s.get, s.on, 10000);
  s.set({ isUpToDate: true, pendingChanges: 0, sync: 'idle' });
  assert.equal((await p).isUpToDate, true);

  s = statusSource({ ...BASE, network: 'offline' });
  const t0 = Date.now();
  await assert.rejects(waitForSync(s.get, s.on, 10000), (e) => e.code === 'offline');
  assert.ok(Date.now() - t0 < 100);

  // An error that clears within the grace period is not the answer.
  s = statusSource(BASE);
  p = waitForSync(s.get, s.on, 10000);
  s.set({ error: { code: 'unreachable', message: 'refused' } });
  await new Promise((r) => setTimeout(r, SYNC_FAILURE_GRACE_MS / 2));
  s.set({ error: null });
  s.set({ isUpToDate: true, pendingChanges: 0, sync: 'idle' });
  assert.equal((await p).pendingChanges, 0);

  // One that lasts is.
  s = statusSource(BASE);
  const t1 = Date.now();
  p = waitForSync(s.get, s.on, 10000);
  s.set({ error: { code: 'server_error', message: 'HTTP 503', count: 2 } });
  await assert.rejects(p, (e) => e instanceof ElectroliteError && e.code === 'server_error' && e.details.status.error.count === 2);
  const ms = Date.now() - t1;
  assert.ok(ms >= SYNC_FAILURE_GRACE_MS - 10 && ms < SYNC_FAILURE_GRACE_MS + 500, `${ms} ms`);

  s = statusSource(BASE);
  await assert.rejects(waitForSync(s.get, s.on, 50), (e) => e.code === 'timeout');
});
