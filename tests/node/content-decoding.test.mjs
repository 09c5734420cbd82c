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
