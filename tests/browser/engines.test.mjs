// The demo in three browser engines, from Debian packages (scripts/setup-system.sh):
// Chromium (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK
// (WebKitWebDriver driving MiniBrowser under xvfb-run, through selenium-webdriver). In each:
// the page loads from the dev server, shows the tasks synced from PostgreSQL, adds a task,
// reloads and still shows it, also when the server refuses to sync (a bad token: the rows can
// only come from the local database), and the status says where the database lives: OPFS where
// the worker has FileSystemSyncAccessHandle, else IndexedDB (WebKitGTK 2.50 has neither OPFS
// nor sync access handles). What an engine lacks is reported as a test diagnostic. The drivers
// are in drivers.mjs; a browser that is not installed fails its test, naming the setup script.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { eventually, missingPrerequisite, ROOT, startDemoStack } from './harness.mjs';
import { describeApis, expectedStorage, probeStorageApis, startBrowser } from './drivers.mjs';

let stack;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  stack = await startDemoStack();
});

after(async () => {
  await stack?.stop();
});

// ---- page scripts (run in the page; plain functions, no closure over test variables) -----

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
      last = await b.evaluate(pageState);
      return check(last) ? last : undefined;
    }, ms, what);
  } catch (err) {
    throw new Error(`${err.message}; the page showed ${JSON.stringify(last)}`);
  }
}

// ---- the scenario, once per engine ------------------------------------------------------

const RUNS = [
  { name: 'chromium', engine: 'chromium' },
  // What a browser without sync access handles gets, in Chromium and Firefox: the demo's ?storage=idb.
  { name: 'chromium-idb', engine: 'chromium', query: '&storage=idb', storage: 'idb' },
  { name: 'firefox', engine: 'firefox' },
  { name: 'firefox-idb', engine: 'firefox', query: '&storage=idb', storage: 'idb' },
  { name: 'webkit', engine: 'webkit' },
];

for (const engine of RUNS) {
  test(`${engine.name}: the demo syncs, and a task added in the page survives a reload in local storage`, async (t) => {
    const user = `engines-${engine.name}-${Date.now()}`;
    for (const [title, status] of [['Seeded one', 'pending'], ['Seeded two', 'completed']]) {
      await stack.sql.query('INSERT INTO tasks (id, user_id, title, status) VALUES (gen_random_uuid(), $1, $2, $3)',
        [user, `${title} (${engine.name})`, status]);
    }
    const browser = await startBrowser(engine.engine);
    try {
      t.diagnostic(`${engine.name} started in ${browser.startMs} ms`);
      const b = await browser.page();
      const url = `${stack.server.url}/?user=${encodeURIComponent(user)}&sw=off${engine.query ?? ''}`;
      await b.goto(url);
      const features = await b.evaluate(probeStorageApis);
      t.diagnostic(`${engine.name}: ${features.userAgent}`);
      const expected = engine.storage ?? expectedStorage(features);
      t.diagnostic(engine.storage ? `${engine.name}: ${engine.storage} asked for (${engine.query})`
        : `${engine.name}: ${describeApis(features)}`);

      let s = await waitFor(b, 'the two synced tasks', (p) => p.heading === 'Tasks (2)');
      assert.equal(storageKind(s.storage), expected, s.storage);
      t.diagnostic(`${engine.name}: status.storage = ${storageKind(s.storage)} (${s.storage.trim()})`);

      const title = `Added in ${engine.name} ${Date.now()}`;
      await b.evaluate(addTask, title);
      await waitFor(b, 'the new task', (p) => p.titles.includes(title) || p.error, 10000);
      s = await b.evaluate(pageState);
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
      await browser.close();
    }
  });
}

test('a browser that is not installed fails its test with the setup script named, not a skip', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    "const { startBrowser } = await import('./tests/browser/drivers.mjs'); await startBrowser('firefox');"],
  { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FIREFOX_PATH: '/nonexistent/firefox-esr' } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /firefox is not installed: no \/nonexistent\/firefox-esr \(bash scripts\/setup-system\.sh installs it\)/);
});
