// Engine::Impl: the engine's internal state, shared by engine.cc (lifecycle,
// app API, events, status) and engine_sync.cc (the shape request loop).
// Other engine parts (the write path) add their members here.
#ifndef ELECTROLITE_SRC_ENGINE_IMPL_H_
#define ELECTROLITE_SRC_ENGINE_IMPL_H_

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "change_set.h"
#include "engine.h"
#include "prefetch.h"
#include "retention.h"
#include "shape.h"
#include "statement_cache.h"
#include "store.h"
#include "synced_tables.h"
#include "timers.h"
#include "upload.h"
#include "write_path.h"

namespace electrolite {

class ResponseApplier;

// The app's declarations as the options give them: schemaSql, then policies, then `tables`.
Result<std::vector<TableDecl>> DeclaredTables(const EngineOptions& options);
// Fingerprint of the tables `options` declares (snapshot_export.h).
Result<uint64_t> DeclaredFingerprint(const EngineOptions& options);
// policies.json `exclude: [...]`: a shape of `decl` without `columns` asks
// for every declared column but those; naming an excluded (or a key) column
// is an error. Tables declared without columns rely on the server alone.
Status ApplyExcludedColumns(const TableDecl& decl, ShapeDef* def);

class Engine::Impl {
 public:
  EngineOptions options;
  std::unique_ptr<Store> store;
  // db.query / db.exec statements (after `store`: destroyed before it).
  std::unique_ptr<StatementCache> query_cache;
  std::unique_ptr<SeededEnv> owned_env;
  Env* env = nullptr;
  ApplyObserver* observer = nullptr;
  ViewBuilder view_builder = BuildPlainView;

  std::map<std::string, std::unique_ptr<SyncedTable>> tables;
  std::vector<std::unique_ptr<Shape>> shapes;  // subscription order
  std::deque<std::string> events;
  std::string last_status_json;

  bool online = true;
  // engine_sync.cc "Reconnecting": the last request failed to reach the server; one shape probes
  // it while the others wait for the probe's answer.
  bool unreachable = false;
  std::string token;
  int64_t next_request_id = 1;
  Status last_error;
  std::string last_error_shape;

  // Metrics.
  int64_t rows_applied = 0;
  int64_t bytes_received = 0;
  int64_t responses = 0;
  int64_t errors = 0;
  int64_t apply_ms_total = 0;

  // ---- engine_extras.cc: retention, prefetching, snapshots, security, metrics ----
  std::unique_ptr<Retention> retention;
  std::unique_ptr<Prefetcher> prefetcher;
  uint64_t schema_fingerprint = 0;
  bool cleared = false;
  int64_t opened_ms = 0;
  int64_t connected_since_ms = -1;
  std::deque<int64_t> sync_times;  // applied responses in the last minute
  int64_t syncs_total = 0;
  int64_t last_sync_duration_ms = 0;
  int64_t last_sync_at_ms = -1;
  int64_t foreign_rows_dropped = 0;
  std::map<std::string, int64_t> foreign_by_table;
  int64_t prefetch_rows_dropped = 0;
  size_t retention_tables_seen = static_cast<size_t>(-1);
  Status InitExtras();
  void RefreshRetentionTables();
  void ExtrasOnApplied(Shape* shape, int64_t now_ms, int64_t ms, const ResponseApplier& applier);
  void ExtrasOnDisconnected();
  void RetentionOnTimeout(int64_t now_ms);
  void PrefetchOnTimeout(int64_t now_ms);
  Status DropPrefetchShape(const Prefetcher::Child& c, std::set<std::string>* changed);
  // ",\"name\":value,..." metric fields.
  std::string ExtrasMetricsJson(int64_t now_ms) const;

  // ---- engine.cc ----
  Status Init();
  SyncedTable* FindTable(const std::string& name);
  Shape* FindShape(const std::string& id);
  Result<Shape*> AddShape(ShapeDef def, bool persist);
  void Emit(std::string event_json) { events.push_back(std::move(event_json)); }
  // Emits a tables-changed event (nothing when `changes` is empty). Inside
  // an app transaction the changes are also kept for a rollback's event.
  void EmitTablesChanged(const ChangeSet& changes);
  // Tables changed in ways not known by key.
  void EmitTablesChanged(const std::set<std::string>& tables);
  // Everything reported since the app's BEGIN (a ROLLBACK reports it again).
  ChangeSet txn_changes;
  void EmitError(const Status& s, const std::string& shape_id);
  void Log(const char* level, const std::string& message);
  std::string BuildStatusJson() const;
  void MaybeEmitStatus();

  // ---- write path (engine_write.cc) ----
  std::unique_ptr<WritePath> writes;
  std::unique_ptr<Uploader> uploader;
  std::unique_ptr<ApplyObserver> write_observer;
  int64_t last_now_ms = 0;  // the latest now_ms any call brought
  // Before the tables are materialised: overlay-aware view builder, observer.
  Status InitWrites();
  // A typed write naming another user in the owner column (options.user_id
  // set): invalid_argument (engine_write.cc).
  Status CheckOwner(std::string_view table, const Json& values) const;
  // After Init's transaction: counts what waits in the outbox.
  Status StartUploads();
  // Records `now_ms` (>= 0) and returns it, or the latest time seen.
  int64_t Now(int64_t now_ms);
  // Emits the write path's buffered events (or drops them: rolled back).
  void FlushWrites(bool committed);

  // ---- engine_sync.cc ----
  Status OnResponse(int64_t now_ms, int64_t request_id, int status, const Headers& headers,
                    std::string_view body);
  void OnNetworkError(int64_t now_ms, Shape* shape, const std::string& message);
  // Any HTTP answer: the server is reachable again; shapes waiting out a network error resume.
  void OnServerAnswered(int64_t now_ms);
  // While unreachable: the one shape allowed to send (in flight, or the first waiting), else null.
  Shape* Probe() const;
  std::optional<Request> NextRequest(int64_t now_ms);
  // The shape loop's entry in the timer table: requests past their timeout
  // fail as network errors; the deadline is the earliest shape's (only the
  // probe's while the server is unreachable).
  void ShapesOnTimeout(int64_t now_ms);
  int64_t ShapesDeadline() const;

  // Every deadline the engine keeps (timers.h); filled by InitTimers at open.
  TimerTable timers;
  void InitTimers();

 private:
  // Carries out what a shape's transition asks (shape.h ShapeStep): logs,
  // error events, the disconnected hook, a re-fetch (its failure reported and
  // turned into the shape's next step). Returns the re-fetch's status.
  Status Carry(int64_t now_ms, Shape* shape, const ShapeStep& step);
  // Starts `shape` over from -1 (persisted) and logs it.
  Status Refetch(Shape* shape, const std::string& new_handle, ShapeStep::Forget forget);
  // Applies a 200/204/304 body and the shape's next state in one transaction.
  Status ApplyBody(int64_t now_ms, Shape* shape, int status, const Headers& headers,
                   std::string_view body);
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_IMPL_H_
