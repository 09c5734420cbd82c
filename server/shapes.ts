// The shape registry and the harvest loop: keeps the change log fed (NOTIFY + a polling timer),
// hands every new transaction to every live shape, enforces log retention and evicts idle shapes.
import type { Upstream } from './upstream.js';
import { ChangeLog, CHANNEL, INSTALL_SQL, captureTable, assign, readAssigned, prune, userTables } from './capture.js';
import { type TableInfo, loadTable } from './catalog.js';
import { Shape, type ShapeDef, defKey } from './shape.js';
import { Reader } from './reader.js';
import type { AppTables } from './tables.js';

export interface ShapeServiceOptions {
  /** Transactions kept in the change log; a client behind that gets 409. Default 10 000. */
  logRetention?: number;
  /** Polling interval of the harvester besides NOTIFY, ms. Default 500. */
  pollMs?: number;
  /** Max bytes of JSON per response chunk. Default 10 MiB. */
  chunkBytes?: number;
  /** Shapes nobody asked for in this long are dropped, ms. Default 10 min. */
  shapeIdleMs?: number;
  /** The only tables served and captured. Default: none. */
  tables?: AppTables;
  /** Statement timeout of every query that carries a where clause, ms. Default 30 000. */
  queryTimeoutMs?: number;
  /** Live shapes one user may hold (dev mode: all tokenless callers together). Default 100. */
  maxShapesPerUser?: number;
  /** Live shapes in all. Default 2000. */
  maxShapes?: number;
  /** JSON held by one user's shapes (snapshots and logs), bytes. Default 512 MiB. */
  maxShapeBytesPerUser?: number;
  /** JSON held by all shapes, bytes. Default 2 GiB. */
  maxShapeBytes?: number;
  log?: (msg: string) => void;
}

/** A new shape over a limit: 429 for one user's limit, 503 for the service's. */
export class ShapeLimit extends Error {
  constructor(message: string, readonly status: 429 | 503) { super(message); }
}

export class ShapeService {
  readonly log: ChangeLog;
  readonly chunkBytes: number;
  private readonly byHandle = new Map<string, Shape>();
  private readonly current = new Map<string, Shape>();
  private readonly creating = new Map<string, Promise<Shape>>();
  private readonly captured = new Set<string>();
  private harvesting: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private stopped = false;
  private lastPrune = 0;
  private paused = false;
  private reader: Reader | null = null;
  /** Who asked for each live shape first: the limits count shapes by it. */
  private readonly creator = new Map<Shape, string>();

  /** Holds back change delivery (operations and tests: widen the snapshot/harvest race). */
  pause(): void { this.paused = true; }
  /** Ends a pause; resolves once a harvest pass after it has run. */
  resume(): Promise<void> {
    this.paused = false;
    for (const w of this.resumeWaiters.splice(0)) w();
    return this.nextPass();
  }
  private readonly resumeWaiters: (() => void)[] = [];

  /**
   * Harvests every change committed before this call (waiting out a pause): after it, each such
   * transaction has its tx offset at or below `log.head`.
   */
  async harvestCommitted(): Promise<void> {
    while (this.paused && !this.stopped) await new Promise<void>((r) => this.resumeWaiters.push(r));
    await this.nextPass();
  }

  /**
   * Resolves when a harvest pass that started after this call has finished (at once while
   * paused or stopped), so every transaction committed before the call is in the log. Waiting
   * for one pass, never for the harvest loop to fall idle: under a steady stream of writes the
   * loop never does, and a caller waiting for that would wait for as long as the writes last.
   */
  private nextPass(): Promise<void> {
    if (this.stopped || this.paused) return Promise.resolve();
    const want = this.passesStarted + 1;
    const done = new Promise<void>((resolve) => this.passWaiters.push({ want, resolve }));
    void this.harvestNow();
    return done;
  }
  private passesStarted = 0;
  private readonly passWaiters: { want: number; resolve: () => void }[] = [];
  /** Resolves the waiters whose pass has run (all of them when `all`: the loop stopped or failed). */
  private passDone(pass: number, all = false): void {
    for (let i = this.passWaiters.length - 1; i >= 0; i--) {
      const w = this.passWaiters[i];
      if (all || w.want <= pass) { this.passWaiters.splice(i, 1); w.resolve(); }
    }
  }
  lastError: Error | null = null;

  constructor(readonly db: Upstream, readonly opts: ShapeServiceOptions = {}) {
    this.log = new ChangeLog(opts.logRetention ?? 10000);
    this.chunkBytes = opts.chunkBytes ?? 10 * 1024 * 1024;
  }

  async start(): Promise<void> {
    await this.db.exec(INSTALL_SQL);
    const [{ last_tx }] = await this.db.query<{ last_tx: string }>('SELECT last_tx::text FROM electric_meta');
    this.log.head = Number(last_tx);
    this.log.trimmedTx = this.log.head;
    this.reader = await Reader.setup(this.db, this.opts.queryTimeoutMs ?? 30000, (l) => (this.opts.log ?? console.error)(l));
    const existing = new Set((await userTables(this.db)).map((t) => `${t.schema}.${t.name}`));
    for (const t of this.opts.tables?.list() ?? []) {
      if (existing.has(`${t.schema}.${t.name}`)) await this.ensureCaptured(t.schema, t.name);
    }
    this.unlisten = await this.db.listen(CHANNEL, () => { void this.harvestNow(); });
    const poll = this.opts.pollMs ?? 500;
    this.timer = setInterval(() => { void this.harvestNow(); this.evictIdle(); }, poll);
    this.timer.unref();
    await this.nextPass();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.unlisten) await this.unlisten().catch(() => {});
    if (this.harvesting) await this.harvesting.catch(() => {});
    for (const s of this.byHandle.values()) s.wake();
  }

  async ensureCaptured(schema: string, name: string): Promise<void> {
    const k = `${schema}.${name}`;
    if (this.captured.has(k)) return;
    await captureTable(this.db, schema, name);
    this.captured.add(k);
  }

  /**
   * Harvests until no committed change is left; concurrent calls share the running one. Each
   * pass assigns and reads what has committed by its start; a call during a pass asks for one
   * more. Fire-and-forget: to wait for the changes committed so far, use nextPass().
   */
  harvestNow(): Promise<void> {
    if (this.stopped || this.paused) return Promise.resolve();
    if (this.harvesting) { this.again = true; return this.harvesting; }
    this.harvesting = (async () => {
      try {
        do {
          this.again = false;
          const pass = ++this.passesStarted;
          // Someone waits for this pass to cover their commits: take the assigner's lock even
          // if another process holds it (try-lock otherwise, and leave it to that process).
          await assign(this.db, { wait: this.passWaiters.length > 0 });
          const txs = await readAssigned(this.db, this.log.head);
          if (txs.length) {
            this.log.append(txs);
            await this.dispatch();
            const keep = this.opts.logRetention ?? 10000;
            if (this.log.head - this.lastPrune >= Math.max(1, keep / 10)) {
              this.lastPrune = this.log.head;
              await prune(this.db, this.log.head - keep);
            }
          }
          this.lastError = null;
          this.passDone(pass);
        } while (this.again && !this.stopped);
      } catch (e) {
        this.lastError = e as Error;
        this.opts.log?.(`harvest failed: ${(e as Error).message}`);
      } finally {
        this.harvesting = null;
        // Stopped or failed (lastError tells the waiters): nobody waits for a pass that will not run.
        this.passDone(this.passesStarted, true);
      }
    })();
    return this.harvesting;
  }

  private async dispatch(): Promise<void> {
    const shapes = [...this.byHandle.values()].filter((s) => !s.retired && s.snapshotChunks.length > 0);
    await Promise.all(shapes.map((s) => s.catchUp(this.db, () => this.log.since(s.processedTx))));
    for (const s of shapes) {
      if (this.log.trimmedTx > s.trimmedTx) s.trim(this.log.trimmedTx);
      if (s.retired) this.forget(s);
      else if (s.trimmedTx > s.startTx && this.current.get(s.key) === s) this.current.delete(s.key);
    }
  }

  private forget(s: Shape): void {
    if (this.current.get(s.key) === s) this.current.delete(s.key);
    this.creator.delete(s);
    this.opts.log?.(`shape ${s.handle} retired: ${s.retired}`);
  }

  byHandleGet(handle: string): Shape | undefined { return this.byHandle.get(handle); }

  private readonly tableCache = new Map<string, { at: number; info: TableInfo }>();
  /** Catalog info, fresh unless a copy younger than maxAgeMs is at hand. */
  async table(schema: string, name: string, maxAgeMs = 0): Promise<TableInfo> {
    const k = `${schema}.${name}`;
    const hit = this.tableCache.get(k);
    if (hit && Date.now() - hit.at <= maxAgeMs) return hit.info;
    const info = await loadTable(this.db, schema, name);
    this.tableCache.set(k, { at: Date.now(), info });
    return info;
  }

  /** The current shape for a definition, created (with its snapshot) if needed. */
  async getShape(def: ShapeDef, table: TableInfo, who = ''): Promise<Shape> {
    const key = defKey(def);
    const cur = this.current.get(key);
    if (cur && !cur.retired && cur.table.signature === table.signature) return cur;
    if (cur) { cur.retire('schema change'); this.forget(cur); }
    let p = this.creating.get(key);
    if (!p) {
      this.checkLimits(who);
      p = this.createShape(def, table, who).finally(() => this.creating.delete(key));
      this.creating.set(key, p);
    }
    return p;
  }

  private checkLimits(who: string): void {
    const perUser = this.opts.maxShapesPerUser ?? 100;
    const total = this.opts.maxShapes ?? 2000;
    const bytesPerUser = this.opts.maxShapeBytesPerUser ?? 512 * 1024 * 1024;
    const totalBytes = this.opts.maxShapeBytes ?? 2048 * 1024 * 1024;
    const released = `shapes unused for ${Math.round((this.opts.shapeIdleMs ?? 600000) / 1000)} s are released`;
    const live = this.creator.size + this.creating.size;
    let mine = 0, myBytes = 0, allBytes = 0;
    for (const [shape, w] of this.creator) {
      allBytes += shape.bytes;
      if (w === who) { mine++; myBytes += shape.bytes; }
    }
    if (live >= total || allBytes >= totalBytes) {
      throw new ShapeLimit(`the service holds its limit of ${total} shapes or ${totalBytes} bytes of shape data; retry later`, 503);
    }
    if (mine >= perUser) throw new ShapeLimit(`this user holds its limit of ${perUser} shapes; ${released}`, 429);
    if (myBytes >= bytesPerUser) throw new ShapeLimit(`this user's shapes hold their limit of ${bytesPerUser} bytes; ${released}`, 429);
  }

  private async createShape(def: ShapeDef, table: TableInfo, who: string): Promise<Shape> {
    await this.ensureCaptured(def.schema, def.table);
    await this.reader!.grant(this.db, def.schema, def.table);
    let inner: TableInfo | null = null;
    if (def.sub) {
      await this.ensureCaptured(def.sub.schema, def.sub.table);
      await this.reader!.grant(this.db, def.sub.schema, def.sub.table);
      inner = await this.table(def.sub.schema, def.sub.table);
    }
    // Anything committed before the snapshot but not yet harvested is filtered by xid, so
    // harvesting first is not needed for correctness; it just keeps the replay short.
    await this.nextPass();
    const shape = new Shape(def, table, this.reader!, inner);
    await shape.takeSnapshot(this.db, this.log.head, this.chunkBytes);
    if (this.log.trimmedTx > shape.startTx) {
      // Retention dropped transactions this shape still needed while the snapshot ran.
      throw new Error('change log retention too small: transactions were dropped during a snapshot');
    }
    this.byHandle.set(shape.handle, shape);
    this.current.set(shape.key, shape);
    this.creator.set(shape, who);
    await shape.catchUp(this.db, () => this.log.since(shape.processedTx));
    return shape;
  }

  /** Forces a new handle for every shape of a table (DELETE /v1/shape). */
  deleteShapes(schema: string, name: string, handle?: string, userId: string | null = null): number {
    let n = 0;
    for (const s of this.byHandle.values()) {
      if (s.def.schema === schema && s.def.table === name && (!handle || s.handle === handle) && !s.retired
          && (userId === null || s.def.ownerValue === userId || s.def.ownerColumn === null)) {
        s.retire('deleted');
        this.forget(s);
        n++;
      }
    }
    return n;
  }

  private evictIdle(): void {
    const idle = this.opts.shapeIdleMs ?? 10 * 60 * 1000;
    const now = Date.now();
    for (const [h, s] of this.byHandle) {
      if (now - s.lastUsed > idle || (s.retired && now - s.lastUsed > 60000)) {
        if (!s.retired) s.retire('idle');
        this.forget(s);
        this.byHandle.delete(h);
      }
    }
  }

  get shapeCount(): number { return this.byHandle.size; }
}
