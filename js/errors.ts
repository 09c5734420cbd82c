// The one error class of the client (STYLE.md #10): engine results of the form
// {ok:false, code, message} become an ElectroliteError with a stable `code`; across a
// postMessage boundary it travels as data (toJSON) and is rebuilt with fromJSON.

/** Codes shared with the engine (src/status.h) plus the client-side ones. */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'conflict'
  | 'corruption'
  | 'io'
  | 'protocol'
  | 'auth'
  | 'storage_full'
  | 'read_only'
  | 'schema'
  | 'internal'
  // client-side codes
  | 'closed'
  | 'network'
  | 'timeout'
  // why syncing fails (status.error, syncNow): no network, no answer, 5xx answers
  | 'offline'
  | 'unreachable'
  | 'server_error';

const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'invalid_argument', 'not_found', 'conflict', 'corruption', 'io', 'protocol', 'auth',
  'storage_full', 'read_only', 'schema', 'internal', 'closed', 'network', 'timeout',
  'offline', 'unreachable', 'server_error',
]);

export interface ErrorData {
  name: 'ElectroliteError';
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class ElectroliteError extends Error {
  override readonly name = 'ElectroliteError' as const;
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = KNOWN_CODES.has(code) ? code : 'internal';
    if (options?.details !== undefined) this.details = options.details;
  }

  toJSON(): ErrorData {
    const data: ErrorData = { name: this.name, code: this.code, message: this.message };
    if (this.details !== undefined) data.details = this.details;
    return data;
  }

  static fromJSON(data: { code?: string; message?: string; details?: unknown }): ElectroliteError {
    return new ElectroliteError((data.code ?? 'internal') as ErrorCode, data.message ?? 'unknown error', {
      details: data.details,
    });
  }

  /** Wraps anything thrown into an ElectroliteError (keeps one if it already is one). */
  static from(err: unknown, code: ErrorCode = 'internal'): ElectroliteError {
    if (err instanceof ElectroliteError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new ElectroliteError(code, message, { cause: err });
  }
}

/** An engine result: `{"ok":true,...}` or `{"ok":false,"code","message"}`. */
export type EngineResult<T> = T & { ok: true };

/**
 * Parses an engine result string and throws ElectroliteError when it is not ok.
 * The one place where engine errors cross into JS.
 */
export function unwrap<T extends object>(json: string, what: string): EngineResult<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new ElectroliteError('internal', `${what}: engine returned invalid JSON`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ElectroliteError('internal', `${what}: engine returned ${typeof parsed}`);
  }
  const r = parsed as { ok?: boolean; code?: string; message?: string };
  if (r.ok !== true) {
    throw new ElectroliteError((r.code ?? 'internal') as ErrorCode, r.message ?? `${what} failed`);
  }
  return parsed as EngineResult<T>;
}
