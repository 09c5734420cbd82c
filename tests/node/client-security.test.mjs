// The built client (dist/js + dist/wasm) against a small hostile Electric: it names a column
// like the engine's own bookkeeping (_el_op), hands out malformed offsets, and plants an offset
// it then refuses with Electric's 400 "out of bounds". Each time the client reports a protocol
// error (or re-fetches), applies nothing of the bad response, keeps taking local writes, and
// syncs again once the server behaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { eventually } from './client-harness.mjs';
import { Electrolite } from '../../dist/js/index.js';

const SCHEMA_SQL = 'CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL);';
const POLICIES = { items: { policy: 'server-wins', writable: true } };
const SCHEMA = { id: { type: 'int8', pk_index: 0, not_null: true }, title: { type: 'text', not_null: true } };
const POISONED_SCHEMA = { ...SCHEMA, _el_op: { type: 'text' } };

/**
 * One table's shape log and write endpoint. `script` holds canned answers served (in order)
 * before the log's own; `poison` makes every answer carry an `_el_op` column.
 */
async function startHostileElectric() {
  const s = {
    handle: '4711-1',
    lsn: 1000,
    nextTxid: 500,
    rows: new Map(),
    log: [], // { lsn, message }
    requests: [], // URLs of shape requests, in order
    script: [],
    poison: false,
    held: new Set(),
  };
  const schemaHeader = () => JSON.stringify(s.poison ? POISONED_SCHEMA : SCHEMA);
  const value = (row) => (s.poison ? { ...row, _el_op: 'insert' } : row);
  const change = (operation, row, txid) => ({
    key: `"public"."items"/"${row.id}"`,
    value: value(row),
    headers: { operation, relation: ['public', 'items'], ...(txid ? { txids: [txid], lsn: String(s.lsn), op_position: 0 } : {}) },
  });
  s.write = (row, txid = s.nextTxid++) => {
    const op = s.rows.has(row.id) ? 'update' : 'insert';
    s.rows.set(row.id, { ...s.rows.get(row.id), ...row });
    s.lsn += 10;
    s.log.push({ lsn: s.lsn, message: change(op, row, txid) });
    s.wake();
  };
  s.wake = () => {
    for (const release of [...s.held]) release();
  };

  const send = (res, status, headers, body) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const upToDate = { headers: { control: 'up-to-date' } };

  const shape = (res, url) => {
    s.requests.push(url.search);
    const offset = url.searchParams.get('offset');
    const live = url.searchParams.get('live') === 'true';
    const answer = () => {
      const canned = s.script.shift();
      if (canned) {
        const headers = { 'electric-handle': s.handle, ...canned.headers };
        if (live) headers['electric-cursor'] ??= '100';
        else headers['electric-schema'] ??= schemaHeader();
        return send(res, canned.status ?? 200, headers, canned.body);
      }
      if (offset === '-1') {
        const body = [...s.rows.values()].map((r) => change('insert', r));
        body.push({ headers: { control: 'snapshot-end', xmin: String(s.nextTxid), xmax: String(s.nextTxid), xip_list: [] } });
        s.snapshotLsn = s.lsn;
        return send(res, 200, { 'electric-handle': s.handle, 'electric-offset': '0_0', 'electric-schema': schemaHeader() }, body);
      }
      const from = offset === '0_0' ? s.snapshotLsn : Number(offset.split('_')[0]);
      if (from > s.lsn) {
        // Electric's answer to an offset past the end of the log (protocol notes §2.1a).
        return send(res, 400, {}, { message: 'Invalid request', errors: { offset: ['out of bounds for this shape'] } });
      }
      const entries = s.log.filter((e) => e.lsn > from);
      if (live && entries.length === 0 && !res.waited) return undefined;
      const end = entries.length ? `${entries.at(-1).lsn}_0` : offset === '0_0' ? `${s.snapshotLsn}_0` : offset;
      const headers = { 'electric-handle': s.handle, 'electric-offset': end, 'electric-up-to-date': '' };
      if (live) headers['electric-cursor'] = '100';
      else headers['electric-schema'] = schemaHeader();
      return send(res, 200, headers, [...entries.map((e) => e.message), upToDate]);
    };
    if (answer() !== undefined || res.writableEnded) return;
    // A held long-poll: answered when data or a canned answer arrives, or after 500 ms.
    const release = () => {
      s.held.delete(release);
      clearTimeout(timer);
      res.waited = true;
      if (!res.writableEnded) answer();
    };
    const timer = setTimeout(release, 500);
    s.held.add(release);
    res.on('close', () => {
      s.held.delete(release);
      clearTimeout(timer);
    });
  };

  const changes = (res, body) => {
    const { mutations } = JSON.parse(body);
    const txid = s.nextTxid++;
    for (const m of mutations) s.write({ ...m.key, ...m.value, id: String(m.key.id) }, txid);
    send(res, 200, {}, { txid: String(txid), results: mutations.map((m) => ({ id: m.id, status: 'applied' })) });
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      if (req.method === 'GET' && url.pathname === '/v1/shape') return shape(res, url);
      if (req.method === 'POST' && url.pathname === '/v1/changes') return changes(res, Buffer.concat(chunks).toString('utf8'));
      send(res, 404, {}, { message: 'not found' });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${server.address().port}`;
  s.close = async () => {
    s.wake();
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  };
  return s;
}

const titles = async (db) => (await db.query('SELECT id, title FROM items ORDER BY id')).rows.map((r) => `${r.id}:${r.title}`);

test('a hostile server cannot poison local writes, plant offsets, or stop the sync', async () => {
  const srv = await startHostileElectric();
  srv.rows.set('1', { id: '1', title: 'one' });
  srv.poison = true;
  const errors = [];
  const db = await Electrolite.open({
    url: srv.url,
    schemaSql: SCHEMA_SQL,
    policies: POLICIES,
    backoff: { initialMs: 50, maxMs: 400 },
    compressThreshold: 1000000,
  });
  db.onStatus((st) => {
    if (st.error) errors.push(st.error);
  });
  const sawError = (pred, what) => eventually(() => errors.some(pred) || (db.status.error && pred(db.status.error)), 15000, what);
  try {
    // 1. A column named like the overlay's own `_el_op`: refused, nothing applied.
    await sawError((e) => e.code === 'protocol' && /_el_op/.test(e.message) && /items/.test(e.message), 'a protocol error naming _el_op');
    assert.deepEqual(await titles(db), []);
    assert.ok(srv.requests.every((q) => new URLSearchParams(q).get('offset') === '-1'), 'never past -1 while poisoned');
    // Local writes are untouched by it.
    await db.exec("INSERT INTO items (id, title) VALUES (10, 'local')");
    assert.deepEqual(await titles(db), ['10:local']);

    // The server behaves: the retry syncs, the local write uploads and comes back.
    srv.poison = false;
    await eventually(async () => (await titles(db)).join() === '1:one,10:local', 15000, 'synced after the poison');
    await eventually(async () => db.status.isUpToDate && db.status.pendingChanges === 0, 15000, 'the local write acknowledged');
    const cols = (await db.query("SELECT name FROM pragma_table_info('items__synced')")).rows.map((r) => r.name);
    assert.ok(!cols.includes('_el_op'), `no _el_op column in items__synced (${cols})`);

    // 2. Malformed offsets: each a protocol error, its rows never applied, its offset never sent back.
    let planted = 900;
    for (const bad of ['-5_0', 'abc', '99999999999999999999_0']) {
      errors.length = 0;
      srv.script.push({ headers: { 'electric-offset': bad, 'electric-up-to-date': '' }, body: [{ key: 'k', value: { id: String(planted), title: 'planted' }, headers: { operation: 'insert' } }, { headers: { control: 'up-to-date' } }] });
      srv.wake();
      await sawError((e) => e.code === 'protocol' && e.message.includes('electric-offset') && e.message.includes(bad), `a protocol error for offset ${bad}`);
      assert.equal((await db.query('SELECT count(*) AS n FROM items WHERE id = ?', [planted])).rows[0].n, 0);
      planted++;
    }
    srv.write({ id: '2', title: 'two' });
    await eventually(async () => (await titles(db)).includes('2:two'), 15000, 'a good change after the bad offsets');
    for (const bad of ['-5_0', 'abc', '99999999999999999999_0']) {
      assert.ok(!srv.requests.some((q) => new URLSearchParams(q).get('offset') === bad), `offset ${bad} was never sent back`);
    }
    assert.equal((await db.query('SELECT count(*) AS n FROM items WHERE id >= 900')).rows[0].n, 0);

    // 3. A well-formed offset the server never gave: its 400 re-fetches the shape from -1.
    srv.script.push({ headers: { 'electric-offset': '900000_0', 'electric-up-to-date': '' }, body: [{ headers: { control: 'up-to-date' } }] });
    const mark = srv.requests.length;
    srv.wake();
    await eventually(() => srv.requests.slice(mark).some((q) => new URLSearchParams(q).get('offset') === '900000_0'), 10000, 'the planted offset sent back');
    await eventually(() => {
      const after = srv.requests.slice(mark);
      const refused = after.findIndex((q) => new URLSearchParams(q).get('offset') === '900000_0');
      return after.slice(refused + 1).some((q) => new URLSearchParams(q).get('offset') === '-1' && !new URLSearchParams(q).has('handle'));
    }, 10000, 'a re-fetch from -1 without the handle');
    srv.write({ id: '3', title: 'three' });
    await eventually(async () => (await titles(db)).includes('3:three'), 15000, 'sync resumed after the 400');
    await db.exec("INSERT INTO items (id, title) VALUES (11, 'local again')");
    await eventually(async () => db.status.isUpToDate && db.status.pendingChanges === 0 && !db.status.error, 15000, 'idle again');
    assert.deepEqual(await titles(db), ['1:one', '2:two', '3:three', '10:local', '11:local again']);
  } finally {
    await db.close();
    await srv.close();
  }
});
