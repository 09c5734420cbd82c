// liveSse in headless Chromium over HTTP/1.1 against the dev server and real PostgreSQL: the seven
// demo tables' live updates come over event streams (five hold the connection slots, the other
// tables are parked and short-polled, js/browser/connection-limit.ts), streams are renewed when
// the server ends them, and every table keeps receiving remote rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, missingPrerequisite, startDemoStack } from './harness.mjs';
import { expectRowsInEveryTable, openLiveTables } from './remote-rows.mjs';

let stack;
let browser;
let page;
const requests = []; // the server's request log: "GET /v1/shape?... 200 3012ms", written when a response ends

before(async () => {
  const missing = missingPrerequisite();
  if (missing) throw new Error(`browser tests cannot run: ${missing}`);
  // Streams end after 3 s, so the test sees them renewed (and logged by the server).
  stack = await startDemoStack({ debug: true, sseTimeoutMs: 3000, log: (l) => requests.push(l) });
  browser = await launch();
  page = await browser.page();
  await page.goto(`${stack.server.url}/v1/health`);
  await openLiveTables(page, { liveSse: true });
});

after(async () => {
  await page?.evaluate(() => window.db?.close()).catch(() => undefined);
  await browser?.close();
  await stack?.stop();
});

test('liveSse in Chromium: rows of all seven tables arrive, live updates over event streams', async () => {
  await expectRowsInEveryTable(stack, page, {
    rounds: 3,
    pauseMs: 2000, // streams end (3 s) and are renewed meanwhile
    expectConnected: true,
    onMissing: (missing, status) => {
      if (process.env.SSE_DEBUG) console.log(missing, JSON.stringify(status), requests.filter((l) => /v1\/shape/.test(l)).slice(-30).join('\n'));
    },
  });
  // Streams that lived (>= 1 s, so none counted toward the fall-back) and ended: served as SSE.
  const streams = requests.filter((l) => /live_sse=true/.test(l) && / 200 \d+ms$/.test(l));
  const lived = streams.filter((l) => Number(/ (\d+)ms$/.exec(l)[1]) >= 2500);
  assert.ok(lived.length >= 5, `event streams that lived until the server ended them: ${lived.length}`);
  const tablesOnSse = new Set(lived.map((l) => /table=([a-z_]+)/.exec(l)[1]));
  assert.ok(tablesOnSse.size >= 5, `tables with a stream: ${[...tablesOnSse]}`);
});
