// Recognises the live-query shape that js/live-incremental.ts maintains incrementally:
//
//   SELECT <* | column, ...> FROM <table> [WHERE <expr>]
//     [ORDER BY <column> [ASC|DESC], ...] [LIMIT <n> [OFFSET 0]] [;]
//
// Anything else (joins, aliases, DISTINCT, GROUP BY, aggregates or other expressions in the
// select list, subqueries, COLLATE, NULLS FIRST/LAST, OFFSET > 0, time- or random-dependent
// functions in WHERE, ...) is not recognised: the live query then re-runs in full on every
// change, as before. Also SQLite's ordering of values, to merge rows the way ORDER BY does.

export interface OrderTerm {
  column: string;
  desc: boolean;
}

export interface SimpleQuery {
  table: string;
  /** The select list as written (`*` or plain columns), kept verbatim. */
  selectText: string;
  /** The WHERE expression as written (parameters unchanged), or null. */
  whereText: string | null;
  orderBy: OrderTerm[];
  /** LIMIT's value, or null without LIMIT. */
  limit: number | null;
  /** `LIMIT ...` (and `OFFSET 0`) as written, or '' without LIMIT. */
  limitText: string;
  /** LIMIT's parameter as written, or null. */
  limitParam: string | null;
  /** The largest parameter number the statement uses (0: none). */
  maxParam: number;
}

type TokKind = 'ident' | 'qident' | 'string' | 'number' | 'param' | 'op' | 'blob';

interface Tok {
  kind: TokKind;
  /** Identifiers: the name (unquoted); keywords compare on `upper`. */
  text: string;
  upper: string;
  start: number;
  end: number;
}

/** Splits SQL into tokens (comments dropped); null on anything it does not understand. */
export function tokenize(sql: string): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  const n = sql.length;
  const push = (kind: TokKind, text: string, start: number) =>
    out.push({ kind, text, upper: kind === 'ident' ? text.toUpperCase() : text, start, end: i });
  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      if (e < 0) return null;
      i = e + 2;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let text = '';
      i++;
      for (;;) {
        if (i >= n) return null;
        if (sql[i] === close) {
          if (close !== ']' && sql[i + 1] === close) {
            text += close;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += sql[i++];
      }
      push(c === "'" ? 'string' : 'qident', text, start);
    } else if ((c === 'x' || c === 'X') && sql[i + 1] === "'") {
      const e = sql.indexOf("'", i + 2);
      if (e < 0) return null;
      i = e + 1;
      push('blob', sql.slice(start, i), start);
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i]!)) i++;
      push('ident', sql.slice(start, i), start);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i]!)) {
        if ((sql[i] === 'e' || sql[i] === 'E') && (sql[i + 1] === '+' || sql[i + 1] === '-')) i++;
        i++;
      }
      push('number', sql.slice(start, i), start);
    } else if (c === '?' || c === '$' || c === ':' || c === '@') {
      i++;
      if (c === '?') {
        while (i < n && /[0-9]/.test(sql[i]!)) i++;
      } else {
        while (i < n && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
        if (i === start + 1) return null;
      }
      push('param', sql.slice(start, i), start);
    } else {
      const two = sql.slice(i, i + 2);
      if (['<=', '>=', '<>', '!=', '==', '||', '<<', '>>', '->'].includes(two)) {
        i += sql[i + 2] === '>' && two === '->' ? 3 : 2;
      } else {
        i++;
      }
      push('op', sql.slice(start, i), start);
    }
  }
  return out;
}

/**
 * SQLite's parameter numbering: `?NNN` is NNN, a named parameter keeps the number of its
 * first use, `?` and new names take the largest number so far plus one. Returns the number
 * of each param token, by token index.
 */
function paramNumbers(toks: readonly Tok[]): Map<number, number> {
  const out = new Map<number, number>();
  const named = new Map<string, number>();
  let max = 0;
  toks.forEach((t, i) => {
    if (t.kind !== 'param') return;
    let num: number;
    if (t.text === '?') num = ++max;
    else if (t.text[0] === '?') num = Number(t.text.slice(1));
    else num = named.get(t.text) ?? ++max;
    if (t.text[0] !== '?') named.set(t.text, num);
    max = Math.max(max, num);
    out.set(i, num);
  });
  return out;
}

/** Functions whose value changes without any table changing: such a WHERE is not maintained. */
const VOLATILE = new Set([
  'RANDOM', 'RANDOMBLOB', 'DATE', 'TIME', 'DATETIME', 'JULIANDAY', 'UNIXEPOCH', 'STRFTIME',
  'CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP', 'CHANGES', 'TOTAL_CHANGES',
  'LAST_INSERT_ROWID', 'TIMEDIFF',
]);
/** Words that make a WHERE more than an expression over the one table's row. */
const WHERE_BREAKERS = new Set(['SELECT', 'EXISTS', 'WITH', 'OVER', 'FILTER', 'MATCH', 'RAISE']);
/** Words that end a plain select list / table reference before WHERE/ORDER/LIMIT. */
const AFTER_TABLE = new Set(['WHERE', 'ORDER', 'LIMIT']);

function isName(t: Tok | undefined): t is Tok {
  return t !== undefined && (t.kind === 'qident' || (t.kind === 'ident' && !KEYWORDS.has(t.upper)));
}
const KEYWORDS = new Set([
  'SELECT', 'FROM', 'WHERE', 'ORDER', 'BY', 'LIMIT', 'OFFSET', 'GROUP', 'HAVING', 'DISTINCT',
  'ALL', 'AS', 'JOIN', 'ON', 'USING', 'UNION', 'INTERSECT', 'EXCEPT', 'WINDOW', 'ASC', 'DESC',
  'COLLATE', 'NULLS', 'NATURAL', 'LEFT', 'INNER', 'CROSS', 'VALUES', 'INDEXED', 'NOT',
]);

/**
 * The recognised parts of `sql`, or null. `params` resolve a parameter used as LIMIT.
 */
export function recognise(sql: string, params: readonly unknown[] = []): SimpleQuery | null {
  const toks = tokenize(sql);
  if (!toks || toks.length === 0) return null;
  while (toks.length > 0 && toks[toks.length - 1]!.kind === 'op' && toks[toks.length - 1]!.text === ';') toks.pop();
  for (const t of toks) if (t.kind === 'op' && t.text === ';') return null; // several statements
  const numbers = paramNumbers(toks);
  let i = 0;
  const word = (w: string) => toks[i]?.kind === 'ident' && toks[i]!.upper === w;
  if (!word('SELECT')) return null;
  i++;
  if (word('ALL')) i++;
  // Select list: * or plain column names.
  const selStart = toks[i]?.start;
  if (toks[i]?.kind === 'op' && toks[i]!.text === '*') {
    i++;
  } else {
    for (;;) {
      if (!isName(toks[i])) return null;
      i++;
      if (toks[i]?.kind === 'op' && toks[i]!.text === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  const selEnd = toks[i - 1]?.end;
  if (selStart === undefined || selEnd === undefined || !word('FROM')) return null;
  i++;
  const tableTok = toks[i];
  if (!isName(tableTok)) return null;
  i++;
  if (i < toks.length && !(toks[i]!.kind === 'ident' && AFTER_TABLE.has(toks[i]!.upper))) return null;
  // WHERE: everything up to a top-level ORDER or LIMIT.
  let whereText: string | null = null;
  if (word('WHERE')) {
    i++;
    const from = i;
    let depth = 0;
    for (; i < toks.length; i++) {
      const t = toks[i]!;
      if (t.kind === 'op' && t.text === '(') depth++;
      else if (t.kind === 'op' && t.text === ')') depth--;
      if (depth < 0) return null;
      if (t.kind === 'ident') {
        if (WHERE_BREAKERS.has(t.upper) || VOLATILE.has(t.upper)) return null;
        if (depth === 0 && (t.upper === 'ORDER' || t.upper === 'LIMIT' || t.upper === 'GROUP' ||
          t.upper === 'HAVING' || t.upper === 'WINDOW' || t.upper === 'UNION' ||
          t.upper === 'INTERSECT' || t.upper === 'EXCEPT')) break;
      }
    }
    if (depth !== 0 || i === from) return null;
    if (i < toks.length && !(word('ORDER') || word('LIMIT'))) return null;
    whereText = sql.slice(toks[from]!.start, toks[i - 1]!.end);
  }
  const orderBy: OrderTerm[] = [];
  if (word('ORDER')) {
    i++;
    if (!word('BY')) return null;
    i++;
    for (;;) {
      const col = toks[i];
      if (!isName(col)) return null;
      i++;
      let desc = false;
      if (word('ASC')) i++;
      else if (word('DESC')) {
        desc = true;
        i++;
      }
      orderBy.push({ column: col.text, desc });
      if (toks[i]?.kind === 'op' && toks[i]!.text === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  let limit: number | null = null;
  let limitText = '';
  let limitParam: string | null = null;
  if (word('LIMIT')) {
    const from = i;
    i++;
    const v = toks[i];
    if (!v) return null;
    let value: unknown;
    if (v.kind === 'number' && /^[0-9]+$/.test(v.text)) value = Number(v.text);
    else if (v.kind === 'param') {
      value = params[numbers.get(i)! - 1];
      limitParam = v.text;
    } else return null;
    i++;
    if (word('OFFSET')) {
      i++;
      if (!(toks[i]?.kind === 'number' && /^0+$/.test(toks[i]!.text))) return null;
      i++;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return null;
    limit = value;
    limitText = sql.slice(toks[from]!.start, toks[i - 1]!.end);
  }
  if (i !== toks.length) return null;
  return {
    table: tableTok.text, selectText: sql.slice(selStart, selEnd), whereText, orderBy, limit,
    limitText, limitParam, maxParam: Math.max(0, ...numbers.values()),
  };
}

/** `"name"` with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** SQLite's storage-class rank: NULL < numbers < text (blobs never reach here). */
function rank(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return 1;
  return 2;
}

/** Compares text as SQLite's BINARY collation does: by UTF-8 bytes, i.e. code points. */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 orders U+E000..U+FFFF after surrogates; UTF-8 (code points) before them.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Compares two values the way SQLite's ORDER BY does with the BINARY collation. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (ra === 0) return 0;
  if (ra === 1) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  return compareText(String(a), String(b));
}
