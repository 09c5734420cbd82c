// latest.json → latest.md: one table per workload (ours first, then peers by their median),
// the ratio of each peer to ours, the budgets of shared/DESIGN.md, and what was not measured.
import { checkBudgets, fmt } from './budgets.mjs';

export const WORKLOAD_TITLES = {
  'download-gz': 'Download size, gzip -9 (wasm + JS before the first query)',
  'download-br': 'Download size, brotli q11',
  'cold-start-node': 'Cold start to first query result, Node, in memory (fresh process)',
  'cold-start-browser': 'Cold start to first query result, Chromium, persisted 10k rows (cold page)',
  'first-visit-browser': 'First visit → first screen, Chromium (nothing cached, empty database)',
  ingest: 'Initial sync ingest, shape log replayed from memory',
  'durable-write': 'Durable local write p50, Chromium worker',
  'hook-render': 'Local write → React re-render p50, Chromium, 10k persisted rows',
  'live-query-10k': 'Local write → live query callback p50, 10k-row table',
  'live-query-100k': 'Local write → live query callback p50, 100k-row table',
  'heap-100k': 'Wasm heap (linear memory) with 100k rows',
  'rss-100k': 'Process RSS with 100k rows (Node)',
  'server-shape-throughput': 'Dev server: initial sync throughput, 100 concurrent clients',
  'server-live-fanout': 'Dev server: write → delivered to 100 live clients',
  'server-mutations': 'Dev server: write endpoint mutations/s',
  'server-subset-page': 'Dev server: a 1,000-row subset page of a 1M-row table',
  'server-subset-shape': 'Dev server: a changes_only shape on a 1M-row table',
  'remote-latency-h1-7': 'Remote commit → browser live query, 7 tables, HTTP/1.1 (p50)',
  'remote-latency-h1-20': 'Remote commit → browser live query, 20 tables, HTTP/1.1 (p50)',
  'remote-latency-h2-7': 'Remote commit → browser live query, 7 tables, HTTP/2 (p50)',
  'remote-latency-h2-20': 'Remote commit → browser live query, 20 tables, HTTP/2 (p50)',
  'remote-reconnect-h1': 'Dev server restart → a new row in the browser live query, HTTP/1.1 (p50)',
  'remote-reconnect-h2': 'Dev server restart → a new row in the browser live query, HTTP/2 (p50)',
  'subset-page': 'On-demand: one 10,000-row subset page, dev server + PostgreSQL (Node)',
  'first-screen': 'First screen (50 rows) of a 100k-row shape: progressive vs full (Node)',
  'paging-heap': 'On-demand: wasm heap after paging through the whole table 10k rows at a time',
};

export function workloadOrder(results) {
  const known = Object.keys(WORKLOAD_TITLES);
  const all = [...new Set(results.map((r) => r.workload))];
  const rank = (w) => {
    const i = known.indexOf(w);
    if (i >= 0) return i;
    return known.length + (w.startsWith('scale-') ? 0 : 1);
  };
  return all.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}

/** Results of one workload, ours first, then best to worst. */
export function sortedRows(results, workload) {
  const rows = results.filter((r) => r.workload === workload);
  const better = rows[0]?.better ?? 'lower';
  return rows.sort((a, b) => {
    const oa = a.subject === 'electrolite' ? 0 : a.subject.startsWith('electrolite') ? 1 : 2;
    const ob = b.subject === 'electrolite' ? 0 : b.subject.startsWith('electrolite') ? 1 : 2;
    if (oa !== ob) return oa - ob;
    return better === 'higher' ? b.median - a.median : a.median - b.median;
  });
}

function ratioToOurs(row, ours) {
  if (!ours || row === ours) return '';
  // How many times better electrolite is (> 1: ours better).
  const x = row.better === 'higher' ? ours.median / row.median : row.median / ours.median;
  return `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;
}

const esc = (s) => String(s ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');

export function toMarkdown(doc, { command = 'npm run bench', charts = [] } = {}) {
  const { results, missing = [] } = doc;
  const lines = [];
  lines.push(`# Benchmark results`);
  lines.push('');
  lines.push(`Produced by \`${command}\` on ${doc.date}${doc.commit ? ` (build of commit ${doc.commit})` : ''} — ${doc.machine.cpu}, ${doc.machine.cores} cores, ` +
    `${doc.machine.memGB} GB, Node ${doc.machine.node}` +
    `${doc.machine.loadavgStart ? `, load average ${doc.machine.loadavgStart[0]} at the start and ${doc.machine.loadavgEnd?.[0]} at the end` : ''}${doc.quick ? ' — **--quick run (reduced sizes)**' : ''}. ` +
    `Median of \`runs\` repetitions, with min and max. "ours ×" is how many times better electrolite's figure is ` +
    `than that row's (below 1: the peer is better). Other engineers' builds and tests shared the machine's cores during the run.`);
  const merges = (doc.merges ?? []).map((m) => `${m.only.join(', ')} re-run on ${m.date}${m.commit ? ` (build of commit ${m.commit})` : ''}`);
  if (merges.length) lines.push('', `Merged into this run since: ${merges.join('; ')}.`);
  lines.push('');
  lines.push('## Goals (shared/DESIGN.md)');
  lines.push('');
  lines.push('| what | budget | measured | ratio | met | note |');
  lines.push('|---|---|---|---|---|---|');
  for (const b of checkBudgets(results)) {
    const met = b.met === null ? '—' : b.met ? 'yes' : '**no**';
    lines.push(`| ${esc(b.what)} | ${esc(b.budget)} | ${esc(b.measured ?? 'not measured')} | ${esc(b.ratioText ?? '')} | ${met} | ${esc(b.note)} |`);
  }
  for (const workload of workloadOrder(results)) {
    const rows = sortedRows(results, workload);
    const ours = rows.find((r) => r.subject === 'electrolite');
    lines.push('');
    lines.push(`## \`${workload}\` — ${WORKLOAD_TITLES[workload] ?? workload} (${rows[0].better} is better)`);
    lines.push('');
    const chart = charts.find((c) => c.workload === workload);
    if (chart) lines.push(`![${workload}](${chart.file})`, '');
    lines.push('| subject | median | min | max | unit | runs | ours × | note |');
    lines.push('|---|---:|---:|---:|---|---:|---:|---|');
    for (const r of rows) {
      const name = r.subject === 'electrolite' ? '**electrolite**' : r.subject;
      const extra = [r.p95 !== undefined ? `p95 ${fmt(r.p95)} ${r.unit}` : '', r.p99 !== undefined ? `p99 ${fmt(r.p99)} ${r.unit}` : '',
        r.caveat, r.note].filter(Boolean).join('; ');
      lines.push(`| ${name} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${r.unit} | ${r.runs} | ${ratioToOurs(r, ours)} | ${esc(extra)} |`);
    }
    for (const m of missing.filter((x) => x.workload === workload)) {
      lines.push(`| ${m.subject} | — | — | — | | 0 | | not measured: ${esc(m.reason)} |`);
    }
  }
  const orphans = missing.filter((m) => !results.some((r) => r.workload === m.workload));
  if (orphans.length) {
    lines.push('', '## Not measured', '');
    for (const m of orphans) lines.push(`- \`${m.workload}\` / ${m.subject}: ${m.reason}`);
  }
  lines.push('');
  return lines.join('\n');
}
