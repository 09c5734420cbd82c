// The typed surface of the WebAssembly module (dist/wasm/electrolite.mjs):
// exactly the Embind functions of docs/engine-api.md, as bindings/ exports them.
//
// Conventions (docs/engine-api.md "Module"):
// - `h` is the integer engine handle returned by `open`.
// - Times (`nowMs`) and request ids are JS numbers.
// - Structured arguments and results are JSON text. Results that can fail are
//   `{"ok":true,...}` or `{"ok":false,"code":"<code>","message":"..."}`; an unknown
//   handle is an `invalid_argument` error of the same shape.
// - Binary bodies are `Uint8Array` (a JS string is accepted too and sent as UTF-8).

/** JSON text of `{ok:true, ...}` or `{ok:false, code, message}`. */
export type ResultJson = string;

export interface EngineModule {
  // ---- lifecycle ----
  /** `{ok, handle}`. `optionsJson`: EngineOptions (docs/engine-api.md). */
  open(optionsJson: string): ResultJson;
  /** `{ok}`; the handle is invalid afterwards. */
  close(h: number): ResultJson;

  // ---- sans-IO loop ----
  handleResponse(
    h: number,
    nowMs: number,
    requestId: number,
    status: number,
    headersJson: string,
    body: Uint8Array | string,
  ): ResultJson;
  handleNetworkError(h: number, nowMs: number, requestId: number, message: string): ResultJson;
  handleTimeout(h: number, nowMs: number): ResultJson;
  setOnline(h: number, online: boolean, nowMs: number): ResultJson;
  setToken(h: number, token: string, nowMs: number): ResultJson;
  /** `db.syncNow()`: upload the outbox and retry anything in backoff now. */
  syncNow(h: number, nowMs: number): ResultJson;
  /** `""` when there is nothing to send, else the Request JSON (never has `ok`). */
  pollRequest(h: number, nowMs: number): string;
  /** Raw (possibly zstd) body of a request with `hasBody`; a copy, not a view of wasm memory. */
  requestBody(h: number, requestId: number): Uint8Array;
  /** Absolute ms of the next deadline; -1 = none. */
  pollTimeout(h: number): number;
  /** `""` when there is no event, else the Event JSON. */
  pollEvent(h: number): string;

  // ---- shapes ----
  /** `{ok, shapeId}`. `shapeJson`: `{table, where?, params?, columns?, replica?, id?}`. */
  subscribe(h: number, shapeJson: string): ResultJson;
  unsubscribe(h: number, shapeId: string): ResultJson;
  /** `{ok, subsetId}`. `subsetJson`: `{id?, where?, params?, orderBy?, limit?, offset?}` (shape with log changes_only). */
  loadSubset(h: number, shapeId: string, subsetJson: string, nowMs: number): ResultJson;
  /** `{ok, removed}`. */
  releaseSubset(h: number, subsetId: string): ResultJson;
  /** `{ok, subsets: [{id, shapeId, table, state, rows, where?, params?, orderBy?, limit?, offset?}]}`. */
  subsets(h: number): ResultJson;
  /** Status JSON: connection, sync, isUpToDate, lastSyncedAt, pendingChanges, error, shapes. */
  status(h: number): string;

  // ---- local data ----
  /** `{ok, columns, rows, tables}`. */
  query(h: number, sql: string, paramsJson: string): ResultJson;
  /** `{ok, changes, tables}`. Writes take the host clock as an optional trailing `nowMs`. */
  exec(h: number, sql: string, paramsJson: string, nowMs?: number): ResultJson;
  /** `{ok, mutationId}`. */
  insert(h: number, table: string, rowJson: string, nowMs?: number): ResultJson;
  update(h: number, table: string, keyJson: string, patchJson: string, nowMs?: number): ResultJson;
  delete(h: number, table: string, keyJson: string, nowMs?: number): ResultJson;
  begin(h: number): ResultJson;
  commit(h: number): ResultJson;
  rollback(h: number): ResultJson;
  pendingMutations(h: number): string;
  discardMutation(h: number, mutationId: string): ResultJson;
  metrics(h: number, nowMs: number): string;

  // ---- users, custom resolvers, prefetching, snapshots, sign-out ----
  setUserId(h: number, userId: string): ResultJson;
  setResolver(h: number, table: string, registered: boolean): ResultJson;
  resolveConflict(h: number, resolveId: string, rowJson: string, nowMs: number): ResultJson;
  prefetch(h: number, table: string, keyJson: string, nowMs: number): ResultJson;
  release(h: number, table: string, keyJson: string, nowMs: number): ResultJson;
  /** The zstd snapshot, or the error's ResultJson. */
  exportSnapshot(h: number): Uint8Array | ResultJson;
  openImport(optionsJson: string, snapshot: Uint8Array): ResultJson;
  /** open() of a new database from the default schema's image when it fits (src/schema_image.h). */
  openWithSchemaImage(optionsJson: string, image: Uint8Array): ResultJson;
  clear(h: number): ResultJson;
  zstdDecompress(body: Uint8Array): Uint8Array | ResultJson;

  // ---- loading (js/wasm-loader.ts, not Embind) ----
  /**
   * Resolves once a split build's second part (electrolite.deferred.wasm) is loaded; starts
   * loading it if it has not started. Resolves at once for an unsplit build. Rejects with an
   * ElectroliteError (`io`) if it cannot be loaded.
   */
  deferredReady?(): Promise<void>;
  /** Resolves once the second part is loaded, without starting the load. */
  deferredLoaded?(): Promise<void>;

  // ---- benchmark only (bench/ingest.mjs); not part of the engine API ----
  /**
   * Raw SQLite prepared inserts in this same wasm build: opens `dbName` on the memory
   * VFS, runs `setupSql`, steps `insertSql` once per row of `packedRows` (format of
   * wasm/bench/raw_insert.h), committing every `rowsPerTxn` rows. `{ok, rows}`.
   */
  benchRawInsert(
    dbName: string,
    setupSql: string,
    insertSql: string,
    columnCount: number,
    rowsPerTxn: number,
    packedRows: Uint8Array,
  ): ResultJson;
}

/** What the loader may hand the Emscripten factory (the subset we use). */
export interface EngineModuleOverrides {
  /** Instantiates the module ourselves (compiled once, instantiated per load). */
  instantiateWasm?: (
    imports: WebAssembly.Imports,
    receive: (instance: WebAssembly.Instance, module?: WebAssembly.Module) => void,
  ) => Record<string, never>;
  locateFile?: (path: string, scriptDirectory: string) => string;
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

/** The default export of dist/wasm/electrolite.mjs (`createElectroliteModule`). */
export type EngineModuleFactory = (overrides?: EngineModuleOverrides) => Promise<EngineModule>;
