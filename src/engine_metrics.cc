#include "engine_metrics.h"

#include "engine_components.h"
#include "engine_impl.h"
#include "json.h"

namespace electrolite {

namespace {

constexpr int64_t kSyncWindowMs = 60000;

void Field(std::string* out, const char* name, int64_t v) {
  *out += ",\"";
  *out += name;
  *out += "\":" + std::to_string(v);
}

}  // namespace

void SyncMetrics::OnApplied(int64_t now_ms, int64_t ms, int64_t rows) {
  rows_applied_ += rows;
  apply_ms_total_ += ms;
  if (connected_since_ms_ < 0) connected_since_ms_ = now_ms;
  syncs_total_++;
  sync_times_.push_back(now_ms);
  while (!sync_times_.empty() && sync_times_.front() <= now_ms - kSyncWindowMs) {
    sync_times_.pop_front();
  }
  last_sync_duration_ms_ = ms;
  last_sync_at_ms_ = now_ms;
}

std::string SyncMetrics::CountersJson() const {
  return "\"rowsApplied\":" + std::to_string(rows_applied_) +
         ",\"bytesReceived\":" + std::to_string(bytes_received_) +
         ",\"responses\":" + std::to_string(responses_) + ",\"errors\":" +
         std::to_string(errors_) + ",\"syncMs\":" + std::to_string(apply_ms_total_);
}

std::string SyncMetrics::RateJson(int64_t now_ms) const {
  std::string out;
  int64_t recent = 0;
  for (int64_t t : sync_times_) recent += t > now_ms - kSyncWindowMs ? 1 : 0;
  Field(&out, "uptimeMs", now_ms - opened_ms_);
  Field(&out, "connectionUptimeMs", connected_since_ms_ >= 0 ? now_ms - connected_since_ms_ : 0);
  Field(&out, "syncs", syncs_total_);
  Field(&out, "syncsPerMinute", recent);
  Field(&out, "lastSyncDurationMs", last_sync_duration_ms_);
  out += ",\"lastSyncAt\":" + (last_sync_at_ms_ >= 0 ? std::to_string(last_sync_at_ms_) : "null");
  return out;
}

std::string SyncMetrics::SecurityJson() const {
  std::string out = ",\"security\":{\"foreignRowsDropped\":" +
                    std::to_string(foreign_rows_dropped_) + ",\"byTable\":{";
  bool first = true;
  for (const auto& kv : foreign_by_table_) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(&out, kv.first);
    out += ":" + std::to_string(kv.second);
  }
  return out + "}}";
}

std::string Engine::Metrics(int64_t now_ms) {
  impl_->Now(now_ms);
  const Impl& m = *impl_;
  // Conflicts by table/policy/outcome and the outbox by status.
  Result<Json> wm = m.writes_->Metrics();
  const std::string writes_json = wm.ok() ? Dump(wm.value()) : "null";
  int64_t pending = 0;
  Result<int64_t> n = m.writes_->PendingCount();
  if (n.ok()) pending = n.value();
  std::string out = "{\"ok\":true," + m.metrics_->CountersJson() +
                    ",\"shapes\":" + std::to_string(m.shapes_.size()) + ",\"writes\":" +
                    writes_json + ",\"upload\":" + Dump(m.uploader_->Metrics()) +
                    ",\"pendingChanges\":" + std::to_string(pending) + m.metrics_->RateJson(now_ms);
  for (const EngineComponent* c : m.components_) c->AppendMetrics(&out);
  return out + m.metrics_->SecurityJson() + "}";
}

}  // namespace electrolite
