// The SSE wire parser fed whole, byte by byte and with CRLF line breaks; the official client's
// fall-back rule with time and randomness as arguments; the resume offset after a batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../../dist/js/sse-events.js';
import { SseFallback, offsetAfterBatch, SSE_MIN_CONNECTION_MS } from '../../dist/js/sse-live.js';

const STREAM =
  'data: {"key":"a","value":{"id":"1"},"headers":{"operation":"insert"}}\n\n' +
  ': keep-alive\n\n' +
  'event: message\nid: 7\ndata: {"x":\ndata: 1}\n\n' +
  'data:{"headers":{"control":"up-to-date","global_last_seen_lsn":"42"}}\n\n' +
  'data: partial';
const EXPECTED = [
  { kind: 'data', data: '{"key":"a","value":{"id":"1"},"headers":{"operation":"insert"}}' },
  { kind: 'comment', text: 'keep-alive' },
  { kind: 'data', data: '{"x":\n1}' },
  { kind: 'data', data: '{"headers":{"control":"up-to-date","global_last_seen_lsn":"42"}}' },
];

test('SseParser: whole, byte by byte, CRLF, multi-byte UTF-8 split across chunks; a partial event is held', () => {
  const bytes = new TextEncoder().encode(STREAM);
  assert.deepEqual(new SseParser().push(bytes), EXPECTED);
  const p = new SseParser();
  const out = [];
  for (const b of bytes) out.push(...p.push(Uint8Array.of(b)));
  assert.deepEqual(out, EXPECTED);
  const crlf = new TextEncoder().encode(STREAM.replace(/\n/g, '\r\n'));
  const q = new SseParser();
  const out2 = [];
  for (const b of crlf) out2.push(...q.push(Uint8Array.of(b)));
  assert.deepEqual(out2, EXPECTED);
  const utf = new TextEncoder().encode('data: "héllo ✓"\n\n');
  const r = new SseParser();
  const out3 = [];
  for (const b of utf) out3.push(...r.push(Uint8Array.of(b)));
  assert.deepEqual(out3, [{ kind: 'data', data: '"héllo ✓"' }]);
  // The held partial event completes with the next chunk.
  assert.deepEqual(p.push(new TextEncoder().encode('\n\n')), [{ kind: 'data', data: 'partial' }]);
});

test('SseFallback: three short streams in a row fall back; a long one resets the count; 409 re-enables', () => {
  const f = new SseFallback();
  const short = SSE_MIN_CONNECTION_MS - 1;
  const a = f.closed(short, false, () => 0.999);
  assert.deepEqual([a.fellBack, a.waitMs <= 200], [false, true]); // random(0, min(5000, 100·2^1))
  assert.ok(a.waitMs >= 190);
  f.closed(SSE_MIN_CONNECTION_MS, false); // a stream that lived: count back to 0
  assert.equal(f.shortConnections, 0);
  f.closed(short, false, () => 0);
  const b = f.closed(short, false, () => 0.5);
  assert.equal(b.waitMs, 200); // 0.5 · min(5000, 100·2^2)
  assert.equal(f.longPolling, false);
  const c = f.closed(short, false);
  assert.deepEqual([c.fellBack, f.longPolling], [true, true]);
  assert.equal(f.closed(short, true).fellBack, false, 'an aborted stream is not counted');
  f.reset();
  assert.deepEqual([f.longPolling, f.shortConnections], [false, 0]);
});

test('offsetAfterBatch: `${global_last_seen_lsn}_0`, never backwards, kept without an LSN', () => {
  assert.equal(offsetAfterBatch('0_inf', '1234'), '1234_0');
  assert.equal(offsetAfterBatch('1234_5', '1234'), '1234_5');
  assert.equal(offsetAfterBatch('1300_0', '1234'), '1300_0');
  assert.equal(offsetAfterBatch('12_3', ''), '12_3');
  assert.equal(offsetAfterBatch('12_3', 'x'), '12_3');
  assert.equal(offsetAfterBatch('18446744073709551615_0', '18446744073709551616'), '18446744073709551616_0');
});
