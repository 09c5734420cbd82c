// Checks a subset's `order_by` with PostgreSQL's own grammar (libpg-query) and rebuilds the SQL
// that runs from the parse tree, with the same allow-list and emitter as a `where` clause
// (where.ts). Sort keys are emitted qualified with the table's name, so they can never name an
// output column.
import pkg from 'libpg-query';
import { type CheckedWhere, type EmitOptions, Emitter, lexicalCheck, MAX_WHERE_LENGTH, type Node, parserReady, type WhereTable, WhereError, describeKey } from './where.js';

const { parseSync } = pkg;

const ORDER_PREFIX = 'SELECT WHERE true ORDER BY ';
const SORT_DIRS: Record<string, string> = { SORTBY_DEFAULT: '', SORTBY_ASC: ' ASC', SORTBY_DESC: ' DESC' };
const SORT_NULLS: Record<string, string> = { SORTBY_NULLS_DEFAULT: '', SORTBY_NULLS_FIRST: ' NULLS FIRST', SORTBY_NULLS_LAST: ' NULLS LAST' };

/**
 * Validates a subset's `order_by` (a list of `expr [ASC|DESC] [NULLS FIRST|LAST]`) with the
 * same allow-list as `where`, and returns the SQL to run in its place. Sort keys must be
 * expressions, not positions (`ORDER BY 1`), and `USING op` is refused.
 */
export function checkOrderBy(orderBy: string, table: WhereTable, opts: EmitOptions = {}): CheckedWhere {
  if (!parserReady()) throw new Error('checkOrderBy called before loadWhereParser() resolved');
  if (!orderBy.trim()) throw new WhereError('At location 0: order_by is empty');
  if (orderBy.length > MAX_WHERE_LENGTH) throw new WhereError(`At location ${MAX_WHERE_LENGTH}: order_by is longer than ${MAX_WHERE_LENGTH} characters`);
  if (orderBy.includes('\0')) throw new WhereError(`At location ${orderBy.indexOf('\0')}: NUL characters are not allowed`);
  lexicalCheck(orderBy);
  let tree: any;
  try {
    tree = parseSync(ORDER_PREFIX + orderBy);
  } catch (e) {
    const pos = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    throw new WhereError(`At location ${typeof pos === 'number' ? Math.max(0, pos - ORDER_PREFIX.length) : 0}: order_by could not be parsed`);
  }
  const stmts = tree?.stmts ?? [];
  const select = stmts.length === 1 ? stmts[0].stmt?.SelectStmt : null;
  if (!select || !Array.isArray(select.sortClause)) throw new WhereError('At location 0: order_by must be a list of sort keys');
  for (const [k, v] of Object.entries(select)) {
    if (k === 'whereClause' || k === 'sortClause' || (k === 'limitOption' && v === 'LIMIT_OPTION_DEFAULT') || (k === 'op' && v === 'SETOP_NONE')) continue;
    throw new WhereError(`At location 0: order_by must be a list of sort keys (found ${describeKey(k)})`);
  }
  const emitter = new Emitter(table, { ...opts, qualify: true }, ORDER_PREFIX);
  const keys = select.sortClause.map((item: Node) => {
    const s: Node | undefined = item.SortBy;
    const loc = typeof s?.location === 'number' ? s.location : 0;
    if (!s || Object.keys(item).length !== 1) return emitter.refuse(loc, 'unexpected sort key');
    for (const k of Object.keys(s)) {
      if (!['node', 'sortby_dir', 'sortby_nulls', 'location'].includes(k)) emitter.refuse(loc, `sort keys with ${k === 'useOp' ? 'USING' : k} are not allowed`);
    }
    if (s.node?.A_Const) emitter.refuse(loc, 'a sort key must be an expression, not a constant or position');
    const dir = SORT_DIRS[s.sortby_dir ?? 'SORTBY_DEFAULT'];
    const nulls = SORT_NULLS[s.sortby_nulls ?? 'SORTBY_NULLS_DEFAULT'];
    if (dir === undefined || nulls === undefined) emitter.refuse(loc, 'unexpected sort direction');
    return `${emitter.expr(s.node, 0, loc)}${dir}${nulls}`;
  });
  return { sql: keys.join(', '), maxParam: emitter.maxParam, params: emitter.params, columns: emitter.columns };
}
