// SyncMetrics: the engine's sync counters for db.metrics() (docs/engine-api.md
// "Metrics"): responses, rows, bytes, errors, apply time, the sync rate over
// the last minute, connection uptime, and rows of other users dropped.
// Engine::Metrics (engine_metrics.cc) adds the write path's, the uploader's
// and the components' own parts.
#ifndef ELECTROLITE_SRC_ENGINE_METRICS_H_
#define ELECTROLITE_SRC_ENGINE_METRICS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace electrolite {

class SyncMetrics {
 public:
  explicit SyncMetrics(int64_t opened_ms) : opened_ms_(opened_ms) {}

  // A shape response arrived (whatever its status).
  void OnResponse(size_t body_bytes) {
    responses_++;
    bytes_received_ += static_cast<int64_t>(body_bytes);
  }
  void OnError() { errors_++; }
  // A response was applied: `rows` rows, `ms` after its request was sent.
  void OnApplied(int64_t now_ms, int64_t ms, int64_t rows);
  // A shape lost its connection (a backoff began).
  void OnDisconnected() { connected_since_ms_ = -1; }
  // Rows of another user dropped from `table` (EngineOptions::user_id).
  void OnForeignRows(const std::string& table, int64_t rows) {
    foreign_rows_dropped_ += rows;
    foreign_by_table_[table] += rows;
  }

  // `"rowsApplied":..,"bytesReceived":..,"responses":..,"errors":..,"syncMs":..`
  std::string CountersJson() const;
  // `,"uptimeMs":..,"connectionUptimeMs":..,"syncs":..,"syncsPerMinute":..,
  // "lastSyncDurationMs":..,"lastSyncAt":..`
  std::string RateJson(int64_t now_ms) const;
  // `,"security":{"foreignRowsDropped":..,"byTable":{..}}`
  std::string SecurityJson() const;

 private:
  int64_t opened_ms_;
  int64_t rows_applied_ = 0;
  int64_t bytes_received_ = 0;
  int64_t responses_ = 0;
  int64_t errors_ = 0;
  int64_t apply_ms_total_ = 0;
  int64_t connected_since_ms_ = -1;
  std::deque<int64_t> sync_times_;  // applied responses in the last minute
  int64_t syncs_total_ = 0;
  int64_t last_sync_duration_ms_ = 0;
  int64_t last_sync_at_ms_ = -1;
  int64_t foreign_rows_dropped_ = 0;
  std::map<std::string, int64_t> foreign_by_table_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_METRICS_H_
