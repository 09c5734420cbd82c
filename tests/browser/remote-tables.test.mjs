// Every synced table keeps receiving remote changes in headless Chromium over HTTP/1.1, where
// the browser's six connections per host cannot hold a live poll for each of the seven demo
// tables: the tables without a slot are parked and short-polled (js/browser/connection-limit.ts).
// Regression: the short poll's answer had no `electric-cursor`, the engine failed those shapes
// for good on their first short poll, and their rows never arrived.
import { test, before, after } from 'node:test';
import { launch, missingPrerequisite, startDemoStack } from './harness.mjs';
import { expectRowsInEveryTable, openLiveTables } from './remote-rows.mjs';

let stack;
let browser;
let page;

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  stack = await startDemoStack();
  browser = await launch();
  page = await browser.page();
  await page.goto(`${stack.server.url}/v1/health`); // any page of the origin: the test drives the client itself
  await openLiveTables(page);
});

after(async () => {
  await page?.evaluate(() => window.db?.close()).catch(() => undefined);
  await browser?.close();
  await stack?.stop();
});

test('with seven tables over HTTP/1.1, every table keeps receiving remote rows, parked ones included', async () => {
  await expectRowsInEveryTable(stack, page, { rounds: 2, pauseMs: 1500 }); // parked tables are short-polled meanwhile
});
