// Minifies the Emscripten glue (electrolite.mjs) in place with esbuild (after hiding its
// Node-only requires from bundlers, below): emcc only strips its
// whitespace unless the closure compiler is installed (it is not in Debian's emscripten), and
// identifier renaming and syntax folding take the glue from ~12.8 to ~9.5 KB gzipped.
// Safe for this glue: it is built with DYNAMIC_EXECUTION=0 (no eval / new Function that could
// see local names) and reads its Module options and exports by quoted property names, which
// esbuild never renames. Run by wasm/CMakeLists.txt after the link; skipped with a warning
// when esbuild is not installed (the glue still works, only bigger).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.argv[2];
if (!file) {
  console.error('usage: node wasm/minify-glue.mjs <electrolite.mjs>');
  process.exit(2);
}
let esbuild;
try {
  esbuild = createRequire(import.meta.url)('esbuild');
} catch {
  console.warn(`minify-glue: esbuild not found (run npm ci); ${file} left unminified`);
  process.exit(0);
}
// Bundlers for the browser (webpack 5, Next.js's Turbopack) fail on a literal require('fs')
// they cannot resolve. The glue's Node branch only requires fs and path to read files itself,
// which it never does (js/wasm-loader.ts hands it the compiled module and the .wasm's URL), so
// those calls go through globalThis, which no bundler follows; idempotent.
const source = readFileSync(file, 'utf8').replace(/(?<![.\w$])require\((["'])(fs|path)\1\)/g, 'globalThis.require("$2")');
const { code } = esbuild.transformSync(source, {
  minify: true, format: 'esm', target: 'es2020', legalComments: 'none', charset: 'utf8',
});
writeFileSync(file, code);
