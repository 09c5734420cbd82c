// Every query that carries a client's `where` clause (a shape's snapshot and the filtering of
// its changes) runs here: in a transaction, under a statement timeout, and as a role that may
// read only the app's tables. The where validator already lets through only plain expressions
// over the shape's own columns; this is the second wall, in the database itself.
//
// The role (`electrolite_shape_reader`, NOLOGIN) is created on start and given SELECT on each
// app table as its first shape is made. When the connecting user may not create or use roles
// (a managed database without CREATEROLE), the service logs that once and reads as itself,
// with the timeout still in force.
import type { Queryable, TxOptions, Upstream } from './upstream.js';
import { isPgError } from './upstream.js';
import { qualified, quoteIdent } from './catalog.js';

export const READER_ROLE = 'electrolite_shape_reader';

export class Reader {
  private readonly granted = new Set<string>();
  private grants: Promise<void> = Promise.resolve();

  private constructor(private readonly role: string | null, readonly timeoutMs: number) {}

  /** Creates (or finds) the reader role; falls back to no role when that is not allowed. */
  static async setup(db: Upstream, timeoutMs: number, log: (l: string) => void): Promise<Reader> {
    try {
      await db.exec(`DO $do$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN
            CREATE ROLE ${READER_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
          END IF;
        END $do$`);
      const [{ member }] = await db.query<{ member: string }>(
        `SELECT pg_has_role(current_user, '${READER_ROLE}', 'MEMBER')::text AS member`);
      if (member !== 'true' && member !== 't') await db.exec(`GRANT ${READER_ROLE} TO CURRENT_USER`);
      return new Reader(READER_ROLE, timeoutMs);
    } catch (e) {
      // Two servers starting at once may race on CREATE ROLE; the role is there either way.
      if (isPgError(e) && (e.code === '42710' || e.code === '23505')) return Reader.setup(db, timeoutMs, log);
      log(`warning: shape queries run as the connecting user: could not set up role ${READER_ROLE} (${(e as Error).message})`);
      return new Reader(null, timeoutMs);
    }
  }

  /**
   * Lets the reader role read one app table (and reach its schema). Grants run one at a time:
   * Postgres fails concurrent GRANTs on one object ("tuple concurrently updated"), and several
   * shapes are often made at once; one made by another server process is retried.
   */
  grant(db: Upstream, schema: string, name: string): Promise<void> {
    const k = `${schema}.${name}`;
    if (!this.role || this.granted.has(k)) return Promise.resolve();
    const run = this.grants.then(async () => {
      if (this.granted.has(k)) return;
      for (let attempt = 0; ; attempt++) {
        try {
          await db.exec(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${this.role};
            GRANT SELECT ON ${qualified({ schema, name })} TO ${this.role}`);
          break;
        } catch (e) {
          if (attempt < 5 && isPgError(e) && e.code === 'XX000' && /concurrently/.test(e.message)) continue;
          throw e;
        }
      }
      this.granted.add(k);
    });
    this.grants = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `fn` in a transaction as the reader, under the timeout. `settings` are more select-list
   * items to run in the same round trip (display settings).
   */
  read<T>(db: Upstream, fn: (tx: Queryable) => Promise<T>, opts: TxOptions = {}, settings = ''): Promise<T> {
    return db.transaction(async (tx) => {
      const items = [`set_config('statement_timeout', '${Math.max(1, Math.floor(this.timeoutMs))}', true)`];
      if (this.role) items.push(`set_config('role', '${this.role}', true)`);
      if (settings) items.push(settings);
      await tx.query(`SELECT ${items.join(', ')}`);
      return fn(tx);
    }, { readOnly: true, ...opts });
  }
}
