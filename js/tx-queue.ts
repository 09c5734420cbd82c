// One local transaction at a time on a client: a transaction takes its place in line
// synchronously (so a call made right after `transaction()` waits for it), and every other
// call waits while one holds, or is queued for, the database.

export class TxQueue {
  private pending = 0;
  private tail: Promise<void> = Promise.resolve();

  /**
   * Takes a place in line now. `ready` resolves when the previous holder is done; call
   * `release()` exactly once when this holder is done (also when it failed).
   */
  enter(): { ready: Promise<void>; release: () => void } {
    this.pending++;
    const prev = this.tail;
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    this.tail = prev.then(() => mine);
    return {
      ready: prev,
      release: () => {
        this.pending--;
        done();
      },
    };
  }

  /** Resolves once no transaction holds or waits for the database. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
