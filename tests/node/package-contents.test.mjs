// What `npm pack` ships: everything an entry point, the worker, the wasm loader or the CLI
// reaches, the docs it links, and nothing else (no tests, benches, sources, demo or build
// leftovers); maps carry their sources; package.json declares what the code imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    'dist/wasm/electrolite.deferred.wasm', 'schema/schema.sql', 'schema/policies.json', 'LICENSE', 'README.md',
    'docs/react.md']) {
    assert.ok(files.has(f), `${f} is in the package`);
  }
});

test('no tests, benches, sources, demo, examples or build leftovers ship', () => {
  const allowed = /^(package\.json|README\.md|LICENSE|docs\/react\.md|schema\/(schema\.sql|policies\.json)|dist\/(js|react|server)\/.+\.(js|d\.ts|js\.map)|dist\/wasm\/electrolite(\.deferred)?\.(mjs|wasm))$/;
  const stray = [...files].filter((f) => !allowed.test(f));
  assert.deepEqual(stray, [], 'files outside what the package needs');
  assert.ok(files.size < 260, `${files.size} files`);
  assert.ok(packed.size < 1_000_000, `tarball ${packed.size} bytes`);
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
