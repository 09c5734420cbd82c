// Incremental maintenance of a recognised live query (js/live-sql.ts): instead of re-running
// the whole query on every change, run one small query for the rows whose primary keys the
// engine reported changed (`tables-changed` events carry them, docs/engine-api.md), drop
// those keys from the current result, merge the fetched rows in by the ORDER BY (SQLite's
// ordering of values) and cut to LIMIT.
//
// Rows that tie on the ORDER BY are kept in primary key order (the derived statements add
// the key as a last ORDER BY term), so a result does not depend on scan order.
//
// When the result held LIMIT rows and the change leaves fewer than LIMIT known rows at or
// before its old last row, the replacement rows are unknown: `delta` returns null and the
// caller runs `full`. A value JavaScript cannot order exactly (a blob, an integer beyond
// 2^53) in a sort or key column makes the view `broken`: the caller re-runs the original
// query from then on.

import { compareValues, quoteIdent, recognise, type SimpleQuery } from './live-sql.js';
import type { RowWatch } from './row-watches.js';
import type { Row } from './types.js';

export interface RawResult {
  columns: string[];
  rows: unknown[][];
  tables: string[];
}
export type RawQuery = (sql: string, params: readonly unknown[]) => Promise<RawResult>;

/** The changed keys of one table in a `tables-changed` event. */
export interface KeyChanges {
  columns: string[];
  rows: unknown[][];
}

interface Entry<R> {
  row: R;
  /** ORDER BY values, then primary key values. */
  sort: unknown[];
  key: string;
}

const ODD = '__el_odd';

function sameRow(a: Row, b: Row, columns: readonly string[]): boolean {
  for (const c of columns) if (!Object.is(a[c], b[c])) return false;
  return true;
}

export class IncrementalView<R extends Row = Row> {
  /** Set when a value could not be ordered in JavaScript: use plain re-runs instead. */
  broken = false;
  private entries: Entry<R>[] = [];
  private rows: R[] = [];
  private columns: string[] = [];
  private tables: string[] = [];
  private loaded = false;
  private readonly fullSql: string;
  /** The rows of the keys in the JSON array parameter ?N (N after the statement's own). */
  private readonly deltaSql: string;
  private readonly selectHead: string;
  private readonly nHidden: number;

  private constructor(
    private readonly q: SimpleQuery,
    private readonly pk: string[],
    private readonly params: readonly unknown[],
    private readonly query: RawQuery,
  ) {
    const hidden = [...q.orderBy.map((o) => o.column), ...pk];
    this.nHidden = hidden.length;
    const odd = hidden
      .map((c) => `typeof(${quoteIdent(c)}) = 'blob' OR (typeof(${quoteIdent(c)}) IN ('integer', 'real')` +
        ` AND abs(${quoteIdent(c)}) > 9007199254740991)`)
      .join(' OR ');
    this.selectHead = `SELECT ${q.selectText}, ` +
      hidden.map((c, j) => `${quoteIdent(c)} AS "__el_${j}"`).join(', ') +
      `, (${odd}) AS "${ODD}" FROM ${quoteIdent(q.table)}`;
    const order = [
      ...q.orderBy.map((o) => `${quoteIdent(o.column)}${o.desc ? ' DESC' : ''}`),
      ...pk.map((c) => quoteIdent(c)),
    ].join(', ');
    const keysParam = `?${q.maxParam + 1}`;
    const pred = pk.length === 1
      ? `${quoteIdent(pk[0]!)} IN (SELECT value FROM json_each(${keysParam}))`
      : `(${pk.map(quoteIdent).join(', ')}) IN (SELECT ${pk.map((_, j) => `json_extract(value, '$[${j}]')`).join(', ')}` +
        ` FROM json_each(${keysParam}))`;
    this.deltaSql = this.selectHead + ' WHERE ' + (q.whereText !== null ? `(${q.whereText}) AND ` : '') + pred;
    this.fullSql = this.selectHead + (q.whereText !== null ? ` WHERE ${q.whereText}` : '') +
      ` ORDER BY ${order}` + (q.limitText ? ` ${q.limitText}` : '');
  }

  /**
   * The view for `sql`, or null when the query is not of the recognised shape or its table
   * has no primary key (or declares a collation) for which changes are reported by key.
   */
  static async create<R extends Row>(sql: string, params: readonly unknown[], query: RawQuery): Promise<IncrementalView<R> | null> {
    const q = recognise(sql, params);
    if (!q) return null;
    // The key as the engine declared it (_el_tables): T__synced keeps it in a unique index, not
    // a PRIMARY KEY constraint, and an initial snapshot's bulk load leaves even that out for a while.
    const info = await query(
      'SELECT (SELECT decl FROM _el_tables WHERE lower(name) = lower(?2)' +
      " AND EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND lower(name) = lower(?1)))," +
      " (SELECT count(*) FROM sqlite_master WHERE lower(name) IN (lower(?2), lower(?1), lower(?3)) AND upper(sql) LIKE '%COLLATE%')",
      [`${q.table}__synced`, q.table, `${q.table}__overlay`]);
    const row = info.rows[0];
    if (!row || typeof row[0] !== 'string' || row[1] !== 0) return null;
    const declared = (JSON.parse(row[0]) as { primaryKey?: unknown }).primaryKey;
    if (!Array.isArray(declared) || declared.length === 0) return null;
    const pk = declared.map(String);
    return new IncrementalView<R>(q, pk, params, query);
  }

  /** The table the query reads (as written in it). */
  get table(): string {
    return this.q.table;
  }

  /** Whether `changes` (an event's keys for this table) can be matched to this view's keys. */
  keysOf(changes: KeyChanges | undefined): string[] | null {
    if (!changes || !Array.isArray(changes.columns) || !Array.isArray(changes.rows)) return null;
    if (changes.columns.length !== this.pk.length) return null;
    for (let i = 0; i < this.pk.length; i++) {
      if (String(changes.columns[i]).toLowerCase() !== this.pk[i]!.toLowerCase()) return null;
    }
    return changes.rows.map((r) => JSON.stringify(r));
  }

  get ready(): boolean {
    return this.loaded && !this.broken;
  }

  result(): { rows: R[]; columns: string[]; tables: string[] } {
    return { rows: this.rows, columns: this.columns, tables: this.tables };
  }

  /** Runs the whole query; false when the view turned out broken. */
  async full(): Promise<boolean> {
    const raw = await this.query(this.fullSql, this.params);
    const prevColumns = this.columns;
    const entries = this.toEntries(raw);
    if (!entries) return false;
    if (this.loaded && this.columns === prevColumns) this.reuseByKey(entries);
    const prev = this.rows;
    let same = this.loaded && prev.length === entries.length;
    for (let i = 0; same && i < entries.length; i++) same = entries[i]!.row === prev[i];
    this.entries = entries;
    this.tables = raw.tables;
    if (!same) this.rows = entries.map((e) => e.row);
    this.loaded = true;
    return true;
  }

  /** The delta statement for the engine host to run on each change (js/row-watches.ts). */
  watch(): RowWatch {
    return { table: this.q.table, key: this.pk, sql: this.deltaSql, params: this.deltaParams([]).slice(0, -1) };
  }

  /** The key string of a row of the delta statement's result (as keysOf makes them). */
  keyOfRow(src: readonly unknown[]): string {
    const m = src.length - this.nHidden - 1;
    return JSON.stringify(src.slice(m + this.q.orderBy.length, m + this.nHidden));
  }

  /**
   * Applies the changes of `keys` (key strings as from keysOf, with their values); false
   * when the new result cannot be known from them (then run `full`). `sent`: the delta
   * statement's rows for exactly these keys, as the change carried them (else it runs here).
   */
  async delta(keys: Map<string, unknown[]>, sent?: RawResult): Promise<boolean> {
    if (!this.ready) return false;
    const raw = sent ?? (await this.query(this.deltaSql, this.deltaParams([...keys.values()])));
    const prevColumns = this.columns;
    const fetched = this.toEntries(raw);
    if (!fetched || this.columns !== prevColumns) return false;
    const prev = this.entries;
    const limit = this.q.limit;
    const wasFull = limit !== null && prev.length >= limit;
    const last = prev[prev.length - 1];
    const removed = new Map<string, Entry<R>>();
    const merged: Entry<R>[] = [];
    for (const e of prev) {
      if (keys.has(e.key)) removed.set(e.key, e);
      else merged.push(e);
    }
    if (removed.size === 0 && fetched.length === 0) return true; // none of our rows
    for (const e of fetched) {
      if (!keys.has(e.key)) return false; // not a key we asked for: be safe
      const old = removed.get(e.key);
      if (old && sameRow(old.row, e.row, this.columns)) e.row = old.row;
      merged.splice(this.position(merged, e), 0, e);
    }
    if (limit !== null) {
      if (wasFull && last) {
        // Rows after the old last row are unknown: the first `limit` rows must all be known.
        let known = 0;
        while (known < merged.length && known < limit && this.compare(merged[known]!, last) <= 0) known++;
        if (known < limit) return false;
      }
      if (merged.length > limit) merged.length = limit;
    }
    const prevRows = this.rows;
    let same = merged.length === prevRows.length;
    for (let i = 0; same && i < merged.length; i++) same = merged[i]!.row === prevRows[i];
    this.entries = merged;
    if (!same) this.rows = merged.map((e) => e.row);
    return true;
  }

  /** The changed keys as one more parameter, after every parameter of the statement. */
  private deltaParams(keys: unknown[][]): unknown[] {
    const out: unknown[] = [];
    for (let i = 0; i < this.q.maxParam; i++) out.push(i < this.params.length ? this.params[i] : null);
    out.push(JSON.stringify(this.pk.length === 1 ? keys.map((k) => k[0]) : keys));
    return out;
  }

  /** Rows as entries (sorted as SQLite returned them); null, and broken, on odd values. */
  private toEntries(raw: RawResult): Entry<R>[] | null {
    const m = raw.columns.length - this.nHidden - 1;
    if (m < 0 || raw.columns[raw.columns.length - 1] !== ODD) {
      this.broken = true;
      return null;
    }
    let changed = this.columns.length !== m;
    for (let j = 0; !changed && j < m; j++) changed = this.columns[j] !== raw.columns[j];
    if (changed) this.columns = raw.columns.slice(0, m);
    const cols = this.columns;
    const nOrder = this.q.orderBy.length;
    const out = new Array<Entry<R>>(raw.rows.length);
    for (let i = 0; i < raw.rows.length; i++) {
      const src = raw.rows[i]!;
      if (src[src.length - 1]) {
        this.broken = true;
        return null;
      }
      const row: Row = {};
      for (let j = 0; j < m; j++) row[cols[j]!] = src[j];
      const sort = src.slice(m, m + this.nHidden);
      out[i] = { row: row as R, sort, key: JSON.stringify(sort.slice(nOrder)) };
    }
    return out;
  }

  /** After a full run: rows whose key and values did not change keep their object. */
  private reuseByKey(entries: Entry<R>[]): void {
    const byKey = new Map<string, R>();
    for (const e of this.entries) byKey.set(e.key, e.row);
    for (const e of entries) {
      const old = byKey.get(e.key);
      if (old && old !== e.row && sameRow(old, e.row, this.columns)) e.row = old;
    }
  }

  private compare(a: Entry<R>, b: Entry<R>): number {
    const order = this.q.orderBy;
    for (let j = 0; j < a.sort.length; j++) {
      let c = compareValues(a.sort[j], b.sort[j]);
      if (c !== 0) {
        if (j < order.length && order[j]!.desc) c = -c;
        return c;
      }
    }
    return 0;
  }

  /** Where `e` goes in the sorted `list` (binary search). */
  private position(list: Entry<R>[], e: Entry<R>): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(list[mid]!, e) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
