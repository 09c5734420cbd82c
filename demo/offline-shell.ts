// The demo's service worker (demo/sw.ts) keeps the app shell for offline starts. It is
// registered once the first screen is on show, never before: its install precaches every file
// of the shell (the engine's second wasm part among them), and on a first visit those
// downloads would otherwise compete with the ones the first screen waits for.
// When a new build's worker takes over a page it was already controlling, the page reloads so
// every file is of one build.

let registered = false;

/** Registers the service worker (once; not with ?sw=off, nor where there is none). */
export function registerOfflineShell(): void {
  if (registered || !('serviceWorker' in navigator)) return;
  if (new URLSearchParams(location.search).get('sw') === 'off') return;
  registered = true;
  const hadController = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.addEventListener('controllerchange', () => { if (hadController) location.reload(); });
  navigator.serviceWorker.register(new URL('./sw.js', import.meta.url)).catch((e: unknown) => {
    console.warn('service worker not registered: the page needs the network to start', e);
  });
}
