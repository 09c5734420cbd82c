// Option resolution, env fallbacks, the ws:// mapping and the error class of the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions, normalizeUrl, readEnv } from '../../dist/js/options.js';
import { ElectroliteError, unwrap } from '../../dist/js/errors.js';
import { ElectroliteError as Exported } from '../../dist/js/index.js';

function withEnv(vars, fn) {
  const saved = {};
  for (const k of Object.keys(vars)) {
    saved[k] = process.env[k];
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
  try {
    return fn();
  } finally {
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

test('defaults: batch 100, upload interval 5 s, backoff 1s..32s x2, live watchdog > 20 s', () => {
  const o = withEnv({ ELECTRIC_DEBUG: undefined, ELECTRIC_AUTH_TOKEN: undefined, ELECTRIC_LIVE_SSE: undefined }, () => resolveOptions({ url: 'http://localhost:5133' }));
  assert.equal(o.url, 'http://localhost:5133');
  assert.equal(o.batchSize, 100);
  assert.equal(o.uploadIntervalMs, 5000);
  assert.deepEqual(o.backoff, { initialMs: 1000, maxMs: 32000, multiplier: 2 });
  assert.ok(o.liveTimeoutMs > 20000);
  assert.equal(o.debug, false);
  assert.equal(o.liveSse, false);
  assert.equal(o.storage, ':memory:');
  assert.equal(o.token, undefined);
  assert.match(o.clientId, /^[0-9a-f-]{36}$/);
});

test('ELECTRIC_URL, ELECTRIC_AUTH_TOKEN and ELECTRIC_DEBUG are the fallbacks', () => {
  const o = withEnv({ ELECTRIC_URL: 'https://sync.example.com/', ELECTRIC_AUTH_TOKEN: 'tok', ELECTRIC_DEBUG: 'true' }, () => resolveOptions({}));
  assert.equal(o.url, 'https://sync.example.com');
  assert.equal(o.token, 'tok');
  assert.equal(o.debug, true);
  // explicit options win over the environment
  const p = withEnv({ ELECTRIC_URL: 'http://env:1', ELECTRIC_DEBUG: 'true' }, () => resolveOptions({ url: 'http://opt:2', debug: false }));
  assert.equal(p.url, 'http://opt:2');
  assert.equal(p.debug, false);
  assert.equal(withEnv({ ELECTRIC_LIVE_SSE: 'true' }, () => resolveOptions({ url: 'http://x' })).liveSse, true);
  assert.equal(withEnv({ ELECTRIC_LIVE_SSE: 'true' }, () => resolveOptions({ url: 'http://x', liveSse: false })).liveSse, false);
});

test('a legacy ws:// URL maps to http:// with a warning', () => {
  const r = normalizeUrl('ws://localhost:5133');
  assert.equal(r.url, 'http://localhost:5133');
  assert.match(r.warning, /legacy WebSocket scheme/);
  assert.equal(normalizeUrl('wss://h.example:443/base').url, 'https://h.example/base');
  const o = resolveOptions({ url: 'ws://localhost:5133' });
  assert.equal(o.url, 'http://localhost:5133');
  assert.equal(o.warnings.length, 1);
});

test('bad input gets a clear invalid_argument error', () => {
  const cases = [
    [{ url: 'not a url' }, /url: not a valid URL/],
    [{ url: 'ftp://x' }, /unsupported scheme/],
    [{ url: 'http://x', batchSize: 0 }, /batchSize/],
    [{ url: 'http://x', batchSize: 1.5 }, /batchSize/],
    [{ url: 'http://x', uploadIntervalMs: -1 }, /uploadIntervalMs/],
    [{ url: 'http://x', backoff: { initialMs: 5000, maxMs: 10 } }, /backoff.maxMs/],
    [{ url: 'http://x', backoff: { multiplier: 0.5 } }, /multiplier/],
    [{ url: 'http://x', liveTimeoutMs: 20000 }, /must exceed/],
    [{ url: 'http://x', token: 42 }, /token/],
    [{ url: 'http://x', storage: '' }, /storage/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(() => resolveOptions(opts), (err) => {
      assert.ok(err instanceof ElectroliteError, `${JSON.stringify(opts)} threw ${err}`);
      assert.equal(err.code, 'invalid_argument');
      assert.equal(err.name, 'ElectroliteError');
      assert.match(err.message, re);
      return true;
    });
  }
  // No url and no ELECTRIC_URL is not an error: the database is local-only.
  withEnv({ ELECTRIC_URL: undefined }, () => assert.equal(resolveOptions({}).url, undefined));
  assert.throws(() => resolveOptions({ url: 42 }), /url: expected a string/);
});

test('readEnv does not need process (browser-safe access)', () => {
  const saved = globalThis.process;
  try {
    Object.defineProperty(globalThis, 'process', { value: undefined, configurable: true, writable: true });
    assert.equal(readEnv('ELECTRIC_URL'), undefined);
  } finally {
    Object.defineProperty(globalThis, 'process', { value: saved, configurable: true, writable: true });
  }
});

test('ElectroliteError: stable code and name, survives a structured clone as data', () => {
  assert.equal(Exported, ElectroliteError);
  const e = new ElectroliteError('storage_full', 'quota exceeded', { details: { table: 'tasks' } });
  assert.equal(e.name, 'ElectroliteError');
  assert.equal(e.code, 'storage_full');
  const copy = ElectroliteError.fromJSON(structuredClone(e.toJSON()));
  assert.ok(copy instanceof ElectroliteError);
  assert.deepEqual(copy.toJSON(), e.toJSON());
  assert.equal(new ElectroliteError('bogus', 'x').code, 'internal');
  assert.throws(() => unwrap('{"ok":false,"code":"read_only","message":"workflows is read-only"}', 'insert'), (err) =>
    err instanceof ElectroliteError && err.code === 'read_only' && err.message === 'workflows is read-only');
  assert.throws(() => unwrap('not json', 'query'), (err) => err.code === 'internal' && /invalid JSON/.test(err.message));
  assert.deepEqual(unwrap('{"ok":true,"changes":2}', 'exec'), { ok: true, changes: 2 });
});
