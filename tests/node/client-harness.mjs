// Test harness for the client suites: a real PostgreSQL (tests/support), the real dev
// server (dist/server), and a fault-injecting HTTP proxy in front of it. The proxy forwards
// every request to the real server unchanged unless a fault is armed (500s, slow or
// malformed responses, refused connections), so the client always talks to real parts.
import http from 'node:http';
import net from 'node:net';
import { decompress } from 'fzstd';

/** Starts a proxy on a free port forwarding to `target` (http://host:port). */
export async function startFaultProxy(target) {
  const t = new URL(target);
  const faults = [];
  const sockets = new Set();
  const log = [];
  let refuse = false;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  const handle = (req, res, body) => {
    log.push({ method: req.method, url: req.url, at: Date.now(), headers: req.headers, body });
    const fault = pickFault(faults, req);
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.headers ?? {}) });
      res.end(JSON.stringify({ message: `injected ${fault.status}` }));
      return;
    }
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const upstream = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (fault?.kind === 'malformed') {
          // A 200 with the real headers but a body that is not a JSON array of messages.
          const headers = { ...up.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          up.resume();
          up.on('end', () => {
            res.writeHead(200, headers);
            res.end(fault.body ?? '[{"headers":{"operation":"insert"},"value":');
          });
          return;
        }
        const send = () => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          // 'cut': a proxy that ends every response after `ms` (or buffers a stream and gives up).
          if (fault?.kind === 'cut') setTimeout(() => { up.unpipe(res); up.destroy(); res.end(); }, fault.ms);
        };
        if (fault?.kind === 'delay') setTimeout(send, fault.ms);
        else send();
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    upstream.end(body);
  };
  server.on('connection', (s) => {
    if (refuse) {
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    /** Arms a fault for the next `times` requests matching `match` (a RegExp on method+url). */
    inject(fault) {
      faults.push({ times: 1, ...fault });
    },
    clearFaults() {
      faults.length = 0;
    },
    /** Drops every open connection and refuses new ones until `up()`. */
    down() {
      refuse = true;
      for (const s of sockets) s.destroy();
    },
    up() {
      refuse = false;
    },
    /** Drops open connections (e.g. a held long-poll) without refusing new ones. */
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function pickFault(faults, req) {
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i];
    if (f.match && !f.match.test(`${req.method} ${req.url}`)) continue;
    if (--f.times <= 0) faults.splice(i, 1);
    return f;
  }
  return undefined;
}

export { eventually } from '../support/eventually.mjs';

/** Resolves when every shape of `db` is up to date (rejects after `ms`). */
export function upToDate(db, ms = 30000) {
  return db.waitForStatus((s) => s.isUpToDate && s.shapes.length > 0 && s.shapes.every((x) => x.isUpToDate), ms);
}

/** Mutation ids in the order a fault proxy saw them in POST /v1/changes bodies (zstd or plain). */
export function uploadedIds(proxy) {
  const ids = [];
  for (const r of proxy.log) {
    if (r.method !== 'POST' || !/\/v1\/changes/.test(r.url)) continue;
    const raw = r.headers['content-encoding'] === 'zstd' ? Buffer.from(decompress(new Uint8Array(r.body))) : r.body;
    for (const m of JSON.parse(raw.toString('utf8')).mutations) ids.push(m.id);
  }
  return ids;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---- JWT (HS256) for the dev server's auth: `sub` is the user id ----
import { createHmac } from 'node:crypto';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

export function signToken(secret, userId, { expiresInSec = 3600, now = Date.now() } = {}) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const iat = Math.floor(now / 1000);
  const payload = b64url(JSON.stringify({ sub: userId, iat, exp: iat + expiresInSec }));
  const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
}

// ---- the whole stack: real PostgreSQL + the real dev server + a fault proxy ----
import pg from 'pg';
import { startPostgres } from '../support/postgres.mjs';

const SECRET = 'electrolite-client-tests';

/**
 * Starts PostgreSQL, the dev server (dist/server, demo schema and policies, JWT auth) and a
 * fault proxy in front of it. `stack.url` is the proxy; `stack.serverUrl` the server itself.
 */
export async function startStack({ longPollMs = 20000, serverOptions = {} } = {}) {
  const { createServer } = await import('../../dist/server/index.js');
  const database = await startPostgres();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  pool.on('error', () => undefined); // an idle client cut by a server restart; the pool replaces it
  const serverLog = [];
  const make = () =>
    createServer({ databaseUrl: database.url, authSecret: SECRET, longPollMs, log: (l) => serverLog.push(l), ...serverOptions });
  let server = await make();
  const serverUrl = await server.listen(0, '127.0.0.1');
  const port = Number(new URL(serverUrl).port);
  const proxy = await startFaultProxy(serverUrl);
  return {
    url: proxy.url,
    serverUrl,
    proxy,
    database,
    serverLog,
    token: (userId, opts) => signToken(SECRET, userId, opts),
    async sql(text, params = []) {
      return (await pool.query(text, params)).rows;
    },
    /** Stops the server (held long-polls are answered or cut) and starts it again on the same port. */
    async restartServer({ downMs = 200 } = {}) {
      await server.close();
      await new Promise((r) => setTimeout(r, downMs));
      server = await make();
      await server.listen(port, '127.0.0.1');
    },
    async stop() {
      await proxy.close().catch(() => undefined);
      await server.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await database.stop();
    },
  };
}
