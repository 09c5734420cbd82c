// The package's Node entry points as a few bundled files (dist/node), built from dist/js and
// dist/react after tsc. Node's ESM loader pays per module: importing dist/js/index.js loads 20
// files and an open another ~15 (~7 ms before the first line of the engine runs, 2.7 ms for
// the same code in one file). package.json's `node` conditions point here; bundlers and
// browsers keep the per-file build in dist/js, whose files they split and tree-shake themselves.
//
// One build with code splitting, so `electrolite` and `electrolite/react` share one copy of
// every module (one Electrolite class, one ElectroliteError). in-process.js is an entry of its
// own because the client imports it by a name bundlers do not follow (js/client.ts), and it
// must sit next to index.js as it does in dist/js. Packages (react, …) stay imports.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// dist/node sits beside dist/js, so a path that leaves the folder (../wasm/…, ../../schema/…)
// means the same from both. Two do not: the Emscripten glue stays its own file in dist/wasm
// (it finds electrolite.wasm next to itself), and the page's worker (dead code in Node, but
// bundlers that build for Node still resolve it) is dist/js/browser/worker.js.
const WORKER_URL = "new Worker(new URL('./worker.js', import.meta.url)";
const keepPaths = {
  name: 'keep-paths',
  setup(b) {
    b.onResolve({ filter: /\/wasm\/electrolite\.mjs$/ }, () => ({ path: '../wasm/electrolite.mjs', external: true }));
    b.onLoad({ filter: /[\\/]browser[\\/]worker-port\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(WORKER_URL)) throw new Error(`${args.path} no longer names its worker as ${WORKER_URL}`);
      return { contents: text.replace(WORKER_URL, "new Worker(new URL('../js/browser/worker.js', import.meta.url)"), loader: 'js' };
    });
  },
};
const outdir = `${root}dist/node`;
await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    index: 'dist/js/index.js',
    'in-process': 'dist/js/in-process.js',
    'wasm-loader': 'dist/js/wasm-loader.js',
    react: 'dist/react/index.js',
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node18',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  // Less to read and parse; names stay, so stack traces still say where.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [keepPaths],
  logLevel: 'warning',
});
