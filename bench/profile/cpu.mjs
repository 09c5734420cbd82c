// Where the time goes: runs a Node script under V8's sampling profiler (--cpu-prof) and prints
// the functions with the most self time, wasm functions included (named when the .wasm keeps
// a name section, `wasm-function[N]` otherwise), grouped by file.
//
//   node bench/profile/cpu.mjs bench/workloads/cold-start-node.mjs electrolite
//   BENCH_LIVE_SIZES=10000 node bench/profile/cpu.mjs bench/workloads/live-query.mjs
//   TOP=40 node bench/profile/cpu.mjs <script> [args...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node bench/profile/cpu.mjs <script> [args...]');
  process.exit(2);
}
const TOP = Number(process.env.TOP ?? 25);
const dir = mkdtempSync(join(tmpdir(), 'el-cpuprof-'));
try {
  execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', dir, script, ...args],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const self = new Map();
    const dt = prof.timeDeltas;
    prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
    const total = dt.reduce((a, b) => a + b, 0);
    const agg = new Map();
    const byFile = new Map();
    for (const [id, us] of self) {
      const cf = byId.get(id).callFrame;
      const file = cf.url ? basename(cf.url.split('?')[0]) : '(native/V8)';
      const key = `${cf.functionName || '(anonymous)'}  ${file}${cf.lineNumber >= 0 && cf.url && !cf.url.endsWith('.wasm') ? `:${cf.lineNumber + 1}` : ''}`;
      agg.set(key, (agg.get(key) ?? 0) + us);
      byFile.set(file, (byFile.get(file) ?? 0) + us);
    }
    const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
    console.log(`\n${f}: ${(total / 1000).toFixed(0)} ms sampled (process ${(((prof.endTime - prof.startTime) / 1000)).toFixed(0)} ms)`);
    console.log('by file:');
    for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
    console.log(`top ${TOP} functions by self time:`);
    for (const [k, us] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
