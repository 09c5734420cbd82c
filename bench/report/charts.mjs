// Bar charts (one per workload: subjects as horizontal bars, median with a min–max whisker,
// electrolite highlighted) drawn as SVG by hand, laid out on one HTML page, and each
// screenshotted to PNG with headless Chromium (playwright-core). No chart library.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt } from './budgets.mjs';
import { WORKLOAD_TITLES, sortedRows, workloadOrder } from './markdown.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

const esc = (s) => String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** One workload's chart as an SVG string. */
export function barChartSvg(workload, rows) {
  const width = 760;
  const labelW = 190;
  const valueW = 120;
  const barH = 22;
  const gap = 10;
  const top = 54;
  const plotW = width - labelW - valueW - 20;
  const height = top + rows.length * (barH + gap) + 26;
  const hi = (r) => r.p99 ?? r.max; // latency samples: whisker to p99, not to the slowest outlier
  const maxV = Math.max(...rows.map((r) => hi(r) ?? r.median), 0) || 1;
  const x = (v) => labelW + (v / maxV) * plotW;
  const better = rows[0]?.better === 'higher' ? 'higher is better' : 'lower is better';
  const unit = rows[0]?.unit ?? '';
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`);
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  parts.push(`<text x="12" y="22" font-size="15" font-weight="bold" fill="#111">${esc(WORKLOAD_TITLES[workload] ?? workload)}</text>`);
  parts.push(`<text x="12" y="40" font-size="11.5" fill="#555">${esc(`${workload} · ${unit} · ${better} · median, whisker = ${rows.some((r) => r.p99 !== undefined) ? 'min–p99' : 'min–max'}`)}</text>`);
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const ours = r.subject.startsWith('electrolite');
    const fill = r.subject === 'electrolite' ? '#1f6feb' : ours ? '#79a8f0' : '#9aa1a9';
    parts.push(`<text x="${labelW - 8}" y="${y + barH / 2 + 4}" font-size="12.5" text-anchor="end" fill="#111"${r.subject === 'electrolite' ? ' font-weight="bold"' : ''}>${esc(r.subject)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y}" width="${Math.max(1, x(r.median) - labelW)}" height="${barH}" fill="${fill}" rx="2"/>`);
    if (r.runs > 1 && hi(r) > r.min) {
      const cy = y + barH / 2;
      parts.push(`<line x1="${x(r.min)}" x2="${x(hi(r))}" y1="${cy}" y2="${cy}" stroke="#222" stroke-width="1.2"/>`);
      parts.push(`<line x1="${x(r.min)}" x2="${x(r.min)}" y1="${cy - 5}" y2="${cy + 5}" stroke="#222" stroke-width="1.2"/>`);
      parts.push(`<line x1="${x(hi(r))}" x2="${x(hi(r))}" y1="${cy - 5}" y2="${cy + 5}" stroke="#222" stroke-width="1.2"/>`);
    }
    const labelX = Math.max(x(r.median), r.runs > 1 ? x(hi(r)) : 0) + 6;
    const flag = r.caveat ? ' *' : '';
    parts.push(`<text x="${labelX}" y="${y + barH / 2 + 4}" font-size="12" fill="#111">${esc(`${fmt(r.median)} ${unit}${flag}`)}</text>`);
  });
  if (rows.some((r) => r.caveat)) {
    parts.push(`<text x="12" y="${height - 8}" font-size="11" fill="#a33">${esc(`* ${rows.find((r) => r.caveat).caveat}`)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Writes <outDir>/<workload>.png for every workload in `results`.
 * Returns [{ workload, file }] (file relative to outDir).
 */
export async function renderCharts(results, outDir) {
  const workloads = workloadOrder(results);
  const svgs = workloads.map((w) => ({ workload: w, svg: barChartSvg(w, sortedRows(results, w)) }));
  const html = `<!doctype html><meta charset="utf-8"><style>body{margin:0;background:#fff} div{display:inline-block}</style>
${svgs.map(({ workload, svg }) => `<div id="c-${workload}">${svg}</div><br>`).join('\n')}`;
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'el-bench-charts-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 800, height: 600 }, deviceScaleFactor: 2,
  });
  const out = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.setContent(html);
    for (const { workload } of svgs) {
      const file = `${workload}.png`;
      await page.locator(`#c-${workload}`).screenshot({ path: join(outDir, file) });
      out.push({ workload, file });
    }
  } finally {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  }
  return out;
}
