// The transport's content decoding (js/content-decoding.ts): encodings still on the body are
// removed (by magic bytes, not by the header alone), bodies fetch already decoded are kept,
// undecodable ones fail clearly; zstd goes through the engine's own decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { gzipSync, brotliCompressSync, deflateSync } from 'node:zlib';
import { decodeBody, ContentDecodingError } from '../../dist/js/content-decoding.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';

const json = Buffer.from(JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ headers: { operation: 'insert' }, key: `k${i}` }))));

test('each encoding is removed, and a body fetch already decoded is kept as it is', async () => {
  const m = await loadEngineModule();
  const zstd = (b) => {
    const r = m.zstdDecompress(b);
    if (typeof r === 'string') throw new Error(r);
    return new Uint8Array(r);
  };
  const encoded = {
    gzip: gzipSync(json),
    deflate: deflateSync(json),
    br: brotliCompressSync(json),
    zstd: execFileSync('zstd', ['-q', '-c'], { input: json }),
  };
  for (const [enc, body] of Object.entries(encoded)) {
    const r = decodeBody({ 'content-encoding': enc }, new Uint8Array(body), zstd);
    assert.deepEqual(Buffer.from(r.body), json, enc);
    assert.deepEqual(r.decoded, [enc]);
    assert.equal(r.wireBytes, body.length);
    // fetch decoded it already: kept, the wire size comes from Content-Length.
    const kept = decodeBody({ 'content-encoding': enc, 'content-length': String(body.length) }, new Uint8Array(json), zstd);
    assert.equal(kept.body.length, json.length, `${enc} kept`);
    assert.deepEqual(kept.decoded, []);
    assert.equal(kept.wireBytes, body.length);
  }
  // Stacked encodings are removed last-applied first.
  const both = gzipSync(execFileSync('zstd', ['-q', '-c'], { input: json }));
  assert.deepEqual(Buffer.from(decodeBody({ 'content-encoding': 'zstd, gzip' }, new Uint8Array(both), zstd).body), json);
});

test('undecodable bodies fail with a clear error', () => {
  const brokenGzip = gzipSync(json).subarray(0, 40);
  assert.throws(() => decodeBody({ 'content-encoding': 'gzip' }, new Uint8Array(brokenGzip)), /unexpected end|incorrect|invalid/i);
  assert.throws(() => decodeBody({ 'content-encoding': 'br' }, new Uint8Array([0xff, 0xff, 0xff, 0xff])), ContentDecodingError);
  assert.throws(() => decodeBody({ 'content-encoding': 'compress' }, new Uint8Array([0x1f, 0x9d, 0x90])), /not supported/);
  const zstdBody = execFileSync('zstd', ['-q', '-c'], { input: json });
  assert.throws(() => decodeBody({ 'content-encoding': 'zstd' }, new Uint8Array(zstdBody)), /no zstd decoder/);
  assert.equal(decodeBody({}, new Uint8Array(json)).body.length, json.length);
});

test('issue-7 options: userId from the JWT sub, validation of the new options', async () => {
  const { jwtSubject, extraEngineOptions, checkImport, checkKey } = await import('../../dist/js/extras.js');
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${b64({ alg: 'HS256' })}.${b64({ sub: 'alice', exp: 9e9 })}.sig`;
  assert.equal(jwtSubject(jwt), 'alice');
  assert.equal(jwtSubject('opaque-token'), undefined);
  assert.equal(jwtSubject(`${b64({})}.${b64({ sub: 7 })}.x`), undefined);
  assert.deepEqual(extraEngineOptions({}, jwt), { userId: 'alice' });
  assert.deepEqual(extraEngineOptions({ userId: 'bob', prefetchGraceMs: 0, retentionIntervalMs: 5, retentionBatch: 10 }, jwt),
    { userId: 'bob', prefetchGraceMs: 0, retentionIntervalMs: 5, retentionBatch: 10 });
  for (const bad of [{ userId: '' }, { prefetchGraceMs: -1 }, { retentionIntervalMs: 0 }, { retentionBatch: 1.5 }, { userColumn: 3 }]) {
    assert.throws(() => extraEngineOptions(bad, undefined), (e) => e.code === 'invalid_argument', JSON.stringify(bad));
  }
  assert.equal(checkImport(undefined), undefined);
  assert.ok(checkImport(new ArrayBuffer(4)) instanceof Uint8Array);
  assert.throws(() => checkImport('x'), (e) => e.code === 'invalid_argument');
  assert.equal(checkKey('t1'), 't1');
  assert.deepEqual(checkKey({ id: 'x' }), { id: 'x' });
  assert.throws(() => checkKey(['a']), (e) => e.code === 'invalid_argument');
  assert.throws(() => checkKey(''), (e) => e.code === 'invalid_argument');
});
