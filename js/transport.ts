// The transport: performs exactly the requests the engine asks for (docs/engine-api.md
// Request JSON) and hands back status, lower-cased headers and the raw body. It makes no
// protocol decisions (retries, backoff, offsets are the engine's); network behaviour is a
// stack of small fetch decorators (STYLE.md #6).

import { decodeBody, type ZstdDecoder } from './content-decoding.js';

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** A request as the engine emits it. */
export interface EngineRequest {
  id: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  hasBody: boolean;
  live: boolean;
  timeoutMs: number;
  kind: 'shape' | 'upload' | string;
  shapeId?: string;
}

export interface HostResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Why a request ended without a response. */
export type FailureKind = 'network' | 'timeout' | 'aborted';

export class RequestFailure extends Error {
  override readonly name = 'RequestFailure';
  constructor(readonly kind: FailureKind, message: string) {
    super(message);
  }
}

/** Bodies withWatchdog already read, by their Response (whose own body is then spent). */
const readBodies = new WeakMap<Response, Uint8Array>();

/**
 * Aborts a request that has not produced a whole response within `timeoutMs`
 * (the engine's per-request timeout; the live long-poll watchdog is > 20 s).
 * The timer covers the body too: a server that stalls mid-body is cut off.
 */
export function withWatchdog(next: FetchFn, timeoutMs: number, onFire?: () => void): FetchFn {
  return async (input, init) => {
    if (!(timeoutMs > 0)) return next(input, init);
    const ctl = new AbortController();
    const outer = init.signal;
    const onOuterAbort = () => ctl.abort(outer?.reason);
    if (outer) {
      if (outer.aborted) ctl.abort(outer.reason);
      else outer.addEventListener('abort', onOuterAbort, { once: true });
    }
    let fired = false;
    const timer = setTimeout(() => {
      fired = true;
      onFire?.();
      ctl.abort(new RequestFailure('timeout', `no response within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      const res = await next(input, { ...init, signal: ctl.signal });
      // Read the whole body under the same watchdog, so a stalled body is cut off too.
      const body = new Uint8Array(await res.arrayBuffer());
      // performRequest takes these bytes (the response's own body is spent). No new Response
      // around them: constructing one costs more than the rest of a response's handling here.
      readBodies.set(res, body);
      return res;
    } catch (err) {
      if (fired) throw new RequestFailure('timeout', `${init.method ?? 'GET'} ${input}: no response within ${timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  };
}

/** Classifies thrown errors: aborts by us, watchdog timeouts, everything else is `network`. */
export function withFailureKinds(next: FetchFn): FetchFn {
  return async (input, init) => {
    try {
      return await next(input, init);
    } catch (err) {
      if (err instanceof RequestFailure) throw err;
      if (init.signal?.aborted) throw new RequestFailure('aborted', 'aborted');
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message;
      throw new RequestFailure('network', `${init.method ?? 'GET'} ${input}: ${(err as Error).message}${detail ? ` (${detail})` : ''}`);
    }
  };
}

/** Counts requests and bytes in/out for db.metrics(). */
export interface TransportCounters {
  requests: number;
  /** Requests that got no response, or a 5xx one. */
  failedRequests: number;
  bytesIn: number;
  /** Response bytes as they crossed the wire (compressed when the server compressed). */
  bytesInWire: number;
  bytesOut: number;
  watchdogAborts: number;
  /** Responses with a 5xx status (also counted in failedRequests). */
  serverErrors: number;
  /** Time spent inside the engine's handleResponse (decode + apply), ms. */
  engineMs: number;
}

/** The engine's own count of what its uploads sent, before and after compression. */
export interface UploadBytes {
  bytes?: number;
  compressedBytes?: number;
}

/** Data transfer before and after compression, both directions (metrics().dataTransfer). */
export function dataTransferOf(c: TransportCounters, up: UploadBytes) {
  return {
    bytesIn: c.bytesIn,
    bytesInWire: c.bytesInWire,
    bytesOut: up.bytes ?? c.bytesOut,
    bytesOutWire: c.bytesOut,
    savedBytes: Math.max(0, c.bytesIn - c.bytesInWire) + Math.max(0, (up.bytes ?? 0) - (up.compressedBytes ?? 0)),
  };
}

export function newCounters(): TransportCounters {
  return { requests: 0, failedRequests: 0, serverErrors: 0, bytesIn: 0, bytesInWire: 0, bytesOut: 0, watchdogAborts: 0, engineMs: 0 };
}

export function headersToObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

/**
 * Performs one engine request: every header the engine set goes out unchanged, every
 * response header comes back (lower-cased), the body is returned raw.
 */
export async function performRequest(
  fetchFn: FetchFn,
  req: EngineRequest,
  body: Uint8Array | undefined,
  signal: AbortSignal,
  counters: TransportCounters,
  zstd?: ZstdDecoder,
): Promise<HostResponse> {
  const timeoutMs = req.timeoutMs > 0 ? req.timeoutMs : 0;
  const stack = withFailureKinds(withWatchdog(fetchFn, timeoutMs, () => counters.watchdogAborts++));
  counters.requests++;
  if (body) counters.bytesOut += body.byteLength;
  try {
    const res = await stack(req.url, {
      method: req.method,
      headers: req.headers,
      body: body && body.byteLength > 0 ? (body as unknown as BodyInit) : undefined,
      signal,
    });
    const raw = readBodies.get(res) ?? new Uint8Array(await res.arrayBuffer());
    const headers = headersToObject(res.headers);
    let decoded;
    try {
      // Only data bodies: an error page keeps its status even if it cannot be decoded.
      decoded = res.status === 200 ? decodeBody(headers, raw, zstd) : { body: raw, wireBytes: raw.byteLength };
    } catch (err) {
      throw new RequestFailure('network', `${req.method} ${req.url}: ${(err as Error).message}`);
    }
    counters.bytesIn += decoded.body.byteLength;
    counters.bytesInWire += decoded.wireBytes;
    return { status: res.status, headers, body: decoded.body };
  } catch (err) {
    counters.failedRequests++;
    throw err;
  }
}
