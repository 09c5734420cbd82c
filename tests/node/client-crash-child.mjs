// Child process for client-crash.test.mjs: opens a file-backed database, makes local
// writes, reports their mutation ids, then keeps syncing until the parent SIGKILLs it.
import { randomUUID } from 'node:crypto';
import { Electrolite } from '../../dist/js/index.js';

const [url, token, path, n] = process.argv.slice(2);
const db = await Electrolite.open({ url, token, storage: { path }, uploadIntervalMs: 100, backoff: { initialMs: 100, maxMs: 500 } });
const rows = [];
await db.transaction(async (tx) => {
  for (let i = 0; i < Number(n); i++) {
    const id = randomUUID();
    const mutationId = await tx.insert('tasks', { id, user_id: 'crash', title: `crash ${i}` });
    rows.push({ id, mutationId });
  }
});
process.stdout.write(`${JSON.stringify({ rows })}\n`);
setInterval(() => undefined, 1000); // stay alive (and uploading) until killed
