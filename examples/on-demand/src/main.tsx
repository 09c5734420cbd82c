// Pages through a large `tasks` table on demand: the shape syncs nothing by itself, each page
// is a subset loaded when shown and released when left.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ElectricProvider } from 'electrolite/react';
import { App } from './App';

// The sync service: VITE_ELECTRIC_URL at build time, else the origin serving this page
// (server.mjs serves the build next to the sync endpoints).
const url: string = import.meta.env.VITE_ELECTRIC_URL || location.origin;
const userId = 'example-user';

/** A development token from the dev server (a real app gets its JWT from its own auth). */
async function token(): Promise<string> {
  const res = await fetch(`${url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId, sub: userId }),
  });
  if (!res.ok) throw new Error(`POST /v1/token: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

// autoSubscribe off: no whole-table shape; the only rows that come are the pages' subsets.
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ElectricProvider url={url} token={token} storage={`on-demand-${userId}`} autoSubscribe={false}>
      <App />
    </ElectricProvider>
  </StrictMode>,
);
