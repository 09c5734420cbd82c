// Demo entry: gets a dev token for the demo user from the dev server (POST /v1/token), then
// renders the app inside <ElectricProvider>; the engine runs in ./worker.js.
// ?user=<id> picks the user, ?token=<jwt> uses a given token instead of asking the server,
// ?upload=<ms> sets the upload interval (default 5000, the seed's sync interval), ?debug=true,
// ?storage=memory keeps the local database in memory instead of OPFS, ?storage=idb in
// IndexedDB (what browsers without OPFS sync access handles get), ?sw=off skips the
// service worker (the offline app shell).

import { StrictMode, version } from 'react';
import { createRoot } from 'react-dom/client';
import { ElectricProvider } from '../react/index.js';
import { App } from './app.js';

const params = new URLSearchParams(location.search);
const userId = params.get('user') || 'demo-user';
const givenToken = params.get('token');
const uploadIntervalMs = Number(params.get('upload')) || undefined;
const storage = params.get('storage') === 'memory' ? ':memory:' : `demo-${userId}`;
const persistence = params.get('storage') === 'idb' ? 'idb' : undefined;

async function fetchToken(): Promise<string> {
  if (givenToken) return givenToken;
  const res = await fetch(new URL('/v1/token', location.href), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId, sub: userId }),
  });
  if (!res.ok) throw new Error(`POST /v1/token: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token?: string };
  if (typeof body.token !== 'string') throw new Error('POST /v1/token: no token in the answer');
  return body.token;
}

// The service worker (demo/sw.ts) keeps the app shell for offline starts. When a new build's
// worker takes over a page it was already controlling, reload so every file is of one build.
if ('serviceWorker' in navigator && params.get('sw') !== 'off') {
  const hadController = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.addEventListener('controllerchange', () => { if (hadController) location.reload(); });
  navigator.serviceWorker.register(new URL('./sw.js', import.meta.url)).catch((e: unknown) => {
    console.warn('service worker not registered: the page needs the network to start', e);
  });
}

document.documentElement.dataset.react = version; // which React the page runs (18 or 19)
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ElectricProvider url={location.origin} token={fetchToken} debug={params.get('debug') === 'true'}
      uploadIntervalMs={uploadIntervalMs} storage={storage} persistence={persistence} workerUrl={new URL('./worker.js', import.meta.url).href}>
      <App userId={userId} />
    </ElectricProvider>
  </StrictMode>,
);
