// Table metadata from pg_catalog: columns, types, primary key, and the `electric-schema`
// header built from it (§2.5). Looked up fresh per non-live request so `not_null` follows
// `ALTER … DROP NOT NULL`, as Electric does.
import type { Queryable } from './upstream.js';

export interface Column {
  name: string;
  typname: string;     // element type for arrays
  dims: number;        // 0 for scalars
  notNull: boolean;
  typmod: number;
  isJson: boolean;     // json/jsonb scalar
  fmt: string;         // format_type(), usable in a cast
  pkIndex: number;     // -1 if not part of the primary key
}

export interface TableInfo {
  schema: string;
  name: string;
  oid: string;
  columns: Column[];
  pk: string[];        // PK column names in key order; [] when the table has none
  /** Stable description of the column set and types; changes mean a schema change. */
  signature: string;
}

export class TableNotFound extends Error {
  /** The one answer for a table that is missing or not the app's: it says nothing more. */
  static of(t: { schema: string; name: string }): TableNotFound {
    return new TableNotFound(`Table ${qualified(t)} does not exist. If the table name contains capitals or special characters you must quote it.`);
  }
}

/** Reads the `"quoted ""identifier"""` starting at s[i] (a `"`): its value and the index after it. */
function readQuotedIdentifier(s: string, i: number): { value: string; next: number } | null {
  let value = '';
  for (let j = i + 1; j < s.length; ) {
    if (s[j] !== '"') { value += s[j++]; continue; }
    if (s[j + 1] === '"') { value += '"'; j += 2; continue; }
    return { value, next: j + 1 };
  }
  return null;
}

/** Parses `table`, `schema.table`, `"Quoted"."Names"` (§1.2). */
export function parseTableName(s: string): { schema: string; name: string } | null {
  const parts: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '"') {
      const q = readQuotedIdentifier(s, i);
      if (!q) return null;
      parts.push(q.value);
      i = q.next;
    } else {
      const m = /^[^."]+/.exec(s.slice(i));
      if (!m) return null;
      parts.push(m[0].trim().toLowerCase());
      i += m[0].length;
    }
    if (i < s.length) {
      if (s[i] !== '.') return null;
      i++;
      if (i >= s.length) return null;
    }
  }
  if (parts.length === 1) return { schema: 'public', name: parts[0] };
  if (parts.length === 2) return { schema: parts[0], name: parts[1] };
  return null;
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export function qualified(t: { schema: string; name: string }): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

export async function loadTable(db: Queryable, schema: string, name: string): Promise<TableInfo> {
  const rel = await db.query<{ oid: string; relkind: string }>(
    `SELECT c.oid::text AS oid, c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, [schema, name]);
  if (rel.length === 0) throw TableNotFound.of({ schema, name });
  const oid = rel[0].oid;
  const cols = await db.query<{ attname: string; typname: string; elem: string | null; attndims: string; attnotnull: string; atttypmod: string; fmt: string; pk: string | null }>(
    `SELECT a.attname, t.typname, et.typname AS elem, a.attndims::text, a.attnotnull::text, a.atttypmod::text,
            format_type(a.atttypid, a.atttypmod) AS fmt,
            (SELECT (k.ord - 1)::text FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
              WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum) AS pk
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [oid]);
  const columns: Column[] = cols.map((c) => {
    const isArray = c.elem !== null;
    const typname = isArray ? c.elem! : c.typname;
    return {
      name: c.attname,
      typname,
      dims: isArray ? Math.max(1, Number(c.attndims)) : 0,
      notNull: c.attnotnull === 'true' || c.attnotnull === 't',
      typmod: Number(c.atttypmod),
      isJson: !isArray && (typname === 'json' || typname === 'jsonb'),
      fmt: c.fmt,
      pkIndex: c.pk === null ? -1 : Number(c.pk),
    };
  });
  const pk = columns.filter((c) => c.pkIndex >= 0).sort((a, b) => a.pkIndex - b.pkIndex).map((c) => c.name);
  const signature = columns.map((c) => `${c.name}:${c.typname}[${c.dims}]`).join(',');
  return { schema, name, oid, columns, pk, signature };
}

/** The `electric-schema` header value for the selected columns (§2.5). */
export function schemaHeader(t: TableInfo, selected: string[]): string {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of selected) {
    const c = t.columns.find((x) => x.name === name);
    if (!c) continue;
    const e: Record<string, unknown> = { type: c.typname };
    if (c.dims > 0) e.dims = c.dims;
    if (c.pkIndex >= 0) e.pk_index = c.pkIndex;
    if (c.notNull) e.not_null = true;
    if (c.typmod >= 0) {
      if (c.typname === 'varchar') e.max_length = c.typmod - 4;
      else if (c.typname === 'bpchar') e.length = c.typmod - 4;
      else if (c.typname === 'numeric') {
        e.precision = ((c.typmod - 4) >> 16) & 0xffff;
        e.scale = (c.typmod - 4) & 0xffff;
      } else if (['timestamp', 'timestamptz', 'time', 'timetz'].includes(c.typname)) e.precision = c.typmod;
      else if (c.typname === 'bit' || c.typname === 'varbit') e.length = c.typmod;
    }
    out[name] = e;
  }
  return JSON.stringify(out);
}

/** Parses the `columns` parameter: quoted names keep case, `""` escapes, others lower-case. */
export function parseColumnsParam(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '"') {
      const q = readQuotedIdentifier(s, i);
      if (!q) return null;
      out.push(q.value);
      i = q.next;
    } else {
      const j = s.indexOf(',', i);
      const raw = (j < 0 ? s.slice(i) : s.slice(i, j)).trim();
      if (!raw) return null;
      out.push(raw.toLowerCase());
      i = j < 0 ? s.length : j;
    }
    if (i < s.length) {
      if (s[i] !== ',') return null;
      i++;
    }
  }
  return out.length ? out : null;
}
