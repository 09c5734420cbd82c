// The engine's status as the client sees it (docs/engine-api.md "Status"): one JSON document
// built from every shape's state, the network, the outbox and the components' metrics, and a
// `status` event whenever that document changes.
#include <algorithm>

#include "engine_components.h"
#include "engine_impl.h"
#include "json.h"

namespace electrolite {

std::string Engine::Impl::BuildStatusJson() const {
  bool any_error = false, all_up = !shapes_.empty(), any_connected = false, all_ok = true;
  int64_t last_synced = -1;
  for (const auto& s : shapes_) {
    if (s->ShowsError()) any_error = true;
    if (!s->state().up_to_date) all_up = false;
    if (s->connected()) any_connected = true;
    if (s->attempted() && !s->connected()) all_ok = false;
    last_synced = std::max(last_synced, s->state().last_synced_at);
  }
  const char* connection = !online_ || shapes_.empty() ? "disconnected"
                           : any_error              ? "error"
                           : any_connected && all_ok ? "connected"
                                                     : "connecting";
  const char* sync = any_error ? "error" : all_up ? "idle" : "syncing";
  std::string out = "{\"connection\":\"";
  out += connection;
  out += "\",\"sync\":\"";
  out += sync;
  out += "\",\"isUpToDate\":";
  out += all_up ? "true" : "false";
  out += ",\"lastSyncedAt\":";
  out += last_synced >= 0 ? std::to_string(last_synced) : "null";
  int64_t pending = 0;
  if (writes_) {
    Result<int64_t> n = writes_->PendingCount();
    if (n.ok()) pending = n.value();
  }
  out += ",\"pendingChanges\":" + std::to_string(pending) + ",\"error\":";
  if (any_error) {
    const Shape* failed = nullptr;
    for (const auto& s : shapes_) {
      if (failed == nullptr && s->ShowsError()) failed = s.get();
    }
    out += "{\"code\":\"";
    out += failed->error().code_name();
    out += "\",\"message\":";
    AppendJsonString(&out, failed->error().message());
    out += ",\"shapeId\":";
    AppendJsonString(&out, failed->def().id);
    out += "}";
  } else if (uploader_ && uploader_->auth_blocked()) {
    // Uploads stopped on a 401/403 until SetToken brings new credentials.
    out += "{\"code\":\"auth\",\"message\":";
    AppendJsonString(&out, uploader_->last_error());
    out += "}";
  } else {
    out += "null";
  }
  out += ",\"shapes\":[";
  for (size_t i = 0; i < shapes_.size(); i++) {
    const Shape& s = *shapes_[i];
    if (i > 0) out += ',';
    out += "{\"id\":";
    AppendJsonString(&out, s.def().id);
    out += ",\"table\":";
    AppendJsonString(&out, s.def().table);
    out += ",\"handle\":";
    AppendJsonString(&out, s.state().handle);
    out += ",\"offset\":";
    AppendJsonString(&out, s.state().offset);
    out += ",\"isUpToDate\":";
    out += s.state().up_to_date ? "true" : "false";
    out += "}";
  }
  return out + "]}";
}

void Engine::Impl::MaybeEmitStatus() {
  std::string st = BuildStatusJson();
  if (st == last_status_json_) return;
  last_status_json_ = st;
  Emit("{\"type\":\"status\"," + st.substr(1));
}

}  // namespace electrolite
