// EngineOptions parsing and Request serialisation (cold paths, Json).
#include "engine.h"
#include "json.h"

namespace electrolite {

Result<EngineOptions> EngineOptions::FromJson(std::string_view text) {
  Json j = Json::parse(text);
  if (j.is_discarded()) return Status::InvalidArgument("options are not valid JSON");
  if (j.is_null()) j = Json::object();
  if (!j.is_object()) return Status::InvalidArgument("options must be a JSON object");
  EngineOptions o;
  o.path = JsonStr(j, "path", o.path);
  if (o.path.empty()) o.path = ":memory:";
  o.vfs = JsonStr(j, "vfs");
  o.synchronous = JsonStr(j, "synchronous");
  if (!o.synchronous.empty() && o.synchronous != "full" && o.synchronous != "normal") {
    return Status::InvalidArgument("options.synchronous: expected \"full\" or \"normal\"");
  }
  o.base_url = JsonStr(j, "baseUrl", o.base_url);
  o.client_id = JsonStr(j, "clientId");
  o.now_ms = JsonInt(j, "nowMs", 0);
  o.schema_sql = JsonStr(j, "schemaSql");
  auto pol = j.find("policies");
  if (pol != j.end() && !pol->is_null()) {
    if (!pol->is_object()) return Status::InvalidArgument("options.policies must be an object");
    o.policies_json = pol->dump();
  }
  auto tables = j.find("tables");
  if (tables != j.end() && !tables->is_null()) {
    if (!tables->is_array()) return Status::InvalidArgument("options.tables must be an array");
    o.tables_json = tables->dump();
  }
  o.auto_subscribe = JsonBool(j, "autoSubscribe", true);
  o.batch_size = static_cast<int>(JsonInt(j, "batchSize", o.batch_size));
  o.upload_interval_ms = JsonInt(j, "uploadIntervalMs", o.upload_interval_ms);
  o.compress_threshold = static_cast<int>(JsonInt(j, "compressThreshold", o.compress_threshold));
  o.live_timeout_ms = JsonInt(j, "liveTimeoutMs", o.live_timeout_ms);
  o.debug = JsonBool(j, "debug", false);
  o.user_id = JsonStr(j, "userId");
  o.user_column = JsonStr(j, "userColumn", o.user_column);
  o.prefetch_grace_ms = JsonInt(j, "prefetchGraceMs", o.prefetch_grace_ms);
  o.retention_interval_ms = JsonInt(j, "retentionIntervalMs", o.retention_interval_ms);
  o.retention_batch = static_cast<int>(JsonInt(j, "retentionBatch", o.retention_batch));
  if (o.prefetch_grace_ms < 0 || o.retention_interval_ms <= 0 || o.retention_batch <= 0) {
    return Status::InvalidArgument(
        "options: prefetchGraceMs must be >= 0, retentionIntervalMs and retentionBatch positive");
  }
  auto b = j.find("backoff");
  if (b != j.end() && b->is_object()) {
    o.backoff.initial_ms = JsonInt(*b, "initialMs", o.backoff.initial_ms);
    o.backoff.max_ms = JsonInt(*b, "maxMs", o.backoff.max_ms);
    o.backoff.multiplier = JsonDouble(*b, "multiplier", o.backoff.multiplier);
  }
  if (o.backoff.initial_ms <= 0 || o.backoff.max_ms < o.backoff.initial_ms ||
      o.backoff.multiplier < 1.0) {
    return Status::InvalidArgument("options.backoff: need 0 < initialMs <= maxMs, multiplier >= 1");
  }
  if (o.batch_size <= 0) return Status::InvalidArgument("options.batchSize must be positive");
  return o;
}

std::string Request::ToJson() const {
  std::string out = "{\"id\":" + std::to_string(id) + ",\"method\":";
  AppendJsonString(&out, method);
  out += ",\"url\":";
  AppendJsonString(&out, url);
  out += ",\"headers\":{";
  for (size_t i = 0; i < headers.size(); i++) {
    if (i > 0) out += ',';
    AppendJsonString(&out, headers[i].first);
    out += ':';
    AppendJsonString(&out, headers[i].second);
  }
  out += "},\"hasBody\":";
  out += has_body ? "true" : "false";
  out += ",\"live\":";
  out += live ? "true" : "false";
  out += ",\"timeoutMs\":" + std::to_string(timeout_ms) + ",\"kind\":";
  AppendJsonString(&out, kind);
  out += ",\"shapeId\":";
  AppendJsonString(&out, shape_id);
  out += "}";
  return out;
}

}  // namespace electrolite
