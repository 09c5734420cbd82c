// Subquery shapes, the where check: `<column> IN (SELECT <column> FROM <app table> [WHERE …])`,
// alone or AND-ed with plain conditions ("the tasks of environments that are active"). One
// subquery per shape; its table must be an app table (the caller looks it up; anything else is
// answered like a table that does not exist), its where clause is a plain clause over that
// table (the same allow-list, no nested subquery), and both columns must have the same type,
// one whose text form is its identity (so the service can hold the subquery's values as text).
// The SQL is emitted from the tree like any where clause; the caller's row restriction on the
// inner table is added when the shape runs (shape.ts).
import { quoteIdent } from './catalog.js';
import type { TableInfo } from './catalog.js';
import { type CheckedWhere, Emitter, type Node, WhereError, checkWhere, parseWhere, strings } from './where.js';

export interface SubqueryRef { schema: string; name: string }

/** What a shape needs to run its subquery and to follow the inner table's changes. */
export interface SubqueryDef {
  /** The shape's column compared with the subquery's values. */
  outerColumn: string;
  schema: string;
  table: string;
  innerColumn: string;
  /** The subquery's own where clause (columns qualified with its table), or null. */
  where: string | null;
  /** Column of the inner table restricted to the caller (null: none). */
  ownerColumn: string | null;
}

export interface CheckedShapeWhere extends CheckedWhere {
  /** The plain part (null when the clause is only the subquery). */
  plain: string | null;
  subquery: Omit<SubqueryDef, 'ownerColumn'> | null;
  /** Columns of the inner table the subquery reads. */
  innerColumns: Set<string>;
}

// Not bool: a snapshot's ::text says 'true' where a captured row says 't'.
const TEXT_EXACT_TYPES = new Set(['text', 'varchar', 'uuid', 'int2', 'int4', 'int8', 'date']);

function topTerms(clause: Node): Node[] {
  return clause.BoolExpr?.boolop === 'AND_EXPR' ? clause.BoolExpr.args ?? [] : [clause];
}

/** The tables a where clause's subqueries name (empty for a plain or unparsable clause). */
export function subqueryTables(where: string, defaultSchema: string): SubqueryRef[] {
  let clause: Node;
  try { clause = parseWhere(where); } catch { return []; }
  const out: SubqueryRef[] = [];
  for (const t of topTerms(clause)) {
    const rv = t.SubLink?.subselect?.SelectStmt?.fromClause?.[0]?.RangeVar;
    if (rv && typeof rv.relname === 'string') out.push({ schema: typeof rv.schemaname === 'string' ? rv.schemaname : defaultSchema, name: rv.relname });
  }
  return out;
}

/**
 * Checks a shape's where clause, subquery allowed. `inner` returns the app table a subquery
 * names, or null when it is not one. Plain clauses come out exactly as from checkWhere.
 */
export function checkShapeWhere(where: string, table: TableInfo, inner: (ref: SubqueryRef) => TableInfo | null): CheckedShapeWhere {
  const clause = parseWhere(where);
  const terms = topTerms(clause);
  const subs = terms.filter((t) => t.SubLink);
  if (subs.length === 0) {
    const c = checkWhere(where, table);
    return { ...c, plain: c.sql, subquery: null, innerColumns: new Set() };
  }
  const emitter = new Emitter(table);
  const sl: Node = subs[0].SubLink;
  const loc = typeof sl.location === 'number' ? sl.location : 0;
  if (subs.length > 1) emitter.refuse(loc, 'a where clause may hold only one subquery');
  const plainTerms = terms.filter((t) => !t.SubLink).map((t) => emitter.expr(t, 1, loc));
  const plain = plainTerms.length === 0 ? null : plainTerms.length === 1 ? plainTerms[0] : emitter.bool('AND', plainTerms);

  emitter.only(sl, 'a subquery', loc, ['subLinkType', 'testexpr', 'subselect', 'operName', 'location']);
  if (sl.subLinkType !== 'ANY_SUBLINK' || (sl.operName && JSON.stringify(strings(sl.operName)) !== '["="]')) {
    emitter.refuse(loc, 'the only subquery allowed is `column IN (SELECT column FROM table WHERE …)`');
  }
  if (!sl.testexpr?.ColumnRef) emitter.refuse(loc, 'the left side of IN (SELECT …) must be a column');
  emitter.columnRef(sl.testexpr.ColumnRef, loc);
  const outerNames = strings(sl.testexpr.ColumnRef.fields)!;
  const outerColumn = outerNames[outerNames.length - 1];

  const sel: Node | undefined = sl.subselect?.SelectStmt;
  if (!sel) emitter.refuse(loc, 'the subquery must be a plain SELECT');
  for (const [k, v] of Object.entries(sel!)) {
    if (k === 'targetList' || k === 'fromClause' || k === 'whereClause' || (k === 'limitOption' && v === 'LIMIT_OPTION_DEFAULT') || (k === 'op' && v === 'SETOP_NONE')) continue;
    emitter.refuse(loc, `the subquery must be SELECT column FROM table [WHERE …] (found ${k})`);
  }
  const target: Node | undefined = sel!.targetList?.length === 1 ? sel!.targetList[0].ResTarget : undefined;
  if (!target || Object.keys(target).some((k) => k !== 'val' && k !== 'location') || !target.val?.ColumnRef) {
    emitter.refuse(loc, 'the subquery must select exactly one column');
  }
  const rv: Node | undefined = sel!.fromClause?.length === 1 ? sel!.fromClause[0].RangeVar : undefined;
  if (!rv || Object.keys(rv).some((k) => !['schemaname', 'relname', 'inh', 'relpersistence', 'location'].includes(k)) || rv.inh !== true) {
    emitter.refuse(loc, 'the subquery must read exactly one table, without alias');
  }
  const ref = { schema: typeof rv!.schemaname === 'string' ? rv!.schemaname : table.schema, name: String(rv!.relname) };
  const innerTable = inner(ref);
  if (!innerTable) {
    emitter.refuse(loc, `Table ${quoteIdent(ref.schema)}.${quoteIdent(ref.name)} does not exist. If the table name contains capitals or special characters you must quote it.`);
  }
  const ie = new Emitter(innerTable!, { qualify: true });
  ie.columnRef(target!.val.ColumnRef, loc);
  const innerNames = strings(target!.val.ColumnRef.fields)!;
  const innerColumn = innerNames[innerNames.length - 1];
  const innerWhere = sel!.whereClause ? ie.expr(sel!.whereClause, 1, loc) : null;
  const oc = table.columns.find((c) => c.name === outerColumn)!;
  const ic = innerTable!.columns.find((c) => c.name === innerColumn)!;
  if (oc.typname !== ic.typname || oc.dims !== 0 || ic.dims !== 0 || !TEXT_EXACT_TYPES.has(oc.typname)) {
    emitter.refuse(loc, `IN (SELECT …) compares columns of one type among ${[...TEXT_EXACT_TYPES].join(', ')}; ${outerColumn} is ${oc.typname}${oc.dims ? '[]' : ''} and ${innerColumn} is ${ic.typname}${ic.dims ? '[]' : ''}`);
  }
  const sub = { outerColumn, schema: innerTable!.schema, table: innerTable!.name, innerColumn, where: innerWhere };
  return {
    sql: plain ?? 'true', plain, subquery: sub, columns: emitter.columns, innerColumns: ie.columns,
    maxParam: Math.max(emitter.maxParam, ie.maxParam), params: new Set([...emitter.params, ...ie.params]),
  };
}

/** `<outer> = ANY (SELECT …)` with operators pinned; `owner` is the `$N` of the caller, if any. */
export function subquerySql(sub: SubqueryDef, owner: string | null): string {
  const t = `${quoteIdent(sub.schema)}.${quoteIdent(sub.table)}`;
  const conds = [sub.where ? `(${sub.where})` : '', sub.ownerColumn && owner ? `${t}.${quoteIdent(sub.ownerColumn)}::text = ${owner}` : '']
    .filter(Boolean);
  return `(${quoteIdent(sub.outerColumn)} OPERATOR(pg_catalog.=) ANY (SELECT ${t}.${quoteIdent(sub.innerColumn)} FROM ${t}`
    + `${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}))`;
}
