// One shape: an immutable definition (table, where, params, columns, replica, log mode and the
// caller's row restriction), its initial snapshot and its log of change messages.
//
// Snapshot consistency. The snapshot runs in a REPEATABLE READ READ ONLY transaction and records
// `pg_current_snapshot()` (xmin, xmax, xip). `startTx` is the log head read *before* BEGIN: every
// transaction up to it had committed before the snapshot, so it is already in the rows. After
// that point each harvested transaction is replayed into the shape if and only if its xid is
// not visible in the snapshot (xid ≥ xmax, or in xip). A transaction visible in the snapshot is
// therefore never replayed twice, and one that was not visible is never lost, whatever order
// the snapshot, the commits and the harvests happen in.
import { type Queryable, type Upstream, isPgError } from './upstream.js';
import type { Reader } from './reader.js';
import type { Transaction, Change } from './capture.js';
import { type TableInfo, qualified, quoteIdent } from './catalog.js';
import { type Offset, compareOffsets, relationKey, rowKey, newHandle } from './protocol.js';
import { Moves } from './moves.js';
import { type SubqueryDef, subquerySql } from './subquery.js';
import { ownerCondition } from './policy.js';

export interface ShapeDef {
  schema: string;
  table: string;
  where: string | null;
  params: string[];              // $1..$n
  columns: string[] | null;      // null = every column not excluded by policy
  replica: 'default' | 'full';
  log: 'full' | 'changes_only';
  ownerColumn: string | null;    // restrict rows to ownerValue in this column
  ownerValue: string | null;
  /** The where clause's subquery (`where` is then its plain part), or null. */
  sub: SubqueryDef | null;
}

export function defKey(d: ShapeDef): string {
  return JSON.stringify([d.schema, d.table, d.where, d.params, d.columns, d.replica, d.log, d.ownerColumn, d.ownerValue, d.sub]);
}

export interface Entry { offset: Offset; json: string }

/**
 * A shape's own query failed (its where clause on some row, or the timeout). The message is
 * built from the SQLSTATE alone: Postgres' text can quote a value of a row the caller may not
 * see.
 */
export class ShapeQueryFailed extends Error {
  constructor(readonly code: string) { super(`${QUERY_FAILURES[code] ?? 'the query failed'} (SQLSTATE ${code})`); }
  static from(e: unknown): unknown {
    return isPgError(e) && (/^(22|42)/.test(e.code) || e.code === '57014') ? new ShapeQueryFailed(e.code) : e;
  }
}

const QUERY_FAILURES: Record<string, string> = {
  '22P02': 'a value has the wrong format for its type', '22003': 'a number is out of range',
  '22012': 'division by zero', '22007': 'a date or time has the wrong format', '22008': 'a date or time is out of range',
  '2201B': 'invalid regular expression', '22023': 'invalid parameter value', '22004': 'null value not allowed',
  '22001': 'a string is too long for its type', '22021': 'invalid byte sequence', '22025': 'invalid escape sequence',
  '42883': 'no operator or function matches the argument types', '42804': 'the types do not match',
  '42703': 'a column does not exist', '42725': 'an operator or function is ambiguous', '42P18': 'a type cannot be determined',
  '57014': 'the query ran longer than the statement timeout', '42501': 'permission denied',
};

export class ShapeRetired extends Error {
  constructor(readonly reason: string) { super(reason); }
}

type Row = Record<string, string | null>;

export class Shape {
  readonly handle: string;
  readonly key: string;
  readonly rel: string;
  readonly selected: string[];
  readonly pk: string[];             // key columns: the PK, or every column sorted by name
  snapshotChunks: string[][] = [];   // JSON messages; the last chunk ends with snapshot-end
  entries: Entry[] = [];
  startTx = 0;
  processedTx = 0;
  /** Entries at or before this tx were dropped by log retention. */
  trimmedTx = 0;
  retired: string | null = null;
  lastUsed = Date.now();
  /** Characters of JSON this shape holds (snapshot and log): what the memory limits count. */
  bytes = 0;
  private xmin = 0n;
  private xmax = 0n;
  private xip = new Set<bigint>();
  private waiters = new Set<() => void>();
  private processing: Promise<void> = Promise.resolve();

  /** The subquery's values and tags (subquery shapes only). */
  readonly moves: Moves | null;
  /**
   * Keys a client that follows this subquery shape from its snapshot holds, with each row's
   * subquery value (log=full subquery shapes only). Move-in rows are read when their move is
   * processed, so a later change can reach a row no move-in returned: it then goes out as a
   * full insert, and a delete of a row nobody holds is not sent.
   */
  private held: Map<string, string | null> | null;

  /** `inner`: the subquery's table, for a shape with one. */
  constructor(readonly def: ShapeDef, readonly table: TableInfo, readonly reader: Reader, inner: TableInfo | null = null) {
    this.key = defKey(def);
    this.handle = newHandle(this.key);
    this.moves = def.sub && inner ? new Moves(def.sub, inner, this.handle) : null;
    this.held = this.moves && def.log === 'full' ? new Map() : null;
    this.rel = relationKey(def.schema, def.table);
    this.selected = def.columns ?? table.columns.map((c) => c.name);
    this.pk = table.pk.length ? table.pk : table.columns.map((c) => c.name).sort();
  }

  /** Offset of the newest entry ever logged (0_inf while there is none); trimming keeps it. */
  lastOffset: Offset = { tx: 0, op: Infinity };

  /** Takes the initial snapshot. `head` is the change-log head read before this call. */
  async takeSnapshot(db: Upstream, head: number, chunkBytes: number): Promise<void> {
    this.startTx = head;
    this.processedTx = head;
    const t = this.table;
    const cols = this.selectList();
    const { sql, params } = this.filterSql();
    await this.reader.read(db, async (tx) => {
      const [snap] = await tx.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
      const [xmin, xmax, xip] = snap.s.split(':');
      this.xmin = BigInt(xmin);
      this.xmax = BigInt(xmax);
      this.xip = new Set(xip ? xip.split(',').map((x) => BigInt(x)) : []);
      if (this.moves) {
        const f = this.innerFilterSql();
        await this.moves.load(tx, f.sql, f.params);
      }
      const chunks: string[][] = [[]];
      if (this.def.log === 'full') {
        const rows = await tx.query<Record<string, string | null>>(
          `SELECT ${cols} FROM ${qualified({ schema: t.schema, name: t.name })}${sql ? ` WHERE ${sql}` : ''}`, params);
        let bytes = 0;
        for (const r of rows) {
          const row: Row = {};
          this.selected.forEach((c, i) => { row[c] = r[`c${i}`] as string | null; });
          const key = this.keyOf(row);
          this.held?.set(key, r.ct ?? null);
          const msg = JSON.stringify({ key, value: row, headers: { operation: 'insert', relation: [t.schema, t.name], ...this.tagsOf(r.ct ?? null) } });
          if (bytes > 0 && bytes + msg.length > chunkBytes) { chunks.push([]); bytes = 0; }
          chunks[chunks.length - 1].push(msg);
          bytes += msg.length;
          this.bytes += msg.length;
        }
      }
      chunks[chunks.length - 1].push(JSON.stringify({
        headers: { control: 'snapshot-end', xmin: String(this.xmin), xmax: String(this.xmax), xip_list: [...this.xip].map(String) },
      }));
      this.snapshotChunks = chunks;
    }, { isolation: 'repeatable read' }, DISPLAY_SET).catch((e) => { throw ShapeQueryFailed.from(e); });
  }

  /** `(where) AND owner = $k [AND col = ANY (subquery)]` with its parameters, or '' for every row. */
  filterSql({ subquery = true } = {}): { sql: string; params: string[] } {
    const parts: string[] = [];
    const params = [...this.def.params];
    if (this.def.where) parts.push(`(${this.def.where})`);
    const owner = this.ownerParam(params);
    if (this.def.ownerColumn) parts.push(ownerCondition(this.table, this.def.ownerColumn, this.def.ownerValue, owner!));
    if (this.def.sub && subquery) parts.push(subquerySql(this.def.sub, owner));
    return { sql: parts.join(' AND '), params };
  }

  /** The subquery's own filter (its where and the caller's restriction) over its table. */
  innerFilterSql(): { sql: string; params: string[] } {
    const sub = this.def.sub!;
    const params = [...this.def.params];
    const owner = this.ownerParam(params);
    const parts = [sub.where ? `(${sub.where})` : '', sub.ownerColumn && owner ? `${quoteIdent(sub.table)}.${quoteIdent(sub.ownerColumn)}::text = ${owner}` : ''];
    return { sql: parts.filter(Boolean).join(' AND '), params };
  }

  /** Appends the caller's id to `params` when a restriction needs it; its `$N` or null. */
  private ownerParam(params: string[]): string | null {
    if (!this.def.ownerColumn && !this.def.sub?.ownerColumn) return null;
    params.push(this.def.ownerValue ?? '');
    return `$${params.length}`;
  }

  /** The selected columns as text (c0, c1, …) and, for a subquery shape, its column (ct). */
  selectList(): string {
    const cols = this.selected.map((c, i) => `${quoteIdent(c)}::text AS c${i}`);
    if (this.moves) cols.push(`${quoteIdent(this.moves.sub.outerColumn)}::text AS ct`);
    return cols.join(', ');
  }

  /** `tags` and `active_conditions` of a row whose subquery column holds `value` (subquery shapes). */
  tagsOf(value: string | null, old?: string | null): Record<string, unknown> {
    if (!this.moves) return {};
    const h: Record<string, unknown> = { tags: [this.moves.tag(value)], active_conditions: [true] };
    if (old !== undefined && old !== value) h.removed_tags = [this.moves.tag(old)];
    return h;
  }

  private visibleInSnapshot(xid: bigint): boolean {
    return xid < this.xmin || (xid < this.xmax && !this.xip.has(xid));
  }

  keyOf(row: Row): string {
    return rowKey(this.rel, this.pk.map((c) => row[c] ?? null));
  }

  /** Queues processing of every logged transaction after processedTx. */
  catchUp(db: Upstream, txs: () => Transaction[]): Promise<void> {
    this.processing = this.processing.then(() => this.process(db, txs())).catch((e) => {
      this.retire(`change processing failed: ${(e as Error).message}`);
    });
    return this.processing;
  }

  private async process(db: Upstream, all: Transaction[]): Promise<void> {
    if (this.retired) return;
    const relation = `${this.def.schema}.${this.def.table}`;
    const inner = this.moves?.relation;
    const txs = all.filter((t) => t.tx > this.processedTx);
    if (txs.length === 0) return;
    const mine: { t: Transaction; changes: Change[] }[] = [];
    const colsOf = (c: Change) => (c.relation === relation ? this.table : this.moves!.inner).columns.map((x) => x.name).join(',');
    for (const t of txs) {
      if (!(t.relations.has(relation) || (inner && t.relations.has(inner))) || this.visibleInSnapshot(t.xid)) continue;
      const changes = t.changes.filter((c) => c.relation === relation || c.relation === inner);
      if (changes.some((c) => c.op === 'T')) return this.retire('truncate');
      if (changes.some((c) => c.cols.join(',') !== colsOf(c))) return this.retire('schema change');
      mine.push({ t, changes });
    }
    const matches = await this.evaluate(db, mine.flatMap((m) => m.changes.filter((c) => c.relation === relation)));
    const innerMatches = this.moves ? await this.evaluateInner(db, mine.flatMap((m) => m.changes.filter((c) => c.relation === inner))) : null;
    let added = false;
    for (const { t, changes } of mine) {
      const out: { op: number; msg: Record<string, unknown> }[] = [];
      // The subquery's values move first: the shape's own rows are judged against the values
      // after their transaction.
      const moved = this.moves
        ? this.moves.apply(changes.filter((c) => c.relation === inner), (r) => innerMatches!.get(r) ?? false)
        : { added: [], removed: [] };
      for (const c of changes) if (c.relation === relation) this.messagesFor(c, matches, out);
      let op = changes.length * 2;
      if (moved.removed.length && this.held) {
        const gone = new Set(moved.removed);
        for (const [k, v] of this.held) if (v !== null && gone.has(v)) this.held.delete(k);
      }
      if (moved.removed.length) {
        out.push({ op: op++, msg: { headers: { event: 'move-out', patterns: moved.removed.map((v) => ({ pos: 0, value: this.moves!.tag(v) })) } } });
      }
      if (moved.added.length) for (const msg of await this.moveIn(db, moved.added)) out.push({ op: op++, msg });
      if (out.length === 0) continue;
      const lastLogged = out.map((o) => !(o.msg.headers as Record<string, unknown>).control).lastIndexOf(true);
      out.forEach((o, i) => {
        const headers = o.msg.headers as Record<string, unknown>;
        // Move-in rows come from a query, not from the log: no lsn or txids to de-duplicate by.
        if (!headers.is_move_in && !headers.control) {
          headers.lsn = String(t.tx);
          headers.op_position = o.op;
          headers.txids = [t.xid32];
        }
        if (i === lastLogged) headers.last = true;
        this.lastOffset = { tx: t.tx, op: o.op };
        const json = JSON.stringify(o.msg);
        this.entries.push({ offset: this.lastOffset, json });
        this.bytes += json.length;
      });
      added = true;
    }
    this.processedTx = txs[txs.length - 1].tx;
    if (added) this.wake();
  }

  /** Which old/new row images pass the shape's filter; evaluated by Postgres for `where`. */
  private async evaluate(db: Upstream, changes: Change[]): Promise<Map<Row, boolean>> {
    const out = new Map<Row, boolean>();
    const rows: Row[] = [];
    for (const c of changes) for (const r of [c.old, c.new]) if (r) rows.push(r);
    const ownerOk = (r: Row) => !this.def.ownerColumn || r[this.def.ownerColumn] === this.def.ownerValue;
    if (!this.def.where) {
      for (const r of rows) out.set(r, ownerOk(r));
      return out;
    }
    const candidates = rows.filter(ownerOk);
    for (const r of rows) out.set(r, false);
    if (candidates.length === 0) return out;
    const json = JSON.stringify(candidates.map((r) => this.typedForJson(r)));
    const params = [...this.def.params, json];
    const t = qualified({ schema: this.def.schema, name: this.def.table });
    const res = await this.reader.read(db, (tx) => tx.query<{ i: string }>(
      `SELECT ordinality::text AS i FROM json_populate_recordset(null::${t}, $${params.length}::json) WITH ORDINALITY
        WHERE (${this.def.where})`, params));
    for (const { i } of res) out.set(candidates[Number(i) - 1], true);
    return out;
  }

  /** Which row images of the subquery's table pass its filter (its where and the caller's restriction). */
  private async evaluateInner(db: Upstream, changes: Change[]): Promise<Map<Row, boolean>> {
    const out = new Map<Row, boolean>();
    const sub = this.moves!.sub;
    const rows: Row[] = [];
    for (const c of changes) for (const r of [c.old, c.new]) if (r) rows.push(r);
    const ownerOk = (r: Row) => !sub.ownerColumn || r[sub.ownerColumn] === this.def.ownerValue;
    const candidates = rows.filter(ownerOk);
    for (const r of rows) out.set(r, !sub.where && ownerOk(r));
    if (!sub.where || candidates.length === 0) return out;
    const t = this.moves!.inner;
    const json = JSON.stringify(candidates.map((r) => this.typedForJson(r, t)));
    const params = [...this.def.params, json];
    const res = await this.reader.read(db, (tx) => tx.query<{ i: string }>(
      `SELECT ordinality::text AS i FROM json_populate_recordset(null::${qualified({ schema: t.schema, name: t.name })}, $${params.length}::json)
        WITH ORDINALITY AS ${quoteIdent(t.name)} WHERE (${sub.where})`, params));
    for (const { i } of res) out.set(candidates[Number(i) - 1], true);
    return out;
  }

  /**
   * The move-in query: the shape's rows whose subquery column holds one of `values`, read now,
   * as inserts marked `is_move_in`, then the query's `snapshot-end`.
   */
  private async moveIn(db: Upstream, values: string[]): Promise<Record<string, unknown>[]> {
    const { sql, params } = this.filterSql({ subquery: false });
    params.push(JSON.stringify(values));
    const cond = `${quoteIdent(this.moves!.sub.outerColumn)}::text = ANY (ARRAY(SELECT pg_catalog.json_array_elements_text($${params.length}::json)))`;
    const t = this.table;
    const relation = [t.schema, t.name];
    return this.reader.read(db, async (tx) => {
      const [snap] = await tx.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
      const rows = await tx.query<Row>(
        `SELECT ${this.selectList()} FROM ${qualified({ schema: t.schema, name: t.name })} WHERE ${sql ? `${sql} AND ` : ''}${cond}`, params);
      const out: Record<string, unknown>[] = rows.map((r) => {
        const value: Row = {};
        this.selected.forEach((c, i) => { value[c] = r[`c${i}`] ?? null; });
        const key = this.keyOf(value);
        this.held?.set(key, r.ct ?? null);
        return { key, value, headers: { operation: 'insert', relation, is_move_in: true, ...this.tagsOf(r.ct ?? null) } };
      });
      const [xmin, xmax, xip] = snap.s.split(':');
      out.push({ headers: { control: 'snapshot-end', xmin, xmax, xip_list: xip ? xip.split(',') : [] } });
      return out;
    }, { isolation: 'repeatable read' }, DISPLAY_SET).catch((e) => { throw ShapeQueryFailed.from(e); });
  }

  /** json/jsonb values must be embedded as JSON, not as strings, for json_populate_recordset. */
  private typedForJson(r: Row, table: TableInfo = this.table): Record<string, unknown> {
    const o: Record<string, unknown> = { ...r };
    for (const c of table.columns) {
      const v = r[c.name];
      if (c.isJson && typeof v === 'string') {
        try { o[c.name] = JSON.parse(v); } catch { /* leave as text */ }
      }
    }
    return o;
  }

  private pick(row: Row, cols: string[]): Row {
    const o: Row = {};
    for (const c of cols) o[c] = row[c] ?? null;
    return o;
  }

  private messagesFor(c: Change, matches: Map<Row, boolean>, out: { op: number; msg: Record<string, unknown> }[]): void {
    const relation = [this.def.schema, this.def.table];
    const op = c.index * 2;
    const full = this.def.replica === 'full';
    const oc = this.moves?.sub.outerColumn;
    const tagged = (row: Row, old?: Row) => (oc ? this.tagsOf(row[oc] ?? null, old ? old[oc] ?? null : undefined) : {});
    const inShape = (row: Row) => (matches.get(row) ?? false) && (!this.moves || this.moves.has(row[oc!]));
    const hdr = (operation: string, extra: Record<string, unknown> = {}) => ({ operation, relation, ...extra });
    const insert = (row: Row, opPos: number, extra?: Record<string, unknown>) => {
      this.held?.set(this.keyOf(row), row[oc!] ?? null);
      out.push({ op: opPos, msg: { key: this.keyOf(row), value: this.pick(row, this.selected), headers: hdr('insert', { ...extra, ...tagged(row) }) } });
    };
    const del = (row: Row, opPos: number, extra?: Record<string, unknown>) => {
      if (this.held && !this.held.delete(this.keyOf(row))) return;
      out.push({ op: opPos, msg: { key: this.keyOf(row), value: this.pick(row, full ? this.selected : this.pk.filter((k) => this.selected.includes(k))), headers: hdr('delete', { ...extra, ...tagged(row) }) } });
    };
    if (c.op === 'I') {
      if (inShape(c.new!)) insert(c.new!, op);
    } else if (c.op === 'D') {
      if (inShape(c.old!)) del(c.old!, op);
    } else if (c.op === 'U') {
      const was = inShape(c.old!);
      const is = inShape(c.new!);
      if (was && is) {
        const oldKey = this.keyOf(c.old!);
        const newKey = this.keyOf(c.new!);
        if (oldKey !== newKey) {
          del(c.old!, op, { key_change_to: newKey });
          insert(c.new!, op + 1, { key_change_from: oldKey });
          return;
        }
        if (this.held && !this.held.has(newKey)) return void insert(c.new!, op);
        const changed = this.selected.filter((k) => c.old![k] !== c.new![k]);
        if (changed.length === 0 && (!oc || c.old![oc] === c.new![oc])) return;
        this.held?.set(newKey, c.new![oc!] ?? null);
        const value = full ? this.pick(c.new!, this.selected) : this.pick(c.new!, [...this.pk.filter((k) => !changed.includes(k)), ...changed]);
        const msg: Record<string, unknown> = { key: newKey, value, headers: hdr('update', tagged(c.new!, c.old!)) };
        if (full) msg.old_value = this.pick(c.old!, changed);
        out.push({ op, msg });
      } else if (was) {
        del(c.old!, op);
      } else if (is) {
        insert(c.new!, op);
      }
    }
  }

  /** Entries strictly after `after`, at most `maxBytes` (at least one). */
  entriesAfter(after: Offset, maxBytes: number): { items: Entry[]; complete: boolean } {
    let lo = 0, hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareOffsets(this.entries[mid].offset, after) <= 0) lo = mid + 1; else hi = mid;
    }
    const items: Entry[] = [];
    let bytes = 0;
    let i = lo;
    for (; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (items.length > 0 && bytes + e.json.length > maxBytes) break;
      items.push(e);
      bytes += e.json.length;
    }
    return { items, complete: i >= this.entries.length };
  }

  /** Drops entries of transactions at or before `tx` (log retention). */
  trim(tx: number): void {
    if (tx <= this.trimmedTx) return;
    this.trimmedTx = tx;
    let n = 0;
    while (n < this.entries.length && this.entries[n].offset.tx <= tx) this.bytes -= this.entries[n++].json.length;
    if (n) this.entries.splice(0, n);
  }

  retire(reason: string): void {
    if (this.retired) return;
    this.retired = reason;
    // A retired shape only ever answers must-refetch: its rows can go now.
    this.snapshotChunks = [];
    this.entries = [];
    this.held?.clear();
    this.bytes = 0;
    this.wake();
  }

  /** Resolves when the log grows or the shape is retired; `cancel` stops waiting. */
  waitForChange(): { promise: Promise<void>; cancel: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => { resolve = r; });
    this.waiters.add(resolve);
    return { promise, cancel: () => { this.waiters.delete(resolve); resolve(); } };
  }

  wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}

/** Select-list items that set Electric's display settings for the current transaction. */
export const DISPLAY_SET = `set_config('datestyle', 'ISO, DMY', true), set_config('timezone', 'UTC', true),
    set_config('intervalstyle', 'iso_8601', true), set_config('extra_float_digits', '1', true),
    set_config('bytea_output', 'hex', true)`;
