// Live mode over server-sent events (`live=true&live_sse=true`, protocol notes §3.3), as a
// transport detail: the engine keeps asking for live long-polls, and this answers them from one
// open event stream per shape. Each batch the stream completes (messages up to an `up-to-date`)
// answers the engine's pending live request as if a long-poll had returned it, with the offset
// the official client resumes from (`${global_last_seen_lsn}_0`) and the stream's handle and
// cursor; the engine's next live request (that offset, same shape, same token) is then served by
// the same stream. A keep-alive comment answers a pending request with a bare up-to-date, as a
// long-poll timeout would, so the engine's live watchdog only fires for a stream that went
// silent. Anything else (a new offset after a re-fetch or a failed apply, a new token, the
// stream's end) opens a new stream from the engine's request.
//
// Proxies that buffer or cut the stream: like @electric-sql/client, a shape falls back to
// long-polling after SSE_MAX_SHORT_CONNECTIONS consecutive streams that ended within
// SSE_MIN_CONNECTION_MS without being aborted, waiting random(0, min(5000, 100·2^n)) ms
// between them; a 409 (shape rotated) lets it try SSE again.

import { SseParser } from './sse-events.js';
import { RequestFailure, headersToObject, type EngineRequest, type FetchFn, type HostResponse, type TransportCounters } from './transport.js';

export const SSE_MIN_CONNECTION_MS = 1000;
export const SSE_MAX_SHORT_CONNECTIONS = 3;
export const SSE_BACKOFF_BASE_MS = 100;
export const SSE_BACKOFF_MAX_MS = 5000;

/** The official client's fall-back rule for one shape (time and randomness as arguments). */
export class SseFallback {
  shortConnections = 0;
  longPolling = false;

  /** A stream ended after `durationMs`: how long to wait before the next one, and whether SSE is now off. */
  closed(durationMs: number, aborted: boolean, random: () => number = Math.random): { waitMs: number; fellBack: boolean } {
    if (durationMs >= SSE_MIN_CONNECTION_MS) {
      this.shortConnections = 0;
      return { waitMs: 0, fellBack: false };
    }
    if (aborted) return { waitMs: 0, fellBack: false };
    this.shortConnections++;
    if (this.shortConnections >= SSE_MAX_SHORT_CONNECTIONS) {
      const fellBack = !this.longPolling;
      this.longPolling = true;
      return { waitMs: 0, fellBack };
    }
    const cap = Math.min(SSE_BACKOFF_MAX_MS, SSE_BACKOFF_BASE_MS * 2 ** this.shortConnections);
    return { waitMs: Math.floor(random() * cap), fellBack: false };
  }

  /** The shape was rotated (409): SSE is tried again. */
  reset(): void {
    this.shortConnections = 0;
    this.longPolling = false;
  }
}

/** Where answers go: the engine host. */
export interface SseSink {
  answer(req: EngineRequest, res: HostResponse): void;
  fail(req: EngineRequest, failure: RequestFailure): void;
  /** Perform `req` as the ordinary long-poll it is (the shape fell back). */
  longPoll(req: EngineRequest): void;
  warn(message: string): void;
}

interface Pending {
  req: EngineRequest;
  timer: ReturnType<typeof setTimeout>;
}

interface Stream {
  ctl: AbortController;
  key: string;
  openedAt: number;
  done: boolean;
  /** The offset the engine asks from next: the request's, then that of each batch handed over. */
  handedOffset: string;
  /** Where the stream stands: the offset after its last complete batch. */
  offset: string;
  headers: Record<string, string>;
  batch: string[];
  /** Complete batches not yet handed over (null: none). */
  ready: string[] | null;
  globalLsn: string;
}

interface ShapeSse {
  fallback: SseFallback;
  stream: Stream | null;
  pending: Pending | null;
  /** No new stream before this time (the wait after a short one). */
  notBefore: number;
  openTimer: ReturnType<typeof setTimeout> | undefined;
}

/** What a long-poll that timed out answers: up-to-date, nothing new. */
function bareUpToDate(st: Stream): string {
  const utd: { control: string; global_last_seen_lsn?: string } = { control: 'up-to-date' };
  if (st.globalLsn) utd.global_last_seen_lsn = st.globalLsn;
  return JSON.stringify({ headers: utd });
}

const PROTOCOL_PARAMS = ['offset', 'cursor', 'live_sse', 'experimental_live_sse'];
const encoder = new TextEncoder();

/** What a request asks for apart from its position: a stream serves only requests with the same key. */
function streamKey(req: EngineRequest): string {
  const u = new URL(req.url);
  for (const p of PROTOCOL_PARAMS) u.searchParams.delete(p);
  u.searchParams.sort();
  return `${u.toString()}\n${req.headers['authorization'] ?? req.headers['Authorization'] ?? ''}`;
}

function offsetOf(req: EngineRequest): string {
  return new URL(req.url).searchParams.get('offset') ?? '';
}

function parseOffset(o: string): [bigint, bigint] | null {
  const m = /^(\d+)_(\d+|inf)$/.exec(o);
  if (!m) return null;
  return [BigInt(m[1]!), m[2] === 'inf' ? BigInt(Number.MAX_SAFE_INTEGER) ** 2n : BigInt(m[2]!)];
}

/** `${lsn}_0` (the official client's resume point) unless that would go back. */
export function offsetAfterBatch(prev: string, globalLsn: string): string {
  if (!/^\d+$/.test(globalLsn)) return prev;
  const next = `${globalLsn}_0`;
  const a = parseOffset(prev);
  const b = parseOffset(next)!;
  if (a && (a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]))) return prev;
  return next;
}

export class SseLive {
  private readonly shapes = new Map<string, ShapeSse>();
  private closedAll = false;

  constructor(
    private readonly fetchFn: FetchFn,
    private readonly counters: TransportCounters,
    private readonly sink: SseSink,
  ) {}

  /**
   * Takes a live shape request when SSE serves its shape (false: the host long-polls it).
   * `signal` aborts it (unsubscribe, offline, close); `timeoutMs` is its watchdog.
   */
  take(req: EngineRequest, signal: AbortSignal, timeoutMs: number): boolean {
    if (this.closedAll || !req.live || req.kind !== 'shape' || !req.shapeId) return false;
    const s = this.shape(req.shapeId);
    if (s.fallback.longPolling) {
      this.closeStream(s);
      return false;
    }
    const superseded = s.pending;
    if (superseded) {
      // The engine gave up on that request (its own watchdog) and sent this one: the old one
      // is ended here, so the host does not keep it; the engine ignores an id it dropped.
      clearTimeout(superseded.timer);
      queueMicrotask(() => this.sink.fail(superseded.req, new RequestFailure('aborted', 'superseded by a newer live request')));
    }
    const timer = setTimeout(() => this.timedOut(s, req, timeoutMs), timeoutMs);
    s.pending = { req, timer };
    signal.addEventListener('abort', () => this.abandon(s, req), { once: true });
    const st = s.stream;
    if (st && st.key === streamKey(req) && st.handedOffset === offsetOf(req) && (st.ready || !st.done)) {
      // Not from inside the host's request loop: an answer makes the engine ask again.
      if (st.ready) queueMicrotask(() => this.deliver(s));
      return true;
    }
    this.closeStream(s);
    this.openWhenAllowed(s);
    return true;
  }

  /** A shape request that does not go over SSE (a catch-up, a probe): its stream is not needed. */
  other(req: EngineRequest): void {
    if (req.kind !== 'shape' || !req.shapeId) return;
    const s = this.shapes.get(req.shapeId);
    if (s) this.closeStream(s);
  }

  /** A response status seen for a shape request, SSE or not: a 409 lets SSE be tried again. */
  sawStatus(req: EngineRequest, status: number): void {
    if (status === 409 && req.shapeId) this.shapes.get(req.shapeId)?.fallback.reset();
  }

  /** Whether a shape has fallen back to long-polling (for tests and diagnostics). */
  longPolling(shapeId: string): boolean {
    return this.shapes.get(shapeId)?.fallback.longPolling ?? false;
  }

  closeAll(): void {
    this.closedAll = true;
    for (const s of this.shapes.values()) {
      if (s.pending) clearTimeout(s.pending.timer);
      s.pending = null;
      this.closeStream(s);
    }
    this.shapes.clear();
  }

  // ---- streams ----

  private shape(id: string): ShapeSse {
    let s = this.shapes.get(id);
    if (!s) this.shapes.set(id, (s = { fallback: new SseFallback(), stream: null, pending: null, notBefore: 0, openTimer: undefined }));
    return s;
  }

  private openWhenAllowed(s: ShapeSse): void {
    if (s.openTimer !== undefined) return;
    const wait = s.notBefore - Date.now();
    if (wait <= 0) return this.open(s);
    s.openTimer = setTimeout(() => {
      s.openTimer = undefined;
      if (s.pending && !s.stream) this.open(s);
    }, wait);
  }

  private open(s: ShapeSse): void {
    const req = s.pending!.req;
    const url = new URL(req.url);
    url.searchParams.set('live_sse', 'true');
    url.searchParams.set('experimental_live_sse', 'true'); // what older Electric versions read
    const offset = offsetOf(req);
    const st: Stream = {
      ctl: new AbortController(), key: streamKey(req), openedAt: Date.now(), done: false, handedOffset: offset, offset,
      headers: {}, batch: [], ready: null, globalLsn: '',
    };
    s.stream = st;
    this.counters.requests++;
    void this.run(s, st, url.toString(), { ...req.headers, accept: 'text/event-stream' }).catch((err: unknown) => {
      // Nothing of run() should throw; if it does, the request still gets an answer.
      this.ended(s, st, err);
    });
  }

  private async run(s: ShapeSse, st: Stream, url: string, headers: Record<string, string>): Promise<void> {
    let res: Response;
    try {
      res = await this.fetchFn(url, { method: 'GET', headers, signal: st.ctl.signal });
    } catch (err) {
      st.done = true;
      if (st.ctl.signal.aborted || s.stream !== st) return;
      this.counters.failedRequests++;
      s.stream = null;
      // Not a short stream: nothing answered. The engine decides (backoff, reconnect probe).
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      this.failPending(s, new RequestFailure('network', `GET ${url}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`));
      return;
    }
    st.headers = headersToObject(res.headers);
    const type = st.headers['content-type'] ?? '';
    if (res.status !== 200 || !type.startsWith('text/event-stream')) {
      // An error status, or an answer that is not a stream (a parked poll, a server without SSE):
      // handed to the engine whole, like the long-poll answer it then is.
      const body = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
      st.done = true;
      if (s.stream !== st || st.ctl.signal.aborted) return;
      s.stream = null;
      this.counters.bytesIn += body.byteLength;
      this.counters.bytesInWire += body.byteLength;
      this.answerPending(s, { status: res.status, headers: st.headers, body });
      return;
    }
    const parser = new SseParser();
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.counters.bytesIn += value.byteLength;
        this.counters.bytesInWire += value.byteLength;
        for (const ev of parser.push(value)) {
          if (ev.kind === 'comment') this.keepAlive(s, st);
          else this.message(s, st, ev.data);
        }
      }
      this.ended(s, st, undefined);
    } catch (err) {
      this.ended(s, st, err);
    }
  }

  private message(s: ShapeSse, st: Stream, data: string): void {
    st.batch.push(data);
    let control: unknown;
    let lsn: unknown;
    try {
      const headers = (JSON.parse(data) as { headers?: { control?: unknown; global_last_seen_lsn?: unknown } }).headers;
      control = headers?.control;
      lsn = headers?.global_last_seen_lsn;
    } catch {
      return; // handed to the engine with its batch, which refuses it (and asks again from its offset)
    }
    if (control !== 'up-to-date') return;
    if (typeof lsn === 'string') st.globalLsn = lsn;
    st.offset = offsetAfterBatch(st.offset, st.globalLsn);
    st.ready = (st.ready ?? []).concat(st.batch);
    st.batch = [];
    if (s.stream === st) this.deliver(s);
  }

  /** An idle stream's keep-alive: a pending request is answered as a long-poll timeout is. */
  private keepAlive(s: ShapeSse, st: Stream): void {
    if (s.stream !== st || !s.pending || st.ready || st.batch.length > 0) return;
    st.ready = [bareUpToDate(st)];
    this.deliver(s);
  }

  /** Hands the ready batches to the pending request, if both are there. */
  private deliver(s: ShapeSse): void {
    const st = s.stream;
    if (!st || !st.ready || !s.pending) return;
    const body = encoder.encode(`[${st.ready.join(',')}]`);
    st.ready = null;
    st.handedOffset = st.offset;
    const headers: Record<string, string> = { ...st.headers, 'content-type': 'application/json', 'electric-offset': st.offset, 'electric-up-to-date': '' };
    delete headers['content-length'];
    if (st.done) s.stream = null; // its last batch is out; the next request opens a new stream
    this.answerPending(s, { status: 200, headers, body });
  }

  private ended(s: ShapeSse, st: Stream, err: unknown): void {
    st.done = true;
    if (st.ctl.signal.aborted || s.stream !== st) return;
    const { waitMs, fellBack } = s.fallback.closed(Date.now() - st.openedAt, false);
    s.notBefore = Date.now() + waitMs;
    if (fellBack) {
      this.sink.warn('SSE streams keep ending within a second (a proxy that buffers or cuts them?): ' +
        'falling back to long-polling. A proxy must stream text/event-stream responses unbuffered.');
    }
    if (st.ready) return; // the next request takes it, then opens a new stream
    if (!s.pending) {
      s.stream = null;
      return;
    }
    if (fellBack || s.fallback.longPolling) {
      s.stream = null;
      const { req, timer } = s.pending;
      clearTimeout(timer);
      s.pending = null;
      this.sink.longPoll(req);
      return;
    }
    if (err === undefined) {
      // The server ended the stream (its SSE lifetime): answered as a long-poll that timed out,
      // so a request never outlives its watchdog across streams; the next one opens a new stream.
      st.ready = [bareUpToDate(st)];
      this.deliver(s);
      return;
    }
    // Cut (a reset, a restart): a new stream from the engine's offset; if the server is gone,
    // that request fails and the engine's reconnect logic takes over.
    s.stream = null;
    this.openWhenAllowed(s);
  }

  private timedOut(s: ShapeSse, req: EngineRequest, ms: number): void {
    if (s.pending?.req !== req) return;
    s.pending = null;
    this.counters.watchdogAborts++;
    this.counters.failedRequests++;
    this.closeStream(s);
    this.sink.fail(req, new RequestFailure('timeout', `GET ${req.url}: no event within ${ms} ms`));
  }

  private abandon(s: ShapeSse, req: EngineRequest): void {
    if (s.pending?.req !== req) return;
    clearTimeout(s.pending.timer);
    s.pending = null;
    this.closeStream(s);
  }

  private answerPending(s: ShapeSse, res: HostResponse): void {
    const p = s.pending;
    if (!p) return;
    clearTimeout(p.timer);
    s.pending = null;
    this.sink.answer(p.req, res);
  }

  private failPending(s: ShapeSse, failure: RequestFailure): void {
    const p = s.pending;
    if (!p) return;
    clearTimeout(p.timer);
    s.pending = null;
    this.sink.fail(p.req, failure);
  }

  private closeStream(s: ShapeSse): void {
    if (s.openTimer !== undefined) clearTimeout(s.openTimer);
    s.openTimer = undefined;
    const st = s.stream;
    s.stream = null;
    if (st && !st.done) st.ctl.abort();
  }
}
