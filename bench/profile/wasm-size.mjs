// Where the download bytes go: the sections of dist/wasm/electrolite.wasm (raw and gzip -9),
// and the CODE + DATA bytes each static library in build/wasm contributes before linking
// (llvm-size; the linker and wasm-opt drop unused functions, so these are upper bounds).
//
//   node bench/profile/wasm-size.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const wasm = readFileSync(join(ROOT, 'dist/wasm/electrolite.wasm'));
const NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'];
let p = 8;
const leb = () => {
  let r = 0;
  let s = 0;
  let x;
  do { x = wasm[p++]; r |= (x & 127) << s; s += 7; } while (x & 128);
  return r >>> 0;
};
console.log(`dist/wasm/electrolite.wasm: ${(wasm.length / 1024).toFixed(1)} KB, ${(gzipSync(wasm, { level: 9 }).length / 1024).toFixed(1)} KB gzipped`);
while (p < wasm.length) {
  const id = wasm[p++];
  const n = leb();
  const body = wasm.subarray(p, p + n);
  console.log(`  ${NAMES[id].padEnd(10)} ${(n / 1024).toFixed(1).padStart(8)} KB  ${(gzipSync(body, { level: 9 }).length / 1024).toFixed(1).padStart(7)} KB gz`);
  p += n;
}
console.log('static libraries in build/wasm (before dead-code elimination):');
for (const lib of ['libel_sqlite3.a', 'libel_zstd.a', 'src/libelectrolite_engine.a']) {
  try {
    const out = execFileSync('llvm-size-14', ['-A', join(ROOT, 'build/wasm', lib)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    let code = 0;
    let data = 0;
    for (const line of out.split('\n')) {
      const m = line.match(/^(CODE|DATA)\s+(\d+)/);
      if (m) (m[1] === 'CODE' ? (code += Number(m[2])) : (data += Number(m[2])));
    }
    console.log(`  ${lib.padEnd(28)} CODE ${(code / 1024).toFixed(1).padStart(7)} KB  DATA ${(data / 1024).toFixed(1).padStart(6)} KB`);
  } catch (err) {
    console.log(`  ${lib}: ${err.message.split('\n')[0]}`);
  }
}
