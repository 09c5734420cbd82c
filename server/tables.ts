// The app's tables: the only tables the shape service serves and the write handler writes.
// An app declares them by its policies (every key of policies.json), by the CREATE TABLE
// statements of its schema file, and by the `tables` option; all of them live in one schema
// (default `public`). Anything else — the sync service's own `electric_*` tables, other
// schemas, system catalogs, tables created later and not declared — is an unknown table, and
// is answered exactly as a table that does not exist, so a caller learns nothing about it.
import pgQuery from 'libpg-query';
import type { Policies } from './policy.js';

export interface AppTablesOptions {
  /** The schema the app's tables live in. Default `public`. */
  schema?: string;
  /** Table names (in `schema`) besides those the policies and the schema file declare. */
  tables?: readonly string[];
  policies?: Policies;
  /** The text of a schema file: the tables its CREATE TABLE statements make are declared. */
  schemaSql?: string | null;
}

export class AppTables {
  readonly schema: string;
  private readonly names: Set<string>;

  private constructor(schema: string, names: Iterable<string>) {
    this.schema = schema;
    this.names = new Set(names);
  }

  static async declare(opts: AppTablesOptions): Promise<AppTables> {
    const schema = opts.schema ?? 'public';
    const names = new Set<string>();
    for (const k of Object.keys(opts.policies ?? {})) if (!k.startsWith('$')) names.add(k);
    for (const t of opts.tables ?? []) names.add(t);
    if (opts.schemaSql) for (const t of await createdTables(opts.schemaSql, schema)) names.add(t);
    for (const n of names) {
      if (n.startsWith('electric_')) throw new Error(`table ${JSON.stringify(n)}: names starting with electric_ belong to the sync service`);
    }
    return new AppTables(schema, names);
  }

  /** Whether `schema.name` is one of the app's tables. */
  has(schema: string, name: string): boolean {
    return schema === this.schema && this.names.has(name);
  }

  list(): { schema: string; name: string }[] {
    return [...this.names].sort().map((name) => ({ schema: this.schema, name }));
  }
}

interface RangeVar { schemaname?: string; relname: string }

/** Names of the tables a schema script's CREATE TABLE statements make in `schema`. */
async function createdTables(sql: string, schema: string): Promise<string[]> {
  await pgQuery.loadModule();
  const tree = pgQuery.parseSync(sql) as { stmts: { stmt: Record<string, { relation?: RangeVar }> }[] };
  const out: string[] = [];
  for (const { stmt } of tree.stmts) {
    const rel = (stmt.CreateStmt ?? stmt.CreateTableAsStmt)?.relation
      ?? (stmt.CreateTableAsStmt as { into?: { rel?: RangeVar } } | undefined)?.into?.rel;
    if (rel && (rel.schemaname ?? schema) === schema) out.push(rel.relname);
  }
  return out;
}
