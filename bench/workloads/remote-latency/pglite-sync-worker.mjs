// The pglite-sync peer of bench/workloads/remote-latency.mjs, in a dedicated worker (bundled by
// esbuild beside pglite.wasm / pglite.data): PGlite in memory with the `live` and `electric`
// (pglite-sync) extensions, one `syncShapeToTable` per table (each its own ShapeStream, as the
// pglite-sync docs show for independent tables) from the same dev server, and one
// `pg.live.query` per table. Every id a live query has not shown before is posted to the page,
// which timestamps it on arrival (as our page timestamps its live callbacks).
// Messages in: {op:'start', url, token, ddl, tables}. Out: {t:'ready'}, {t:'rows', table, ids},
// {t:'error', message}.
import { PGlite } from '@electric-sql/pglite';
import { live } from '@electric-sql/pglite/live';
import { electricSync } from '@electric-sql/pglite-sync';

const post = (m) => self.postMessage(m);

async function start({ url, token, ddl, tables }) {
  const pg = await PGlite.create({ extensions: { live, electric: electricSync() } });
  await pg.exec(ddl);
  const headers = { authorization: `Bearer ${token}` };
  await Promise.all(tables.map((table) => new Promise((resolve, reject) => {
    pg.electric.syncShapeToTable({
      shape: { url: `${url}/v1/shape`, params: { table }, headers },
      table, primaryKey: ['id'], shapeKey: null,
      onInitialSync: resolve,
      onError: (err) => post({ t: 'error', message: `${table}: ${err?.message ?? err}` }),
    }).catch(reject);
  })));
  for (const table of tables) {
    const seen = new Set();
    const fresh = (rows) => {
      const ids = [];
      for (const r of rows) if (!seen.has(r.id)) { seen.add(r.id); ids.push(r.id); }
      if (ids.length) post({ t: 'rows', table, ids });
    };
    const q = await pg.live.query(`select id from ${table}`, [], (res) => fresh(res.rows));
    fresh(q.initialResults.rows);
  }
  post({ t: 'ready' });
}

self.onmessage = (e) => {
  if (e.data.op === 'start') start(e.data).catch((err) => post({ t: 'error', message: String(err?.stack ?? err), fatal: true }));
};
