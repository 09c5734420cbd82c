// Uploader: the sans-IO state machine that sends the outbox to the write
// endpoint (DESIGN.md "Write endpoint contract") and applies its answers.
//
//  * POST {baseUrl}/v1/changes with {"client_id", "mutations": [...]}: at most
//    `batch_size` mutations in outbox order; never two batches in flight;
//    only while online, not blocked on auth and outside a user transaction.
//  * Pacing: a batch goes out at once after idle, then at most every
//    `interval_ms` while writes keep coming; a full batch (a backlog) goes as
//    soon as the previous one is answered.
//  * Bodies above `compress_threshold` bytes are zstd-compressed
//    (Content-Encoding: zstd).
//  * 200: per mutation applied/duplicate -> acked (overlay kept until its txid
//    is seen), rejected -> rolled back + conflict; 401 -> stop until
//    SetToken or SyncNow; 429/5xx/network/malformed 200 -> full-jitter
//    backoff (retry.h), same mutation ids; 400/403/409/413/422 -> the mutations the body
//    names (`mutations[i]`, or an id) are rejected like a per-mutation
//    rejection and the rest resent, an unnamed refusal resends the batch one
//    mutation at a time (a refused single mutation is rejected; after an
//    unnamed 403 it is kept, failed); other 4xx (408 included) -> mutations failed with the
//    reason until discarded.
#ifndef ELECTROLITE_SRC_UPLOAD_H_
#define ELECTROLITE_SRC_UPLOAD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine.h"
#include "env.h"
#include "json.h"
#include "retry.h"
#include "status.h"

namespace electrolite {

class Store;
class WritePath;

struct UploadOptions {
  std::string base_url = "http://127.0.0.1:5133";
  std::string client_id;
  int batch_size = 100;
  int64_t interval_ms = 5000;
  int compress_threshold = 4096;
  int64_t timeout_ms = 30000;
  BackoffOptions backoff;
};

class Uploader {
 public:
  // All must outlive the uploader.
  Uploader(Store* store, WritePath* writes, Env* env, UploadOptions options);

  // Counts what is waiting (after a restart: everything pending).
  [[nodiscard]] Status Init();

  void SetOnline(bool online, int64_t now_ms);
  // A new bearer token ("" = none); lifts an auth stop.
  void SetToken(std::string_view token);
  const std::string& token() const { return token_; }
  // db.syncNow(): what is pending goes out at the next Poll, cutting the upload
  // interval and any backoff wait short (an in-flight batch is not duplicated).
  // A 401 stop is lifted too: one more try with the current token.
  void SyncNow() {
    auth_blocked_ = false;
    last_send_ms_ = INT64_MIN / 2;
    retry_at_ms_ = 0;
    pending_hint_ = -1;
  }
  // Local writes were committed (or a transaction that may hold some).
  void NoteWrites() { pending_hint_ = -1; }
  // The server answered again after being unreachable: a batch waiting out a network-error
  // backoff goes at the next Poll (a 5xx or Retry-After wait is kept).
  void ServerReachable() {
    if (network_wait_) retry_at_ms_ = 0;
    network_wait_ = false;
  }

  // The upload request due at `now_ms`, if any, with id `request_id`.
  [[nodiscard]] Result<std::optional<Request>> Poll(int64_t now_ms, int64_t request_id);
  bool Owns(int64_t request_id) const { return in_flight_ && in_flight_->id == request_id; }
  // Raw (possibly compressed) body of the in-flight request; null if unknown.
  const std::string* Body(int64_t request_id) const;

  // REQUIRES: Owns(request_id). `body` is already content-decoded.
  [[nodiscard]] Status HandleResponse(int64_t now_ms, int64_t request_id, int status,
                                      const Headers& headers, std::string_view body);
  void HandleNetworkError(int64_t now_ms, int64_t request_id, std::string_view message);
  // Gives up on an in-flight request past its timeout (treated as a network
  // error: retried with the same ids).
  void HandleTimeout(int64_t now_ms);

  // Absolute ms of the next deadline (a batch due, a request timing out);
  // -1 = nothing to wait for.
  int64_t NextDeadline() const;
  bool in_flight() const { return in_flight_.has_value(); }
  bool auth_blocked() const { return auth_blocked_; }
  const std::string& last_error() const { return last_error_; }
  Json Metrics() const;

 private:
  struct Batch {
    int64_t id = 0;
    std::vector<std::string> ids;
    std::string body;
    size_t raw_bytes = 0;
    int64_t deadline_ms = 0;
  };

  Status ApplyResults(int64_t now_ms, const Json& response);
  Status MarkBatch(std::string_view status, std::string_view reason);
  // A request-level 400/403/409/413/422: the mutations it names are rejected
  // (rolled back, reported), the rest go again at once; if it names none, the
  // batch is resent one mutation at a time until it does.
  Status Refused(int64_t now_ms, int status, std::string_view body);
  void Retry(int64_t now_ms, int64_t floor_ms, std::string reason);
  void Finish(int64_t now_ms, int status);

  Store* store_;
  WritePath* writes_;
  Env* env_;
  UploadOptions options_;
  std::string token_;
  bool online_ = true;
  bool auth_blocked_ = false;
  bool network_wait_ = false;  // the current backoff follows a network error
  int isolate_ = 0;  // batches of one still to send after an unnamed refusal
  int64_t pending_hint_ = -1;  // pending entries; -1 = unknown (recount)
  int64_t last_send_ms_ = INT64_MIN / 2;
  int64_t retry_at_ms_ = 0;
  Backoff backoff_;
  std::optional<Batch> in_flight_;
  std::string last_error_;
  // Metrics.
  int64_t batches_ = 0, mutations_sent_ = 0, bytes_ = 0, compressed_bytes_ = 0;
  int64_t retries_ = 0, failed_ = 0, rejected_ = 0, applied_ = 0, auth_errors_ = 0;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_UPLOAD_H_
