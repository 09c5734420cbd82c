// Engine: the sans-IO Electrolite sync engine (docs/engine-api.md).
//
// Inputs arrive through Handle*/Set*/app calls with `now_ms` as an argument;
// outputs are polled (PollRequest, PollTimeout, PollEvent). The engine never
// reads a clock, sleeps or performs I/O except through SQLite's VFS.
//
// Results that the contract defines as JSON (`{"ok":true,...}` or
// `{"ok":false,"code","message"}`) are returned as std::string so bindings/
// only convert types. Not thread-safe: one engine per worker.
#ifndef ELECTROLITE_SRC_ENGINE_H_
#define ELECTROLITE_SRC_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "env.h"
#include "status.h"

namespace electrolite {

class Store;

// Lower-cased header name -> value.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct BackoffOptions {
  int64_t initial_ms = 1000;
  int64_t max_ms = 32000;
  double multiplier = 2.0;
};

// Parsed EngineOptions JSON (docs/engine-api.md "Lifecycle").
struct EngineOptions {
  std::string path = ":memory:";
  std::string vfs;  // "" = SQLite's default VFS
  // Persistent storage's durability (docs/engine-api.md "Durability"): "" = leave SQLite's
  // defaults (memory databases); "full" or "normal" = exclusive locking, WAL, this
  // `synchronous` level, bounded WAL, temp files in memory.
  std::string synchronous;
  std::string base_url = "http://127.0.0.1:5133";
  std::string client_id;
  int64_t now_ms = 0;
  std::string schema_sql;     // CREATE TABLE statements
  std::string policies_json;  // policies.json object ("" = none)
  std::string tables_json;    // [TableDecl] ("" = none); extends/overrides schema_sql
  bool auto_subscribe = true;
  int batch_size = 100;
  int64_t upload_interval_ms = 5000;
  int compress_threshold = 4096;
  int64_t live_timeout_ms = 45000;  // client watchdog for live long-polls
  BackoffOptions backoff;
  bool debug = false;
  // Security, prefetching, retention, snapshots.
  std::string user_id;                // rows whose user_column differs are dropped ("" = off)
  std::string user_column = "user_id";
  int64_t prefetch_grace_ms = 30000;  // released children stay this long
  int64_t retention_interval_ms = 60000;
  int retention_batch = 200;
  std::string import_snapshot;        // not from JSON: a db.export() image to restore at open
  std::string schema_image;           // not from JSON: pages for a new database (schema_image.h)

  static Result<EngineOptions> FromJson(std::string_view json);
};

// The next HTTP request the host should perform.
struct Request {
  int64_t id = 0;
  std::string method = "GET";
  std::string url;
  Headers headers;
  bool has_body = false;
  bool live = false;
  int64_t timeout_ms = 0;
  std::string kind = "shape";  // "shape" | "upload"
  std::string shape_id;

  std::string ToJson() const;
};

class Engine {
 public:
  // Opens (creating if needed) the database, declares the tables, resumes
  // persisted shapes and, with autoSubscribe, subscribes one shape per table.
  // `env` may be null (a SeededEnv is used); otherwise it must outlive the engine.
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options, Env* env = nullptr);
  static Result<std::unique_ptr<Engine>> Open(std::string_view options_json, Env* env = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- sans-IO loop ----
  // `body` is the raw (already content-decoded) response body. A protocol
  // error applies nothing and is also reported as an `error` event.
  Status HandleResponse(int64_t now_ms, int64_t request_id, int status, const Headers& headers,
                        std::string_view body);
  // Same, with headers as a JSON object of lower-cased names -> string values.
  Status HandleResponse(int64_t now_ms, int64_t request_id, int status,
                        std::string_view headers_json, std::string_view body);
  void HandleNetworkError(int64_t now_ms, int64_t request_id, std::string_view message);
  void HandleTimeout(int64_t now_ms);
  void SetOnline(bool online, int64_t now_ms);
  void SetToken(std::string_view token, int64_t now_ms);
  // The signed-in user (EngineOptions::user_id) when it becomes known after
  // open, e.g. from a token that arrived later; "" = unknown (checks off).
  void SetUserId(std::string_view user_id);
  // Upload pending writes and retry waiting shapes now (db.syncNow()).
  void SyncNow(int64_t now_ms);
  std::optional<Request> PollRequest(int64_t now_ms);
  // "" or the Request JSON.
  std::string PollRequestJson(int64_t now_ms);
  // Raw (possibly zstd) body of a request with has_body; "" if unknown.
  std::string RequestBody(int64_t request_id);
  // Absolute ms of the next deadline, -1 = none.
  int64_t PollTimeout() const;
  // "" or the next event JSON.
  std::string PollEvent();

  // ---- shapes ----
  // {ok, shapeId}. shape_json: {table, where?, params?, columns?, replica?, id?}.
  std::string Subscribe(std::string_view shape_json, int64_t now_ms = 0);
  std::string Unsubscribe(std::string_view shape_id);
  std::string StatusJson() const;

  // ---- on-demand sync (subset.h): subsets of a `log: "changes_only"` shape ----
  // {ok, subsetId}. subset_json: {id?, where?, params?, orderBy?, limit?, offset?}.
  // The rows arrive with a `subset` event {subsetId, shapeId, state:"loaded", rows}.
  std::string LoadSubset(std::string_view shape_id, std::string_view subset_json,
                         int64_t now_ms = 0);
  // {ok, removed}: one hold of the subset ends (LoadSubset adds one); at the last, the
  // rows only this subset held leave the table.
  std::string ReleaseSubset(std::string_view subset_id);
  // {ok, subsets: [{id, shapeId, state, rows, ...definition}]}.
  std::string SubsetsJson() const;

  // ---- local data ----
  // {ok, columns, rows, tables}.
  std::string Query(std::string_view sql, std::string_view params_json);
  // {ok, changes, tables}. Writes to synced tables go through the overlay +
  // outbox (engine_write.cc). `now_ms` < 0: the latest time the engine saw.
  std::string Exec(std::string_view sql, std::string_view params_json, int64_t now_ms = -1);
  // Write path: {ok, mutationId} (mutationId null: nothing changed).
  std::string Insert(std::string_view table, std::string_view row_json, int64_t now_ms = -1);
  std::string Update(std::string_view table, std::string_view key_json,
                     std::string_view patch_json, int64_t now_ms = -1);
  std::string Delete(std::string_view table, std::string_view key_json, int64_t now_ms = -1);
  std::string Begin();
  std::string Commit();
  std::string Rollback();
  // {ok, mutations: [{id, table, op, key, value, base, localMs, status, reason?, txid?}]}.
  std::string PendingMutations();
  std::string DiscardMutation(std::string_view mutation_id);
  // Custom conflict policy: with a resolver registered for `table`, a server
  // change under a pending local edit emits `resolve {id, table, key, local,
  // remote}`, answered by ResolveConflict(id, resolvedRow).
  std::string SetResolver(std::string_view table, bool registered);
  std::string ResolveConflict(std::string_view resolve_id, std::string_view row_json,
                              int64_t now_ms = -1);
  std::string Metrics(int64_t now_ms);

  // ---- prefetching (engine_prefetch.cc), snapshots, sign-out ----
  // Subscribes the child shapes of parent row `key_json` (a JSON string or
  // number, or {"id": ...}) as policies.json `prefetch_children` declares:
  // {ok, shapeIds, covered} (covered: child tables another shape syncs whole).
  std::string Prefetch(std::string_view table, std::string_view key_json, int64_t now_ms);
  // Ends one Prefetch; after the grace period the child shapes are dropped
  // together with their rows (unless another shape syncs the table).
  std::string Release(std::string_view table, std::string_view key_json, int64_t now_ms);
  // A zstd-compressed snapshot of the local database (snapshot_export.h).
  Result<std::string> Export();
  // Sign-out: drops every table (synced rows, overlay, outbox, shapes) and
  // vacuums the file. The engine syncs nothing afterwards; close it.
  std::string Clear();

  class Impl;

 private:
  friend class EngineTestSeams;  // engine_test_seams.h
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_H_
