// Pure parts of the server: record-literal parser, where-clause guard, JWT, offsets, table and
// column name parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const { parseRecord } = await import('../../dist/server/record.js');
const { checkWhere, loadWhereParser } = await import('../../dist/server/where.js');
await loadWhereParser();
const T = { schema: 'public', name: 't', columns: ['id', 'title', 'priority', 'status', 'created_at', 'x', 'tags', 'Weird col', 'doc', 'a', 'b'].map((name) => ({ name })) };
const { signJwt, verifyJwt } = await import('../../dist/server/auth.js');
const { parseOffset, formatOffset, compareOffsets, rowKey, nextCursor } = await import('../../dist/server/protocol.js');
const { parseTableName, parseColumnsParam } = await import('../../dist/server/catalog.js');

test('parseRecord: NULLs, empty strings, quotes, backslashes, nested composites', () => {
  assert.deepEqual(parseRecord('(1,abc,,"")'), ['1', 'abc', null, '']);
  assert.deepEqual(parseRecord('("a ""q"" b","x\\\\y",)'), ['a "q" b', 'x\\y', null]);
  assert.deepEqual(parseRecord('("{1,2,NULL}","(1,""x"")","{""a"": 1}")'), ['{1,2,NULL}', '(1,"x")', '{"a": 1}']);
  assert.deepEqual(parseRecord('(,)'), [null, null]);
  assert.throws(() => parseRecord('1,2'), /not a record/);
  assert.throws(() => parseRecord('("abc)'), /unterminated/);
});

test('checkWhere accepts plain expressions and refuses what could escape its parentheses', () => {
  for (const ok of [`id = 1`, `title ILIKE 'a%' AND priority > $1`, `status IN ('a', 'b')`, `lower(title) = 'x'`,
    `created_at > now() - interval '1 day'`, `x::numeric(10,2) > 1`, `tags @> ARRAY[1,2]`, `"Weird col" = 'it''s'`,
    `doc->>'k' = 'v'`, `a IS NOT NULL OR b BETWEEN 1 AND 2`]) {
    assert.doesNotThrow(() => checkWhere(ok, T), ok);
  }
  assert.equal(checkWhere('a = $1 AND b = $3', T).maxParam, 3);
  for (const bad of [`true) OR (true`, `1=1; DROP TABLE x`, `id = 1 -- c`, `id /* c */ = 1`, `id IN (SELECT 1)`,
    `EXISTS (SELECT 1)`, `pg_sleep(10) IS NULL`, `a = $$x$$`, `(a = 1`, `'unterminated`, `a = 1) --`, ``]) {
    assert.throws(() => checkWhere(bad, T), /At location/, bad);
  }
});

test('JWT: HS256 signature, exp, nbf and sub are checked', () => {
  const now = Math.floor(Date.now() / 1000);
  const t = signJwt({ sub: 'u', exp: now + 60 }, 's');
  assert.equal(verifyJwt(t, 's').sub, 'u');
  assert.throws(() => verifyJwt(t, 'other'), /signature/);
  assert.throws(() => verifyJwt(t.slice(0, -2) + 'xx', 's'), /signature/);
  assert.throws(() => verifyJwt(signJwt({ sub: 'u', exp: now - 100 }, 's'), 's'), /expired/);
  assert.throws(() => verifyJwt(signJwt({ sub: 'u', nbf: now + 100 }, 's'), 's'), /not yet valid/);
  assert.throws(() => verifyJwt(signJwt({ exp: now + 100 }, 's'), 's'), /sub/);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u"}').toString('base64url')}.`;
  assert.throws(() => verifyJwt(none, 's'), /algorithm/);
  assert.throws(() => verifyJwt('a.b', 's'), /malformed/);
});

test('offsets, keys, cursor, names', () => {
  assert.deepEqual(parseOffset('-1'), { tx: -1, op: 0 });
  assert.deepEqual(parseOffset('0_inf'), { tx: 0, op: Infinity });
  for (const bad of ['invalid', '0_-1', '10', '1_2_3', '']) assert.equal(parseOffset(bad), null, bad);
  assert.equal(formatOffset(parseOffset('12_4')), '12_4');
  assert.equal(formatOffset({ tx: 0, op: Infinity }), '0_inf');
  assert.ok(compareOffsets(parseOffset('0_inf'), parseOffset('1_0')) < 0);
  assert.ok(compareOffsets(parseOffset('2_0'), parseOffset('1_9')) > 0);
  assert.equal(rowKey('"public"."t"', ['a/b', null, '']), '"public"."t"/"a//b"/_/""');
  const c = nextCursor(Date.now(), 20, null);
  assert.equal(Number(c) % 20, 0);
  assert.ok(Number(nextCursor(Date.now(), 20, c)) > Number(c), 'never the client cursor again');
  assert.deepEqual(parseTableName('Foo'), { schema: 'public', name: 'foo' });
  assert.deepEqual(parseTableName('"My S"."Foo"'), { schema: 'My S', name: 'Foo' });
  assert.equal(parseTableName('a.b.c'), null);
  assert.deepEqual(parseColumnsParam('"PoT@To",PoTaTo,"a""b"'), ['PoT@To', 'potato', 'a"b']);
});

test('the CLI serves the built demo (dist/demo), not its sources', async () => {
  const { defaultStaticDir } = await import('../../dist/server/index.js');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = defaultStaticDir();
  assert.ok(dir, 'the build (scripts/build.sh) bundles the demo into dist/demo');
  assert.match(dir, /dist[\\/]demo$/);
  assert.ok(existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'main.js')));
});
