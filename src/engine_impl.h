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

#include "engine.h"
#include "shape.h"
#include "store.h"
#include "synced_tables.h"

namespace electrolite {

class Engine::Impl {
 public:
  EngineOptions options;
  std::unique_ptr<Store> store;
  std::unique_ptr<SeededEnv> owned_env;
  Env* env = nullptr;
  ApplyObserver* observer = nullptr;
  ViewBuilder view_builder = BuildPlainView;

  std::map<std::string, std::unique_ptr<SyncedTable>> tables;
  std::vector<std::unique_ptr<Shape>> shapes;  // subscription order
  std::deque<std::string> events;
  std::string last_status_json;

  bool online = true;
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

  // ---- engine.cc ----
  Status Init();
  SyncedTable* FindTable(const std::string& name);
  Shape* FindShape(const std::string& id);
  Result<Shape*> AddShape(ShapeDef def, bool persist);
  void Emit(std::string event_json) { events.push_back(std::move(event_json)); }
  void EmitTablesChanged(const std::set<std::string>& tables);
  void EmitError(const Status& s, const std::string& shape_id);
  void Log(const char* level, const std::string& message);
  std::string BuildStatusJson() const;
  void MaybeEmitStatus();

  // ---- engine_sync.cc ----
  Status OnResponse(int64_t now_ms, int64_t request_id, int status, const Headers& headers,
                    std::string_view body);
  void OnNetworkError(int64_t now_ms, Shape* shape, const std::string& message);
  std::optional<Request> NextRequest(int64_t now_ms);
  void OnTimeout(int64_t now_ms);
  int64_t NextDeadline() const;

 private:
  Status OnSuccess(int64_t now_ms, Shape* shape, int status, const Headers& headers,
                   std::string_view body);
  Status ApplyBody(int64_t now_ms, Shape* shape, int status, const Headers& headers,
                   std::string_view body, bool live);
  Status MustRefetch(Shape* shape, const std::string& new_handle);
  void Fail(Shape* shape, const Status& s);
  void Backoff(int64_t now_ms, Shape* shape, int64_t retry_after_ms);
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_IMPL_H_
