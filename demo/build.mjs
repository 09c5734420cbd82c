// Bundles the demo page into dist/demo/: the app (main.js), the engine worker (worker.js, with
// the Emscripten glue in it), the .wasm parts in wasm/ (worker.js fetches
// ../wasm/electrolite.wasm relative to itself), the default schema, index.html and
// styles.css, and the service worker (sw.js) that precaches all of them for offline starts.
// The dev server serves this folder as its staticDir; `npm run build:demo` runs this file.

import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/demo');
const minify = process.env.DEMO_MINIFY !== '0';

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'schema'), { recursive: true });

// The sources import the glue as ../wasm/electrolite.mjs, where it sits in dist/ (the build
// writes it to dist/wasm/, next to dist/js/).
const glue = {
  name: 'electrolite-glue',
  setup(b) {
    b.onResolve({ filter: /\/wasm\/electrolite\.mjs$/ }, () => ({ path: join(root, 'dist/wasm/electrolite.mjs') }));
  },
};

const common = {
  plugins: [glue],
  bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify, sourcemap: true,
  legalComments: 'none', logLevel: 'warning',
  // The Node-only branches (fs reads of the schema and the wasm) are never taken in a browser.
  external: ['node:*', 'fs', 'path'],
  define: { 'process.env.NODE_ENV': '"production"' },
};

const entries = [
  { in: join(root, 'demo/main.tsx'), out: 'main' },
  { in: join(root, 'js/browser/worker.ts'), out: 'worker' },
  // The browser client on its own (no React), for pages without a bundler and the tests.
  { in: join(root, 'js/browser/index.ts'), out: 'electrolite' },
];

await build({ ...common, entryPoints: entries, outdir: out, jsx: 'automatic' });
// The same app on React 18 (the hooks support 18 and 19; tests/browser/demo-react18.test.mjs
// runs it): react/react-dom resolve to the `react-18`/`react-dom-18` aliases installed as dev
// dependencies, served as react18.html.
await build({
  ...common, entryPoints: { 'main-react18': join(root, 'demo/main.tsx') }, outdir: out, jsx: 'automatic',
  alias: { react: 'react-18', 'react-dom': 'react-dom-18' },
});

for (const f of ['index.html', 'styles.css']) copyFileSync(join(root, 'demo', f), join(out, f));
writeFileSync(join(out, 'react18.html'),
  readFileSync(join(root, 'demo/index.html'), 'utf8').replace('./main.js', './main-react18.js'));
for (const f of ['schema.sql', 'policies.json']) copyFileSync(join(root, 'schema', f), join(out, 'schema', f));
const wasmDir = join(root, 'dist/wasm');
if (existsSync(wasmDir)) {
  mkdirSync(join(out, 'wasm'), { recursive: true });
  for (const f of readdirSync(wasmDir)) {
    if (/\.(wasm|mjs|js|db\.gz)$/.test(f)) copyFileSync(join(wasmDir, f), join(out, 'wasm', f));
  }
} else {
  console.warn('build:demo: dist/wasm is missing (run the wasm build first); the page will not find the engine');
}
// Last, the service worker, with the list of every file it precaches and the build's hash.
const shell = [];
const walk = (dir, rel = '') => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(join(dir, e.name), path);
    else if (!/\.map$/.test(e.name) && !/^(main-react18\.js|react18\.html|sw\.js)$/.test(path)) shell.push(path);
  }
};
walk(out);
shell.sort();
const hash = createHash('sha256');
for (const f of shell) hash.update(f).update(readFileSync(join(out, f)));
await build({
  ...common, entryPoints: { sw: join(root, 'demo/sw.ts') }, outdir: out, format: 'iife',
  define: { ...common.define, __PRECACHE__: JSON.stringify(['./', ...shell.map((f) => `./${f}`)]), __VERSION__: JSON.stringify(hash.digest('hex').slice(0, 16)) },
});
console.log(`build:demo: wrote ${out} (service worker precaches ${shell.length} files)`);
