// What `npm pack` ships: everything an entry point, the worker, the wasm loader or the CLI
// reaches, the docs it links, and nothing else (no tests, benches, sources, demo or build
// leftovers); maps carry their sources; package.json declares what the code imports; publint
// and @arethetypeswrong/cli (from node_modules, offline) find nothing wrong with the tarball.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'],
  { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString())[0];
const files = new Set(packed.files.map((f) => f.path));

/** Every file reachable from `entry` through relative imports and `new URL('…', import.meta.url)`. */
function reachable(entry, seen = new Set()) {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  if (!/\.(m?js)$/.test(entry)) return seen;
  const text = readFileSync(join(root, entry), 'utf8');
  const specs = [
    ...text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]/g),
    ...text.matchAll(/import\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g),
    ...text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g),
  ].map((m) => m[1]);
  for (const spec of specs) reachable(normalize(join(dirname(entry), spec)), seen);
  return seen;
}

test('every entry point, the worker, the wasm parts, the schema and the CLI ship with what they reach', () => {
  const entries = [
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
    ...Object.values(pkg.bin),
  ].map((p) => normalize(p));
  for (const entry of entries) {
    for (const f of reachable(entry)) assert.ok(files.has(f), `${f} (reached from ${entry}) is in the package`);
  }
  for (const f of ['dist/js/browser/worker.js', 'dist/wasm/electrolite.mjs', 'dist/wasm/electrolite.wasm',
    'dist/wasm/electrolite.deferred.wasm', 'dist/wasm/electrolite.schema.db.gz', 'schema/schema.sql', 'schema/policies.json', 'LICENSE', 'README.md',
    'docs/react.md']) {
    assert.ok(files.has(f), `${f} is in the package`);
  }
});

test('no tests, benches, sources, demo, examples or build leftovers ship', () => {
  const allowed = /^(package\.json|README\.md|LICENSE|docs\/react\.md|schema\/(schema\.sql|policies\.json)|dist\/(js|react|server)\/.+\.(js|d\.ts|js\.map)|dist\/node\/[\w-]+\.js|dist\/wasm\/electrolite(\.deferred)?\.(mjs|wasm)|dist\/wasm\/electrolite\.schema\.db\.gz)$/;
  const stray = [...files].filter((f) => !allowed.test(f));
  assert.deepEqual(stray, [], 'files outside what the package needs');
  // Three per module (js, d.ts, map), plus Node's bundled entries (dist/node: ~10 files, ~45 KB packed).
  assert.ok(files.size < 320, `${files.size} files`);
  assert.ok(packed.size < 1_150_000, `tarball ${packed.size} bytes`);
});

test('source maps carry their sources (the .ts files do not ship)', () => {
  const maps = [...files].filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 0);
  for (const f of maps) {
    const map = JSON.parse(readFileSync(join(root, f), 'utf8'));
    assert.equal(map.sourcesContent?.length, map.sources.length, `${f} has sourcesContent`);
  }
});

test('package.json declares the imports of the shipped code, the peers, the bin and the licence', () => {
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const bare = new Set();
  for (const f of files) {
    if (!/\.(m?js)$/.test(f)) continue;
    const text = readFileSync(join(root, f), 'utf8');
    for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*)['"]([^'".][^'"]*)['"]/g)) {
      const spec = m[1];
      if (spec.startsWith('node:') || spec === 'electrolite' || !/^[@a-z0-9][\w./@-]*$/i.test(spec)) continue;
      bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
  for (const name of bare) assert.ok(declared.has(name), `${name} is imported by the package and declared`);
  assert.equal(pkg.peerDependenciesMeta.react.optional, true);
  assert.match(pkg.peerDependencies.react, />=\s*18/);
  // The browser client and the React hooks import none of the server's dependencies.
  for (const entry of ['dist/js/browser/index.js', 'dist/js/browser/worker.js', 'dist/react/index.js']) {
    for (const f of reachable(entry)) assert.ok(!f.startsWith('dist/server/'), `${entry} reaches ${f}`);
  }
  const cli = pkg.bin['electrolite-server'];
  assert.equal(cli, 'dist/server/cli.js');
  assert.match(readFileSync(join(root, cli), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  assert.ok(pkg.repository?.url);
});

test('the glue has no require() a browser bundler would try to resolve (webpack 5 and Turbopack fail on fs)', () => {
  const glue = readFileSync(join(root, 'dist/wasm/electrolite.mjs'), 'utf8');
  assert.deepEqual(glue.match(/(?<![.\w$])require\s*\(\s*["'][^"']+["']\s*\)/g), null);
});

// ---- the packed tarball through publint and @arethetypeswrong/cli --------------------------

let tarball;
const packDir = mkdtempSync(join(tmpdir(), 'electrolite-pack-'));
after(() => rmSync(packDir, { recursive: true, force: true }));
function packOnce() {
  if (tarball) return tarball;
  const out = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir],
    { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString())[0];
  tarball = join(packDir, out.filename);
  return tarball;
}
const bin = (name) => join(root, 'node_modules/.bin', name);

test('publint finds nothing in the tarball, suggestions included', () => {
  const r = spawnSync(bin('publint'), ['run', packOnce(), '--strict', '--level', 'suggestion'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /All good!/, r.stdout);
});

test('@arethetypeswrong/cli: every entry resolves with types; the one finding is that the package is ESM-only', () => {
  // JSON to a file: piped, attw exits before a long stdout is flushed.
  const file = join(packDir, 'attw.json');
  const fd = openSync(file, 'w');
  const r = spawnSync(bin('attw'), [packOnce(), '--format', 'json'], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
  closeSync(fd);
  const { analysis, problems } = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(analysis.types.kind, 'included', r.stderr);
  const entries = Object.keys(pkg.exports).filter((e) => e !== './package.json');
  assert.deepEqual(Object.keys(analysis.entrypoints).filter((e) => e !== './package.json').sort(), entries.sort());
  // require() of an ES module (CJSResolvesToESM) is the package's choice, not a fault in it:
  // CommonJS callers use import(). Nothing else may be reported, for any resolution mode.
  const found = Object.values(problems).flat();
  assert.deepEqual([...new Set(found.map((p) => p.kind))], ['CJSResolvesToESM'], JSON.stringify(found));
  assert.ok(found.every((p) => p.resolutionKind === 'node16-cjs'), JSON.stringify(found));
  const esmOnly = spawnSync(bin('attw'), [packOnce(), '--profile', 'esm-only', '--format', 'ascii'], { encoding: 'utf8' });
  assert.equal(esmOnly.status, 0, `${esmOnly.stdout}${esmOnly.stderr}`);
});
