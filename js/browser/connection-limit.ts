// A fetch decorator (STYLE.md #6) for browsers talking HTTP/1.1 to the sync service: Chrome
// opens at most six connections per host, and every synced table holds one in a live
// long-poll. With seven tables the seventh poll and every upload (POST /v1/changes) queued
// inside the browser until some poll returned: ~20 s per write on the dev server. This keeps
// live polls to `maxLive` per origin (the others wait here, abortably), so uploads and
// catch-up requests always find a free connection. Once a response shows the origin speaks
// HTTP/2 or HTTP/3 (PerformanceResourceTiming.nextHopProtocol), there is no limit.

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

interface Waiter { start: () => void; cancel: () => void }
interface Origin { active: number; queue: Waiter[]; multiplexed: boolean }

const isLive = (url: URL) => url.searchParams.get('live') === 'true';

/** The protocol the browser used for `url`, where it tells ('' when it does not). */
function protocolOf(url: string): string {
  const perf = (globalThis as { performance?: Performance }).performance;
  const entries = perf?.getEntriesByName?.(url) as PerformanceResourceTiming[] | undefined;
  return entries?.at(-1)?.nextHopProtocol ?? '';
}

export function limitLivePolls(next: FetchLike, maxLive = 5): FetchLike {
  const origins = new Map<string, Origin>();
  const originOf = (url: URL): Origin => {
    let o = origins.get(url.origin);
    if (!o) origins.set(url.origin, (o = { active: 0, queue: [], multiplexed: false }));
    return o;
  };
  const release = (o: Origin) => {
    o.active--;
    while (o.queue.length > 0 && (o.multiplexed || o.active < maxLive)) {
      o.active++;
      o.queue.shift()!.start();
    }
  };
  const learn = (o: Origin, url: string) => {
    if (!o.multiplexed && /^h[23]/.test(protocolOf(url))) {
      o.multiplexed = true;
      for (const w of o.queue.splice(0)) {
        o.active++;
        w.start();
      }
    }
  };
  return (input, init) => {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      return next(input, init);
    }
    const o = originOf(url);
    if (!isLive(url)) {
      return next(input, init).then((res) => {
        learn(o, input);
        return res;
      });
    }
    const run = () => next(input, init).finally(() => {
      learn(o, input);
      release(o);
    });
    if (o.multiplexed || o.active < maxLive) {
      o.active++;
      return run();
    }
    return new Promise<Response>((resolve, reject) => {
      const signal = init.signal;
      const onAbort = () => waiter.cancel();
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          run().then(resolve, reject);
        },
        cancel: () => {
          const i = o.queue.indexOf(waiter);
          if (i >= 0) o.queue.splice(i, 1);
          reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
        },
      };
      if (signal?.aborted) return waiter.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      o.queue.push(waiter);
    });
  };
}
