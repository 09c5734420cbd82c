#!/usr/bin/env node
// npm run server -- --port 5133 [--database-url URL] [--auth-secret S] [--schema file] [--debug]
import { readFileSync } from 'node:fs';
import { createServer, defaultStaticDir } from './index.js';

const USAGE = `usage: electrolite-server [options]
  --port N             port to listen on (default 5133, env PORT)
  --host H             address to bind (default 127.0.0.1)
  --database-url URL   PostgreSQL to sync (env DATABASE_URL); default: embedded PGlite
  --data-dir DIR       PGlite data folder (default ./.electrolite-data)
  --auth-secret S      HS256 JWT secret (env AUTH_SECRET); without it: dev auth mode
  --schema FILE        schema applied to an empty database on first start (default: demo schema)
  --no-schema          never apply a schema
  --policies FILE      conflict policies (default: the demo policies.json)
  --tables A,B         more app tables to serve and write (besides the policies' and the
                       schema file's); no other table is ever read or written
  --table-schema S     the schema of the app's tables (default public)
  --no-require-exp     accept tokens without exp (default: exp required with --auth-secret)
  --jwt-audience A     require tokens' aud to name A
  --jwt-issuer I       require tokens' iss to be I
  --query-timeout-ms N statement timeout of shape queries (default 30000)
  --max-shapes-per-user N   live shapes one user may hold (default 100)
  --max-live-per-user N     live requests one user may hold open (default 50)
  --static DIR         serve DIR at / (default: the demo page, if present)
  --long-poll-ms N     live request hold time (default 20000)
  --tls-cert FILE      PEM certificate: serve HTTPS with HTTP/2 (needs --tls-key)
  --tls-key FILE       PEM private key of --tls-cert
  --log-retention N    transactions kept in the change log (default 10000)
  --debug              one log line per request`;

function parse(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (['debug', 'help', 'no-schema', 'no-require-exp'].includes(key)) { out[key] = true; continue; }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new Error(`--${key} needs a value`);
    out[key] = v;
  }
  return out;
}

async function main(): Promise<void> {
  let args: Record<string, string | boolean>;
  try { args = parse(process.argv.slice(2)); } catch (e) { console.error(`${(e as Error).message}\n${USAGE}`); process.exit(2); }
  if (args.help) { console.log(USAGE); return; }
  const known = ['port', 'host', 'database-url', 'data-dir', 'auth-secret', 'schema', 'no-schema', 'policies', 'static', 'long-poll-ms',
    'log-retention', 'debug', 'tables', 'table-schema', 'no-require-exp', 'jwt-audience', 'jwt-issuer', 'query-timeout-ms',
    'max-shapes-per-user', 'max-live-per-user', 'tls-cert', 'tls-key'];
  const unknown = Object.keys(args).filter((k) => !known.includes(k));
  if (unknown.length) { console.error(`unknown option(s): ${unknown.map((k) => `--${k}`).join(' ')}\n${USAGE}`); process.exit(2); }
  const num = (k: string, d: number) => {
    if (args[k] === undefined) return d;
    const n = Number(args[k]);
    if (!Number.isInteger(n) || n < 0) { console.error(`--${k} must be a non-negative integer`); process.exit(2); }
    return n;
  };
  const port = num('port', Number(process.env.PORT ?? 5133));
  if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) {
    console.error('--tls-cert and --tls-key go together');
    process.exit(2);
  }
  const tls = args['tls-cert'] ? { cert: readFileSync(args['tls-cert'] as string), key: readFileSync(args['tls-key'] as string) } : null;
  const host = (args.host as string) ?? '127.0.0.1';
  const server = await createServer({
    databaseUrl: (args['database-url'] as string) ?? process.env.DATABASE_URL ?? null,
    dataDir: args['data-dir'] as string | undefined,
    authSecret: (args['auth-secret'] as string) ?? process.env.AUTH_SECRET ?? null,
    schemaFile: args['no-schema'] ? false : (args.schema as string | undefined),
    policies: args.policies as string | undefined,
    staticDir: (args.static as string) ?? defaultStaticDir(),
    longPollMs: num('long-poll-ms', 20000),
    logRetention: args['log-retention'] === undefined ? undefined : num('log-retention', 10000),
    debug: args.debug === true,
    tls,
    tables: typeof args.tables === 'string' ? args.tables.split(',').map((t) => t.trim()).filter(Boolean) : undefined,
    tableSchema: args['table-schema'] as string | undefined,
    requireExp: args['no-require-exp'] ? false : undefined,
    jwtAudience: args['jwt-audience'] as string | undefined,
    jwtIssuer: args['jwt-issuer'] as string | undefined,
    queryTimeoutMs: args['query-timeout-ms'] === undefined ? undefined : num('query-timeout-ms', 30000),
    maxShapesPerUser: args['max-shapes-per-user'] === undefined ? undefined : num('max-shapes-per-user', 100),
    maxLivePerUser: args['max-live-per-user'] === undefined ? undefined : num('max-live-per-user', 50),
    log: (l) => console.error(l),
  });
  const url = await server.listen(port, host);
  console.log(`listening on ${url}`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) { console.error('forced exit'); process.exit(1); }
    stopping = true;
    console.error(`${sig}: shutting down (answering held requests, finishing writes)`);
    server.close().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e) => { console.error(`electrolite-server: ${(e as Error).message}`); process.exit(1); });
