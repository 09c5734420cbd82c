// A fetch decorator (STYLE.md #6) for browsers talking HTTP/1.1 to the sync service: Chrome
// opens at most six connections per host, and every synced table holds one in a live
// long-poll. With seven tables the seventh poll and every upload (POST /v1/changes) queued
// inside the browser until some poll returned: ~20 s per write on the dev server, and as long
// for the queued table's changes. This keeps live polls to `maxLive` per origin, so uploads
// and catch-up requests always find a free connection, and a live poll that finds no slot is
// *parked*: it waits `parkMs` (abortably), then goes out as a short poll (the same request
// without `live`, answered at once, its answer given the `electric-cursor` a live answer has)
// unless a slot has freed meanwhile. A table without a slot thus sees the server's changes
// within about `parkMs`, not after someone's 20 s poll.
// Once a request's timing entry shows the origin speaks HTTP/2 or HTTP/3 (nextHopProtocol),
// there is no limit. See the README ("Live updates over HTTP/1.1") for what this costs the server.
// Live updates over server-sent events (`liveSse`) count the same way: an event stream is a
// live request that holds its connection for as long as it is open, so it keeps its slot until
// its body ends (not when its headers arrive), and one that finds no slot is parked and then
// answered by a short poll like a long-poll (js/sse-live.ts hands that answer over whole).

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

interface Origin { active: number; multiplexed: boolean }

export interface LiveLimitOptions {
  /** Live polls held at once per origin over HTTP/1.1. Default 5 (Chrome allows six connections). */
  maxLive?: number;
  /** How long a poll without a slot waits before it goes out as a short poll, ms. Default 600. */
  parkMs?: number;
}

const isLive = (url: URL) => url.searchParams.get('live') === 'true';
const isSse = (url: URL) => url.searchParams.get('live_sse') === 'true';

/** `res` whose body calls `done` once when it ends, fails or is cancelled (`done` at once without a body). */
function onBodyEnd(res: Response, done: () => void): Response {
  if (!res.body) {
    done();
    return res;
  }
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    done();
  };
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          once();
          ctl.close();
        } else {
          ctl.enqueue(value);
        }
      } catch (err) {
        once();
        ctl.error(err);
      }
    },
    cancel(reason) {
      once();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/**
 * The protocol of the latest request to `origin` the browser has a timing entry for ('' when it
 * tells none). Any request of the origin, not the one just answered: its entry is only added
 * once its body has been read, usually after the fetch promise resolved, so looking up that
 * request's own URL found nothing and an HTTP/2 origin could stay limited for good.
 */
function protocolOf(origin: string): string {
  const perf = (globalThis as { performance?: Performance }).performance;
  const entries = perf?.getEntriesByType?.('resource') as PerformanceResourceTiming[] | undefined;
  const prefix = `${origin}/`;
  for (let i = (entries?.length ?? 0) - 1; i >= 0; i--) {
    const e = entries![i]!;
    if (e.nextHopProtocol && e.name.startsWith(prefix)) return e.nextHopProtocol;
  }
  return '';
}

/** The same shape request, answered at once: no `live`, no cursor, never from a cache. */
function shortPoll(url: URL): string {
  const u = new URL(url);
  u.searchParams.delete('live');
  u.searchParams.delete('live_sse');
  u.searchParams.delete('experimental_live_sse'); // sent with live_sse; refused without live
  u.searchParams.delete('cursor');
  return u.toString();
}

/**
 * The short poll's answer, as the engine expects the answer to the live poll it sent: a live
 * answer always carries `electric-cursor` and the engine fails a shape (for good) whose live
 * answer lacks one, while the answer to a request without `live` carries none. The request's
 * own cursor is handed back, so the shape's next live poll sends what it would have sent.
 */
function asLiveAnswer(res: Response, url: URL): Response {
  if (!res.ok || res.headers.has('electric-cursor')) return res;
  const headers = new Headers(res.headers);
  headers.set('electric-cursor', url.searchParams.get('cursor') ?? '');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

function sleep(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason ?? new DOMException('aborted', 'AbortError'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function limitLivePolls(next: FetchLike, opts: LiveLimitOptions | number = {}): FetchLike {
  const { maxLive = 5, parkMs = 600 } = typeof opts === 'number' ? { maxLive: opts } : opts;
  const origins = new Map<string, Origin>();
  const originOf = (url: URL): Origin => {
    let o = origins.get(url.origin);
    if (!o) origins.set(url.origin, (o = { active: 0, multiplexed: false }));
    return o;
  };
  const learn = (o: Origin, origin: string) => {
    if (!o.multiplexed && /^h[23]/.test(protocolOf(origin))) o.multiplexed = true;
  };
  const hasSlot = (o: Origin) => o.multiplexed || o.active < maxLive;
  const live = async (o: Origin, url: URL, input: string, init: RequestInit) => {
    o.active++;
    let held = true;
    const free = () => {
      if (!held) return;
      held = false;
      o.active--;
    };
    try {
      const res = await next(input, init);
      learn(o, url.origin);
      // An event stream holds its connection until its body ends; a long-poll's has arrived.
      if (isSse(url)) return onBodyEnd(res, free);
      free();
      return res;
    } catch (err) {
      free();
      learn(o, url.origin);
      throw err;
    }
  };
  return async (input, init) => {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      return next(input, init);
    }
    const o = originOf(url);
    if (!isLive(url)) {
      const res = await next(input, init);
      learn(o, url.origin);
      return res;
    }
    if (hasSlot(o)) return live(o, url, input, init);
    await sleep(parkMs, init.signal);
    if (hasSlot(o)) return live(o, url, input, init);
    const res = await next(shortPoll(url), { ...init, cache: 'no-store' });
    learn(o, url.origin);
    return asLiveAnswer(res, url);
  };
}
