// Why requests are failing right now, as the engine host sees them (status `network` and
// `error`, docs/client-api.md "Status"): plain data the host keeps and puts in every status.

import type { EngineRequest, HostResponse } from './transport.js';

/**
 * Why requests are failing right now, as the host sees them (null once one succeeds):
 * `offline` (the runtime says there is no network), `unreachable` (no answer: connection
 * refused or reset, DNS, a watchdog timeout), `server_error` (5xx; `count` in a row).
 * `at`: when it was last seen (ms since the epoch).
 */
export interface RequestProblem {
  code: 'offline' | 'unreachable' | 'server_error';
  message: string;
  count: number;
  at: number;
}

/** A request without an answer (refused, reset, DNS, watchdog), or the network went away. */
export function noAnswer(prev: RequestProblem | null, code: 'offline' | 'unreachable', message: string): RequestProblem {
  return { code, message, count: prev?.code === code ? prev.count + 1 : 1, at: Date.now() };
}

/** A 5xx answer: `POST /v1/changes: HTTP 503: <the body's message>`. */
export function serverError(prev: RequestProblem | null, req: EngineRequest, res: HostResponse): RequestProblem {
  const count = prev?.code === 'server_error' ? prev.count + 1 : 1;
  return { code: 'server_error', message: `${req.method} ${pathOf(req.url)}: ${httpReason(res)}`, count, at: Date.now() };
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** "HTTP 503: <the body's message>" for a failed response. */
function httpReason(res: HostResponse): string {
  let detail = '';
  try {
    const text = new TextDecoder().decode(res.body.subarray(0, 500));
    try {
      const j = JSON.parse(text) as { message?: unknown; error?: unknown };
      const m = j.message ?? j.error;
      detail = typeof m === 'string' ? m : text;
    } catch {
      detail = text;
    }
  } catch {
    detail = '';
  }
  detail = detail.trim().slice(0, 200);
  return `HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
}
