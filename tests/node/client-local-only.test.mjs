// A database opened without a url (and no ELECTRIC_URL) is local-only: queries and writes
// work, writes wait in the outbox, no request is made, and the status says sync is disabled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Electrolite, ElectroliteError } from '../../dist/js/index.js';
import { resolveOptions } from '../../dist/js/options.js';
import { statusObserver } from '../../dist/react/index.js';

function withoutUrlEnv(fn) {
  const saved = process.env.ELECTRIC_URL;
  delete process.env.ELECTRIC_URL;
  return Promise.resolve(fn()).finally(() => {
    if (saved !== undefined) process.env.ELECTRIC_URL = saved;
  });
}

const [T1, T2, KEPT] = [randomUUID(), randomUUID(), randomUUID()];
const task = (id) => ({ id, user_id: randomUUID(), title: `task ${id}`, status: 'pending', priority: 1 });

test('no url and no ELECTRIC_URL resolves to a local-only database that subscribes to nothing', () =>
  withoutUrlEnv(() => {
    const o = resolveOptions({});
    assert.equal(o.url, undefined);
    assert.equal(o.autoSubscribe, false);
  }));

test('local-only: queries and writes work, writes stay in the outbox, nothing is fetched', () =>
  withoutUrlEnv(async () => {
    let fetches = 0;
    const db = await Electrolite.open({ fetch: async () => { fetches++; throw new Error('no network here'); } });
    try {
      assert.equal(db.status.sync, 'disabled');
      assert.equal(db.status.connection, 'disconnected');
      assert.equal(db.status.isOffline, false);
      assert.deepEqual(db.status.shapes, []);
      assert.equal(statusObserver(db).getSnapshot().sync, 'disabled', 'the React hooks see it too');
      await db.insert('tasks', task(T1));
      await db.update('tasks', { id: T1 }, { status: 'completed' });
      await db.transaction(async (tx) => { await tx.insert('tasks', task(T2)); });
      const { rows } = await db.query('SELECT id, status FROM tasks ORDER BY id');
      assert.deepEqual(rows, [{ id: T1, status: 'completed' }, { id: T2, status: 'pending' }].sort((a, b) => (a.id < b.id ? -1 : 1)));
      assert.equal((await db.pendingMutations()).length, 3);
      await new Promise((r) => setTimeout(r, 300)); // an upload would have started by now
      assert.equal(fetches, 0);
      assert.equal(db.status.sync, 'disabled');
      assert.equal(db.status.pendingChanges, 3);
      await assert.rejects(db.syncNow(1000), (err) => err instanceof ElectroliteError && err.code === 'invalid_argument' && /local-only/.test(err.message));
    } finally {
      await db.close();
    }
  }));

test('local-only writes persist in a file and are still pending when reopened', () =>
  withoutUrlEnv(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'electrolite-local-'));
    try {
      const path = join(dir, 'local.db');
      const db = await Electrolite.open({ storage: { path } });
      try {
        await db.insert('tasks', task(KEPT));
      } finally {
        await db.close();
      }
      const again = await Electrolite.open({ storage: { path } });
      try {
        assert.deepEqual((await again.query('SELECT id FROM tasks')).rows, [{ id: KEPT }]);
        assert.equal(again.status.pendingChanges, 1);
        assert.equal(again.status.sync, 'disabled');
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));
