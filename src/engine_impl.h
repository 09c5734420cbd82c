// Engine::Impl: the engine's internal state, shared by the files that make
// up the engine: engine.cc (lifecycle, app API, events, status),
// engine_sync.cc (the shape request loop), engine_write.cc (the write path),
// engine_metrics.cc and the components (engine_components.h).
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
#include "engine_metrics.h"
#include "shape.h"
#include "statement_cache.h"
#include "store.h"
#include "subset.h"
#include "synced_tables.h"
#include "timers.h"
#include "txid_matching.h"
#include "upload.h"
#include "write_path.h"

namespace electrolite {

class EngineComponent;
class PrefetchComponent;
class ResponseApplier;
class RetentionComponent;

class Engine::Impl {
 public:
  // ---- what the components (engine_components.h) reach ----
  const EngineOptions& options() const { return options_; }
  Store& store() { return *store_; }
  const std::map<std::string, std::unique_ptr<SyncedTable>>& tables() const { return tables_; }
  const std::vector<std::unique_ptr<Shape>>& shapes() const { return shapes_; }
  SyncedTable* FindTable(const std::string& name);
  Shape* FindShape(const std::string& id);
  Result<Shape*> AddShape(ShapeDef def, bool persist);
  // Forgets `shape` (its rows and its _el_shapes row are the caller's); a late
  // response to its request is ignored.
  void RemoveShape(const Shape* shape);
  // Emits a tables-changed event (nothing when `changes` is empty). Inside
  // an app transaction the changes are also kept for a rollback's event.
  void EmitTablesChanged(const ChangeSet& changes);
  // Tables changed in ways not known by key.
  void EmitTablesChanged(const std::set<std::string>& tables);
  void EmitError(const Status& s, const std::string& shape_id);
  void Log(const char* level, const std::string& message);
  // A status event when the status changed since the last one.
  void MaybeEmitStatus();

 private:
  friend class Engine;
  friend class EngineTestSeams;

  // ---- engine.cc: open ----
  // `decls`: DeclaredTables(options_), parsed once by Engine::Open.
  Status Init(std::vector<TableDecl> decls);
  // Upload, shapes, then each component.
  void InitTimers();
  void Emit(std::string event_json) { events_.push_back(std::move(event_json)); }
  std::string BuildStatusJson() const;

  // ---- engine_write.cc ----
  // Before the tables are materialised: overlay-aware view builder, uploader, txid matching.
  // `declared`: the open's declarations (their SQL DEFAULTs are the local defaults).
  Status InitWrites(const std::vector<TableDecl>& declared);
  // A typed write naming another user in the owner column (options.user_id
  // set): invalid_argument.
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
  // Carries out what a shape's transition asks (shape.h ShapeStep): logs,
  // error events, the disconnected hook, a re-fetch (its failure reported and
  // turned into the shape's next step). Returns the re-fetch's status.
  Status Carry(int64_t now_ms, Shape* shape, const ShapeStep& step);
  // A response dropped rows of another user: counted, reported, logged.
  void ReportForeignRows(const Shape& shape, int64_t rows);
  // Starts `shape` over from -1 (persisted) and logs it.
  Status Refetch(Shape* shape, const std::string& new_handle, ShapeStep::Forget forget);
  // Applies a 200/204/304 body and the shape's next state in one transaction.
  Status ApplyBody(int64_t now_ms, Shape* shape, int status, const Headers& headers,
                   std::string_view body);

  // ---- engine_subsets.cc: on-demand sync (subset.h) ----
  Status InitSubsets();
  std::optional<Request> NextSubsetRequest(int64_t now_ms);
  Subset* SubsetOfRequest(int64_t request_id);
  Status OnSubsetResponse(int64_t now_ms, Subset* subset, int status, const Headers& headers,
                          std::string_view body);
  void OnSubsetNetworkError(int64_t now_ms, Subset* subset, const std::string& message);
  int64_t SubsetsDeadline() const;
  void SubsetsOnTimeout(int64_t now_ms);
  // Whether a subset of the shape is in flight: a stream response of the
  // shape that arrives meanwhile is held and applied after the subset's rows.
  bool SubsetInFlight(const std::string& shape_id) const;
  void HoldResponse(int64_t request_id, const std::string& shape_id, int status,
                    const Headers& headers, std::string_view body);
  void ReplayHeld(int64_t now_ms, const std::string& shape_id);
  // The shape started over from -1: its subsets load again.
  void ShapeRestarted(const std::string& shape_id);
  // The shape is gone: its subsets are forgotten (their rows stay).
  Status ForgetSubsets(const std::string& shape_id);
  // Several shapes on one table (row_tags.h): the plain shape feeding it alone.
  Shape* SolePlainFeeder(const std::string& table, const Shape* except);
  Status RecordSoleFeeder(const std::string& table);
  Status ShapeLeaves(Shape* shape, bool* rows_left);
  std::string SubsetEvent(const Subset& s, const char* state, const std::string& extra) const;

  // ---- fixed at open ----
  EngineOptions options_;
  std::unique_ptr<Store> store_;
  // db.query / db.exec statements (after `store_`: destroyed before it).
  std::unique_ptr<StatementCache> query_cache_;
  std::unique_ptr<SeededEnv> owned_env_;
  Env* env_ = nullptr;
  ViewBuilder view_builder_ = BuildPlainView;
  uint64_t schema_fingerprint_ = 0;  // of the declarations (snapshot_export.h)

  // ---- what is synced: tables by name; shapes in subscription order, each on a table of tables_ ----
  std::map<std::string, std::unique_ptr<SyncedTable>> tables_;
  std::vector<std::unique_ptr<Shape>> shapes_;

  // ---- the connection: shared by every shape and the uploader ----
  bool online_ = true;
  // engine_sync.cc "Reconnecting": the last request failed to reach the server; one shape probes
  // it while the others wait for the probe's answer.
  bool unreachable_ = false;
  std::string token_;
  int64_t next_request_id_ = 1;  // shape and upload requests alike, never reused
  int64_t last_now_ms_ = 0;      // the latest now_ms any call brought

  // ---- the write path: local writes, the outbox's uploads, txid matching ----
  std::unique_ptr<WritePath> writes_;
  std::unique_ptr<Uploader> uploader_;
  std::unique_ptr<TxidMatching> txids_;
  // Everything reported since the app's BEGIN (a ROLLBACK reports it again).
  ChangeSet txn_changes_;

  // ---- outputs: polled events, the last status emitted ----
  std::deque<std::string> events_;
  std::string last_status_json_;

  // ---- on-demand sync: the subsets the app holds, stream responses held behind one ----
  std::unique_ptr<SubsetBook> subset_book_;
  std::vector<std::unique_ptr<Subset>> subsets_;
  struct HeldResponse {
    int64_t request_id;
    int status;
    Headers headers;
    std::string body;
  };
  std::map<std::string, HeldResponse> held_responses_;  // by shape id

  // ---- components with timers, metrics (the timer table holds pointers to them) ----
  std::unique_ptr<SyncMetrics> metrics_;
  std::unique_ptr<RetentionComponent> retention_;
  std::unique_ptr<PrefetchComponent> prefetch_;
  std::vector<EngineComponent*> components_;  // retention, prefetch
  TimerTable timers_;  // filled by InitTimers at open
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_IMPL_H_
