// The dev server over HTTPS with HTTP/2 (`tls`): many live polls multiplexed on one
// connection, each answered as soon as its table changes; HTTP/1.1 clients still served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, uid } from '../support/server.mjs';

let s, dir, session;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'el-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  s = await startStack({
    server: { longPollMs: 20000, tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } },
  });
  session = http2.connect(s.url, { rejectUnauthorized: false });
});
after(async () => {
  session?.close();
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function get(path) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path });
    let headers;
    let body = '';
    req.on('response', (h) => { headers = h; });
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => resolve({ status: headers[':status'], headers, body: body ? JSON.parse(body) : null }));
    req.on('error', reject);
    req.end();
  });
}

async function upToDate(table) {
  let r = await get(`/v1/shape?table=${table}&offset=-1`);
  let { 'electric-handle': handle, 'electric-offset': offset } = r.headers;
  while (!('electric-up-to-date' in r.headers)) {
    r = await get(`/v1/shape?table=${table}&offset=${offset}&handle=${handle}`);
    ({ 'electric-handle': handle, 'electric-offset': offset } = r.headers);
  }
  return { handle, offset };
}

test('seven live polls share one HTTP/2 connection and each answers at its table\'s change', async () => {
  const tables = ['tasks', 'environments', 'agent_executions', 'observability_events', 'agent_memory', 'workflows', 'workflow_executions'];
  const at = {};
  for (const t of tables) at[t] = await upToDate(t);
  const polls = tables.map((t) => get(`/v1/shape?table=${t}&offset=${at[t].offset}&handle=${at[t].handle}&live=true`));
  await new Promise((r) => setTimeout(r, 200));
  const id = uid();
  const t0 = Date.now();
  await s.sql(`INSERT INTO tasks (id, user_id, title) VALUES ($1, 'u', 'over h2')`, [id]);
  const r = await polls[0];
  assert.equal(r.status, 200);
  assert.ok(r.body.some((m) => m.value?.id === id), JSON.stringify(r.body));
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  const w = uid();
  await s.sql(`INSERT INTO workflows (id, user_id, name, definition) VALUES ($1, 'u', 'wf', '{}')`, [w]);
  const r6 = await polls[5];
  assert.ok(r6.body.some((m) => m.value?.id === w), JSON.stringify(r6.body));
  session.close();
  session = http2.connect(s.url, { rejectUnauthorized: false });
  await Promise.allSettled(polls);
});

test('HTTP/1.1 clients are still served over TLS', async () => {
  const body = await new Promise((resolve, reject) => {
    https.get(`${s.url}/v1/health`, { rejectUnauthorized: false }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode, version: res.httpVersion, json: JSON.parse(b) }));
    }).on('error', reject);
  });
  assert.equal(body.status, 200);
  assert.equal(body.version, '1.1');
  assert.equal(body.json.status, 'active');
});
