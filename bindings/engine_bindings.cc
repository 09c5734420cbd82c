// Embind glue for the engine (docs/engine-api.md): each function converts its
// arguments, calls the engine, converts the result. No logic lives here.
//
// Numbers cross as JS numbers (double) so no BigInt is needed; `nowMs` also
// sets the clock SQLite's datetime('now') reads (wasm/vfs/host.h). Results
// that can fail are the engine's JSON; an unknown handle is an
// invalid_argument error in the same shape.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "content_coding.h"
#include "engine.h"
#include "host_env.h"
#include "js_bytes.h"
#include "vfs/host.h"

namespace electrolite {
namespace {

using emscripten::val;

// Engines by the integer handle JS holds.
std::map<int, std::unique_ptr<Engine>>& Engines() {
  static auto* engines = new std::map<int, std::unique_ptr<Engine>>();
  return *engines;
}

HostEnv& TheEnv() {
  static auto* env = new HostEnv();
  return *env;
}

Engine* Find(int h) {
  auto it = Engines().find(h);
  return it == Engines().end() ? nullptr : it->second.get();
}

std::string NoEngine(int h) {
  return Status::InvalidArgument("no open engine with handle " + std::to_string(h)).ToJson();
}

std::string NotBytes(const char* what) {
  return Status::InvalidArgument(std::string(what) + " must be a Uint8Array, ArrayBuffer or string")
      .ToJson();
}

int64_t Ms(double now_ms) {
  vfs::SetNowMs(static_cast<int64_t>(now_ms));
  return static_cast<int64_t>(now_ms);
}

// ---- lifecycle ----

// Registers an opened engine: {"ok":true,"handle":h}.
std::string Adopt(std::unique_ptr<Engine> engine) {
  static int next_handle = 1;
  int h = next_handle++;
  Engines()[h] = std::move(engine);
  return "{\"ok\":true,\"handle\":" + std::to_string(h) + "}";
}

std::string Open(const std::string& options_json) {
  Result<EngineOptions> options = EngineOptions::FromJson(options_json);
  if (!options.ok()) return options.status().ToJson();
  vfs::SetNowMs(options->now_ms);
  Result<std::unique_ptr<Engine>> engine = Engine::Open(*options, &TheEnv());
  if (!engine.ok()) return engine.status().ToJson();
  return Adopt(std::move(engine).value());
}

std::string Close(int h) {
  return Engines().erase(h) > 0 ? Status::Ok().ToJson() : NoEngine(h);
}

// ---- sans-IO loop ----

// `body`: Uint8Array (or ArrayBuffer, or a string sent as UTF-8).
std::string HandleResponse(int h, double now_ms, double request_id, int status,
                           const std::string& headers_json, const val& body) {
  Engine* e = Find(h);
  if (e == nullptr) return NoEngine(h);
  std::string text;
  std::unique_ptr<char[]> raw;
  std::string_view bytes;
  if (!ReadOnlyBytesFromJs(body, &text, &raw, &bytes)) return NotBytes("body");
  return e->HandleResponse(Ms(now_ms), static_cast<int64_t>(request_id), status, headers_json,
                           bytes).ToJson();
}

std::string HandleNetworkError(int h, double now_ms, double request_id, const std::string& msg) {
  Engine* e = Find(h);
  if (e == nullptr) return NoEngine(h);
  e->HandleNetworkError(Ms(now_ms), static_cast<int64_t>(request_id), msg);
  return Status::Ok().ToJson();
}

std::string HandleTimeout(int h, double now_ms) {
  Engine* e = Find(h);
  if (e == nullptr) return NoEngine(h);
  e->HandleTimeout(Ms(now_ms));
  return Status::Ok().ToJson();
}

std::string SetOnline(int h, bool online, double now_ms) {
  Engine* e = Find(h);
  if (e == nullptr) return NoEngine(h);
  e->SetOnline(online, Ms(now_ms));
  return Status::Ok().ToJson();
}

std::string SyncNow(int h, double now_ms) {
  Engine* e = Find(h);
  if (e == nullptr) return NoEngine(h);
  e->SyncNow(Ms(now_ms));
  return Status::Ok().ToJson();
}

std::string SetToken(int h, const std::string& token, double now_ms) {
  Engine* e = Find(h);
  if (e == nullptr) return NoEngine(h);
  e->SetToken(token, Ms(now_ms));
  return Status::Ok().ToJson();
}

std::string SetUserId(int h, const std::string& user_id) {
  Engine* e = Find(h);
  if (e == nullptr) return NoEngine(h);
  e->SetUserId(user_id);
  return Status::Ok().ToJson();
}

// "" when there is nothing to send (a Request never has "ok").
std::string PollRequest(int h, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->PollRequestJson(Ms(now_ms));
}

// A copy: the returned Uint8Array does not alias wasm memory.
val RequestBody(int h, double request_id) {
  Engine* e = Find(h);
  std::string body = e == nullptr ? std::string() : e->RequestBody(static_cast<int64_t>(request_id));
  return val::global("Uint8Array")
      .new_(emscripten::typed_memory_view(body.size(), reinterpret_cast<const uint8_t*>(body.data())));
}

// Absolute ms of the next deadline; -1 = none (also for an unknown handle).
double PollTimeout(int h) {
  Engine* e = Find(h);
  return e == nullptr ? -1 : static_cast<double>(e->PollTimeout());
}

std::string PollEvent(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->PollEvent();
}

// ---- shapes ----

std::string Subscribe(int h, const std::string& shape_json) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Subscribe(shape_json, vfs::NowMs());
}

std::string Unsubscribe(int h, const std::string& shape_id) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Unsubscribe(shape_id);
}

std::string LoadSubset(int h, const std::string& shape_id, const std::string& subset_json, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->LoadSubset(shape_id, subset_json, Ms(now_ms));
}

std::string ReleaseSubset(int h, const std::string& subset_id) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->ReleaseSubset(subset_id);
}

std::string Subsets(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->SubsetsJson();
}

std::string StatusJson(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->StatusJson();
}

// ---- local data ----

std::string Query(int h, const std::string& sql, const std::string& params_json) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Query(sql, params_json);
}

std::string Exec(int h, const std::string& sql, const std::string& params_json) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Exec(sql, params_json);
}

std::string Insert(int h, const std::string& table, const std::string& row_json) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Insert(table, row_json);
}

std::string Update(int h, const std::string& table, const std::string& key_json,
                   const std::string& patch_json) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Update(table, key_json, patch_json);
}

std::string Delete(int h, const std::string& table, const std::string& key_json) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Delete(table, key_json);
}

std::string Begin(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Begin();
}

std::string Commit(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Commit();
}

std::string Rollback(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Rollback();
}

std::string PendingMutations(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->PendingMutations();
}

std::string DiscardMutation(int h, const std::string& mutation_id) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->DiscardMutation(mutation_id);
}

// ---- write path: the same calls with the host's clock, and custom resolvers ----

std::string ExecAt(int h, const std::string& sql, const std::string& params_json, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Exec(sql, params_json, Ms(now_ms));
}

std::string InsertAt(int h, const std::string& table, const std::string& row_json, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Insert(table, row_json, Ms(now_ms));
}

std::string UpdateAt(int h, const std::string& table, const std::string& key_json,
                     const std::string& patch_json, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Update(table, key_json, patch_json, Ms(now_ms));
}

std::string DeleteAt(int h, const std::string& table, const std::string& key_json, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Delete(table, key_json, Ms(now_ms));
}

std::string SetResolver(int h, const std::string& table, bool registered) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->SetResolver(table, registered);
}

std::string ResolveConflict(int h, const std::string& resolve_id, const std::string& row_json,
                            double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->ResolveConflict(resolve_id, row_json, Ms(now_ms));
}

std::string Metrics(int h, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Metrics(Ms(now_ms));
}

// ---- prefetching, snapshots, sign-out ----

std::string Prefetch(int h, const std::string& table, const std::string& key_json, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Prefetch(table, key_json, Ms(now_ms));
}

std::string Release(int h, const std::string& table, const std::string& key_json, double now_ms) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Release(table, key_json, Ms(now_ms));
}

// A Uint8Array (a copy), or the error JSON string.
val ExportSnapshot(int h) {
  Engine* e = Find(h);
  if (e == nullptr) return val(NoEngine(h));
  Result<std::string> snap = e->Export();
  if (!snap.ok()) return val(snap.status().ToJson());
  return val::global("Uint8Array")
      .new_(emscripten::typed_memory_view(snap->size(), reinterpret_cast<const uint8_t*>(snap->data())));
}

// Open() restoring a db.export() image first.
std::string OpenImport(const std::string& options_json, const val& snapshot) {
  Result<EngineOptions> options = EngineOptions::FromJson(options_json);
  if (!options.ok()) return options.status().ToJson();
  if (!BytesFromJs(snapshot, &options->import_snapshot)) return NotBytes("import");
  vfs::SetNowMs(options->now_ms);
  Result<std::unique_ptr<Engine>> engine = Engine::Open(*options, &TheEnv());
  if (!engine.ok()) return engine.status().ToJson();
  return Adopt(std::move(engine).value());
}

// Open() of a new database from a schema image (src/schema_image.h) when it fits.
std::string OpenWithSchemaImage(const std::string& options_json, const val& image) {
  Result<EngineOptions> options = EngineOptions::FromJson(options_json);
  if (!options.ok()) return options.status().ToJson();
  if (!BytesFromJs(image, &options->schema_image)) return NotBytes("schemaImage");
  vfs::SetNowMs(options->now_ms);
  Result<std::unique_ptr<Engine>> engine = Engine::Open(*options, &TheEnv());
  if (!engine.ok()) return engine.status().ToJson();
  return Adopt(std::move(engine).value());
}

// Node's fetch leaves zstd bodies encoded: Uint8Array (decoded) or error JSON.
val ZstdDecompressJs(const val& body) {
  std::string bytes;
  if (!BytesFromJs(body, &bytes)) return val(NotBytes("body"));
  Result<std::string> out = ZstdDecompress(bytes);
  if (!out.ok()) return val(out.status().ToJson());
  return val::global("Uint8Array")
      .new_(emscripten::typed_memory_view(out->size(), reinterpret_cast<const uint8_t*>(out->data())));
}

std::string Clear(int h) {
  Engine* e = Find(h);
  return e == nullptr ? NoEngine(h) : e->Clear();
}

}  // namespace
}  // namespace electrolite

EMSCRIPTEN_BINDINGS(electrolite_engine) {
  using namespace electrolite;
  emscripten::function("open", &Open);
  emscripten::function("close", &Close);
  emscripten::function("handleResponse", &HandleResponse);
  emscripten::function("handleNetworkError", &HandleNetworkError);
  emscripten::function("handleTimeout", &HandleTimeout);
  emscripten::function("setOnline", &SetOnline);
  emscripten::function("setToken", &SetToken);
  emscripten::function("setUserId", &SetUserId);
  emscripten::function("syncNow", &SyncNow);
  emscripten::function("pollRequest", &PollRequest);
  emscripten::function("requestBody", &RequestBody);
  emscripten::function("pollTimeout", &PollTimeout);
  emscripten::function("pollEvent", &PollEvent);
  emscripten::function("subscribe", &Subscribe);
  emscripten::function("unsubscribe", &Unsubscribe);
  emscripten::function("loadSubset", &LoadSubset);
  emscripten::function("releaseSubset", &ReleaseSubset);
  emscripten::function("subsets", &Subsets);
  emscripten::function("status", &StatusJson);
  emscripten::function("query", &Query);
  emscripten::function("exec", &Exec);
  emscripten::function("insert", &Insert);
  emscripten::function("update", &Update);
  emscripten::function("delete", &Delete);
  emscripten::function("begin", &Begin);
  emscripten::function("commit", &Commit);
  emscripten::function("rollback", &Rollback);
  emscripten::function("pendingMutations", &PendingMutations);
  emscripten::function("discardMutation", &DiscardMutation);
  // Overloads by arity: the trailing nowMs is optional (docs/engine-api.md).
  emscripten::function("exec", &ExecAt);
  emscripten::function("insert", &InsertAt);
  emscripten::function("update", &UpdateAt);
  emscripten::function("delete", &DeleteAt);
  emscripten::function("setResolver", &SetResolver);
  emscripten::function("resolveConflict", &ResolveConflict);
  emscripten::function("metrics", &Metrics);
  emscripten::function("prefetch", &Prefetch);
  emscripten::function("release", &Release);
  emscripten::function("exportSnapshot", &ExportSnapshot);
  emscripten::function("openImport", &OpenImport);
  emscripten::function("openWithSchemaImage", &OpenWithSchemaImage);
  emscripten::function("clear", &Clear);
  emscripten::function("zstdDecompress", &ZstdDecompressJs);
}
