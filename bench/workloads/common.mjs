// Shared by every workload: options from bench/run.mjs (env), summary statistics, the
// result line protocol, and a `fetch` that replays a recorded Electric shape log from
// memory (so the clients under test — ours, pglite-sync, @electric-sql/client — all run
// their real code against the same bytes, with no server or network in the timed region).
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const QUICK = process.env.BENCH_QUICK === '1';
/** Repetitions per figure (median and spread are over these). */
export const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 3 : 5));

/** Throws a readable error when a build artifact a workload needs is missing. */
export function requireBuilt(...paths) {
  for (const p of paths) {
    const abs = join(ROOT, p);
    if (!existsSync(abs)) throw new Error(`missing ${p}: run \`npm run build\` first`);
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Prints one result in the format bench/run.mjs collects (a `@@result ` line of JSON).
 * `values` are the per-run figures; median/min/max are computed here.
 * `better`: 'lower' (times, sizes, memory) or 'higher' (rates).
 */
export function emit({ workload, subject, values, unit, better = 'lower', note, extra }) {
  const r = {
    workload, subject, median: median(values), min: Math.min(...values), max: Math.max(...values),
    unit, runs: values.length, better,
  };
  if (note) r.note = note;
  if (extra) Object.assign(r, extra);
  process.stdout.write(`@@result ${JSON.stringify(r)}\n`);
  return r;
}

/** Reports that a subject could not be measured (shown in the table, never as a figure). */
export function emitMissing({ workload, subject, reason }) {
  process.stdout.write(`@@missing ${JSON.stringify({ workload, subject, reason })}\n`);
}

export function log(...args) {
  process.stderr.write(`${args.join(' ')}\n`);
}

export const machine = () => ({
  cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGB: Math.round(totalmem() / 2 ** 30),
  node: process.version, platform: `${process.platform}-${process.arch}`,
});

/** Runs `fn` `runs` times (after `warmup` unrecorded runs); returns the values it returned. */
export async function repeat(fn, { runs = RUNS, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const out = [];
  for (let i = 0; i < runs; i++) out.push(await fn(i));
  return out;
}

/**
 * A WHATWG `fetch` serving an initial sync from `responses` (bench/lib/shape-log.mjs
 * snapshotResponses): the request's `offset` picks the response. Once the log is
 * exhausted (a live request, or an offset past the end) the request is held until the
 * client aborts it, as a long-poll with nothing new would be. POSTs (uploads) are held too.
 */
export function replayFetch(responses) {
  const encoder = new TextEncoder();
  const byOffset = new Map(responses.map((r) => [r.offset, {
    status: r.status, headers: r.headers, body: encoder.encode(r.body),
  }]));
  const held = () => new Promise(() => {});
  const fetchImpl = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url ?? String(input));
    const method = (init.method ?? input.method ?? 'GET').toUpperCase();
    const signal = init.signal ?? input.signal;
    const hold = () => new Promise((_, reject) => {
      if (!signal) return;
      const abort = () => reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
    if (method !== 'GET' || url.searchParams.get('live') === 'true') return signal ? hold() : held();
    const r = byOffset.get(url.searchParams.get('offset') ?? '-1');
    if (!r) return signal ? hold() : held();
    fetchImpl.served++;
    return new Response(r.body, { status: r.status, headers: r.headers });
  };
  fetchImpl.served = 0;
  return fetchImpl;
}

/** CPU and wall time of an async function. */
export async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Ends a workload process (peers may leave handles open: a held long-poll, a worker). */
export function done() {
  process.stdout.write('', () => process.exit(process.exitCode ?? 0));
}

/**
 * esbuild plugin for browser bundles of packages that also run in Node (PGlite): Node
 * built-ins resolve to an empty module, so a static `import * as fs from "fs"` in a branch the
 * browser never takes does not stop the bundle from loading.
 */
export const nodeStubPlugin = {
  name: 'node-stub',
  setup(b) {
    const builtins = /^(node:.*|fs|fs\/promises|path|crypto|url|module|worker_threads|child_process|os|util|stream|zlib)$/;
    b.onResolve({ filter: builtins }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({ contents: 'export default {};', loader: 'js' }));
  },
};
