// Support for the electrolite/react tests: whether the engine build has local writes yet
// (the read path landed first; tests that write locally say so when they cannot run), and
// a real PostgreSQL + dev server pair for tests that sync.
import { Electrolite } from '../../dist/js/index.js';
import { startPostgres } from '../support/postgres.mjs';

export const OFFLINE_URL = 'http://127.0.0.1:9';

let probe;
/** null when local writes work; otherwise why not (the engine's own message). */
export function localWritesMissing() {
  probe ??= (async () => {
    const db = await Electrolite.open({ url: OFFLINE_URL, autoSubscribe: false, uploadIntervalMs: 3600000 });
    try {
      await db.insert('tasks', { id: crypto.randomUUID(), user_id: 'probe', title: 'probe' });
      return null;
    } catch (err) {
      if (/not implemented/.test(err.message)) return `the engine has no local writes yet (${err.message})`;
      throw err;
    } finally {
      await db.close();
    }
  })();
  return probe;
}

/** PostgreSQL + the dev server (dev auth: tokens from server.auth.issue(user)). */
export async function startStack({ staticDir } = {}) {
  const pg = await startPostgres();
  const { createServer } = await import('../../dist/server/index.js');
  const server = await createServer({ databaseUrl: pg.url, staticDir, log: () => {}, longPollMs: 5000 });
  await server.listen(0);
  const { default: pgLib } = await import('pg');
  const sql = new pgLib.Client({ connectionString: pg.url });
  await sql.connect();
  return {
    url: server.url,
    server,
    sql,
    token: (user) => server.auth.issue(user),
    async stop() {
      await sql.end().catch(() => undefined);
      await server.close();
      await pg.stop();
    },
  };
}
