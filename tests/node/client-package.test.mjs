// The package as an app sees it: `import { Electrolite } from 'electrolite'` from another
// folder resolves through package.json "exports" (in Node: the bundled dist/node), finds the
// wasm and loads the default schema from the package's schema/ folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

test('npm pack ships the client, the wasm and the default schema', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const files = JSON.parse(out)[0].files.map((f) => f.path);
  for (const f of ['dist/js/index.js', 'dist/js/index.d.ts', 'dist/js/client.js', 'dist/wasm/electrolite.mjs', 'dist/wasm/electrolite.wasm', 'schema/schema.sql', 'schema/policies.json']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
});

test("import { Electrolite } from 'electrolite' works from another folder", () => {
  const dir = mkdtempSync(join(tmpdir(), 'electrolite-app-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'electrolite'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }));
    writeFileSync(
      join(dir, 'app.mjs'),
      `import { Electrolite, ElectroliteError } from 'electrolite';
       const db = await Electrolite.open({ url: 'http://127.0.0.1:9', autoSubscribe: false });
       const { rows } = await db.query("SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name IN ('tasks','environments','agent_executions','observability_events','agent_memory','workflows','workflow_executions') ORDER BY name");
       await db.close();
       let code;
       try { await Electrolite.open({ url: 'ftp://x' }); } catch (e) { code = e instanceof ElectroliteError && e.code; }
       // The React entry opens through the same module instance (one Electrolite class).
       const react = await import('electrolite/react');
       const viaReact = await react.defaultOpen({ url: 'http://127.0.0.1:9', autoSubscribe: false });
       const sameClass = viaReact instanceof Electrolite;
       await viaReact.close();
       console.log(JSON.stringify({ tables: rows.map((r) => r.name), code, sameClass,
         entries: [import.meta.resolve('electrolite'), import.meta.resolve('electrolite/react')] }));`,
    );
    const out = execFileSync(process.execPath, ['app.mjs'], { cwd: dir, env: { ...process.env, ELECTRIC_URL: '' } }).toString();
    const result = JSON.parse(out.trim().split('\n').at(-1));
    assert.deepEqual(result.tables, ['agent_executions', 'agent_memory', 'environments', 'observability_events', 'tasks', 'workflow_executions', 'workflows']);
    assert.equal(result.code, 'invalid_argument');
    assert.equal(result.sameClass, true, 'electrolite/react shares the client module of electrolite');
    assert.deepEqual(result.entries.map((u) => u.replace(/^.*\/(dist\/)/, '$1')), ['dist/node/index.js', 'dist/node/react.js']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
