// The React hooks on the real build in headless Chromium (React 19, the page bundled here with
// esbuild from react-hooks-page.jsx): useElectric() subscribes only to what its component
// reads — a component that takes only `db` does not re-render on the status changes every
// local write makes, one that reads `status` sees each of them, one that reads `metrics` gets
// them polled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT, eventually, launch, missingPrerequisite, serveStatic } from './harness.mjs';

let server;
let browser;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  const bundle = await build({
    entryPoints: [join(ROOT, 'tests/browser/react-hooks-page.jsx')], bundle: true, write: false, format: 'esm',
    platform: 'browser', target: 'es2022', jsx: 'automatic', logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' }, external: ['node:*', 'fs', 'path'],
  });
  const script = bundle.outputFiles[0].text.replaceAll('</script', '<\\/script');
  server = await serveStatic(undefined, {
    '/hooks.html': `<!doctype html><meta charset="utf-8"><title>hooks</title><div id="root"></div><script type="module">${script}</script>`,
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('useElectric re-renders a component only for what it reads', async () => {
  const page = await browser.page();
  await page.goto(`${server.url}/hooks.html`);
  await eventually(async () => page.evaluate(() => Boolean(window.__db)), 30000, 'the database opened');
  await eventually(async () => (await page.textContent('#metrics')) === 'metrics', 10000, 'metrics polled for the component that reads them');
  const before = await page.evaluate(() => ({ ...window.__renders }));
  const writes = 5;
  for (let i = 0; i < writes; i++) {
    await page.evaluate((i) => window.__db.insert('tasks', {
      id: `00000000-0000-4000-8000-00000000000${i}`, user_id: 'u', title: `task ${i}`, status: 'pending',
    }), i);
    // each write's status reaches the component that reads it
    await eventually(async () => (await page.textContent('#pending')) === String(i + 1), 10000, `pendingChanges ${i + 1} shown`);
  }
  const afterWrites = await page.evaluate(() => ({ ...window.__renders }));
  assert.equal(afterWrites.dbOnly, before.dbOnly, 'the component that reads only db did not re-render');
  assert.ok(afterWrites.status >= before.status + writes, `the status reader rendered each change (${before.status} → ${afterWrites.status})`);
});
