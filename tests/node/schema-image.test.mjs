// The default schema's database image (wasm/schema-image.mjs, src/schema_image.h): a new database
// opened with the default tables copies its pages instead of running the DDL. It must leave the
// same database the DDL leaves, and be used only where it fits: a new database, the same
// declared tables.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { Electrolite } from '../../dist/js/index.js';
import { loadEngineModule } from '../../dist/js/wasm-loader.js';
import { loadDefaultSchemaImage } from '../../dist/js/default-schema.js';

const imageUrl = new URL('../../dist/wasm/electrolite.schema.db.gz', import.meta.url);
const schemaSql = readFileSync(new URL('../../schema/schema.sql', import.meta.url), 'utf8');
const policies = JSON.parse(readFileSync(new URL('../../schema/policies.json', import.meta.url), 'utf8'));
delete policies.$comment;
const work = mkdtempSync(join(tmpdir(), 'el-image-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Everything a database holds: schema objects and every table's rows, in a stable order. */
function contents(file) {
  const db = new Database(file, { readonly: true });
  try {
    const objects = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name").all();
    const rows = {};
    for (const { name } of objects.filter((o) => o.type === 'table')) {
      rows[name] = db.prepare(`SELECT * FROM "${name}"`).all().map((r) => JSON.stringify(r)).sort();
    }
    return { objects, rows };
  } finally {
    db.close();
  }
}

function ok(json, what) {
  const r = JSON.parse(json);
  assert.notEqual(r.ok, false, `${what}: ${r.code}: ${r.message}`);
  return r;
}

test('the build wrote the image: a gzipped rollback-journal SQLite file of whole pages', () => {
  const bytes = gunzipSync(readFileSync(imageUrl));
  assert.equal(bytes.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  assert.equal(bytes.readUInt16BE(16), 4096);
  assert.deepEqual([bytes[18], bytes[19]], [1, 1]);
  assert.equal(bytes.length % 4096, 0);
});

test('the client unpacks the image it hands to the engine', async () => {
  const unpacked = await loadDefaultSchemaImage();
  assert.ok(unpacked instanceof Uint8Array);
  assert.deepEqual(Buffer.from(unpacked), gunzipSync(readFileSync(imageUrl)));
});

test('a new database opened from the image holds what the DDL builds, and works the same', async () => {
  const fromImage = join(work, 'image.db');
  const fromDdl = join(work, 'ddl.db');
  // The client opens the default schema with the image: the real open, watched on its way through.
  const images = [];
  const loadModule = async () => {
    const m = await loadEngineModule();
    const real = m.openWithSchemaImage.bind(m);
    m.openWithSchemaImage = (options, image) => (images.push(image.length), real(options, image));
    return m;
  };
  const a = await Electrolite.open({ storage: { path: fromImage }, autoSubscribe: false }, { loadModule });
  assert.deepEqual(images, [gunzipSync(readFileSync(imageUrl)).length]);
  // The same tables given as the app's own schema text: no image, the DDL runs.
  const b = await Electrolite.open({ storage: { path: fromDdl }, autoSubscribe: false, schemaSql, policies });
  await a.close();
  await b.close();
  // Schema objects, recorded DDL, declarations, bookkeeping rows: all the same.
  assert.deepEqual(contents(fromImage), contents(fromDdl));

  // Reopened, the image's database works as the other: a local write, read back after a reopen.
  for (const file of [fromImage, fromDdl]) {
    const db = await Electrolite.open({ storage: { path: file }, autoSubscribe: false });
    await db.insert('tasks', { id: '00000000-0000-4000-8000-000000000001', user_id: 'u1', title: 'one' });
    await db.close();
    const again = await Electrolite.open({ storage: { path: file }, autoSubscribe: false });
    assert.deepEqual((await again.query('SELECT id, title FROM tasks')).rows, [{ id: '00000000-0000-4000-8000-000000000001', title: 'one' }]);
    await again.close();
  }
});

test('the image is used only for a new database with the same declared tables', async () => {
  // An image with a marker table beside the default schema shows when its pages were copied.
  const marked = join(work, 'marked.db');
  const db = await Electrolite.open({ storage: { path: marked }, autoSubscribe: false });
  await db.exec('CREATE TABLE image_marker (x)');
  await db.close();
  const image = new Uint8Array(readFileSync(marked));
  image[18] = 1;
  image[19] = 1;

  const m = await loadEngineModule();
  const hasMarker = (h) => ok(m.query(h, "SELECT count(*) FROM sqlite_master WHERE name = 'image_marker'", '[]'), 'query').rows[0][0] === 1;
  const options = (path, extra = {}) => JSON.stringify({ path, nowMs: Date.now(), schemaSql, policies, autoSubscribe: false, ...extra });

  // A new database with the same tables: copied.
  const h1 = ok(m.openWithSchemaImage(options('new.db'), image), 'open new').handle;
  assert.equal(hasMarker(h1), true);
  ok(m.close(h1), 'close');
  // In memory too.
  const h2 = ok(m.openWithSchemaImage(options(':memory:'), image), 'open memory').handle;
  assert.equal(hasMarker(h2), true);
  ok(m.close(h2), 'close');

  // A database that exists already: left as it is.
  const h3 = ok(m.open(options('existing.db')), 'create').handle;
  ok(m.close(h3), 'close');
  const h4 = ok(m.openWithSchemaImage(options('existing.db'), image), 'reopen').handle;
  assert.equal(hasMarker(h4), false);
  ok(m.close(h4), 'close');

  // Other declared tables: not copied; the open builds its own schema.
  const tasksOnly = schemaSql.match(/create table tasks \([\s\S]*?\n\);/)[0];
  const h5 = ok(m.openWithSchemaImage(options('other.db', { schemaSql: tasksOnly, policies: {} }), image), 'open other').handle;
  assert.equal(hasMarker(h5), false);
  assert.equal(ok(m.query(h5, "SELECT count(*) FROM sqlite_master WHERE name = 'environments'", '[]'), 'query').rows[0][0], 0);
  assert.equal(ok(m.query(h5, 'SELECT count(*) FROM tasks', '[]'), 'query').rows[0][0], 0);
  ok(m.close(h5), 'close');

  // Not a database at all: refused by SQLite, so the open builds its schema.
  const h6 = ok(m.openWithSchemaImage(options('garbage.db'), new Uint8Array(8192).fill(7)), 'open garbage').handle;
  assert.equal(ok(m.query(h6, 'SELECT count(*) FROM tasks', '[]'), 'query').rows[0][0], 0);
  ok(m.close(h6), 'close');
});
