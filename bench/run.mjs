// npm run bench [-- --quick] [-- --only ingest,cold-start-node] [-- --out DIR] [-- --runs N]
//
// Runs every workload in bench/workloads/ (each in its own Node process, so one cannot
// inherit another's heap, JIT state or open handles), collects their `@@result` lines and
// writes <out>/latest.json, <out>/latest.md and one PNG chart per workload (default out:
// bench/results). See bench/README.md for what each workload measures and how.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine } from './workloads/common.mjs';
import { toMarkdown } from './report/markdown.mjs';
import { renderCharts } from './report/charts.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Workload files in run order, and what each must finish within (full run).
const WORKLOADS = [
  { file: 'download', minutes: 6 },
  { file: 'cold-start-node', minutes: 6 },
  { file: 'ingest', minutes: 20 },
  { file: 'live-query', minutes: 15 },
  { file: 'heap', minutes: 10 },
  { file: 'scale', minutes: 25 },
  { file: 'browser', minutes: 15 },
  { file: 'server', minutes: 10 },
  { file: 'server-subset', minutes: 5 },
  { file: 'remote-latency', minutes: 24 },
  { file: 'on-demand', minutes: 15 },
];

function parseArgs(argv) {
  const opts = { quick: false, only: null, out: join(ROOT, 'bench/results'), runs: null, charts: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]);
    if (a === '--quick') opts.quick = true;
    else if (a.startsWith('--only')) opts.only = value().split(',');
    else if (a.startsWith('--out')) opts.out = resolve(value());
    else if (a.startsWith('--runs')) opts.runs = Number(value());
    else if (a === '--no-charts') opts.charts = false;
    else if (a === '--merge') opts.merge = true; // with --only: keep the other workloads' results from <out>/latest.json
    else if (a === '--report-only') opts.reportOnly = true; // re-render latest.md and charts from <out>/latest.json
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench [-- --quick] [--only w1,w2] [--out DIR] [--runs N] [--no-charts]\n' +
        `workloads: ${WORKLOADS.map((w) => w.file).join(', ')}`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

function runWorkload(file, opts, minutes) {
  return new Promise((resolveRun) => {
    const env = { ...process.env, BENCH_QUICK: opts.quick ? '1' : '0' };
    if (opts.runs) env.BENCH_RUNS = String(opts.runs);
    const child = spawn(process.execPath, ['--expose-gc', join(ROOT, 'bench/workloads', `${file}.mjs`)], {
      cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results = [];
    const missing = [];
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('@@result ')) {
          const r = JSON.parse(line.slice(9));
          r.file = file;
          results.push(r);
          const p99 = r.p99 !== undefined ? ` p99 ${r.p99.toPrecision(4)}` : '';
          console.log(`  ${r.workload.padEnd(26)} ${r.subject.padEnd(24)} ${r.median.toPrecision(4).padStart(10)} ${r.unit}${p99}` +
            `  [${r.min.toPrecision(4)} – ${r.max.toPrecision(4)}, n=${r.runs}]${r.caveat ? `  (${r.caveat})` : ''}`);
        } else if (line.startsWith('@@missing ')) {
          const m = JSON.parse(line.slice(10));
          m.file = file;
          missing.push(m);
          console.log(`  ${m.workload.padEnd(26)} ${m.subject.padEnd(24)} not measured: ${m.reason}`);
        } else if (line.trim()) {
          console.log(`  | ${line}`);
        }
      }
    });
    child.stderr.on('data', (d) => process.stderr.write(String(d).replace(/^(?=.)/gm, '  | ')));
    const limitMs = minutes * 60000 * (opts.quick ? 0.5 : 1);
    const timer = setTimeout(() => {
      missing.push({ file, workload: file, subject: '*', reason: `timed out after ${Math.round(limitMs / 60000)} min` });
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        missing.push({ file, workload: file, subject: '*', reason: `workload process exited with ${signal ?? code}` });
      }
      resolveRun({ results, missing });
    });
  });
}

const opts = parseArgs(process.argv.slice(2));
const selected = WORKLOADS.filter((w) => !opts.only || opts.only.includes(w.file));
if (opts.only && selected.length !== opts.only.length) {
  throw new Error(`unknown workload in --only (known: ${WORKLOADS.map((w) => w.file).join(', ')})`);
}
const started = Date.now();
const previous = opts.reportOnly ? JSON.parse(readFileSync(join(opts.out, 'latest.json'), 'utf8')) : null;
const doc = previous ?? { date: new Date().toISOString(), machine: machine(), quick: opts.quick, results: [], missing: [] };
// Other work on the machine skews absolute figures: record the load around the run.
if (!previous) {
  // Which build was measured: the commit of this tree (BENCH_COMMIT when run from an export).
  try {
    doc.commit = process.env.BENCH_COMMIT ?? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch { doc.commit = 'unknown'; }
}
if (!previous) doc.machine.loadavgStart = loadavg().map((x) => Number(x.toFixed(2)));
for (const w of previous ? [] : selected) {
  console.log(`\n== ${w.file}`);
  const t0 = Date.now();
  const { results, missing } = await runWorkload(w.file, opts, w.minutes);
  doc.results.push(...results);
  doc.missing.push(...missing);
  console.log(`   (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
let mergedInto;
if (opts.merge && !previous && existsSync(join(opts.out, 'latest.json'))) {
  const old = JSON.parse(readFileSync(join(opts.out, 'latest.json'), 'utf8'));
  mergedInto = old;
  const ran = new Set(selected.map((w) => w.file));
  doc.results = [...old.results.filter((r) => !ran.has(r.file)), ...doc.results];
  doc.missing = [...(old.missing ?? []).filter((m) => !ran.has(m.file)), ...doc.missing];
  // The run keeps its date and build; each re-run merged into it is listed with its own.
  doc.merges = [...(old.merges ?? []), { only: opts.only, date: doc.date, commit: doc.commit }];
  doc.date = old.date;
  doc.commit = old.commit;
  doc.quick = old.quick;
}
if (!previous) {
  doc.seconds = Math.round((Date.now() - started) / 1000);
  doc.machine.loadavgEnd = loadavg().map((x) => Number(x.toFixed(2)));
}

mkdirSync(opts.out, { recursive: true });
for (const f of readdirSync(opts.out)) if (f.endsWith('.png')) rmSync(join(opts.out, f));
let charts = [];
if (opts.charts) {
  try {
    charts = await renderCharts(doc.results, opts.out);
  } catch (err) {
    console.error(`charts not rendered: ${err.message}`);
  }
}
// A merge keeps the command of the run it merged into (its re-runs are listed in doc.merges).
const command = previous?.command ?? (doc.merges?.length && mergedInto?.command) ??
  `npm run bench${doc.quick || opts.only ? ` --${doc.quick ? ' --quick' : ''}${opts.only ? ` --only ${opts.only.join(',')}` : ''}` : ''}`;
doc.command = command;
writeFileSync(join(opts.out, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);
writeFileSync(join(opts.out, 'latest.md'), toMarkdown(doc, { command, charts }));
console.log(`\nwrote ${relative(process.cwd(), join(opts.out, 'latest.json'))}, latest.md and ${charts.length} charts ` +
  `in ${doc.seconds} s${doc.missing.length ? `; ${doc.missing.length} not measured (see latest.md)` : ''}`);
if (!existsSync(join(opts.out, 'latest.json'))) process.exitCode = 1;
