// ElectricProvider's configuration: props win, ELECTRIC_* environment variables fill the gaps
// (also the NEXT_PUBLIC_* names bundlers expose), ELECTRIC_DEBUG parsed as a boolean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readElectricEnv, resolveConfig } from '../../dist/react/index.js';

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
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const CLEAR = {
  ELECTRIC_URL: undefined, ELECTRIC_AUTH_TOKEN: undefined, ELECTRIC_DEBUG: undefined,
  NEXT_PUBLIC_ELECTRIC_URL: undefined, NEXT_PUBLIC_ELECTRIC_AUTH_TOKEN: undefined, NEXT_PUBLIC_ELECTRIC_DEBUG: undefined,
};

test('the environment fills what the props leave out', () => {
  withEnv({ ...CLEAR, ELECTRIC_URL: 'ws://localhost:5133', ELECTRIC_AUTH_TOKEN: 'tok', ELECTRIC_DEBUG: 'true' }, () => {
    assert.deepEqual(resolveConfig({}), { url: 'ws://localhost:5133', token: 'tok', debug: true });
    const fn = () => 'fresh';
    assert.deepEqual(resolveConfig({ url: 'http://a:1', token: fn, debug: false, batchSize: 10 }),
      { url: 'http://a:1', token: fn, debug: false, batchSize: 10 });
  });
});

test('NEXT_PUBLIC_* names are read when the plain ones are absent; nothing set → nothing filled', () => {
  withEnv({ ...CLEAR, NEXT_PUBLIC_ELECTRIC_URL: 'http://next:5133', NEXT_PUBLIC_ELECTRIC_DEBUG: '0' }, () => {
    assert.deepEqual(readElectricEnv(), { url: 'http://next:5133', token: undefined, debug: '0' });
    assert.deepEqual(resolveConfig({}), { url: 'http://next:5133', debug: false });
  });
  withEnv(CLEAR, () => assert.deepEqual(resolveConfig({}), {}));
});

test('ids are v4 UUIDs also where crypto.randomUUID is missing (insecure origins)', async () => {
  const { newId } = await import('../../dist/react/rows.js');
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(newId(), v4);
  const original = globalThis.crypto.randomUUID;
  globalThis.crypto.randomUUID = undefined;
  try {
    const ids = new Set(Array.from({ length: 1000 }, () => newId()));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, v4);
  } finally {
    globalThis.crypto.randomUUID = original;
  }
});
