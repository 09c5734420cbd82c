// Support for the electrolite/react tests: a real PostgreSQL + dev server pair for tests
// that sync.
import { startPostgres } from '../support/postgres.mjs';

export const OFFLINE_URL = 'http://127.0.0.1:9';

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
