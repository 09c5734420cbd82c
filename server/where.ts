// Checks a shape's `where` clause before it reaches SQL. The clause is evaluated by Postgres
// itself (snapshot query and change filtering), always wrapped as `(where) AND <auth filter>`,
// so this check must guarantee the clause is one self-contained boolean expression: balanced
// parentheses, no statement separators or comments, no subqueries, and only plain operators
// and a fixed list of functions. What passes here cannot escape its parentheses.

export class WhereError extends Error {}

const ALLOWED_FUNCTIONS = new Set([
  'lower', 'upper', 'length', 'char_length', 'character_length', 'octet_length', 'coalesce', 'nullif',
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'mod', 'greatest', 'least', 'now', 'date_trunc',
  'date_part', 'extract', 'trim', 'btrim', 'ltrim', 'rtrim', 'substring', 'substr', 'concat', 'position',
  'starts_with', 'strpos', 'replace', 'left', 'right', 'array_length', 'cardinality', 'array_position',
  'jsonb_array_length', 'json_array_length', 'jsonb_typeof', 'json_typeof', 'age', 'to_char', 'md5',
]);
// Words that may be followed by `(` without being a function call.
const SYNTAX_WORDS = new Set([
  'and', 'or', 'not', 'in', 'any', 'some', 'all', 'array', 'row', 'is', 'like', 'ilike', 'similar', 'to',
  'between', 'symmetric', 'cast', 'as', 'case', 'when', 'then', 'else', 'end', 'distinct', 'from', 'escape',
  'true', 'false', 'null', 'unknown', 'at', 'time', 'zone', 'interval', 'isnull', 'notnull', 'collate',
]);
const FORBIDDEN_WORDS = new Set(['select', 'exists', 'with', 'values', 'table', 'lateral', 'union', 'into', 'returning']);

export interface WhereCheck { maxParam: number }

/** Throws WhereError saying what is wrong; returns the highest `$N` used. */
export function checkWhere(where: string): WhereCheck {
  let depth = 0;
  let maxParam = 0;
  let prev = '';        // previous significant token, lower-cased
  let i = 0;
  const n = where.length;
  const fail = (msg: string): never => { throw new WhereError(`At location ${i}: ${msg}`); };
  while (i < n) {
    const c = where[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '-' && where[i + 1] === '-') fail('comments are not allowed');
    if (c === '/' && where[i + 1] === '*') fail('comments are not allowed');
    if (c === ';') fail('";" is not allowed');
    if (c === "'" || ((c === 'e' || c === 'E') && where[i + 1] === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      for (;;) {
        if (i >= n) fail('unterminated string literal');
        if (escapes && where[i] === '\\') { i += 2; continue; }
        if (where[i] === "'") {
          if (where[i + 1] === "'") { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      prev = "'";
      continue;
    }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) fail('unterminated quoted identifier');
        if (where[i] === '"') {
          if (where[i + 1] === '"') { i += 2; continue; }
          i++;
          break;
        }
        i++;
      }
      prev = '"ident';
      continue;
    }
    if (c === '$') {
      const m = /^\$(\d+)/.exec(where.slice(i));
      if (!m) fail('dollar quoting is not allowed');
      maxParam = Math.max(maxParam, Number(m![1]));
      i += m![0].length;
      prev = '$';
      continue;
    }
    if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(where.slice(i))!;
      const word = m[0].toLowerCase();
      if (FORBIDDEN_WORDS.has(word)) fail(`subqueries are not supported ("${m[0]}")`);
      i += m[0].length;
      let j = i;
      while (j < n && /\s/.test(where[j])) j++;
      if (where[j] === '(' && prev !== '::' && !SYNTAX_WORDS.has(word) && !ALLOWED_FUNCTIONS.has(word)) {
        fail(`function "${m[0]}" is not supported in where clauses`);
      }
      prev = word;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(where.slice(i));
      if (!m) fail(`unexpected "${c}"`);
      i += m![0].length;
      prev = '0';
      continue;
    }
    if (c === '(') { depth++; i++; prev = '('; continue; }
    if (c === ')') {
      depth--;
      if (depth < 0) fail('unbalanced ")"');
      i++;
      prev = ')';
      continue;
    }
    if (c === ':' && where[i + 1] === ':') { i += 2; prev = '::'; continue; }
    if ('+-*/%<>=!~^&|#@,[].:'.includes(c)) { i++; prev = c; continue; }
    fail(`unexpected "${c}"`);
  }
  if (depth !== 0) throw new WhereError(`At location ${n}: unbalanced "("`);
  if (!where.trim()) throw new WhereError('At location 0: empty where clause');
  return { maxParam };
}
