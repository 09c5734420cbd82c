// live_sse (§3.3): event-stream framing, batches ending in up-to-date, and the official client
// in SSE mode converging to the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeStream, Shape } from '@electric-sql/client';
import { startStack, ShapeReader, until, uid, unrefLongTimers } from '../support/server.mjs';

unrefLongTimers();
let s;
before(async () => { s = await startStack({ server: { longPollMs: 1000, sseTimeoutMs: 3000 } }); });
after(async () => { await s?.stop(); });

test('SSE framing: data events, up-to-date with the batch lsn, stream ends after the timeout', async () => {
  const reader = await new ShapeReader(s.url, { table: 'tasks', where: `user_id = 'sse'` }).sync();
  const qs = new URLSearchParams({ table: 'tasks', where: `user_id = 'sse'`, offset: reader.offset, handle: reader.handle, live: 'true', live_sse: 'true' });
  const t0 = Date.now();
  const res = await fetch(`${s.url}/v1/shape?${qs}`, { headers: { accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  assert.ok(res.headers.get('electric-cursor') && res.headers.get('electric-handle'));
  const id = uid();
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'sse', 'streamed')`, [id]);
  const text = await res.text();   // the server closes the stream after sseTimeoutMs
  assert.ok(Date.now() - t0 >= 2500);
  const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)));
  assert.equal(events[0].value.id, id);
  assert.equal(events[1].headers.control, 'up-to-date');
  assert.equal(events[1].headers.global_last_seen_lsn, events[0].headers.lsn);
});

test('the official client with liveSse converges through live insert/update/delete', async () => {
  const c = new AbortController();
  const id = (v) => v;
  const urls = [];
  const fetchClient = (u, o) => { urls.push(String(u)); return fetch(u, o); };
  const shape = new Shape(new ShapeStream({ url: `${s.url}/v1/shape`, params: { table: 'tasks', where: `user_id = 'sse2'` },
    liveSse: true, signal: c.signal, fetchClient, parser: { int4: id }, liveRequestTimeoutMs: 10000 }));
  try {
    await shape.rows;
    const a = uid(), b = uid();
    await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'sse2', 'a'), ($2, 'sse2', 'b')`, [a, b]);
    await s.sql(`UPDATE tasks SET title = 'a2', priority = 3 WHERE id = $1`, [a]);
    await s.sql(`DELETE FROM tasks WHERE id = $1`, [b]);
    const want = JSON.stringify(await s.sql(`SELECT id::text, title, priority::text FROM tasks WHERE user_id = 'sse2' ORDER BY id`));
    const view = () => JSON.stringify(shape.currentRows.map((r) => ({ id: r.id, title: r.title, priority: r.priority })).sort((x, y) => (x.id < y.id ? -1 : 1)));
    await until(() => view() === want || null, 15000, 'SSE client to converge');
    // Across a server-side stream end (3 s) it reconnects and keeps following.
    await new Promise((r) => setTimeout(r, 3500));
    await s.sql(`UPDATE tasks SET title = 'after reconnect' WHERE id = $1`, [a]);
    await until(() => shape.currentRows.some((r) => r.title === 'after reconnect') || null, 15000, 'after reconnect');
    assert.ok(urls.some((u) => /live_sse=true/.test(u)), 'the client really used SSE');
  } finally { c.abort(); }
});

test("the official client's fall-back: SSE responses that end within 1 s three times → long-polling, still converging", async () => {
  // A second server on the same database whose SSE responses end after 200 ms, as they do
  // behind a proxy that buffers the stream.
  const short = await startStack({ databaseUrl: s.databaseUrl, server: { longPollMs: 1000, sseTimeoutMs: 200 } });
  const c = new AbortController();
  const urls = [];
  const warnings = [];
  const warn = console.warn;
  console.warn = (...a) => { warnings.push(String(a[0])); };
  const fetchClient = (u, o) => { urls.push(String(u)); return fetch(u, o); };
  try {
    const shape = new Shape(new ShapeStream({ url: `${short.url}/v1/shape`, params: { table: 'tasks', where: `user_id = 'sse3'` },
      liveSse: true, signal: c.signal, fetchClient, liveRequestTimeoutMs: 10000 }));
    await shape.rows;
    await until(() => warnings.some((w) => /Falling back to long polling/.test(w)) || null, 20000, 'the client to fall back');
    const a = uid();
    await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'sse3', 'after fallback')`, [a]);
    await until(() => shape.currentRows.some((r) => r.id === a) || null, 15000, 'the insert through long-polling');
    const live = urls.filter((u) => /[?&]live=true/.test(u));
    const sse = live.filter((u) => /live_sse=true/.test(u));
    assert.ok(sse.length >= 3, `three short SSE connections first (${sse.length})`);
    const after = live.slice(live.lastIndexOf(sse[sse.length - 1]) + 1);
    assert.ok(after.length >= 1 && after.every((u) => !/live_sse/.test(u)), 'then long-polls only');
  } finally {
    console.warn = warn;
    c.abort();
    await short.stop();
  }
});
