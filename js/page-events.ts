// What the page tells the engine, where there is a page (not in a worker or Node): a hidden
// page pauses the shape stream, and the online/offline events say whether to request at all.
// Leaving the page pauses the stream at once (its long-polls hold the browser's six HTTP/1.1
// connections per host and would stall the next page's requests for a whole poll), resuming
// if the navigation was cancelled.

export interface PageTarget {
  setVisible(visible: boolean): Promise<void>;
  setOnline(online: boolean): Promise<void>;
}

/** Starts forwarding the page's events to `target`; returns the function that stops it. */
export function watchPage(target: PageTarget): () => void {
  const g = globalThis as unknown as {
    addEventListener?: (type: string, fn: () => void) => void;
    removeEventListener?: (type: string, fn: () => void) => void;
    navigator?: { onLine?: boolean };
    document?: { visibilityState?: string; addEventListener?(t: string, fn: () => void): void;
      removeEventListener?(t: string, fn: () => void): void };
  };
  const doc = g.document;
  const stops: Array<() => void> = [];
  const quiet = (p: Promise<void>) => void p.catch(() => undefined);
  const shown = () => doc?.visibilityState !== 'hidden';
  const listen = (on: { addEventListener?: Function; removeEventListener?: Function } | undefined, type: string, fn: () => void) => {
    if (typeof on?.addEventListener !== 'function') return;
    on.addEventListener(type, fn);
    stops.push(() => on.removeEventListener?.(type, fn));
  };
  if (typeof doc?.visibilityState === 'string') {
    listen(doc, 'visibilitychange', () => quiet(target.setVisible(shown())));
    listen(g, 'beforeunload', () => {
      quiet(target.setVisible(false));
      setTimeout(() => quiet(target.setVisible(shown())), 1000);
    });
    if (!shown()) quiet(target.setVisible(false));
  }
  if (typeof g.navigator?.onLine === 'boolean') {
    listen(g, 'online', () => quiet(target.setOnline(true)));
    listen(g, 'offline', () => quiet(target.setOnline(false)));
    if (!g.navigator.onLine) quiet(target.setOnline(false));
  }
  return () => {
    for (const stop of stops.splice(0)) stop();
  };
}
