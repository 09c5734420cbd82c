// Start a real, throw-away PostgreSQL 15 cluster for tests.
//
//   import { startPostgres } from '../support/postgres.mjs'
//   const pg = await startPostgres()      // { url, host, port, dataDir, stop() }
//   ... new pg.Client({ connectionString: pg.url }) ...
//   await pg.stop()
//
// initdb runs into a fresh temp dir (as the `postgres` user when we are root, since initdb
// refuses root), the server listens on a free loopback port and on a unix socket inside the
// temp dir, with durability switched off (fsync=off) because the data is thrown away.
// stop() shuts the cluster down (fast mode) and removes the directory. A process exit
// handler kills a cluster a test forgot to stop.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync, chownSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import pg from 'pg';

const BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
const running = new Set();

process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGQUIT'); } catch { /* already gone */ }
  }
});

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// When root, run PostgreSQL programs as the `postgres` user (initdb and postgres refuse root).
// spawn's uid/gid do that without an intermediate runuser process, so signals reach postgres.
function userOpts() {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) return {};
  const [uid, gid] = pgUid();
  return { uid, gid, env: { ...process.env, HOME: tmpdir() } };
}

function pgUid() {
  const out = execFileSync('id', ['-u', 'postgres']).toString().trim();
  const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
  return [Number(out), Number(gid)];
}

// Ready = a real query succeeds (a TCP accept alone may still answer "starting up").
async function waitReady(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch (e) {
      await c.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`postgres did not become ready on ${port}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/**
 * @param {{ database?: string, settings?: Record<string,string|number> }} [opts]
 * @returns {Promise<{url: string, host: string, port: number, dataDir: string, stop: () => Promise<void>}>}
 */
export async function startPostgres(opts = {}) {
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`PostgreSQL binaries not found in ${BIN} (set PG_BIN)`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'electrolite-pg-'));
  const dataDir = join(dir, 'data');
  const sockDir = dir;
  if (isRoot) {
    const [uid, gid] = pgUid();
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);

  try {
    execFileSync(join(BIN, 'initdb'), [
      '-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C',
      '--no-sync', '--no-instructions',
    ], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...userOpts() });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${e.stderr?.toString() || e.message}`);
  }

  const port = await freePort();
  const settings = {
    listen_addresses: '127.0.0.1', port, unix_socket_directories: sockDir,
    fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off',
    max_connections: 200, shared_buffers: '32MB', log_min_messages: 'warning',
    ...(opts.settings || {}),
  };
  const args = ['-D', dataDir];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
  const child = spawn(join(BIN, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...userOpts() });
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 20000) stderr = stderr.slice(-10000); });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let dead = false;
  exited.then(() => { dead = true; running.delete(child); });

  try {
    await Promise.race([
      waitReady(port, 15000),
      exited.then(() => { throw new Error(`postgres exited early: ${stderr}`); }),
    ]);
  } catch (e) {
    child.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const database = opts.database || 'postgres';
  if (database !== 'postgres') {
    execFileSync(join(BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', database],
      { stdio: 'ignore', cwd: dir, ...userOpts() });
  }

  let stopping = null;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    host: '127.0.0.1',
    port,
    dataDir,
    stop() {
      if (stopping) return stopping;
      stopping = (async () => {
        if (!dead) {
          // SIGINT = "fast" shutdown: disconnect clients, no checkpoint wait beyond the minimum.
          child.kill('SIGINT');
          const t = setTimeout(() => { if (!dead) child.kill('SIGKILL'); }, 5000);
          await exited;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
