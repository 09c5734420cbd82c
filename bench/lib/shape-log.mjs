// Generates Electric Shape API logs of the `tasks` table (shared/spec/schema.sql)
// for benchmarks: realistic rows as Postgres text values, chunked into responses
// exactly as Electric serves an initial sync (../../shared/spec/electric-protocol.md
// §1.5, §2.7): `offset=-1` → chunk 0_0, then 0_1 … each without up-to-date; the last
// snapshot chunk ends with `snapshot-end` and (being requested at an offset other
// than -1) `up-to-date`.
//
// Everything is deterministic for a given seed, so runs are comparable.

/** The `tasks` columns in schema order, with their Postgres types. */
export const TASK_COLUMNS = [
  { name: 'id', type: 'uuid', notNull: true, pkIndex: 0 },
  { name: 'user_id', type: 'text', notNull: true },
  { name: 'title', type: 'text', notNull: true },
  { name: 'description', type: 'text' },
  { name: 'status', type: 'text', notNull: true },
  { name: 'priority', type: 'int4', notNull: true },
  { name: 'environment_id', type: 'uuid' },
  { name: 'created_at', type: 'timestamptz', notNull: true },
  { name: 'updated_at', type: 'timestamptz', notNull: true },
];

/** The `tasks` table DDL from shared/spec/schema.sql (what the engine is told to sync). */
export const TASKS_SCHEMA_SQL = `create table tasks (
  id             uuid primary key,
  user_id        text not null,
  title          text not null,
  description    text,
  status         text not null default 'pending'
                 check (status in ('pending', 'in_progress', 'completed', 'failed', 'cancelled')),
  priority       integer not null default 0,
  environment_id uuid,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);`;

const STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'];
const VERBS = ['Refactor', 'Deploy', 'Investigate', 'Benchmark', 'Document', 'Migrate', 'Review',
  'Fix', 'Optimise', 'Test', 'Profile', 'Upgrade', 'Audit', 'Design', 'Prototype'];
const OBJECTS = ['the ingest pipeline', 'OPFS persistence', 'the billing service', 'login flow',
  'shape subscriptions', 'the retry policy', 'search indexing', 'nightly backups',
  'the React hooks', 'conflict resolution', 'CSV export', 'rate limiting', 'the worker pool',
  'schema migrations', 'push notifications', 'the metrics dashboard', 'JWT refresh'];
const DETAILS = ['Users reported intermittent failures after the last release.',
  'Measure p50/p99 before and after; attach the flame graph.',
  'Blocked on the upstream fix — see the linked issue for context.',
  'Keep the public API unchanged; add a regression test named after the bug.',
  'Customer “Acme GmbH” needs this before the quarterly review.',
  'Edge case: rows whose title contains "quotes", commas, and a backslash \\ must round-trip.',
  'Check memory use on low-end Android devices (≤ 2 GB RAM).',
  'Coordinate with the data team; the migration must be reversible.'];

/** A small deterministic PRNG (mulberry32). */
export function makeRandom(seed = 1) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

function hex(rand, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand.next() * 16).toString(16);
  return s;
}

/** A random version-4 UUID (deterministic under `rand`). */
export function uuid(rand) {
  const variant = '89ab'[Math.floor(rand.next() * 4)];
  return `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-${variant}${hex(rand, 3)}-${hex(rand, 12)}`;
}

/** Postgres `timestamptz` text output under TimeZone=UTC, DateStyle=ISO. */
export function pgTimestamptz(ms, micros = 0) {
  const iso = new Date(ms).toISOString(); // 2026-03-14T09:26:53.589Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, '0')}+00`;
}

/**
 * `count` task rows as Electric sends them: every value a Postgres text string or null.
 * Spread over `users` users and a handful of environments.
 */
export function generateTasks(count, { seed = 42, users = 20, startMs = Date.UTC(2026, 0, 5) } = {}) {
  const rand = makeRandom(seed);
  const environments = Array.from({ length: 12 }, () => uuid(rand));
  const rows = new Array(count);
  for (let i = 0; i < count; i++) {
    const created = startMs + i * 7_919 + rand.int(0, 5_000);
    const updated = created + (rand.next() < 0.6 ? rand.int(1_000, 86_400_000 * 3) : 0);
    rows[i] = {
      id: uuid(rand),
      user_id: `user-${String(rand.int(1, users)).padStart(4, '0')}`,
      title: `${rand.pick(VERBS)} ${rand.pick(OBJECTS)} #${i + 1}`,
      description: rand.next() < 0.25 ? null : `${rand.pick(DETAILS)} ${rand.pick(DETAILS)}`,
      status: rand.pick(STATUSES),
      priority: String(rand.int(0, 5)),
      environment_id: rand.next() < 0.3 ? null : rand.pick(environments),
      created_at: pgTimestamptz(created, rand.int(0, 999)),
      updated_at: pgTimestamptz(updated, rand.int(0, 999)),
    };
  }
  return rows;
}

/** The `electric-schema` header for `columns` (the format of protocol notes §2.5). */
export function schemaHeader(columns = TASK_COLUMNS) {
  const schema = {};
  for (const c of columns) {
    const entry = { type: c.type };
    if (c.pkIndex !== undefined) entry.pk_index = c.pkIndex;
    if (c.notNull) entry.not_null = true;
    schema[c.name] = entry;
  }
  return JSON.stringify(schema);
}

/** Electric's row key: `"public"."tasks"/"<pk>"` (protocol notes §2.4). */
export function rowKey(table, pk) {
  return `"public"."${table}"/"${String(pk).replaceAll('/', '//')}"`;
}

/**
 * Splits `rows` into the responses of an initial sync, `perResponse` messages each.
 * Returns [{ offset, handle?, status, headers, body }] where `offset` (and `handle`
 * from the second response on) is what the request must carry to get this response.
 */
export function snapshotResponses(rows, {
  table = 'tasks', perResponse = 1000, handle = '73198213-1767225600000000',
  columns = TASK_COLUMNS, xmin = '7613', xmax = '7613', lsn = '26800584',
} = {}) {
  const schema = schemaHeader(columns);
  const chunks = Math.max(1, Math.ceil(rows.length / perResponse));
  const responses = [];
  const relation = ['public', table];
  const pkName = columns.find((c) => c.pkIndex === 0).name;
  for (let c = 0; c < chunks; c++) {
    const slice = rows.slice(c * perResponse, (c + 1) * perResponse);
    const messages = slice.map((value) => ({
      key: rowKey(table, value[pkName]),
      value,
      headers: { operation: 'insert', relation },
    }));
    const last = c === chunks - 1;
    const requestOffset = c === 0 ? '-1' : `0_${c - 1}`;
    if (last) messages.push({ headers: { control: 'snapshot-end', xmin, xmax, xip_list: [] } });
    // A response to offset=-1 never carries up-to-date (protocol notes §1.5).
    if (last && requestOffset !== '-1') {
      messages.push({ headers: { control: 'up-to-date', global_last_seen_lsn: lsn } });
    }
    responses.push({
      offset: requestOffset,
      handle: c === 0 ? undefined : handle,
      status: 200,
      headers: {
        'electric-handle': handle,
        'electric-offset': `0_${c}`,
        'electric-schema': schema,
        'content-type': 'application/json',
        'cache-control': c === 0 ? 'public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746'
          : 'public, max-age=60, stale-while-revalidate=300',
      },
      body: JSON.stringify(messages),
    });
  }
  if (responses.length === 1) {
    // A single -1 chunk: catching up takes one more request that only says up-to-date.
    responses.push({
      offset: '0_0', handle, status: 200,
      headers: {
        'electric-handle': handle, 'electric-offset': '0_inf', 'electric-schema': schema,
        'electric-up-to-date': '', 'content-type': 'application/json',
      },
      body: JSON.stringify([{ headers: { control: 'up-to-date', global_last_seen_lsn: lsn } }]),
    });
  }
  return responses;
}

/**
 * Rows in SQLite form for the raw-insert baseline: `int4`/`int8` columns as integers,
 * everything else as text (what the engine stores them as).
 */
export function sqliteValues(row, columns = TASK_COLUMNS) {
  return columns.map((c) => {
    const v = row[c.name];
    if (v === null || v === undefined) return null;
    return c.type === 'int4' || c.type === 'int8' || c.type === 'int2' ? BigInt(v) : v;
  });
}

/**
 * Packs rows of SQLite values into the format of wasm/bench/raw_insert.h:
 * per value a tag byte (0 null, 1 int64, 2 double, 3 text) and its payload.
 */
export function packRows(valueRows) {
  const enc = new TextEncoder();
  const parts = [];
  let size = 0;
  for (const values of valueRows) {
    for (const v of values) {
      let part;
      if (v === null) {
        part = Uint8Array.of(0);
      } else if (typeof v === 'bigint') {
        part = new Uint8Array(9);
        part[0] = 1;
        new DataView(part.buffer).setBigInt64(1, v, true);
      } else if (typeof v === 'number') {
        part = new Uint8Array(9);
        part[0] = 2;
        new DataView(part.buffer).setFloat64(1, v, true);
      } else {
        const bytes = enc.encode(v);
        part = new Uint8Array(5 + bytes.length);
        part[0] = 3;
        new DataView(part.buffer).setUint32(1, bytes.length, true);
        part.set(bytes, 5);
      }
      parts.push(part);
      size += part.length;
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
