// metrics().open: where an open's time went, as the host that opened the engine saw it. The
// module's compile and the storage's open overlap (both start with the open), so the phases
// are times since the open began, not a sum; the engine's own open follows both.

export interface OpenPhases {
  /** A browser worker: from its creation to the open request (script fetch, parse, start). */
  workerStartMs?: number;
  /** The wasm module compiled and instantiated. */
  moduleReadyMs?: number;
  /** The storage's files opened (OPFS handles, an IndexedDB load, a Node file). */
  storageReadyMs?: number;
  /** The engine's open began: the module, the storage and the default schema's files all in. */
  engineStartedMs?: number;
  /** The engine's open itself (SQLite, the schema check or image, the shapes' state): a duration. */
  engineMs?: number;
}

/** ms since `t0` (performance.now()), to 0.1 ms. */
export function since(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}

/**
 * An open's clock, as each host (the in-process one, the browser worker) keeps it: `mark` a
 * phase as ms since the open began; the module's readiness is marked when it resolves.
 */
export class OpenClock {
  readonly phases: OpenPhases;
  private readonly t0 = performance.now();

  constructor(module: Promise<unknown>, phases: OpenPhases = {}) {
    this.phases = phases;
    void module.then(() => this.mark('moduleReadyMs'), () => undefined);
  }

  mark(phase: 'moduleReadyMs' | 'storageReadyMs' | 'engineStartedMs'): void {
    this.phases[phase] = since(this.t0);
  }
}
