// Encryption at rest (docs/encryption.md): a file database opened with `encryptionKey` is
// ChaCha20-Poly1305 encrypted block by block in the VFS. Round trip, nothing readable on
// disk, the layout decrypted independently with OpenSSL (Node's crypto), wrong key /
// missing key / key on a plain file refused with a clear error, tampering detected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Electrolite } from '../../dist/js/index.js';

const dir = mkdtempSync(join(tmpdir(), 'el-enc-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const notes = {
  name: 'notes',
  columns: [{ name: 'id', type: 'text', notNull: true }, { name: 'body', type: 'text' }],
  primaryKey: ['id'],
  policy: { policy: 'last-write-wins', writable: true },
};
const base = { url: 'http://127.0.0.1:9', autoSubscribe: false, uploadIntervalMs: 3_600_000, tables: [notes] };
const HEADER = 64;
const BLOCK = 4096;
const PHYS = BLOCK + 32;

async function fill(path, key, n = 300) {
  const db = await Electrolite.open({ ...base, storage: { path }, encryptionKey: key });
  for (let i = 0; i < n; i++) await db.insert('notes', { id: `n${i}`, body: `top-secret-note-${i}` });
  await db.close();
}

async function count(path, key) {
  const db = await Electrolite.open({ ...base, storage: { path }, encryptionKey: key });
  try {
    return (await db.query('SELECT count(*) AS n FROM notes')).rows[0].n;
  } finally {
    await db.close();
  }
}

/** Decrypts block `b` of an encrypted file with OpenSSL: independent check of the layout. */
function opensslBlock(file, master, b) {
  const salt = file.subarray(8, 24);
  const iv = Buffer.concat([salt.subarray(12, 16), salt.subarray(0, 12)]); // counter | nonce
  const ks = createCipheriv('chacha20', master, iv);
  const fileKey = Buffer.concat([ks.update(Buffer.alloc(32)), ks.final()]);
  const at = HEADER + b * PHYS;
  const ct = file.subarray(at, at + BLOCK);
  const trailer = file.subarray(at + BLOCK, at + PHYS);
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32LE(b, 0);
  trailer.copy(nonce, 4, 16, 24);
  const aad = Buffer.alloc(12);
  aad.writeBigUInt64LE(BigInt(b), 0);
  trailer.copy(aad, 8, 24, 28);
  const d = createDecipheriv('chacha20-poly1305', fileKey, nonce, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: BLOCK });
  d.setAuthTag(trailer.subarray(0, 16));
  return Buffer.concat([d.update(ct), d.final()]);
}

test('round trip with a 32-byte key; the file holds no plaintext; OpenSSL decrypts its layout', async () => {
  const path = join(dir, 'enc.db');
  const key = randomBytes(32);
  await fill(path, new Uint8Array(key));
  assert.equal(await count(path, new Uint8Array(key)), 300);
  const file = readFileSync(path);
  assert.equal(file.subarray(0, 8).toString('latin1'), 'ELENC\0\x01\0');
  assert.equal(file.indexOf('top-secret-note'), -1, 'no row text on disk');
  assert.equal(file.indexOf('SQLite format 3'), -1, 'no SQLite header on disk');
  assert.equal((file.length - HEADER) % PHYS, 0, 'whole blocks after the header');
  const page1 = opensslBlock(file, key, 0);
  assert.equal(page1.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  let found = false;
  for (let b = 1; b < (file.length - HEADER) / PHYS && !found; b++) {
    found = opensslBlock(file, key, b).includes('top-secret-note-7');
  }
  assert.ok(found, 'a row is found by decrypting the blocks with OpenSSL');
});

test('wrong key, missing key and a key on a plain database are refused with a clear error', async () => {
  const path = join(dir, 'keys.db');
  const key = new Uint8Array(randomBytes(32));
  await fill(path, key, 10);
  const other = new Uint8Array(key);
  other[0] ^= 1;
  await assert.rejects(count(path, other), (e) => e.code === 'auth' && /wrong encryption key/.test(e.message));
  await assert.rejects(count(path, undefined), (e) => e.code === 'auth' && /wrong encryption key/.test(e.message));
  assert.equal(await count(path, key), 10, 'the right key still opens it: nothing was damaged');

  const plain = join(dir, 'plain.db');
  await fill(plain, undefined, 5);
  await assert.rejects(count(plain, key), (e) => e.code === 'corruption' && /wrong encryption key/.test(e.message));
  assert.equal(await count(plain, undefined), 5);

  await assert.rejects(count(join(dir, 'x.db'), new Uint8Array(16)), (e) => e.code === 'invalid_argument');
  await assert.rejects(
    Electrolite.open({ ...base, storage: 'name.db', encryptionKey: key }),
    (e) => e.code === 'invalid_argument' && /encryptionKey/.test(e.message));
});

test('a passphrase is stretched with PBKDF2; another passphrase is refused', async () => {
  const path = join(dir, 'pass.db');
  await fill(path, 'correct horse battery staple', 20);
  assert.equal(await count(path, 'correct horse battery staple'), 20);
  await assert.rejects(count(path, 'Correct horse battery staple'), (e) => e.code === 'auth');
});

test('a tampered page is detected: corruption, never garbage rows', async () => {
  const path = join(dir, 'tamper.db');
  const key = new Uint8Array(randomBytes(32));
  await fill(path, key, 300);
  const file = readFileSync(path);
  const blocks = (file.length - HEADER) / PHYS;
  assert.ok(blocks > 3);
  for (let b = 1; b < blocks; b++) file[HEADER + b * PHYS + 1000] ^= 0x40; // one bit per page
  writeFileSync(path, file);
  await assert.rejects(async () => {
    const db = await Electrolite.open({ ...base, storage: { path }, encryptionKey: key });
    try {
      await db.query('SELECT * FROM notes');
    } finally {
      await db.close();
    }
  }, (e) => e.code === 'corruption');
});

test('re-keying: db.export() then open a new file with { import, encryptionKey: newKey }', async () => {
  const oldKey = new Uint8Array(randomBytes(32));
  const newKey = new Uint8Array(randomBytes(32));
  const from = join(dir, 'old-key.db');
  const to = join(dir, 'new-key.db');
  await fill(from, oldKey, 30);
  const a = await Electrolite.open({ ...base, storage: { path: from }, encryptionKey: oldKey });
  const snapshot = await a.export();
  await a.close();
  const b = await Electrolite.open({ ...base, storage: { path: to }, encryptionKey: newKey, import: snapshot });
  assert.equal((await b.pendingMutations()).length, 30, 'the outbox moves with the data');
  await b.close();
  assert.equal(await count(to, newKey), 30);
  await assert.rejects(count(to, oldKey), (e) => e.code === 'auth');
});
