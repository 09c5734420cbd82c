// The leader worker's host server (js/browser/host-server.ts) over a real engine host in
// Node: one EngineHost shared by its page ('') and follower tabs. A transaction is one
// owner's (the others' database calls wait for it; a tab that goes away has it rolled back),
// a follower's write with a uid is applied once even when sent again after a handover, a
// lost transaction's commit is refused unless recorded, the stream pauses only when no tab
// is visible, and a follower's token/user/resolvers are not handed to the leader's engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EngineHost } from '../../dist/js/engine-host.js';
import { buildEngineOptions } from '../../dist/js/engine-options.js';
import { resolveOptions } from '../../dist/js/options.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';
import { HostServer } from '../../dist/js/browser/host-server.js';

const notes = {
  name: 'notes',
  columns: [{ name: 'id', type: 'text', notNull: true }, { name: 'body', type: 'text' }],
  primaryKey: ['id'],
  policy: { policy: 'last-write-wins', writable: true },
};

async function open() {
  const options = { url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3_600_000, tables: [notes] };
  const engineOptions = await buildEngineOptions(options, resolveOptions(options));
  const events = [];
  const requests = [];
  const fetch = (url) => {
    requests.push(String(url));
    return new Promise(() => {}); // never answers: what goes out is what is counted
  };
  const host = EngineHost.start(await loadEngineModule(), { engineOptions, fetch }, (ev) => events.push(ev));
  let flushes = 0;
  const server = new HostServer(host, { flush: async () => void flushes++, placement: () => ({ storage: 'memory', role: 'leader' }) });
  return { host, server, events, requests, flushes: () => flushes };
}

const bodies = async (server) => (await server.serve('', 'query', ['SELECT body FROM notes ORDER BY body', []])).rows.map((r) => r[0]);
const tick = () => new Promise((r) => setTimeout(r, 20));

test('a transaction is one owner\'s: another tab\'s write waits for its commit; status and visibility do not', async () => {
  const { host, server, flushes } = await open();
  try {
    await server.serve('', 'begin', []);
    await server.serve('', 'insert', ['notes', { id: randomUUID(), body: 'page tx' }]);
    let done = false;
    const other = server.serve('tab-b', 'insert', ['notes', { id: randomUUID(), body: 'tab b' }]).then(() => (done = true));
    await tick();
    assert.equal(done, false, 'the other tab\'s insert waits while the page\'s transaction is open');
    assert.equal((await server.serve('tab-b', 'status', [])).role, 'leader', 'status answers meanwhile, with its placement');
    await server.serve('tab-b', 'setVisible', [false]);
    await server.serve('', 'commit', []);
    await other;
    assert.deepEqual(await bodies(server), ['page tx', 'tab b']);
    assert.ok(flushes() >= 5, 'every reply waited for a flush');
  } finally {
    host.close();
  }
});

test('a tab that goes away with its transaction open: rolled back, and the others go on', async () => {
  const { host, server } = await open();
  try {
    await server.serve('tab-b', 'begin', []);
    await server.serve('tab-b', 'insert', ['notes', { id: randomUUID(), body: 'abandoned' }]);
    const page = server.serve('', 'insert', ['notes', { id: randomUUID(), body: 'page' }]);
    server.forget('tab-b');
    await page;
    assert.deepEqual(await bodies(server), ['page']);
    await assert.rejects(server.serve('tab-b', 'commit', []), (e) => e.code === 'invalid_argument');
  } finally {
    host.close();
  }
});

test('a follower\'s write sent again after a handover is applied once; a lost transaction commits only if recorded', async () => {
  const { host, server } = await open();
  try {
    const uid = randomUUID();
    const id = randomUUID();
    const first = await server.serve('tab-b', 'insert', ['notes', { id, body: 'once' }], { uid });
    const again = await server.serve('tab-b', 'insert', ['notes', { id, body: 'once' }], { uid, retry: true });
    assert.equal(again, first, 'the retry is answered from the record');
    assert.deepEqual(await bodies(server), ['once']);
    assert.equal((await server.serve('', 'pendingMutations', [])).length, 1, 'one outbox entry');

    const committed = randomUUID();
    await server.serve('tab-b', 'begin', []);
    await server.serve('tab-b', 'insert', ['notes', { id: randomUUID(), body: 'in tx' }]);
    await server.serve('tab-b', 'commit', [], { uid: committed });
    await server.serve('tab-b', 'commit', [], { uid: committed, lostTx: true }); // recorded: no error
    await assert.rejects(server.serve('tab-b', 'commit', [], { uid: randomUUID(), lostTx: true }), (e) => e.code === 'network');
    await assert.rejects(server.serve('tab-b', 'insert', ['notes', { id: randomUUID() }], { lostTx: true }), (e) => e.code === 'network');
  } finally {
    host.close();
  }
});

async function eventually(fn, ms, what) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await tick();
  }
}

test('the stream pauses only when no tab is visible; a follower\'s token and resolvers stay out', async () => {
  const { host, server, requests, events } = await open();
  try {
    await server.serve('', 'subscribe', [{ table: 'notes' }]);
    await eventually(() => requests.length === 1, 5000, 'the shape request');
    await server.serve('tab-b', 'setVisible', [false]);
    await server.serve('', 'setVisible', [false]);
    await tick();
    await server.serve('tab-b', 'setVisible', [true]);
    await eventually(() => requests.length === 2, 5000, 'a visible follower resumes the stream');
    await server.serve('tab-b', 'setVisible', [false]);
    await tick();
    server.forget('tab-b');
    await tick();
    assert.equal(requests.length, 2, 'with every tab hidden the stream stays paused');
    await server.serve('', 'setVisible', [true]);
    await eventually(() => requests.length === 3, 5000, 'the page shown again');

    await server.serve('tab-b', 'setResolver', ['notes', true]);
    await server.serve('tab-b', 'setToken', ['follower-token']);
    assert.equal(events.filter((e) => e.type === 'resolve').length, 0);
    assert.equal(host.token.current, undefined, 'the follower\'s token was not handed to the engine');
  } finally {
    host.close();
  }
});
