// When the page has shown its first screen, told to the worker so that a split build's second
// wasm part (js/wasm-deferred.ts) is fetched after it, never competing with it. The signal is
// the first frame painted after a query was answered while no other query is in flight: a
// plain `db.query` page renders its first result before that frame; a React app's live query
// (which asks a second query right after the first answer) commits its rows before it. No
// configuration: the page's port watches its own query calls (worker-port.ts). A page that
// never queries, or is hidden (no frames), gets the part from the worker's fallback timer.

/** Runs `fn` in the first task after the next frame was painted (or soon, without frames). */
function afterNextPaint(fn: () => void): void {
  const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => unknown }).requestAnimationFrame;
  // A task queued from the frame's callback runs once that frame's rendering (paint) is done.
  if (typeof raf === 'function') raf(() => setTimeout(fn, 0));
  else setTimeout(fn, 0);
}

export class FirstScreen {
  #inFlight = 0;
  #armed = false;
  #done = false;
  readonly #shown: () => void;

  /** `shown` is called once, when the first screen has been painted. */
  constructor(shown: () => void) {
    this.#shown = shown;
  }

  /** A call went to the worker (only queries count). */
  started(method: string): void {
    if (method === 'query' && !this.#done) this.#inFlight++;
  }

  /** A call's answer (or failure) arrived. */
  answered(method: string): void {
    if (method !== 'query' || this.#done) return;
    this.#inFlight--;
    if (this.#armed) return;
    this.#armed = true;
    afterNextPaint(() => {
      this.#armed = false;
      // A query asked meanwhile (the next step of the first screen): its answer re-arms.
      if (this.#done || this.#inFlight > 0) return;
      this.#done = true;
      this.#shown();
    });
  }
}
