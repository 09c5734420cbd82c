// The demo in three browser engines, from Debian packages (scripts/setup-system.sh):
// Chromium (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK
// (WebKitWebDriver driving MiniBrowser under xvfb-run, through selenium-webdriver). In each:
// the page loads from the dev server, shows the tasks synced from PostgreSQL, adds a task,
// reloads and still shows it, also when the server refuses to sync (a bad token: the rows can
// only come from the local database), and the status says where the database lives: OPFS where
// the worker has FileSystemSyncAccessHandle, else IndexedDB (WebKitGTK 2.50 has neither OPFS
// nor sync access handles). What an engine lacks is reported as a test diagnostic.
//
// A browser whose binary cannot be started here is skipped with the reason (and only then).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, eventually, launch, missingPrerequisite, startDemoStack } from './harness.mjs';

const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';
const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH || '/usr/bin/WebKitWebDriver';
const MINIBROWSER = process.env.MINIBROWSER_PATH || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB_RUN = '/usr/bin/xvfb-run';

let stack;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  stack = await startDemoStack();
});

after(async () => {
  await stack?.stop();
});

// ---- one small driver interface over three automation libraries -------------------------

/** Chromium through playwright-core (the suite's usual browser). */
async function chromium() {
  const b = await launch();
  const page = await b.page();
  return {
    run: (fn, arg) => page.evaluate(fn, arg),
    goto: (url) => page.goto(url),
    reload: () => page.reload(),
    close: () => b.close(),
  };
}

/** Firefox ESR through puppeteer-core over WebDriver BiDi, on a fresh profile. */
async function firefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'electrolite-firefox-'));
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, headless: true, userDataDir: profile,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  return {
    run: (fn, arg) => page.evaluate(fn, arg),
    goto: (url) => page.goto(url),
    reload: () => page.reload(),
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** WebKitGTK: WebKitWebDriver under xvfb-run starts MiniBrowser --automation; selenium talks to it. */
async function webkit() {
  const { Builder } = await import('selenium-webdriver');
  const port = await freePort();
  const child = spawn(XVFB_RUN, ['-a', WEBKIT_DRIVER, `--port=${port}`], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let driver;
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited ${child.exitCode}: ${stderr}`);
      return fetch(`http://127.0.0.1:${port}/status`).then((r) => r.ok, () => false);
    }, 20000, 'WebKitWebDriver listening');
    driver = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    }).build();
  } catch (err) {
    stop();
    throw err;
  }
  return {
    // W3C Execute Script awaits a returned promise.
    run: (fn, arg) => driver.executeScript(fn, arg),
    goto: (url) => driver.get(url),
    reload: () => driver.navigate().refresh(),
    async close() {
      await driver.quit().catch(() => undefined);
      stop();
    },
  };
}

// ---- page scripts (run in the page; plain functions, no closure over test variables) -----

/** What a dedicated worker of this page has: sync access handles, OPFS, IndexedDB, Web Locks. */
function probeWorker() {
  const src = `postMessage({
    syncAccessHandle: typeof FileSystemFileHandle !== 'undefined' && 'createSyncAccessHandle' in FileSystemFileHandle.prototype,
    opfs: typeof navigator.storage?.getDirectory === 'function',
    indexedDB: typeof indexedDB !== 'undefined',
    webLocks: typeof navigator.locks?.request === 'function',
  })`;
  const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
  return new Promise((resolve) => w.addEventListener('message', (e) => {
    w.terminate();
    resolve({ ...e.data, userAgent: navigator.userAgent });
  }));
}

/** The task list heading, the storage footer and the task titles shown (null before the first render). */
function pageState() {
  const tasks = document.querySelector('[data-testid="tasks"]');
  return {
    heading: tasks?.querySelector('h2')?.textContent ?? null,
    storage: document.querySelector('[data-testid="storage"]')?.textContent ?? null,
    titles: [...document.querySelectorAll('.task-item h3')].map((h) => h.textContent),
    error: document.querySelector('[data-testid="tasks"] .error')?.textContent ?? null,
    ...(tasks ? {} : { body: document.body?.innerText?.slice(0, 400) ?? null }),
  };
}

/** Types `title` into the new-task form (React sees the input event) and submits it. */
function addTask(title) {
  const input = document.querySelector('form.new-task input[name="title"]');
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  setValue.call(input, title);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  document.querySelector('form.new-task button[type="submit"]').click();
  return true;
}

const storageKind = (footer) =>
  /persisted in OPFS/.test(footer ?? '') ? 'opfs' : /persisted in IndexedDB/.test(footer ?? '') ? 'idb'
    : /in memory/.test(footer ?? '') ? 'memory' : null;

async function waitFor(b, what, check, ms = 30000) {
  let last;
  try {
    return await eventually(async () => {
      last = await b.run(pageState);
      return check(last) ? last : undefined;
    }, ms, what);
  } catch (err) {
    throw new Error(`${err.message}; the page showed ${JSON.stringify(last)}`);
  }
}

// ---- the scenario, once per engine ------------------------------------------------------

const ENGINES = [
  { name: 'chromium', binary: CHROMIUM, start: chromium },
  // What a browser without sync access handles gets, in Chromium and Firefox: the demo's ?storage=idb.
  { name: 'chromium-idb', binary: CHROMIUM, start: chromium, query: '&storage=idb', storage: 'idb' },
  { name: 'firefox', binary: FIREFOX, start: firefox },
  { name: 'firefox-idb', binary: FIREFOX, start: firefox, query: '&storage=idb', storage: 'idb' },
  { name: 'webkit', binary: MINIBROWSER, start: webkit, also: [WEBKIT_DRIVER, XVFB_RUN] },
];

for (const engine of ENGINES) {
  const missing = [engine.binary, ...(engine.also ?? [])].find((p) => !existsSync(p));
  test(`${engine.name}: the demo syncs, and a task added in the page survives a reload in local storage`,
    { skip: missing ? `no ${missing} (scripts/setup-system.sh installs it)` : false }, async (t) => {
      const user = `engines-${engine.name}-${Date.now()}`;
      for (const [title, status] of [['Seeded one', 'pending'], ['Seeded two', 'completed']]) {
        await stack.sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES (gen_random_uuid(), $1, $2, $3)',
          [user, `${title} (${engine.name})`, status]);
      }
      const started = Date.now();
      const b = await engine.start();
      try {
        t.diagnostic(`${engine.name} started in ${Date.now() - started} ms`);
        const url = `${stack.server.url}/?user=${encodeURIComponent(user)}&sw=off${engine.query ?? ''}`;
        await b.goto(url);
        const features = await b.run(probeWorker);
        t.diagnostic(`${engine.name}: ${features.userAgent}`);
        const expected = engine.storage ?? (features.syncAccessHandle ? 'opfs' : features.indexedDB ? 'idb' : 'memory');
        const lacks = Object.entries(features).filter(([k, v]) => v === false).map(([k]) => k);
        t.diagnostic(engine.storage ? `${engine.name}: ${engine.storage} asked for (${engine.query})`
          : lacks.length === 0 ? `${engine.name}: has every storage API the client uses`
          : `${engine.name}: lacks ${lacks.join(', ')}; the client uses ${expected}`);

        let s = await waitFor(b, 'the two synced tasks', (p) => p.heading === 'Tasks (2)');
        assert.equal(storageKind(s.storage), expected, s.storage);
        t.diagnostic(`${engine.name}: status.storage = ${storageKind(s.storage)} (${s.storage.trim()})`);

        const title = `Added in ${engine.name} ${Date.now()}`;
        await b.run(addTask, title);
        await waitFor(b, 'the new task', (p) => p.titles.includes(title) || p.error, 10000);
        s = await b.run(pageState);
        assert.equal(s.error, null);

        await b.reload();
        s = await waitFor(b, 'the three tasks after the reload', (p) => p.heading === 'Tasks (3)' && p.titles.includes(title));
        assert.equal(storageKind(s.storage), expected);

        // Local, not refetched: with a token the server refuses, the page still shows all three.
        await b.goto(`${url}&token=not-a-valid-token`);
        s = await waitFor(b, 'the three tasks from the local database alone',
          (p) => p.heading === 'Tasks (3)' && p.titles.includes(title));
        assert.equal(storageKind(s.storage), expected);
      } finally {
        await b.close();
      }
    });
}
