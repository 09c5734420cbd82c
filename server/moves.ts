// Subquery shapes at run time (../shared/spec/electric-protocol.md §2.3): the subquery's values
// as of the shape's processed position, the tag each row carries, and what one transaction on
// the subquery's table moves out of the shape (a `move-out` event whose pattern is the tag of
// each value that left) and into it (the rows of each value that entered, read by a move-in
// query and logged as inserts marked `is_move_in`, followed by that query's `snapshot-end`).
//
// The values are held as text (subquery.ts allows only types whose text is their identity),
// counted per inner row, so a value leaves only when no inner row still gives it. They are
// loaded in the shape's snapshot transaction and then follow the log, transaction by
// transaction, so a row of the shape's own table is judged against the values of its own
// point in the log.
import { createHash } from 'node:crypto';
import type { Change } from './capture.js';
import { type TableInfo, qualified, quoteIdent } from './catalog.js';
import type { SubqueryDef } from './subquery.js';
import type { Queryable } from './upstream.js';

type Row = Record<string, string | null>;

export class Moves {
  readonly relation: string;
  private readonly members = new Map<string, string>();   // inner row key → its value
  private readonly counts = new Map<string, number>();
  private readonly pk: string[];

  constructor(readonly sub: SubqueryDef, readonly inner: TableInfo, private readonly handle: string) {
    this.relation = `${inner.schema}.${inner.name}`;
    this.pk = inner.pk.length ? inner.pk : inner.columns.map((c) => c.name).sort();
  }

  /** The tag of rows whose subquery column holds `value`: opaque, stable for this shape. */
  tag(value: string | null): string {
    return createHash('md5').update(`${this.handle}\0${value ?? '\0null'}`).digest('hex');
  }

  has(value: string | null | undefined): boolean {
    return value !== null && value !== undefined && (this.counts.get(value) ?? 0) > 0;
  }

  /** `conds` filters the inner table (its where and the caller's restriction), `params` theirs. */
  async load(tx: Queryable, conds: string, params: string[]): Promise<void> {
    const t = qualified({ schema: this.inner.schema, name: this.inner.name });
    const keys = this.pk.map((c, i) => `${quoteIdent(c)}::text AS k${i}`).join(', ');
    const rows = await tx.query<Row>(
      `SELECT ${keys}, ${quoteIdent(this.sub.innerColumn)}::text AS v FROM ${t}${conds ? ` WHERE ${conds}` : ''}`, params);
    for (const r of rows) this.add(JSON.stringify(this.pk.map((_, i) => r[`k${i}`])), r.v);
  }

  /**
   * Applies one transaction's changes of the inner table; `passes` says whether a row image is
   * in the subquery. Returns the values that entered and left the set.
   */
  apply(changes: Change[], passes: (row: Row) => boolean): { added: string[]; removed: string[] } {
    const before = new Set(this.counts.keys());
    for (const c of changes) {
      if (c.old) this.remove(this.keyOf(c.old));
      if (c.new && passes(c.new)) this.add(this.keyOf(c.new), c.new[this.sub.innerColumn] ?? null);
    }
    const after = new Set(this.counts.keys());
    return { added: [...after].filter((v) => !before.has(v)), removed: [...before].filter((v) => !after.has(v)) };
  }

  private keyOf(row: Row): string {
    return JSON.stringify(this.pk.map((c) => row[c] ?? null));
  }

  private add(key: string, value: string | null): void {
    this.remove(key);
    if (value === null) return;   // NULL never equals anything: no row is in the shape through it
    this.members.set(key, value);
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }

  private remove(key: string): void {
    const v = this.members.get(key);
    if (v === undefined) return;
    this.members.delete(key);
    const n = (this.counts.get(v) ?? 1) - 1;
    if (n > 0) this.counts.set(v, n); else this.counts.delete(v);
  }
}
