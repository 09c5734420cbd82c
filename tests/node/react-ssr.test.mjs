// SSR safety: importing `electrolite` and `electrolite/react` and rendering the provider with
// every hook on the server touches no window, navigator, document, Worker or self, opens
// nothing, and renders the hooks' loading state.

import { test } from 'node:test';
import assert from 'node:assert/strict';

const BROWSER_GLOBALS = ['window', 'navigator', 'document', 'Worker', 'self', 'localStorage', 'indexedDB'];

/** Replaces each browser global by a getter that records the access (and returns undefined). */
function trapGlobals() {
  const touched = [];
  const saved = new Map();
  for (const name of BROWSER_GLOBALS) {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(`${name}: ${new Error().stack.split('\n').slice(2, 4).join(' | ')}`);
        return undefined;
      },
    });
  }
  const restore = () => {
    for (const [name, desc] of saved) {
      if (desc) Object.defineProperty(globalThis, name, desc);
      else delete globalThis[name];
    }
  };
  return { touched, restore };
}

test('importing electrolite and electrolite/react touches no browser global', async () => {
  const { touched, restore } = trapGlobals();
  try {
    const core = await import('electrolite');
    const react = await import('electrolite/react');
    assert.equal(typeof core.Electrolite.open, 'function');
    for (const name of ['ElectricProvider', 'useElectricTasks', 'useElectricEnvironments', 'useOfflineState',
      'useLiveQuery', 'useElectric', 'ElectricConnectionStatus', 'ElectricSyncButton',
      'ElectricOfflineIndicator', 'ElectricMetrics']) {
      assert.equal(typeof react[name], 'function', `electrolite/react exports ${name}`);
    }
  } finally {
    restore();
  }
  assert.deepEqual(touched, []);
});

test('server rendering the provider and every hook renders loading states and opens nothing', async () => {
  const React = await import('react');
  const { renderToString } = await import('react-dom/server');
  const r = await import('electrolite/react');
  const h = React.createElement;
  let opened = 0;
  const seen = {};
  function Probe() {
    seen.tasks = r.useElectricTasks('u1');
    seen.envs = r.useElectricEnvironments('u1');
    seen.offline = r.useOfflineState();
    seen.live = r.useLiveQuery('SELECT 1', []);
    seen.electric = r.useElectric();
    return h('div', null, seen.tasks.loading ? 'Loading tasks...' : 'ready',
      h(r.ElectricConnectionStatus), h(r.ElectricSyncButton), h(r.ElectricOfflineIndicator), h(r.ElectricMetrics));
  }
  const { touched, restore } = trapGlobals();
  let html;
  try {
    html = renderToString(h(r.ElectricProvider, { url: 'http://127.0.0.1:1', open: async () => { opened++; } },
      h(Probe)));
  } finally {
    restore();
  }
  assert.deepEqual(touched, []);
  assert.equal(opened, 0, 'nothing is opened during SSR');
  assert.match(html, /Loading tasks\.\.\./);
  assert.match(html, /data-electric="connection"/);
  assert.equal(seen.tasks.loading, true);
  assert.deepEqual(seen.tasks.tasks, []);
  assert.deepEqual(seen.tasks.taskStats, { total: 0, pending: 0, inProgress: 0, completed: 0 });
  assert.equal(seen.envs.activeEnvironment, null);
  assert.deepEqual(seen.offline, { isOffline: false, network: 'online', pendingChanges: 0 });
  assert.equal(seen.live.loading, true);
  assert.equal(seen.electric.db, null);
  assert.equal(seen.electric.isReady, false);
  await assert.rejects(seen.tasks.createTask({ title: 'x' }), (err) => err.name === 'ElectroliteError' && err.code === 'closed');
});

test('hooks outside <ElectricProvider> fail with a clear error', async () => {
  const React = await import('react');
  const { renderToString } = await import('react-dom/server');
  const r = await import('electrolite/react');
  function Lonely() {
    r.useElectricTasks('u1');
    return null;
  }
  assert.throws(() => renderToString(React.createElement(Lonely)), /inside <ElectricProvider>/);
});
