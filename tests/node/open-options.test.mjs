// The open options the engine receives: the signed-in user from the token's `sub` (or given),
// prefetch/retention settings checked, the `import` snapshot and parent keys validated.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const { jwtSubject, jwtExpiryMs, tokenUsable } = await import('../../dist/js/jwt.js');
const { buildEngineOptions, checkImport } = await import('../../dist/js/engine-options.js');
const { resolveOptions } = await import('../../dist/js/options.js');
const { checkKey } = await import('../../dist/js/shapes.js');

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = `${b64({ alg: 'HS256' })}.${b64({ sub: 'alice', exp: 9e9 })}.sig`;

test('a JWT read without verifying: sub and exp, nothing from what is not a JWT', () => {
  assert.equal(jwtSubject(jwt), 'alice');
  assert.equal(jwtExpiryMs(jwt), 9e12);
  assert.equal(jwtSubject('opaque-token'), undefined);
  assert.equal(jwtSubject(`${b64({})}.${b64({ sub: 7 })}.x`), undefined);
  assert.equal(jwtSubject(`${b64({})}.not base64!.x`), undefined);
  assert.equal(tokenUsable(jwt), true);
  assert.equal(tokenUsable(`${b64({})}.${b64({ exp: 1 })}.x`), false);
  assert.equal(tokenUsable('opaque-token'), true);
  assert.equal(tokenUsable(undefined), false);
});

test('engine options: the user from the token unless given, prefetch and retention checked', async () => {
  const build = (options, token) => buildEngineOptions(options, resolveOptions({ storage: ':memory:', ...options }), token);
  const pick = ({ userId, userColumn, prefetchGraceMs, retentionIntervalMs, retentionBatch }) =>
    Object.fromEntries(Object.entries({ userId, userColumn, prefetchGraceMs, retentionIntervalMs, retentionBatch }).filter(([, v]) => v !== undefined));
  assert.deepEqual(pick(await build({}, jwt)), { userId: 'alice' });
  assert.deepEqual(pick(await build({}, 'opaque-token')), {});
  assert.deepEqual(pick(await build({ userId: 'bob', userColumn: 'owner', prefetchGraceMs: 0, retentionIntervalMs: 5, retentionBatch: 10 }, jwt)),
    { userId: 'bob', userColumn: 'owner', prefetchGraceMs: 0, retentionIntervalMs: 5, retentionBatch: 10 });
  for (const bad of [{ userId: '' }, { prefetchGraceMs: -1 }, { retentionIntervalMs: 0 }, { retentionBatch: 1.5 }, { userColumn: 3 }]) {
    await assert.rejects(build(bad, undefined), (e) => e.code === 'invalid_argument', JSON.stringify(bad));
  }
});

test('the import snapshot and parent keys are validated', () => {
  assert.equal(checkImport(undefined), undefined);
  assert.ok(checkImport(new ArrayBuffer(4)) instanceof Uint8Array);
  assert.throws(() => checkImport('x'), (e) => e.code === 'invalid_argument');
  assert.equal(checkKey('t1'), 't1');
  assert.equal(checkKey(7), 7);
  assert.deepEqual(checkKey({ id: 'x' }), { id: 'x' });
  assert.throws(() => checkKey(['a']), (e) => e.code === 'invalid_argument');
  assert.throws(() => checkKey(''), (e) => e.code === 'invalid_argument');
});
