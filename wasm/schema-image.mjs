// Writes the default schema's database image, dist/wasm/electrolite.schema.db.gz: the file a fresh
// open with the package's default tables leaves behind (the engine's DDL run, its bookkeeping
// recorded, no rows), gzipped (its pages are mostly empty: 284 KB → 11 KB, whether or not a
// server compresses it). A new database opened with the default schema copies these pages instead
// of running the DDL (src/schema_image.h, js/default-schema.ts). Run by scripts/build.sh after
// the TypeScript build and before the split (so the split's profile sees the image path):
//   node wasm/schema-image.mjs [dist/wasm]
//
// The image is made by this build's own engine, so it records this build's DDL; the engine still
// checks every recorded DDL text on open, and uses an image only when it records the same
// declared tables, so a stale image is never wrong, only slower. tests/node/schema-image.test.mjs
// checks that a database opened from it equals one built by DDL.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = resolve(process.argv[2] ?? join(root, 'dist/wasm'));
const out = join(dir, 'electrolite.schema.db.gz');
rmSync(out, { force: true }); // the image below must come from the DDL, not from an older image

const { Electrolite } = await import(pathToFileURL(join(root, 'dist/js/index.js')).href);
const work = mkdtempSync(join(tmpdir(), 'el-image-'));
try {
  const file = join(work, 'image.db');
  // Local-only, no shapes: nothing in the file depends on the client, the time or a server.
  const db = await Electrolite.open({ storage: { path: file }, autoSubscribe: false });
  await db.close();
  for (const side of ['-wal', '-journal']) {
    let size = 0;
    try { size = statSync(file + side).size; } catch { /* absent */ }
    if (size !== 0) throw new Error(`schema-image: ${file + side} holds ${size} bytes after close`);
  }
  const bytes = new Uint8Array(readFileSync(file));
  // File format versions 2/2 (WAL) → 1/1 (rollback journal): the engine reads the image
  // through an in-memory connection, which cannot open a WAL database; the copy it makes takes
  // the destination's own journal mode.
  bytes[18] = 1;
  bytes[19] = 1;
  // mtime 0 in the gzip header (Node writes none): the file is the same for the same build.
  const packed = gzipSync(bytes, { level: 9 });
  writeFileSync(out, packed);
  console.log(`schema-image: ${out} (${bytes.length / 4096} pages, ${(bytes.length / 1024).toFixed(0)} KB, ${(packed.length / 1024).toFixed(1)} KB gzipped)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
