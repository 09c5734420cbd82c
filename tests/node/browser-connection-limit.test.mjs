// limitLivePolls (js/browser/connection-limit.ts) over Node's fetch against a real HTTP server
// that holds live long-polls: at most `maxLive` polls per origin reach the server, uploads
// and other requests never wait behind them, queued polls start as slots free up, and an
// aborted queued poll is dropped with the abort reason.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { limitLivePolls } from '../../dist/js/browser/connection-limit.js';

let held = 0;
let maxHeld = 0;
const releases = [];
const server = http.createServer((req, res) => {
  if (new URL(req.url, 'http://x').searchParams.get('live') === 'true') {
    held++;
    maxHeld = Math.max(maxHeld, held);
    releases.push(() => { held--; res.end('[]'); });
    return;
  }
  res.end('ok');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
after(() => { server.closeAllConnections(); server.close(); });

const until = async (pred) => {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pred());
};

test('live polls are capped per origin; uploads pass at once; queued polls start when one returns', async () => {
  const f = limitLivePolls((input, init) => fetch(input, init), 3);
  const polls = [];
  for (let i = 0; i < 5; i++) polls.push(f(`${base}/v1/shape?table=t${i}&live=true`, {}));
  await until(() => held === 3);
  const upload = await f(`${base}/v1/changes`, { method: 'POST', body: '{}' });
  assert.equal(await upload.text(), 'ok', 'the upload did not wait for a poll');
  const ctl = new AbortController();
  const aborted = f(`${base}/v1/shape?table=gone&live=true`, { signal: ctl.signal });
  ctl.abort(new Error('watchdog'));
  await assert.rejects(aborted, /watchdog/);
  releases.shift()();
  await until(() => held === 3 && releases.length === 3);
  releases.shift()();
  await until(() => releases.length === 3);
  while (releases.length) releases.shift()();
  const done = await Promise.all(polls);
  assert.equal(done.length, 5);
  assert.equal(maxHeld, 3, 'never more than three polls on the server at once');
});
