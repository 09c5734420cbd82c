// A process killed with SIGKILL in the middle of an upload, reopened from its file-backed
// database: the pending writes are uploaded exactly once. The server receives the first
// upload (held briefly by the proxy) only after the client died, applies it, and answers the
// reopened client's replay of the same mutation ids as duplicates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, eventually, uploadedIds } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

let stack;
const dir = mkdtempSync(join(tmpdir(), 'el-crash-'));
before(async () => {
  stack = await startStack({ longPollMs: 5000 });
});
after(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL mid-upload, reopened from the file: the pending writes upload exactly once', async () => {
  const N = 40;
  const path = join(dir, 'app.db');
  const token = stack.token('crash');
  // Hold the first upload at the proxy: the client dies while it is in flight.
  stack.proxy.inject({ kind: 'delay', ms: 1500, match: /POST \/v1\/changes/, times: 1 });
  const child = spawn(process.execPath, [join(import.meta.dirname, 'client-crash-child.mjs'), stack.url, token, path, String(N)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const { rows } = await eventually(() => (out.includes('\n') ? JSON.parse(out.split('\n')[0]) : null), 30000, 'the child wrote');
  assert.equal(rows.length, N);
  await eventually(() => stack.proxy.log.some((r) => r.method === 'POST' && /\/v1\/changes/.test(r.url)), 30000, 'an upload in flight');
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  // The held upload reaches the server after the client died, and is applied there.
  const mutationIds = rows.map((r) => r.mutationId);
  await eventually(async () => (await stack.sql(`select count(*)::int as n from tasks where user_id = 'crash'`))[0].n === N, 30000, 'server applied the first upload');

  // Reopen the same file: the outbox still holds the writes (the answer never arrived).
  const db = await Electrolite.open({ url: stack.url, token, storage: { path }, uploadIntervalMs: 100, backoff: { initialMs: 100, maxMs: 500 } });
  try {
    const pending = await db.pendingMutations();
    assert.deepEqual(pending.map((m) => m.id).sort(), [...mutationIds].sort(), 'every write survived the kill in the outbox');
    await db.waitForStatus((s) => s.pendingChanges === 0 && s.isUpToDate, 60000);

    // Uploaded twice (before the kill and the replay), applied once.
    const sent = uploadedIds(stack.proxy).filter((id) => mutationIds.includes(id));
    assert.equal(sent.length, 2 * N, 'the replay re-sent the same mutation ids');
    const applied = await stack.sql(`select id, status from electric_mutations where id = any($1::text[])`, [mutationIds]);
    assert.equal(applied.length, N, 'one server record per mutation id');
    assert.ok(applied.every((m) => m.status === 'applied'), JSON.stringify(applied.slice(0, 3)));
    assert.equal((await stack.sql(`select count(*)::int as n from tasks where user_id = 'crash'`))[0].n, N);

    // Local state: the rows, nothing pending, an intact file.
    assert.equal(Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n), N);
    assert.equal((await db.query('PRAGMA integrity_check')).rows[0].integrity_check, 'ok');
  } finally {
    await db.close();
  }
});
