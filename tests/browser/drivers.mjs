// Three browser engines behind one small page API, all from Debian packages installed by
// scripts/setup-system.sh: Chromium (playwright-core), Firefox ESR (puppeteer-core over
// WebDriver BiDi) and WebKitGTK (WebKitWebDriver driving MiniBrowser under xvfb-run, through
// selenium-webdriver).
//
//   const b = await startBrowser('firefox', { profile });   // profile: kept, for a relaunch
//   const page = await b.page();                             // the first tab
//   const other = await b.newPage();                         // a second tab, same profile
//   await page.goto(url); await page.evaluate(fn, arg); await page.reload(); await other.close();
//   await b.close();                                         // or b.kill(): SIGKILL (Firefox)
//
// `evaluate(fn, arg)` runs `fn` (a plain function: no closure over test variables) in the page
// and awaits the promise it returns; `undefined` may come back as `null` (WebDriver classic).
// `errors` collects uncaught page errors ("pageerror: …"; Chromium adds console errors), not
// in WebKitGTK (WebDriver classic reports none).
// A browser that is not installed fails `startBrowser` with a message naming the setup script.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, eventually, launch } from './harness.mjs';

const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';
const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH || '/usr/bin/WebKitWebDriver';
const MINIBROWSER = process.env.MINIBROWSER_PATH || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB_RUN = '/usr/bin/xvfb-run';

/** The engines, in the order the tests run them, and the files each needs. */
export const ENGINES = ['chromium', 'firefox', 'webkit'];
const NEEDS = { chromium: [CHROMIUM], firefox: [FIREFOX], webkit: [MINIBROWSER, WEBKIT_DRIVER, XVFB_RUN] };
const START = { chromium, firefox, webkit };

/** Why `engine` cannot be started here, naming the setup script; null when it can. */
export function engineMissing(engine) {
  const missing = NEEDS[engine].filter((p) => !existsSync(p));
  return missing.length === 0 ? null
    : `${engine} is not installed: no ${missing.join(', ')} (bash scripts/setup-system.sh installs it)`;
}

/**
 * Starts `engine` on `profile` (a folder the caller owns and removes; WebKitGTK ignores it, see
 * `persistsAcrossLaunches`) or on a fresh profile removed at close.
 */
export async function startBrowser(engine, { profile } = {}) {
  const missing = engineMissing(engine);
  if (missing) throw new Error(missing);
  const started = Date.now();
  const b = await START[engine](profile);
  return { engine, startMs: Date.now() - started, ...b };
}

/**
 * Whether a relaunch on the same profile finds what the last launch stored. MiniBrowser in
 * automation mode keeps its website data (IndexedDB, OPFS) in an ephemeral session: nothing
 * outlives the browser process, whatever the page stored.
 */
export const persistsAcrossLaunches = (engine) => engine !== 'webkit';

// ---- Chromium --------------------------------------------------------------------------

async function chromium(profile) {
  const b = await launch(profile);
  const wrap = (page) => ({
    goto: (url) => page.goto(url),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    reload: () => page.reload(),
    close: () => page.close(),
  });
  return {
    errors: b.errors,
    page: async () => wrap(await b.page()),
    newPage: async () => wrap(await b.context.newPage()),
    close: () => b.close(),
  };
}

// ---- Firefox ESR -----------------------------------------------------------------------

async function firefox(profile) {
  const { default: puppeteer } = await import('puppeteer-core');
  const dir = profile ?? mkdtempSync(join(tmpdir(), 'electrolite-firefox-'));
  const removeDir = () => { if (!profile) rmSync(dir, { recursive: true, force: true }); };
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, headless: true, userDataDir: dir,
    });
  } catch (err) {
    removeDir();
    throw err;
  }
  const errors = [];
  const wrap = (page) => {
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    return {
      goto: (url) => page.goto(url),
      evaluate: (fn, arg) => page.evaluate(fn, arg),
      reload: () => page.reload(),
      close: () => page.close(),
    };
  };
  return {
    errors,
    page: async () => wrap((await browser.pages())[0] ?? (await browser.newPage())),
    newPage: async () => wrap(await browser.newPage()),
    /** SIGKILL of the whole browser (puppeteer starts it in its own process group). */
    async kill() {
      try {
        process.kill(-browser.process().pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await browser.disconnect().catch(() => undefined);
      removeDir();
    },
    async close() {
      await browser.close().catch(() => undefined);
      removeDir();
    },
  };
}

// ---- WebKitGTK -------------------------------------------------------------------------

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

/**
 * WebKitWebDriver under xvfb-run starts MiniBrowser --automation; selenium talks to it. One
 * WebDriver session has one current window, so every page call switches to its own tab first,
 * one call at a time.
 */
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
    await driver.manage().setTimeouts({ script: 60000, pageLoad: 60000 });
  } catch (err) {
    stop();
    throw err;
  }
  let current = await driver.getWindowHandle();
  let queue = Promise.resolve();
  /** Runs `op` with `handle`'s tab current, after every call before it. */
  const inTab = (handle, op) => {
    const run = queue.then(async () => {
      if (current !== handle) {
        await driver.switchTo().window(handle);
        current = handle;
      }
      return op();
    });
    queue = run.catch(() => undefined);
    return run;
  };
  const wrap = (handle) => ({
    goto: (url) => inTab(handle, () => driver.get(url)),
    // W3C Execute Script awaits a returned promise.
    evaluate: (fn, arg) => inTab(handle, () => driver.executeScript(fn, arg)),
    reload: () => inTab(handle, () => driver.navigate().refresh()),
    close: () => inTab(handle, async () => {
      await driver.close();
      current = null;
    }),
  });
  const first = current;
  return {
    errors: [],
    page: async () => wrap(first),
    newPage: async () => {
      const run = queue.then(async () => {
        await driver.switchTo().newWindow('tab');
        current = await driver.getWindowHandle();
        return current;
      });
      queue = run.catch(() => undefined);
      return wrap(await run);
    },
    async close() {
      await driver.quit().catch(() => undefined);
      stop();
    },
  };
}

// ---- page scripts shared by the engine tests ----------------------------------------------

/** (In the page) what a dedicated worker of this page has: sync access handles, OPFS, IndexedDB, Web Locks. */
export function probeStorageApis() {
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

/** The storage the client picks where a worker has `apis` (unless the page asks for IndexedDB). */
export const expectedStorage = (apis) => (apis.syncAccessHandle ? 'opfs' : apis.indexedDB ? 'idb' : 'memory');

/** "lacks X, Y; the client uses Z" or "has every storage API the client uses". */
export function describeApis(apis) {
  const lacks = Object.entries(apis).filter(([, v]) => v === false).map(([k]) => k);
  return lacks.length === 0 ? 'has every storage API the client uses'
    : `lacks ${lacks.join(', ')}; the client uses ${expectedStorage(apis)}`;
}
