// limitLivePolls (js/browser/connection-limit.ts) over Node's fetch against a real HTTP server
// that holds live long-polls: at most `maxLive` polls per origin reach the server as live
// polls, uploads and other requests never wait behind them, a poll without a slot goes out
// as a short poll (no live, no cursor) after parking, and an aborted parked poll is dropped
// with the abort reason. An event stream (live_sse) holds its slot until its body ends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { limitLivePolls } from '../../dist/js/browser/connection-limit.js';

let held = 0;
let maxHeld = 0;
const releases = [];
const shortPolls = [];
const streams = [];
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.searchParams.get('live_sse') === 'true') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"headers":{"control":"up-to-date"}}\n\n');
    streams.push(res);
    return;
  }
  if (u.searchParams.get('live') === 'true') {
    held++;
    maxHeld = Math.max(maxHeld, held);
    releases.push(() => { held--; res.end('[]'); });
    return;
  }
  if (u.pathname === '/v1/shape') shortPolls.push(u);
  res.end('ok');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
after(() => { server.closeAllConnections(); server.close(); });

const until = async (pred) => {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pred());
};

test('live polls are capped per origin; uploads pass at once; polls without a slot go out short after parking', async () => {
  const f = limitLivePolls((input, init) => fetch(input, init), { maxLive: 3, parkMs: 100 });
  const polls = [];
  for (let i = 0; i < 5; i++) polls.push(f(`${base}/v1/shape?table=t${i}&offset=1_0&live=true&cursor=7`, {}));
  await until(() => held === 3);
  const upload = await f(`${base}/v1/changes`, { method: 'POST', body: '{}' });
  assert.equal(await upload.text(), 'ok', 'the upload did not wait for a poll');
  // The two polls without a slot are answered by short polls within about parkMs.
  const t0 = Date.now();
  const parked = await Promise.all(polls.slice(3));
  assert.ok(Date.now() - t0 < 1000, `parked polls took ${Date.now() - t0} ms`);
  assert.deepEqual(await Promise.all(parked.map((r) => r.text())), ['ok', 'ok']);
  // The engine fails a shape whose live answer has no cursor: the short poll's answer gets the request's.
  assert.deepEqual(parked.map((r) => r.headers.get('electric-cursor')), ['7', '7']);
  assert.equal(shortPolls.length, 2);
  for (const u of shortPolls) {
    assert.equal(u.searchParams.get('live'), null);
    assert.equal(u.searchParams.get('cursor'), null);
    assert.equal(u.searchParams.get('offset'), '1_0');
  }
  const ctl = new AbortController();
  const aborted = f(`${base}/v1/shape?table=gone&live=true`, { signal: ctl.signal });
  ctl.abort(new Error('watchdog'));
  await assert.rejects(aborted, /watchdog/);
  assert.equal(shortPolls.length, 2, 'an aborted parked poll never reaches the server');
  // A slot that frees while a poll is parked is taken by it, as a live poll.
  const late = f(`${base}/v1/shape?table=late&live=true`, {});
  releases.shift()();
  await until(() => held === 3 && releases.length === 3);
  while (releases.length) releases.shift()();
  await late;
  await Promise.all(polls.slice(0, 3));
  assert.equal(maxHeld, 3, 'never more than three polls on the server at once');
  assert.equal(shortPolls.length, 2);
});

test('an origin is known to multiplex from any earlier request\'s timing entry, not only the answered one\'s', async () => {
  // A request's timing entry appears once its body was read, after its fetch resolved: the
  // entry that shows h2 is always an earlier request's, under another URL.
  const perf = globalThis.performance;
  const original = perf.getEntriesByType;
  perf.getEntriesByType = (type) => (type === 'resource'
    ? [{ name: `${base}/v1/shape?table=t0&offset=-1`, nextHopProtocol: 'h2' }, { name: 'http://elsewhere/x', nextHopProtocol: 'http/1.1' }]
    : original.call(perf, type));
  try {
    const f = limitLivePolls((input, init) => fetch(input, init), { maxLive: 1, parkMs: 100 });
    await f(`${base}/v1/shape?table=t0&offset=0_0`, {});
    const before = shortPolls.length;
    const polls = [0, 1, 2].map((i) => f(`${base}/v1/shape?table=m${i}&offset=1_0&live=true&cursor=3`, {}));
    await until(() => held === 3);
    while (releases.length) releases.shift()();
    await Promise.all(polls);
    assert.equal(shortPolls.length, before, 'no poll was parked');
  } finally {
    perf.getEntriesByType = original;
  }
});

test('an event stream keeps its slot until its body ends or is cancelled, not only until its headers arrive', async () => {
  const f = limitLivePolls((input, init) => fetch(input, init), { maxLive: 2, parkMs: 100 });
  const sse = (t) => f(`${base}/v1/shape?table=${t}&offset=1_0&live=true&live_sse=true&experimental_live_sse=true&cursor=5`, {});
  const a = await sse('a');
  const b = await sse('b');
  assert.equal(a.headers.get('content-type'), 'text/event-stream');
  await until(() => streams.length === 2);
  // Both streams are open: a third live request finds no slot and goes out as a short poll.
  const before = shortPolls.length;
  const third = await sse('c');
  assert.equal(await third.text(), 'ok');
  assert.equal(shortPolls.length, before + 1);
  // A short poll carries no SSE parameter: the server refuses them without `live`.
  assert.equal(shortPolls.at(-1).searchParams.get('live_sse'), null);
  assert.equal(shortPolls.at(-1).searchParams.get('experimental_live_sse'), null);
  // The server ends one stream: once its body is read to the end, the slot is free again.
  const readA = a.text();
  streams.shift().end();
  await readA;
  const d = await sse('d');
  assert.equal(d.headers.get('content-type'), 'text/event-stream', 'the freed slot went to a stream');
  assert.equal(shortPolls.length, before + 1);
  // Cancelling a stream's body frees its slot too.
  await b.body.cancel();
  const e = await sse('e');
  assert.equal(e.headers.get('content-type'), 'text/event-stream');
  assert.equal(shortPolls.length, before + 1);
  await d.body.cancel();
  await e.body.cancel();
  for (const r of streams) r.end();
});
