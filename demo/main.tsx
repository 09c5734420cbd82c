// Demo entry: gets a dev token for the demo user from the dev server (POST /v1/token), then
// renders the app inside <ElectricProvider>; the engine runs in ./worker.js.
// ?user=<id> picks the user, ?token=<jwt> uses a given token instead of asking the server,
// ?upload=<ms> sets the upload interval (default 5000, the seed's sync interval), ?debug=true,
// ?storage=memory keeps the local database in memory instead of OPFS, ?storage=idb in
// IndexedDB (what browsers without OPFS sync access handles get), ?sw=off skips the
// service worker (the offline app shell, registered after the first screen: demo/offline-shell.ts).

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

document.documentElement.dataset.react = version; // which React the page runs (18 or 19)
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ElectricProvider url={location.origin} token={fetchToken} debug={params.get('debug') === 'true'}
      uploadIntervalMs={uploadIntervalMs} storage={storage} persistence={persistence} workerUrl={new URL('./worker.js', import.meta.url).href}>
      <App userId={userId} />
    </ElectricProvider>
  </StrictMode>,
);
