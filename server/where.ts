// Checks a shape's `where` clause with PostgreSQL's own grammar (libpg-query) and rebuilds the
// SQL that will run from the parse tree. The clause is parsed as `SELECT WHERE <clause>`; the
// result must be one plain SelectStmt holding only that where clause, and every node in it must
// be on the allow-list below. The emitted SQL never reuses the user's text: identifiers are
// quoted, functions, operators and types are pinned to pg_catalog, string constants re-quoted,
// so quoting tricks and search_path shadowing cannot change what runs. The emitted text is also
// the shape's identity, so clauses that differ only in spelling map to one shape.
import pkg from 'libpg-query';
import { quoteIdent } from './catalog.js';

const { loadModule, parseSync } = pkg;

export class WhereError extends Error {
  override name = 'WhereError';
}

export interface CheckedWhere {
  /** The SQL to run, generated from the parse tree. */
  sql: string;
  /** The highest `$N` used (0 if none). */
  maxParam: number;
  /** Every `N` of a `$N` used. */
  params: Set<number>;
  /** Names of the table's columns the clause reads. */
  columns: Set<string>;
}

export interface WhereTable { schema: string; name: string; columns: { name: string }[] }

export const MAX_WHERE_LENGTH = 8192;
const MAX_NESTING = 64;      // brackets in the text, and expression depth in the tree
const MAX_NODES = 4000;
const MAX_SQL_LENGTH = 262144;   // an 8 KB IN list of small numbers expands about 16-fold

const PREFIX = 'SELECT WHERE ';

// Functions callable from a where clause (by name, any pg_catalog overload). `like_escape`,
// `similar_to_escape`, `timezone`, `btrim`/`ltrim`/`rtrim`, `extract` and `position` are what
// the parser produces for LIKE … ESCAPE, SIMILAR TO, AT TIME ZONE, TRIM(…), EXTRACT(… FROM …)
// and POSITION(… IN …).
const ALLOWED_FUNCTIONS = new Set([
  'lower', 'upper', 'length', 'char_length', 'character_length', 'octet_length',
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'mod', 'now', 'date_trunc',
  'date_part', 'extract', 'btrim', 'ltrim', 'rtrim', 'substring', 'substr', 'concat', 'concat_ws', 'position',
  'starts_with', 'strpos', 'replace', 'left', 'right', 'array_length', 'cardinality', 'array_position',
  'jsonb_array_length', 'json_array_length', 'jsonb_typeof', 'json_typeof', 'age', 'to_char', 'md5',
  'like_escape', 'similar_to_escape', 'timezone',
]);

const COMPARISON_OPS = ['=', '<>', '<', '>', '<=', '>='];
const PATTERN_OPS = ['~~', '!~~', '~~*', '!~~*', '~', '!~', '~*', '!~*'];
const BINARY_OPS = new Set([
  ...COMPARISON_OPS, ...PATTERN_OPS, '+', '-', '*', '/', '%', '||',
  '@>', '<@', '&&', '->', '->>', '#>', '#>>', '?', '?|', '?&',
]);
const PREFIX_OPS = new Set(['-', '+']);
const ANY_ALL_OPS = new Set([...COMPARISON_OPS, ...PATTERN_OPS]);
const LIKE_OPS: Record<string, string[]> = {
  AEXPR_LIKE: ['~~', '!~~'], AEXPR_ILIKE: ['~~*', '!~~*'], AEXPR_SIMILAR: ['~', '!~'],
};

// Types a value may be cast to, by their pg_catalog names. Those that take a modifier
// (varchar(20), numeric(10,2), timestamp(3)) may have integer modifiers.
const ALLOWED_TYPES = new Set([
  'text', 'varchar', 'bpchar', 'int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'bool', 'date', 'time',
  'timestamp', 'timestamptz', 'interval', 'uuid', 'json', 'jsonb',
]);
const TYPES_WITH_MODIFIERS = new Set(['varchar', 'bpchar', 'numeric', 'time', 'timestamp', 'timestamptz']);
const COLLATIONS = new Set(['C', 'POSIX', 'default', 'ucs_basic']);

const SQL_VALUE_FUNCTIONS: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'CURRENT_DATE', SVFOP_CURRENT_TIME: 'CURRENT_TIME', SVFOP_CURRENT_TIME_N: 'CURRENT_TIME',
  SVFOP_CURRENT_TIMESTAMP: 'CURRENT_TIMESTAMP', SVFOP_CURRENT_TIMESTAMP_N: 'CURRENT_TIMESTAMP',
  SVFOP_LOCALTIME: 'LOCALTIME', SVFOP_LOCALTIME_N: 'LOCALTIME',
  SVFOP_LOCALTIMESTAMP: 'LOCALTIMESTAMP', SVFOP_LOCALTIMESTAMP_N: 'LOCALTIMESTAMP',
};
const SYSTEM_COLUMNS = new Set(['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid', 'oid']);

let loaded: Promise<void> | null = null;
let ready = false;

/** Whether the parser has loaded (`loadWhereParser` resolved). */
export function parserReady(): boolean {
  return ready;
}

/** Loads the parser (wasm). Idempotent; must have resolved before `checkWhere` is called. */
export async function loadWhereParser(): Promise<void> {
  loaded ??= loadModule().then(() => { ready = true; }, (e: unknown) => { loaded = null; throw e; });
  await loaded;
}

/** A string constant for a server with standard_conforming_strings on (the default since 9.1). */
function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Validates `where` against the allow-list and returns the SQL to run in its place.
 * Throws WhereError saying which construct is refused and where; messages quote only names
 * and syntax from the clause itself, never row data.
 */
export function checkWhere(where: string, table: WhereTable, opts: EmitOptions = {}): CheckedWhere {
  const clause = parseWhere(where);
  const emitter = new Emitter(table, opts);
  const out = emitter.expr(clause, 0, 0);
  return { sql: out, maxParam: emitter.maxParam, params: emitter.params, columns: emitter.columns };
}

/**
 * Why `given` parameters do not fit the clauses that use `used` ($1..$given each used, none
 * beyond), or null when they do. PostgreSQL cannot type a parameter nothing uses.
 */
export function paramsMismatch(used: Iterable<number>, given: number): string | null {
  const set = new Set(used);
  const max = Math.max(0, ...set);
  if (max > given) return `$${max} is used but only ${given} parameter(s) were given`;
  for (let i = 1; i <= given; i++) if (!set.has(i)) return `parameter ${i} is given but no clause uses $${i}`;
  return null;
}

/**
 * The parse tree of a where clause (its one expression), after the lexical checks; refuses
 * anything that is not `SELECT WHERE <one expression>`. The tree still has to be emitted.
 */
export function parseWhere(where: string): Node {
  if (!ready) throw new Error('checkWhere called before loadWhereParser() resolved');
  if (!where.trim()) throw new WhereError('At location 0: the where clause is empty');
  if (where.length > MAX_WHERE_LENGTH) {
    throw new WhereError(`At location ${MAX_WHERE_LENGTH}: the where clause is longer than ${MAX_WHERE_LENGTH} characters`);
  }
  if (where.includes('\0')) throw new WhereError(`At location ${where.indexOf('\0')}: NUL characters are not allowed`);
  lexicalCheck(where);
  const sql = PREFIX + where;
  let tree: any;
  try {
    tree = parseSync(sql);
  } catch (e) {
    const pos = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    if (typeof pos === 'number') {
      throw new WhereError(`At location ${Math.max(0, pos - PREFIX.length)}: ${(e as Error).message}`);
    }
    throw new WhereError('At location 0: the where clause could not be parsed (too complex)');
  }
  const stmts = tree?.stmts ?? [];
  if (stmts.length !== 1) throw new WhereError('At location 0: the where clause must be a single expression');
  const select = stmts[0].stmt?.SelectStmt;
  if (!select || !select.whereClause) throw new WhereError('At location 0: the where clause must be a single expression');
  for (const [k, v] of Object.entries(select)) {
    if (k === 'whereClause' || (k === 'limitOption' && v === 'LIMIT_OPTION_DEFAULT') || (k === 'op' && v === 'SETOP_NONE')) continue;
    throw new WhereError(`At location 0: the where clause must be a single expression (found ${describeKey(k)})`);
  }
  return select.whereClause;
}

export interface EmitOptions {
  /** Added to every `$N` in the emitted SQL (a clause whose parameters follow another's). */
  paramBase?: number;
  /**
   * Emit column references qualified with the table's name (ORDER BY: never an output column;
   * a subquery: never the outer table's).
   */
  qualify?: boolean;
}

export function describeKey(k: string): string {
  const names: Record<string, string> = {
    sortClause: 'ORDER BY', groupClause: 'GROUP BY', havingClause: 'HAVING', limitCount: 'LIMIT', limitOffset: 'OFFSET',
    lockingClause: 'FOR UPDATE/SHARE', windowClause: 'WINDOW', intoClause: 'INTO', op: 'a set operation (UNION etc.)',
    larg: 'a set operation (UNION etc.)', targetList: 'a select list', fromClause: 'FROM',
  };
  return names[k] ?? k;
}

/**
 * Refuses what the parse tree cannot show: comments, statement separators and dollar quoting,
 * and brackets nested deeper than MAX_NESTING (so the parser never recurses far).
 */
export function lexicalCheck(s: string): void {
  let depth = 0;
  let i = 0;
  const n = s.length;
  const fail = (at: number, msg: string): never => { throw new WhereError(`At location ${at}: ${msg}`); };
  const identStart = (c: string) => /[A-Za-z_\u0080-\uffff]/.test(c);
  while (i < n) {
    const c = s[i];
    if (c === '-' && s[i + 1] === '-') fail(i, 'comments are not allowed');
    if (c === '/' && s[i + 1] === '*') fail(i, 'comments are not allowed');
    if (c === ';') fail(i, '";" is not allowed');
    if (c === "'") {
      // E'…' takes backslash escapes; U&'…' and plain strings only double quotes.
      const escapes = i > 0 && /[eE]/.test(s[i - 1]) && (i < 2 || !/[A-Za-z0-9_$\u0080-\uffff]/.test(s[i - 2]));
      i++;
      while (i < n) {
        if (escapes && s[i] === '\\') { i += 2; continue; }
        if (s[i] === "'") {
          if (s[i + 1] === "'") { i += 2; continue; }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n) {
        if (s[i] === '"') {
          if (s[i + 1] === '"') { i += 2; continue; }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (c === '$') {
      if (!/[0-9]/.test(s[i + 1] ?? '')) fail(i, 'dollar quoting is not allowed');
      i++;
      while (i < n && /[0-9]/.test(s[i])) i++;
      continue;
    }
    if (identStart(c)) {
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(s[i])) i++;
      continue;
    }
    if (c === '(' || c === '[') {
      if (++depth > MAX_NESTING) fail(i, `brackets are nested more than ${MAX_NESTING} deep`);
    } else if (c === ')' || c === ']') {
      depth--;
    }
    i++;
  }
}

export type Node = Record<string, any>;

/** Emits SQL for expression trees over one table, refusing what is not on the allow-list. */
export class Emitter {
  maxParam = 0;
  readonly params = new Set<number>();
  readonly columns = new Set<string>();
  private nodes = 0;
  private readonly groups = new Map<string, { kind: 'AND' | 'OR'; terms: string[] }>();
  private readonly names: Set<string>;

  constructor(private readonly table: WhereTable, private readonly opts: EmitOptions = {}, private readonly prefix = PREFIX) {
    this.names = new Set(table.columns.map((c) => c.name));
  }

  private fail(loc: number, msg: string): never {
    throw new WhereError(`At location ${Math.max(0, loc - this.prefix.length)}: ${msg}`);
  }

  refuse(loc: number, msg: string): never { return this.fail(loc, msg); }

  /** Refuses any field of `n` not in `allowed` (aggregate ORDER BY, FILTER, OVER, VARIADIC, …). */
  only(n: Node, what: string, loc: number, allowed: string[]): void {
    for (const k of Object.keys(n)) {
      if (!allowed.includes(k)) this.fail(loc, `${what} with ${k} is not allowed`);
    }
  }

  /**
   * One expression node; `loc` is the nearest known location for messages. IN, BETWEEN,
   * DISTINCT, NULLIF and simple CASE repeat an operand in the output, so nesting them could
   * grow it exponentially: every result is held to MAX_SQL_LENGTH.
   */
  expr(wrapped: Node, depth: number, loc: number): string {
    const out = this.node(wrapped, depth, loc);
    if (out.length > MAX_SQL_LENGTH) this.fail(loc, 'the where clause is too large once expanded');
    return out;
  }

  private node(wrapped: Node, depth: number, loc: number): string {
    if (++this.nodes > MAX_NODES) this.fail(loc, 'the where clause is too complex');
    if (depth > MAX_NESTING) this.fail(loc, `expressions are nested more than ${MAX_NESTING} deep`);
    const keys = Object.keys(wrapped ?? {});
    if (keys.length !== 1) this.fail(loc, 'unexpected expression');
    const type = keys[0];
    const n: Node = wrapped[type];
    if (typeof n.location === 'number' && n.location >= 0) loc = n.location;
    const sub = (x: Node) => this.expr(x, depth + 1, loc);
    switch (type) {
      case 'ColumnRef': return this.columnRef(n, loc);
      case 'A_Const': return this.constant(n, loc);
      case 'ParamRef': {
        this.only(n, 'a parameter', loc, ['number', 'location']);
        const num = n.number;
        if (!Number.isInteger(num) || num < 1) this.fail(loc, 'parameters are numbered from $1');
        this.maxParam = Math.max(this.maxParam, num);
        this.params.add(num);
        return `$${num + (this.opts.paramBase ?? 0)}`;
      }
      case 'BoolExpr': {
        this.only(n, 'a boolean expression', loc, ['boolop', 'args', 'location']);
        const args: string[] = (n.args ?? []).map(sub);
        if (n.boolop === 'NOT_EXPR' && args.length === 1) return `(NOT ${args[0]})`;
        if (n.boolop === 'AND_EXPR' && args.length >= 2) return this.bool('AND', args);
        if (n.boolop === 'OR_EXPR' && args.length >= 2) return this.bool('OR', args);
        return this.fail(loc, 'unexpected boolean expression');
      }
      case 'A_Expr': return this.aExpr(n, depth, loc);
      case 'NullTest': {
        this.only(n, 'IS NULL', loc, ['arg', 'nulltesttype', 'location']);
        const t = { IS_NULL: 'IS NULL', IS_NOT_NULL: 'IS NOT NULL' }[n.nulltesttype as string];
        if (!t) this.fail(loc, 'unexpected IS NULL test');
        return `(${sub(n.arg)} ${t})`;
      }
      case 'BooleanTest': {
        this.only(n, 'IS TRUE/FALSE/UNKNOWN', loc, ['arg', 'booltesttype', 'location']);
        const t = {
          IS_TRUE: 'IS TRUE', IS_NOT_TRUE: 'IS NOT TRUE', IS_FALSE: 'IS FALSE', IS_NOT_FALSE: 'IS NOT FALSE',
          IS_UNKNOWN: 'IS UNKNOWN', IS_NOT_UNKNOWN: 'IS NOT UNKNOWN',
        }[n.booltesttype as string];
        if (!t) this.fail(loc, 'unexpected boolean test');
        return `(${sub(n.arg)} ${t})`;
      }
      case 'TypeCast': {
        this.only(n, 'a cast', loc, ['arg', 'typeName', 'location']);
        return `CAST(${sub(n.arg)} AS ${this.typeName(n.typeName, loc)})`;
      }
      case 'FuncCall': return this.funcCall(n, depth, loc);
      case 'CaseExpr': {
        this.only(n, 'CASE', loc, ['arg', 'args', 'defresult', 'location']);
        // A simple CASE compares with `=`; spell that comparison out so it uses pg_catalog's.
        const arg = n.arg ? sub(n.arg) : null;
        const whens = (n.args ?? []).map((w: Node) => {
          const cw = w.CaseWhen;
          if (!cw) this.fail(loc, 'unexpected CASE branch');
          this.only(cw, 'WHEN', loc, ['expr', 'result', 'location']);
          const cond = sub(cw.expr);
          return `WHEN ${arg === null ? cond : `(${arg} ${op('=')} ${cond})`} THEN ${sub(cw.result)}`;
        });
        if (whens.length === 0) this.fail(loc, 'CASE needs a WHEN');
        return `(CASE ${whens.join(' ')}${n.defresult ? ` ELSE ${sub(n.defresult)}` : ''} END)`;
      }
      case 'CoalesceExpr': {
        this.only(n, 'COALESCE', loc, ['args', 'location']);
        return `COALESCE(${this.list(n.args, sub, loc, 'COALESCE')})`;
      }
      case 'MinMaxExpr': {
        this.only(n, 'GREATEST/LEAST', loc, ['op', 'args', 'location']);
        const f = { IS_GREATEST: 'GREATEST', IS_LEAST: 'LEAST' }[n.op as string];
        if (!f) this.fail(loc, 'unexpected GREATEST/LEAST');
        return `${f}(${this.list(n.args, sub, loc, f!)})`;
      }
      case 'A_ArrayExpr': {
        this.only(n, 'ARRAY[…]', loc, ['elements', 'location']);
        return `ARRAY[${(n.elements ?? []).map(sub).join(', ')}]`;
      }
      case 'A_Indirection': {
        this.only(n, 'a subscript', loc, ['arg', 'indirection']);
        const parts = (n.indirection ?? []).map((ind: Node) => {
          const ix = ind.A_Indices;
          if (!ix) this.fail(loc, 'only array subscripts are allowed after an expression (no field selection)');
          this.only(ix, 'a subscript', loc, ['is_slice', 'lidx', 'uidx']);
          const lo = ix.lidx ? sub(ix.lidx) : '';
          const hi = ix.uidx ? sub(ix.uidx) : '';
          return ix.is_slice ? `[${lo}:${hi}]` : `[${hi}]`;
        });
        if (parts.length === 0) this.fail(loc, 'unexpected subscript');
        return `(${sub(n.arg)})${parts.join('')}`;
      }
      case 'SQLValueFunction': {
        this.only(n, 'a SQL value function', loc, ['op', 'typmod', 'location']);
        const f = SQL_VALUE_FUNCTIONS[n.op as string];
        if (!f) this.fail(loc, 'only CURRENT_DATE, CURRENT_TIME(STAMP) and LOCALTIME(STAMP) are allowed');
        const withMod = String(n.op).endsWith('_N');
        if (withMod && !(Number.isInteger(n.typmod) && n.typmod >= 0 && n.typmod <= 6)) this.fail(loc, 'unexpected precision');
        return withMod ? `${f}(${n.typmod})` : f!;
      }
      case 'CollateClause': {
        this.only(n, 'COLLATE', loc, ['arg', 'collname', 'location']);
        const names = strings(n.collname);
        const name = names?.[names.length - 1];
        if (!names || !name || !COLLATIONS.has(name) || (names.length === 2 && names[0] !== 'pg_catalog') || names.length > 2) {
          this.fail(loc, `only the collations ${[...COLLATIONS].join(', ')} are allowed`);
        }
        return `(${sub(n.arg)} COLLATE pg_catalog.${quoteIdent(name!)})`;
      }
      case 'SubLink': return this.fail(loc, 'subqueries are not allowed');
      case 'RowExpr': return this.fail(loc, 'row constructors are not allowed');
      default: return this.fail(loc, `${describeNode(type)} is not allowed`);
    }
  }

  /**
   * `(a AND b …)`. Postgres' parser merges a left operand that is itself an AND (OR) into the
   * list, so the first operand's terms are spliced in here: then the output parses back to the
   * same tree and emits the same text.
   */
  bool(kind: 'AND' | 'OR', args: string[]): string {
    const first = this.groups.get(args[0]);
    const terms = first && first.kind === kind ? [...first.terms, ...args.slice(1)] : args;
    const out = `(${terms.join(` ${kind} `)})`;
    this.groups.set(out, { kind, terms });
    return out;
  }

  private list(items: Node[] | undefined, sub: (x: Node) => string, loc: number, what: string): string {
    if (!items || items.length === 0) this.fail(loc, `${what} needs arguments`);
    return items!.map(sub).join(', ');
  }

  columnRef(n: Node, loc: number): string {
    this.only(n, 'a column reference', loc, ['fields', 'location']);
    const fields: Node[] = n.fields ?? [];
    if (fields.some((f) => f.A_Star)) this.fail(loc, '"*" is not allowed');
    const names = strings(fields);
    if (!names || names.length === 0) this.fail(loc, 'unexpected column reference');
    const col = names![names!.length - 1];
    const qual = names!.slice(0, -1);
    const own = qual.length === 0 || (qual.length === 1 && qual[0] === this.table.name)
      || (qual.length === 2 && qual[0] === this.table.schema && qual[1] === this.table.name);
    if (!own) this.fail(loc, `only columns of ${quoteIdent(this.table.schema)}.${quoteIdent(this.table.name)} may be referenced, not ${names!.map(quoteIdent).join('.')}`);
    if (!this.names.has(col)) {
      if (SYSTEM_COLUMNS.has(col)) this.fail(loc, `system column ${col} cannot be referenced`);
      this.fail(loc, `column ${quoteIdent(col)} does not exist on table ${quoteIdent(this.table.name)}`);
    }
    this.columns.add(col);
    return this.opts.qualify ? `${quoteIdent(this.table.name)}.${quoteIdent(col)}` : quoteIdent(col);
  }

  private constant(n: Node, loc: number): string {
    // Protobuf JSON leaves out default values: `{ival: {}}` is 0, `{boolval: {}}` is false.
    if (n.isnull) return 'NULL';
    if (n.ival) {
      const v = n.ival.ival ?? 0;
      if (!Number.isInteger(v)) this.fail(loc, 'unexpected integer constant');
      return v < 0 ? `(${v})` : String(v);
    }
    if (n.fval) {
      const v = String(n.fval.fval ?? '');
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) this.fail(loc, 'only decimal number constants are allowed');
      return v.startsWith('-') ? `(${v})` : v;
    }
    if (n.boolval) return n.boolval.boolval ? 'true' : 'false';
    if (n.sval) return quoteLiteral(String(n.sval.sval ?? ''));
    if (n.bsval) return this.fail(loc, 'bit string constants are not allowed');
    return this.fail(loc, 'unexpected constant');
  }

  private typeName(t: Node | undefined, loc: number): string {
    if (!t) this.fail(loc, 'unexpected cast');
    this.only(t!, 'a type', loc, ['names', 'typmods', 'typemod', 'arrayBounds', 'location']);
    if (t!.typemod !== undefined && t!.typemod !== -1) this.fail(loc, 'unexpected type modifier');
    const names = strings(t!.names);
    const name = names?.[names.length - 1];
    if (!names || !name || names.length > 2 || (names.length === 2 && names[0] !== 'pg_catalog') || !ALLOWED_TYPES.has(name)) {
      this.fail(loc, `casts to ${names ? names.join('.') : 'this type'} are not allowed (allowed: ${[...ALLOWED_TYPES].join(', ')} and arrays of them)`);
    }
    let mods = '';
    if (t!.typmods) {
      if (!TYPES_WITH_MODIFIERS.has(name!)) this.fail(loc, `type modifiers are not allowed on ${name}`);
      const vals = (t!.typmods as Node[]).map((m) => {
        const v = m.A_Const?.ival;
        if (!v || Object.keys(m.A_Const).some((k) => k !== 'ival' && k !== 'location')) this.fail(loc, 'type modifiers must be integers');
        const x = v.ival ?? 0;
        if (!Number.isInteger(x) || x < 0 || x > 10485760) this.fail(loc, 'type modifiers must be small non-negative integers');
        return String(x);
      });
      if (vals.length === 0 || vals.length > 2) this.fail(loc, 'unexpected type modifiers');
      mods = `(${vals.join(', ')})`;
    }
    const dims = (t!.arrayBounds ?? []).length;
    if (dims > 6) this.fail(loc, 'too many array dimensions');
    return `pg_catalog.${quoteIdent(name!)}${mods}${'[]'.repeat(dims)}`;
  }

  private funcCall(n: Node, depth: number, loc: number): string {
    const names = strings(n.funcname);
    const name = names?.[names.length - 1];
    const shown = names ? names.join('.') : 'this function';
    if (!names || !name || names.length > 2 || (names.length === 2 && names[0] !== 'pg_catalog') || !ALLOWED_FUNCTIONS.has(name)) {
      this.fail(loc, `function ${JSON.stringify(shown)} is not allowed in where clauses`);
    }
    this.only(n, `function ${shown}`, loc, ['funcname', 'args', 'funcformat', 'location']);
    if (n.funcformat !== 'COERCE_EXPLICIT_CALL' && n.funcformat !== 'COERCE_SQL_SYNTAX') this.fail(loc, `unexpected call of ${shown}`);
    const args = (n.args ?? []).map((a: Node) => this.expr(a, depth + 1, loc));
    return `pg_catalog.${quoteIdent(name!)}(${args.join(', ')})`;
  }

  private aExpr(n: Node, depth: number, loc: number): string {
    this.only(n, 'an operator', loc, ['kind', 'name', 'lexpr', 'rexpr', 'location']);
    const sub = (x: Node) => this.expr(x, depth + 1, loc);
    const names = strings(n.name);
    const o = names?.[names.length - 1];
    if (!names || !o || names.length > 2 || (names.length === 2 && names[0] !== 'pg_catalog')) {
      this.fail(loc, `operator ${names ? names.join('.') : ''} is not allowed`);
    }
    const both = () => {
      if (!n.lexpr || !n.rexpr) this.fail(loc, `unexpected use of ${o}`);
      return [sub(n.lexpr), sub(n.rexpr)];
    };
    const pair = (): [string, string] => {
      const items: Node[] | undefined = n.rexpr?.List?.items;
      if (!items || items.length !== 2 || !n.lexpr) this.fail(loc, 'unexpected BETWEEN');
      return [sub(items![0]), sub(items![1])];
    };
    switch (n.kind) {
      case 'AEXPR_OP': {
        if (!n.lexpr) {
          if (!PREFIX_OPS.has(o!) || !n.rexpr) this.fail(loc, `prefix operator ${o} is not allowed`);
          return `(${op(o!)} ${sub(n.rexpr)})`;
        }
        if (!BINARY_OPS.has(o!)) this.fail(loc, `operator ${o} is not allowed`);
        const [l, r] = both();
        return `(${l} ${op(o!)} ${r})`;
      }
      case 'AEXPR_OP_ANY':
      case 'AEXPR_OP_ALL': {
        if (!ANY_ALL_OPS.has(o!)) this.fail(loc, `operator ${o} is not allowed with ANY/ALL`);
        const [l, r] = both();
        return `(${l} ${op(o!)} ${n.kind === 'AEXPR_OP_ANY' ? 'ANY' : 'ALL'} (${r}))`;
      }
      case 'AEXPR_IN': {
        // `x IN (a, b)` is `x = a OR x = b` (and NOT IN the AND of `<>`), which is how SQL
        // defines it; spelled out so the comparison is pg_catalog's.
        const items: Node[] | undefined = n.rexpr?.List?.items;
        if (!items || !n.lexpr) this.fail(loc, 'IN needs a list of values (subqueries are not allowed)');
        if (o !== '=' && o !== '<>') this.fail(loc, 'unexpected IN');
        const l = sub(n.lexpr);
        if (l.length * items!.length > MAX_SQL_LENGTH) this.fail(loc, 'the where clause is too large once expanded');
        const parts = items!.map((it) => `(${l} ${op(o!)} ${sub(it)})`);
        return parts.length === 1 ? parts[0] : this.bool(o === '=' ? 'OR' : 'AND', parts);
      }
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE':
      case 'AEXPR_SIMILAR': {
        if (!LIKE_OPS[n.kind].includes(o!)) this.fail(loc, `unexpected operator ${o}`);
        const [l, r] = both();
        return `(${l} ${op(o!)} ${r})`;
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM': {
        // Spelled out as Postgres itself rewrites BETWEEN.
        const x = sub(n.lexpr);
        const [a, b] = pair();
        const inside = (lo: string, hi: string) => this.bool('AND', [`(${x} ${op('>=')} ${lo})`, `(${x} ${op('<=')} ${hi})`]);
        const outside = (lo: string, hi: string) => this.bool('OR', [`(${x} ${op('<')} ${lo})`, `(${x} ${op('>')} ${hi})`]);
        switch (n.kind) {
          case 'AEXPR_BETWEEN': return inside(a, b);
          case 'AEXPR_NOT_BETWEEN': return outside(a, b);
          case 'AEXPR_BETWEEN_SYM': return this.bool('OR', [inside(a, b), inside(b, a)]);
          default: return this.bool('AND', [outside(a, b), outside(b, a)]);
        }
      }
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT': {
        if (o !== '=') this.fail(loc, 'unexpected IS DISTINCT FROM');
        const [l, r] = both();
        // The comparison comes first so that it, not IS NULL, decides the type of a `$N`
        // operand; it is NULL exactly when an operand is. Written exactly as this emitter
        // prints the CASE it parses back to, so the output is a fixpoint.
        const eq = `(${l} ${op('=')} ${r})`;
        const nulls = n.kind === 'AEXPR_DISTINCT'
          ? `((${l} IS NULL) ${op('<>')} (${r} IS NULL))`
          : this.bool('AND', [`(${l} IS NULL)`, `(${r} IS NULL)`]);
        return `(CASE WHEN (${eq} IS NULL) THEN ${nulls} ELSE ${n.kind === 'AEXPR_DISTINCT' ? `(NOT ${eq})` : eq} END)`;
      }
      case 'AEXPR_NULLIF': {
        if (o !== '=') this.fail(loc, 'unexpected NULLIF');
        const [l, r] = both();
        return `(CASE WHEN (${l} ${op('=')} ${r}) THEN NULL ELSE ${l} END)`;
      }
      default: return this.fail(loc, `${String(n.kind).replace(/^AEXPR_/, '')} expressions are not allowed`);
    }
  }
}

function op(o: string): string {
  return `OPERATOR(pg_catalog.${o})`;
}

/** The svals of a list of String nodes, or null if any item is something else. */
export function strings(list: Node[] | undefined): string[] | null {
  if (!Array.isArray(list)) return null;
  const out: string[] = [];
  for (const item of list) {
    if (!item.String || Object.keys(item).length !== 1) return null;
    out.push(String(item.String.sval ?? ''));
  }
  return out;
}

function describeNode(type: string): string {
  const names: Record<string, string> = {
    SubLink: 'a subquery', RowExpr: 'ROW(…)', GroupingFunc: 'GROUPING()', XmlExpr: 'an XML expression',
    JsonFuncExpr: 'a JSON query function', JsonObjectConstructor: 'JSON_OBJECT', JsonArrayConstructor: 'JSON_ARRAY',
    ColumnDef: 'a column definition', MergeSupportFunc: 'MERGE_ACTION()', SetToDefault: 'DEFAULT',
  };
  return names[type] ?? `the construct ${type}`;
}
