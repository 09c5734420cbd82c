// Fuzzes checkWhere with mutated corpus clauses and grammar-generated expressions full of hostile
// pieces. Oracle, for every clause it accepts: the emitted SQL, put into a view over the
// shape's table, analyses (in Postgres' stored query tree) to only allowed node kinds that name
// by OID only that table and the pg_catalog functions, operators, types and collations listed
// below (built-in objects are pinned, so pg_depend would not show them); the view's plan scans
// only that table with no subplans; running it finishes; and checkWhere accepts its own output
// and emits it unchanged.
//
// Seeded and time-bounded: WHERE_FUZZ_SEED=<n> replays a run, WHERE_FUZZ_MS sets the budget
// (default 25 s). The seed is printed first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startPostgres } from '../support/postgres.mjs';

const { checkWhere, loadWhereParser, WhereError } = await import('../../dist/server/where.js');

const SEED = Number(process.env.WHERE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const BUDGET_MS = Number(process.env.WHERE_FUZZ_MS ?? 25000);

// The policy, restated independently of server/where.ts: widening the validator's lists
// without widening these fails the fuzzer, which is the point.
const FUNCTIONS = new Set([
  'lower', 'upper', 'length', 'char_length', 'character_length', 'octet_length', 'abs', 'ceil', 'ceiling', 'floor',
  'round', 'trunc', 'mod', 'now', 'date_trunc', 'date_part', 'extract', 'btrim', 'ltrim', 'rtrim', 'substring', 'substr',
  'concat', 'concat_ws', 'position', 'starts_with', 'strpos', 'replace', 'left', 'right', 'array_length', 'cardinality',
  'array_position', 'jsonb_array_length', 'json_array_length', 'jsonb_typeof', 'json_typeof', 'age', 'to_char', 'md5',
  'like_escape', 'similar_to_escape', 'timezone',
]);
const OPERATORS = new Set([
  '=', '<>', '<', '>', '<=', '>=', '~~', '!~~', '~~*', '!~~*', '~', '!~', '~*', '!~*', '+', '-', '*', '/', '%', '||',
  '@>', '<@', '&&', '->', '->>', '#>', '#>>', '?', '?|', '?&',
]);
const BASE_TYPES = ['text', 'varchar', 'bpchar', 'int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'bool', 'date',
  'time', 'timestamp', 'timestamptz', 'interval', 'uuid', 'json', 'jsonb'];
// timetz is CURRENT_TIME's type; it cannot be cast to.
const TYPES = new Set([...BASE_TYPES, ...BASE_TYPES.map((t) => `_${t}`), 'unknown', 'timetz', '_timetz']);
const TABLE = { schema: 'public', name: 'fz', columns: ['id', 't', 'n', 'f', 'b', 'd', 'j', 'a', 'u', 'Mixed Case'].map((name) => ({ name })) };

let cluster, client;
before(async () => {
  console.log(`where-fuzz seed: ${SEED} (replay with WHERE_FUZZ_SEED=${SEED})`);
  await loadWhereParser();
  cluster = await startPostgres();
  client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  await client.query(`CREATE TABLE fz (id int8 PRIMARY KEY, t text, n int, f float8, b boolean, d timestamptz, j jsonb,
    a int[], u uuid, "Mixed Case" text)`);
  await client.query(`CREATE TABLE secrets (id int PRIMARY KEY, secret text)`);
  await client.query(`INSERT INTO fz VALUES (1, 'abc', 1, 1.5, true, '2024-01-01', '{"k": "v", "a": [1, 2]}', '{1,2}', gen_random_uuid(), 'x'),
    (2, 'it''s', -3, NULL, false, NULL, '[1]', '{}', NULL, NULL), (3, NULL, NULL, 0, NULL, now(), 'null', NULL, NULL, '')`);
  // Shadowing objects: if the emitted SQL resolved anything through search_path, these
  // would show up in pg_depend.
  await client.query(`CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS 'SELECT ''shadow'''`);
  await client.query(`CREATE FUNCTION public.shadow_eq(int, int) RETURNS boolean LANGUAGE sql AS 'SELECT true'`);
  await client.query(`CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = int, FUNCTION = public.shadow_eq)`);
  await client.query(`SET search_path = public, pg_catalog`);
});
after(async () => { await client?.end(); await cluster?.stop(); });

// mulberry32
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];
const chance = (p) => rand() < p;

const CORPUS = [
  `id = 1`, `t ILIKE 'a%' AND n > $1`, `n IN (1, 2, 3)`, `lower(t) = 'abc'`, `d > now() - interval '1 day'`,
  `n::numeric(10,2) > 1`, `a @> ARRAY[1,2]`, `"Mixed Case" = 'it''s'`, `j->>'k' = 'v'`, `t IS NOT NULL OR n BETWEEN 1 AND 2`,
  `b IS TRUE`, `NOT b`, `coalesce(n, 0) = 0`, `CASE n WHEN 1 THEN true ELSE false END`, `a[1] = 1`, `j ? 'k'`,
  `extract(year from d) = 2024`, `t LIKE 'a!%' ESCAPE '!'`, `t SIMILAR TO 'a%'`, `n IS DISTINCT FROM $2`, `fz.id = 2`,
  `greatest(n, 1) = nullif(n, 0)`, `t COLLATE "C" < 'b'`, `current_date > d::date`, `u = '00000000-0000-0000-0000-000000000000'`,
  `f::int4 % 2 = 1`, `n = ANY(ARRAY[1, $1::int])`, `substring(t from 1 for 2) = 'ab'`, `d AT TIME ZONE 'UTC' > '2024-01-01'`,
  // hostile
  `"query_to_xml"('select secret from secrets',true,false,'')::text::int = 1`, `"current_setting"('data_directory') = ''`,
  `"pg_read_file"('/etc/passwd') = ''`, `U&"\\0070g_sleep"(1) IS NULL`, `id::regclass IS NULL`, `ctid = '(0,1)'`,
  `generate_series(1,2) = 1`, `lo_import('/etc/passwd') > 0`, `pg_advisory_lock(1) IS NULL`, `title = $$x$$`,
  `id = 1 /* c */`, `id = 1; SELECT 1`, `EXISTS (SELECT 1 FROM secrets)`, `1=1) UNION SELECT secret FROM secrets --`,
  `secrets.secret = 'x'`, `ROW(1,2) IS NULL`, `pg_sleep(1) IS NULL`, `(SELECT secret FROM secrets) = t`,
  `t = ANY(SELECT secret FROM secrets)`, `public.lower(t) = 'x'`, `n OPERATOR(public.=) 1`, `set_config('a.b', 'c', false) = ''`,
];

const HOSTILE_PIECES = [
  `"pg_sleep"(1)`, `pg_sleep(1)`, `(SELECT 1)`, `(SELECT secret FROM secrets)`, `;`, `--`, `/*`, `*/`, `$$`, `$1`, `$q$`,
  `U&"\\0070g_sleep"`, `U&'\\0027'`, `E'\\''`, `::regclass`, `::oid`, `::regproc`, `::xml`, `ctid`, `xmin`, `tableoid`,
  `secrets.secret`, `public.secrets.secret`, `fz.*`, `*`, `)`, `(`, `'`, `"`, ` OR `, ` AND `, ` UNION SELECT 1`, `ROW(`,
  `EXISTS`, `ARRAY(SELECT 1)`, `current_user`, `current_setting('x')`, `query_to_xml('select 1',true,false,'')`,
  `public.lower(t)`, `OPERATOR(public.=)`, ` COLLATE "C"`, ` COLLATE public."x"`, `lo_export(1,'/tmp/x')`, `version()`,
  `pg_catalog.`, `"`, `\\`, `[1]`, `->`, ` IS NULL`, ` BETWEEN 1 AND `, ` IN (`, ` ORDER BY 1`, ` LIMIT 1`, `VARIADIC `,
  ` FILTER (WHERE true)`, ` OVER ()`, `count(*)`, `=>`, `.`, `::`, `@@`, `!!`, `|/`, `txid_current()`, `nextval('s')`,
];

function mutate(s) {
  const n = 1 + int(3);
  for (let i = 0; i < n; i++) {
    const at = int(s.length + 1);
    switch (int(7)) {
      case 0: s = s.slice(0, at) + pick(HOSTILE_PIECES) + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + int(4)); break;
      case 2: { const len = 1 + int(8); s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at); break; }
      case 3: s = s.slice(0, at) + pick([...`'"()$;-/*\\U&:[],.=<>!~@#?|`, ' ']) + s.slice(at); break;
      case 4: { const o = pick(CORPUS); const k = int(o.length); s = s.slice(0, at) + o.slice(k, k + 1 + int(20)) + s.slice(at); break; }
      case 5: s = `${s} ${pick(['AND', 'OR'])} ${pick(CORPUS)}`; break;
      default: s = s.replace(/[a-z_]+/i, () => pick(['pg_sleep', '"lower"', 'public.lower', 'secrets', 'ctid', 'fz', 'U&"\\0074"', '"t"']));
    }
  }
  return s;
}

const COLS = ['id', 't', 'n', 'f', 'b', 'd', 'j', 'a', 'u', '"Mixed Case"', 'fz.n', 'public.fz.t', '"fz"."id"'];
const BAD_COLS = ['ctid', 'xmin', 'tableoid', 'secrets.secret', 'other.x', 'fz.*', 'nosuch', '"T"', 'pg_class.relname'];
const FUNCS = [...FUNCTIONS].filter((f) => !['like_escape', 'similar_to_escape', 'timezone', 'extract', 'position'].includes(f));
const BAD_FUNCS = ['pg_sleep', 'query_to_xml', 'current_setting', 'pg_read_file', 'lo_import', 'generate_series', 'set_config',
  'version', 'txid_current', 'pg_advisory_lock', 'to_regclass', 'pg_ls_dir', 'count', 'random', 'nextval', 'repeat', 'dblink'];
const TYPES_SRC = ['text', 'int', 'int8', 'bigint', 'numeric(10,2)', 'float8', 'double precision', 'boolean', 'date', 'timestamptz',
  'timestamp(3)', 'interval', 'uuid', 'jsonb', 'json', 'varchar(5)', 'char(2)', 'int[]', 'text[]', 'pg_catalog.int4'];
const BAD_TYPES = ['regclass', 'regproc', 'oid', 'xml', 'tsvector', 'bytea', 'pg_lsn', 'name', '"char"', 'point', 'public.t', 'regtype',
  'int4range', 'money'];
const OPS = [...OPERATORS, '!=', '^', '@@', '<->', '|/', '#', '&', '<<', 'OPERATOR(pg_catalog.=)', 'OPERATOR(public.=)'];

function funcName(f) {
  switch (int(6)) {
    case 0: return `"${f}"`;
    case 1: return `pg_catalog.${f}`;
    case 2: return `U&"${[...f].map((c) => `\\${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;
    case 3: return `public.${f}`;
    default: return f;
  }
}

function constant() {
  switch (int(12)) {
    case 0: return String(int(100) - 50);
    case 1: return `${int(1000) / 10}`;
    case 2: return `'${pick(['abc', 'it\'\'s', '%a%', '{1,2}', '{"k": "v"}', '2024-01-01', '1 day', '\\', ''])}'`;
    case 3: return pick(['NULL', 'true', 'false']);
    case 4: return `$${1 + int(3)}`;
    case 5: return `E'${pick(['\\\'', 'a\\nb', '\\\\'])}'`;
    case 6: return `U&'${pick(['\\0041', 'd!0061t!0061\' UESCAPE \'!', 'x'])}'`;
    case 7: return pick([`$$x$$`, `$t$y$t$`, `B'101'`, `X'ff'`, `1e3`, `0x1f`, `1_000`]);
    default: return String(int(10));
  }
}

function expr(depth) {
  if (depth > 5 || chance(0.25)) return chance(0.6) ? (chance(0.9) ? pick(COLS) : pick(BAD_COLS)) : constant();
  const e = () => expr(depth + 1);
  switch (int(26)) {
    case 0: case 1: case 2: return `${e()} ${pick(OPS)} ${e()}`;
    case 3: return `${e()} ${pick(['AND', 'OR'])} ${e()}`;
    case 4: return `NOT ${e()}`;
    case 5: return `(${e()})`;
    case 6: { const f = chance(0.85) ? pick(FUNCS) : pick(BAD_FUNCS); return `${funcName(f)}(${Array.from({ length: int(3) }, e).join(', ')})`; }
    case 7: return chance(0.5) ? `${e()}::${chance(0.85) ? pick(TYPES_SRC) : pick(BAD_TYPES)}` : `CAST(${e()} AS ${pick(TYPES_SRC)})`;
    case 8: return `${e()} ${chance(0.2) ? 'NOT ' : ''}IN (${Array.from({ length: 1 + int(3) }, e).join(', ')})`;
    case 9: return `${e()} ${pick(['', 'NOT '])}BETWEEN ${pick(['', 'SYMMETRIC '])}${e()} AND ${e()}`;
    case 10: return `${e()} ${pick(['LIKE', 'ILIKE', 'NOT LIKE', 'SIMILAR TO'])} ${e()}${chance(0.3) ? ` ESCAPE '!'` : ''}`;
    case 11: return `${e()} IS ${pick(['', 'NOT '])}${pick(['NULL', 'TRUE', 'FALSE', 'UNKNOWN', `DISTINCT FROM ${e()}`])}`;
    case 12: return `CASE ${chance(0.5) ? `${e()} ` : ''}WHEN ${e()} THEN ${e()}${chance(0.5) ? ` ELSE ${e()}` : ''} END`;
    case 13: return `${pick(['COALESCE', 'GREATEST', 'LEAST', 'NULLIF'])}(${e()}, ${e()})`;
    case 14: return `ARRAY[${Array.from({ length: int(3) }, e).join(', ')}]`;
    case 15: return `${pick(['a', 'j', '(a)', 'ARRAY[1,2]'])}[${e()}${chance(0.3) ? `:${e()}` : ''}]`;
    case 16: return `${e()} ${pick(['=', '<', '~~'])} ${pick(['ANY', 'ALL', 'SOME'])}(${e()})`;
    case 17: return pick(['current_date', 'current_timestamp', 'localtimestamp(2)', 'current_time', 'now()', 'current_user', 'current_schema', 'session_user']);
    case 18: return `${e()} COLLATE ${pick(['"C"', '"POSIX"', 'pg_catalog."default"', '"en_US"', 'public."C"'])}`;
    case 19: return `${pick(['EXTRACT(year FROM d)', `POSITION('a' IN t)`, 'TRIM(BOTH FROM t)', 'SUBSTRING(t FROM 1 FOR 2)', `d AT TIME ZONE 'UTC'`])}`;
    case 20: return pick([`(SELECT ${e()})`, `EXISTS (SELECT 1 FROM secrets)`, `${e()} IN (SELECT secret FROM secrets)`, `ARRAY(SELECT 1)`]);
    case 21: return pick([`ROW(${e()}, ${e()})`, `(${e()}, ${e()})`, `(j).k`, `fz`, `fz.*`]);
    case 22: return `-${e()}`;
    case 23: return `${e()} ${pick(['->', '->>', '#>', '?'])} ${pick([`'k'`, '0', `'{a,0}'`])}`;
    case 24: return `${funcName(pick(FUNCS))}(${e()} ${pick(['ORDER BY t', '=> 1', ''])})`;
    default: return `${e()} ${pick(['=', '<>', '>', '<='])} ${e()}`;
  }
}

/** `$N` → an untyped literal, outside quoted strings and identifiers (views take no params). */
function bindParams(sql) {
  let out = '';
  for (let i = 0; i < sql.length;) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length) { if (sql[j] === c) { if (sql[j + 1] === c) { j += 2; continue; } break; } j++; }
      out += sql.slice(i, j + 1); i = j + 1; continue;
    }
    const m = /^\$(\d+)/.exec(sql.slice(i, i + 8));
    if (m) { out += `'${m[1]}'`; i += m[0].length; continue; }
    out += c; i++;
  }
  return out;
}

const PLAN_NODES = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Bitmap Index Scan', 'BitmapOr', 'BitmapAnd', 'Result']);

function checkPlan(plan, problems) {
  if (!PLAN_NODES.has(plan['Node Type'])) problems.push(`plan node ${plan['Node Type']}`);
  if (plan['Relation Name'] && plan['Relation Name'] !== 'fz') problems.push(`plan reads ${plan['Relation Name']}`);
  if (plan['Subplan Name'] || (plan['Parent Relationship'] && !['Outer', 'Inner', 'Member'].includes(plan['Parent Relationship']))) {
    problems.push(`plan has ${plan['Subplan Name'] ?? plan['Parent Relationship']}`);
  }
  for (const p of plan.Plans ?? []) checkPlan(p, problems);
}

// Node kinds of an analysed where clause that the allow-list can produce (plus the view's
// own query scaffolding). Anything else — SUBLINK, ROWEXPR, FIELDSELECT, NEXTVALUEEXPR … — is a leak.
const TREE_NODES = new Set(['QUERY', 'RANGETBLENTRY', 'ALIAS', 'FROMEXPR', 'RANGETBLREF', 'TARGETENTRY', 'BOOLEXPR',
  'NULLTEST', 'BOOLEANTEST', 'FUNCEXPR', 'CONST', 'OPEXPR', 'VAR', 'COERCEVIAIO', 'SCALARARRAYOPEXPR', 'COLLATEEXPR',
  'SUBSCRIPTINGREF', 'COALESCEEXPR', 'MINMAXEXPR', 'CASEEXPR', 'CASEWHEN', 'CASETESTEXPR', 'SQLVALUEFUNCTION',
  'RELABELTYPE', 'ARRAYEXPR', 'ARRAYCOERCEEXPR']);
const TYPE_FIELDS = ['consttype', 'vartype', 'funcresulttype', 'opresulttype', 'resulttype', 'refcontainertype', 'refelemtype',
  'refrestype', 'coalescetype', 'minmaxtype', 'casetype', 'array_typeid', 'element_typeid', 'type'];
const FIELDS = new Set();
const catalog = new Map();   // "kind:oid" → description, or null if allowed

/** What is wrong with catalog object `oid` of `kind` (null: allowed), looked up once. */
async function judge(kind, oid) {
  const key = `${kind}:${oid}`;
  if (catalog.has(key)) return catalog.get(key);
  let verdict = null;
  if (kind === 'relation') {
    const [r] = (await client.query(`SELECT relnamespace::regnamespace::text AS nsp, relname FROM pg_class WHERE oid = $1`, [oid])).rows;
    if (!r || !((r.nsp === 'public' && r.relname === 'fz') || (/^pg_temp/.test(r.nsp) && r.relname === 'fz_view'))) verdict = `reads relation ${r?.nsp}.${r?.relname}`;
  } else if (kind === 'function') {
    const [r] = (await client.query(`SELECT pronamespace::regnamespace::text AS nsp, proname,
      EXISTS (SELECT 1 FROM pg_cast WHERE castfunc = p.oid) AS is_cast,
      EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprcode = p.oid AND o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprname = ANY($2)) AS is_op
      FROM pg_proc p WHERE oid = $1`, [oid, [...OPERATORS]])).rows;
    if (!r || r.nsp !== 'pg_catalog' || !(FUNCTIONS.has(r.proname) || r.is_cast || r.is_op)) verdict = `calls function ${r?.nsp}.${r?.proname}`;
  } else if (kind === 'operator') {
    const [r] = (await client.query(`SELECT oprnamespace::regnamespace::text AS nsp, oprname FROM pg_operator WHERE oid = $1`, [oid])).rows;
    if (!r || r.nsp !== 'pg_catalog' || !OPERATORS.has(r.oprname)) verdict = `uses operator ${r?.nsp}.${r?.oprname}`;
  } else if (kind === 'type') {
    const [r] = (await client.query(`SELECT typnamespace::regnamespace::text AS nsp, typname FROM pg_type WHERE oid = $1`, [oid])).rows;
    if (!r || r.nsp !== 'pg_catalog' || !TYPES.has(r.typname)) verdict = `uses type ${r?.nsp}.${r?.typname}`;
  } else if (kind === 'collation') {
    const [r] = (await client.query(`SELECT collnamespace::regnamespace::text AS nsp, collname FROM pg_collation WHERE oid = $1`, [oid])).rows;
    if (!r || r.nsp !== 'pg_catalog') verdict = `uses collation ${r?.nsp}.${r?.collname}`;
  }
  catalog.set(key, verdict);
  return verdict;
}

/**
 * Checks the view's analysed query tree (pg_rewrite.ev_action, the same tree the executor
 * runs): only allowed node kinds, and every relation, function, operator, type and collation
 * it names by OID is allowed.
 */
async function checkTree(tree, problems) {
  for (const [, node] of tree.matchAll(/\{([A-Z_]+)/g)) if (!TREE_NODES.has(node)) problems.push(`tree has ${node}`);
  const refs = [];
  for (const [, f, oid] of tree.matchAll(/:([A-Za-z_]+) (\d+)/g)) {
    if (process.env.WHERE_FUZZ_FIELDS) FIELDS.add(f);
    if (oid === '0') continue;
    if (f === 'relid' || f === 'resorigtbl') refs.push(['relation', oid]);
    else if (f === 'funcid' || f === 'opfuncid' || f === 'hashfuncid' || f === 'negfuncid') refs.push(['function', oid]);
    else if (f === 'opno') refs.push(['operator', oid]);
    else if (TYPE_FIELDS.includes(f)) refs.push(['type', oid]);
    else if (/coll/i.test(f)) refs.push(['collation', oid]);
  }
  for (const [kind, oid] of refs) {
    const v = await judge(kind, oid);
    if (v && !problems.includes(v)) problems.push(v);
  }
}

/** Returns the oracle's complaints about running `sql` (empty: fine), or null if Postgres rejected it. */
async function oracle(sql) {
  const problems = [];
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL statement_timeout = '3s'`);
    try {
      await client.query(`CREATE TEMP VIEW fz_view AS SELECT fz.id FROM public.fz WHERE ${bindParams(sql)}`);
    } catch (e) {
      if (e.code === '57014') problems.push('creating the view timed out');
      if (/^(42|22|0A|2F|54)/.test(e.code ?? '')) return problems.length ? problems : null;
      problems.push(`unexpected error ${e.code}: ${e.message}`);
      return problems;
    }
    const [{ tree }] = (await client.query(`SELECT ev_action::text AS tree FROM pg_rewrite WHERE ev_class = 'fz_view'::regclass`)).rows;
    await checkTree(tree, problems);
    // Planning folds constants, so both planning and running may fail on bad values.
    const attempt = async (what, q, then) => {
      await client.query('SAVEPOINT s');
      try {
        then((await client.query(q)).rows);
      } catch (e) {
        if (e.code === '57014') problems.push(`${what} timed out`);
        else if (!/^(22|42|0A|2F|54)/.test(e.code ?? '')) problems.push(`${what} failed ${e.code}: ${e.message}`);
        await client.query('ROLLBACK TO SAVEPOINT s');
      }
    };
    await attempt('planning', `EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM fz_view`, ([{ 'QUERY PLAN': plan }]) => checkPlan(plan[0].Plan, problems));
    await attempt('running', `SELECT count(*) FROM fz_view`, () => {});
    return problems;
  } finally {
    await client.query('ROLLBACK');
  }
}

test('where fuzz: everything checkWhere accepts runs over the shape table and allow-listed catalog objects only', async () => {
  const end = Date.now() + BUDGET_MS;
  const stats = { tried: 0, refused: 0, accepted: 0, ranInPostgres: 0, hostileAccepted: 0 };
  const failures = [];
  const seen = new Set();
  while (Date.now() < end && failures.length < 5) {
    const clause = chance(0.5) ? mutate(pick(CORPUS)) : expr(0);
    stats.tried++;
    let checked;
    try {
      checked = checkWhere(clause, TABLE);
    } catch (e) {
      if (!(e instanceof WhereError)) failures.push({ clause, problem: `threw ${e.name}: ${e.message}` });
      else if (!/^At location \d+: /.test(e.message)) failures.push({ clause, problem: `message without location: ${e.message}` });
      stats.refused++;
      continue;
    }
    stats.accepted++;
    for (const c of checked.columns) if (!TABLE.columns.some((x) => x.name === c)) failures.push({ clause, problem: `reports column ${c}` });
    // checkWhere's output is itself a clause it accepts, and emits unchanged.
    try {
      const again = checkWhere(checked.sql, TABLE);
      if (again.sql !== checked.sql) failures.push({ clause, problem: `not a fixpoint: ${checked.sql} → ${again.sql}` });
    } catch (e) {
      if (!/longer than|nested more than|too complex|too large/.test(e.message)) failures.push({ clause, problem: `own output refused: ${e.message}` });
    }
    if (seen.has(checked.sql)) continue;
    seen.add(checked.sql);
    const problems = await oracle(checked.sql);
    if (problems === null) continue;
    stats.ranInPostgres++;
    if (/pg_sleep|query_to_xml|secrets|ctid|regclass|SELECT|\$\$|--|;/i.test(clause)) stats.hostileAccepted++;
    if (problems.length) failures.push({ clause, sql: checked.sql, problem: problems.join('; ') });
  }
  console.log(`where-fuzz seed ${SEED}: ${JSON.stringify(stats)}`);
  if (process.env.WHERE_FUZZ_FIELDS) console.log([...FIELDS].sort().join(' '));
  assert.deepEqual(failures, [], `seed ${SEED}`);
  // An oracle that never ran proves nothing.
  assert.ok(stats.ranInPostgres >= Math.min(200, BUDGET_MS / 100), `only ${stats.ranInPostgres} accepted clauses ran in Postgres`);
  assert.ok(stats.refused >= 100, `only ${stats.refused} clauses refused`);
});
