// checkWhere without a database: the SQL it emits, what it reports and how it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const whereJs = new URL('../../dist/server/where.js', import.meta.url);
const { checkWhere, loadWhereParser, paramsMismatch, WhereError } = await import(whereJs.href);

const T = { schema: 'public', name: 'items', columns: ['id', 'title', 'n', 'due', 'doc', 'tags', 'We"ird'].map((name) => ({ name })) };

test('checkWhere before loadWhereParser throws a plain Error saying so', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    const { checkWhere, WhereError } = await import(${JSON.stringify(whereJs.href)});
    try { checkWhere('id = 1', { schema: 'public', name: 't', columns: [{ name: 'id' }] }); console.log('no error'); }
    catch (e) { console.log(e instanceof WhereError ? 'WhereError' : 'Error', e.message); }`], { encoding: 'utf8' });
  assert.match(out, /^Error .*loadWhereParser/);
});

test('loadWhereParser is idempotent', async () => {
  await Promise.all([loadWhereParser(), loadWhereParser()]);
  await loadWhereParser();
});

test('emits pg_catalog-pinned SQL with quoted identifiers and re-quoted strings', () => {
  const cases = [
    [`id = 1`, `("id" OPERATOR(pg_catalog.=) 1)`],
    [`ID=-1`, `("id" OPERATOR(pg_catalog.=) (-1))`],
    [`title = 'it''s' AND n > $2`, `(("title" OPERATOR(pg_catalog.=) 'it''s') AND ("n" OPERATOR(pg_catalog.>) $2))`],
    [`title = E'a\\'b\\\\'`, `("title" OPERATOR(pg_catalog.=) 'a''b\\')`],
    [`title = U&'\\0041'`, `("title" OPERATOR(pg_catalog.=) 'A')`],
    [`"We""ird" IS NULL`, `("We""ird" IS NULL)`],
    [`items.id <> 2`, `("id" OPERATOR(pg_catalog.<>) 2)`],
    [`lower(title) LIKE 'a%'`, `(pg_catalog."lower"("title") OPERATOR(pg_catalog.~~) 'a%')`],
    [`pg_catalog.upper(title) NOT ILIKE 'a%'`, `(pg_catalog."upper"("title") OPERATOR(pg_catalog.!~~*) 'a%')`],
    [`n IN (1, 2)`, `(("n" OPERATOR(pg_catalog.=) 1) OR ("n" OPERATOR(pg_catalog.=) 2))`],
    [`n NOT IN (1, 2)`, `(("n" OPERATOR(pg_catalog.<>) 1) AND ("n" OPERATOR(pg_catalog.<>) 2))`],
    [`n BETWEEN 1 AND 2`, `(("n" OPERATOR(pg_catalog.>=) 1) AND ("n" OPERATOR(pg_catalog.<=) 2))`],
    [`n::int8 = 1.5e3`, `(CAST("n" AS pg_catalog."int8") OPERATOR(pg_catalog.=) 1.5e3)`],
    [`due > now() - interval '1 day'`, `("due" OPERATOR(pg_catalog.>) (pg_catalog."now"() OPERATOR(pg_catalog.-) CAST('1 day' AS pg_catalog."interval")))`],
    [`title::varchar(3)[] IS NULL`, `(CAST("title" AS pg_catalog."varchar"(3)[]) IS NULL)`],
    [`doc->>'k' = 'v'`, `(("doc" OPERATOR(pg_catalog.->>) 'k') OPERATOR(pg_catalog.=) 'v')`],
    [`n = ANY($1)`, `("n" OPERATOR(pg_catalog.=) ANY ($1))`],
    [`tags[1:2] = '{}'`, `(("tags")[1:2] OPERATOR(pg_catalog.=) '{}')`],
    [`coalesce(n, 0) = 0 OR NOT (n > 1)`, `((COALESCE("n", 0) OPERATOR(pg_catalog.=) 0) OR (NOT ("n" OPERATOR(pg_catalog.>) 1)))`],
    [`true`, `true`],
    [`title = $$x$$ IS NULL`, null],
  ];
  for (const [input, sql] of cases) {
    if (sql === null) { assert.throws(() => checkWhere(input, T), WhereError, input); continue; }
    assert.equal(checkWhere(input, T).sql, sql, input);
  }
});

test('reports the columns read and the parameters used', () => {
  const c = checkWhere(`items.title = $3 AND (n > $1 OR "We""ird" IS NULL) AND now() > due`, T);
  assert.deepEqual([...c.columns].sort(), ['We"ird', 'due', 'n', 'title']);
  assert.equal(c.maxParam, 3);
  assert.deepEqual([...c.params].sort(), [1, 3]);
  assert.deepEqual(checkWhere(`1 = 1`, T), { sql: `(1 OPERATOR(pg_catalog.=) 1)`, maxParam: 0, params: new Set(), columns: new Set() });
  assert.equal(paramsMismatch(c.params, 3), 'parameter 2 is given but no clause uses $2');
  assert.equal(paramsMismatch(c.params, 2), '$3 is used but only 2 parameter(s) were given');
  assert.equal(paramsMismatch([1, 2], 2), null);
  assert.equal(paramsMismatch([], 0), null);
});

test('equal clauses written differently emit the same SQL', () => {
  const a = checkWhere(`id IN (1,2) and title ilike 'x%'`, T).sql;
  for (const b of [`"id" in (1, 2) AND "title" ILIKE 'x%'`, `(ID IN (1,2)) AND (title ~~* 'x%')`, `items.id IN (1,2) AND title ILIKE E'x%'`]) {
    assert.equal(checkWhere(b, T).sql, a, b);
  }
});

test('refusals say what and where, and echo nothing but names from the clause', () => {
  const cases = [
    [`id = 1 AND "pg_sleep"(1) IS NULL`, /^At location 11: function "pg_sleep" is not allowed/],
    [`id = 1 AND other.id = 1`, /^At location 11: only columns of "public"\."items" may be referenced/],
    [`xmin = 1`, /^At location 0: system column xmin/],
    [`nosuch = 1`, /^At location 0: column "nosuch" does not exist/],
    [`id::regclass IS NULL`, /^At location 2: casts to regclass are not allowed/],
    [`id IN (SELECT 1)`, /^At location 3: subqueries are not allowed/],
    [`x 1 x`, /^At location 2: syntax error at or near "1"/],
    [`id = 1 -- hi`, /^At location 7: comments are not allowed/],
    [`id = 1;`, /^At location 6: ";" is not allowed/],
    [`id = 1 ORDER BY 1`, /^At location 0: the where clause must be a single expression \(found ORDER BY\)/],
    [`id = 1 UNION SELECT 1`, /single expression/],
    [`ROW(1) IS NULL`, /row constructors are not allowed/],
    [`'a' = 'b' COLLATE "de_DE"`, /only the collations/],
    [`title::text @@ 'x'`, /operator @@ is not allowed/],
    [`@ n = 1`, /prefix operator @ is not allowed/],
    [`n OPERATOR(public.=) 1`, /operator public\.= is not allowed/],
    [`count(*) > 0`, /function "count" is not allowed/],
    [`lower(title ORDER BY title) = ''`, /with agg_order is not allowed/],
    [`current_user = 'x'`, /only CURRENT_DATE/],
    [`n = B'1'`, /bit string constants are not allowed/],
    [`interval '1' day > due - due`, /type modifiers are not allowed on interval/],
    [``, /empty/],
    [`x`.repeat(9000), /longer than 8192/],
    [`${'('.repeat(70)}true${')'.repeat(70)}`, /nested more than 64 deep/],
    [`${'NOT '.repeat(70)}true`, /nested more than 64 deep/],
    // Operands repeated by the rewrite must not multiply: nested IN lists and BETWEEN SYMMETRIC.
    [`${'('.repeat(6)}n${Array.from({ length: 6 }, () => ` IN (${Array(60).fill('1').join(',')}))`).join('')}`, /too large once expanded/],
    [`${'('.repeat(20)}n${' BETWEEN SYMMETRIC 1 AND 2)'.repeat(20)}`, /too large once expanded/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => checkWhere(input, T), (e) => e instanceof WhereError && re.test(e.message), input.slice(0, 80));
  }
});
