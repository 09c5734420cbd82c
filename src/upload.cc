#include "upload.h"

#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "outbox.h"
#include "retry.h"
#include "store.h"
#include "write_path.h"
#include "write_schema.h"

namespace electrolite {

namespace {

using json = Json;

constexpr char kChangesPath[] = "/v1/changes";

std::optional<int64_t> TxidOf(const json& v) {
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 19) return std::nullopt;
    int64_t r = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      r = r * 10 + (c - '0');
    }
    return r;
  }
  return std::nullopt;
}

// The message of an error body ({"message"} / {"error"}), else its start.
std::string ErrorReason(int status, std::string_view body) {
  std::string reason = "HTTP " + std::to_string(status);
  json j = json::parse(body);
  if (j.is_object()) {
    for (const char* field : {"message", "error", "reason"}) {
      auto it = j.find(field);
      if (it != j.end() && it->is_string()) return reason + ": " + it->get<std::string>();
    }
  }
  if (!body.empty()) reason += ": " + std::string(body.substr(0, 200));
  return reason;
}

// A request-level refusal (400, 403, 409, 413, 422): the whole request was
// refused for something in it, not for the credentials (401) and not for a
// while (429/5xx, retry.h).
bool IsRefusal(int status) {
  return status == 400 || status == 403 || status == 409 || status == 413 || status == 422;
}

// The mutations a refusal names, as batch index -> reason: `mutations[i]` in
// the body's `errors` (or `message`) strings, or a mutation id quoted in them
// (the write endpoint's "mutation <id>: ..." for a database error).
std::vector<std::pair<size_t, std::string>> NamedMutations(int status, std::string_view body,
                                                           const std::vector<std::string>& ids) {
  std::vector<std::string> texts;
  json j = json::parse(body);
  if (j.is_object()) {
    if (auto it = j.find("errors"); it != j.end() && it->is_array()) {
      for (const json& e : *it) {
        if (e.is_string()) texts.push_back(e.get<std::string>());
      }
    }
    for (const char* field : {"message", "detail"}) {
      auto it = j.find(field);
      if (it != j.end() && it->is_string()) texts.push_back(it->get<std::string>());
    }
  }
  std::vector<std::pair<size_t, std::string>> named;
  auto add = [&](size_t index, const std::string& text) {
    if (index >= ids.size()) return;
    for (auto& [i, reason] : named) {
      if (i == index) {
        reason += "; " + text;
        return;
      }
    }
    named.emplace_back(index, "HTTP " + std::to_string(status) + ": " + text);
  };
  constexpr std::string_view kPrefix = "mutations[";
  for (const std::string& text : texts) {
    for (size_t at = text.find(kPrefix); at != std::string::npos; at = text.find(kPrefix, at + 1)) {
      size_t i = at + kPrefix.size(), end = i;
      while (end < text.size() && text[end] >= '0' && text[end] <= '9' && end - i < 9) ++end;
      if (end == i || end >= text.size() || text[end] != ']') continue;
      // "mutations[3].table: ..." reads "mutation.table: ..." on its own.
      add(static_cast<size_t>(std::atoll(text.substr(i, end - i).c_str())),
          text.substr(0, at) + "mutation" + text.substr(end + 1));
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!ids[i].empty() && text.find(ids[i]) != std::string::npos) add(i, text);
    }
  }
  return named;
}

}  // namespace

Uploader::Uploader(Store* store, WritePath* writes, Env* env, UploadOptions options)
    : store_(store), writes_(writes), env_(env), options_(std::move(options)) {
  if (options_.batch_size < 1) options_.batch_size = 1;
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
}

Status Uploader::Init() {
  EL_ASSIGN_OR_RETURN(pending_hint_,
                      writes_->outbox().CountByStatus("pending", options_.batch_size));
  return Status::Ok();
}

void Uploader::SetOnline(bool online, int64_t now_ms) {
  if (online && !online_) {
    // Back online: whatever was waiting for the network goes now.
    retry_at_ms_ = std::min(retry_at_ms_, now_ms);
    backoff_.Reset();
  }
  online_ = online;
}

void Uploader::SetToken(std::string_view token) {
  token_ = std::string(token);
  if (auth_blocked_) {
    auth_blocked_ = false;
    last_error_.clear();
    retry_at_ms_ = 0;
  }
}

const std::string* Uploader::Body(int64_t request_id) const {
  return Owns(request_id) ? &in_flight_->body : nullptr;
}

void Uploader::HandleTimeout(int64_t now_ms) {
  if (in_flight_ && now_ms >= in_flight_->deadline_ms) {
    HandleNetworkError(now_ms, in_flight_->id,
                       "upload timed out after " + std::to_string(options_.timeout_ms) + " ms");
  }
}

int64_t Uploader::NextDeadline() const {
  if (in_flight_) return in_flight_->deadline_ms;
  if (!online_ || auth_blocked_ || pending_hint_ == 0) return -1;
  int64_t at = retry_at_ms_;
  if (pending_hint_ < options_.batch_size && isolate_ == 0) {
    at = std::max(at, last_send_ms_ + options_.interval_ms);
  }
  return std::max<int64_t>(at, 0);
}

Result<std::optional<Request>> Uploader::Poll(int64_t now_ms, int64_t request_id) {
  if (!online_ || auth_blocked_ || in_flight_ || store_->InTransaction()) {
    return std::optional<Request>();
  }
  if (pending_hint_ < 0) {
    EL_ASSIGN_OR_RETURN(pending_hint_,
                      writes_->outbox().CountByStatus("pending", options_.batch_size));
  }
  if (pending_hint_ == 0 || now_ms < retry_at_ms_) return std::optional<Request>();
  const bool full = pending_hint_ >= options_.batch_size || isolate_ > 0;
  if (!full && now_ms < last_send_ms_ + options_.interval_ms) return std::optional<Request>();

  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> batch,
                      writes_->outbox().NextBatch(isolate_ > 0 ? 1 : options_.batch_size));
  if (batch.empty()) {
    pending_hint_ = 0;
    return std::optional<Request>();
  }
  json mutations = json::array();
  Batch b;
  b.id = request_id;
  for (const OutboxEntry& e : batch) {
    const WriteTable* t = writes_->Find(e.table);
    json m = {{"id", e.id}, {"table", e.table}, {"op", e.op}};
    m["key"] = t ? RowToWire(*t, e.key) : e.key;
    m["value"] = t ? RowToWire(*t, e.value) : e.value;
    m["base"] = t ? RowToWire(*t, e.base) : e.base;
    mutations.push_back(std::move(m));
    b.ids.push_back(e.id);
  }
  {
    Txn txn(store_);
    EL_RETURN_IF_ERROR(txn.Begin());
    for (const std::string& id : b.ids) {
      EL_RETURN_IF_ERROR(writes_->outbox().SetStatus(id, "in_flight"));
    }
    EL_RETURN_IF_ERROR(txn.Commit());
  }
  const std::string raw = Dump(json{{"client_id", options_.client_id}, {"mutations", mutations}});
  b.raw_bytes = raw.size();
  Request r;
  r.id = request_id;
  r.method = "POST";
  r.url = options_.base_url + kChangesPath;
  r.kind = "upload";
  r.has_body = true;
  r.timeout_ms = options_.timeout_ms;
  r.headers.emplace_back("content-type", "application/json");
  if (!token_.empty()) r.headers.emplace_back("authorization", "Bearer " + token_);
  if (options_.compress_threshold >= 0 &&
      raw.size() > static_cast<size_t>(options_.compress_threshold)) {
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    b.body = std::move(out);
    r.headers.emplace_back("content-encoding", "zstd");
  } else {
    b.body = raw;
  }
  ++batches_;
  mutations_sent_ += static_cast<int64_t>(b.ids.size());
  bytes_ += static_cast<int64_t>(b.raw_bytes);
  compressed_bytes_ += static_cast<int64_t>(b.body.size());
  pending_hint_ = std::max<int64_t>(0, pending_hint_ - static_cast<int64_t>(b.ids.size()));
  last_send_ms_ = now_ms;
  b.deadline_ms = now_ms + options_.timeout_ms;
  in_flight_ = std::move(b);
  return std::optional<Request>(std::move(r));
}

Status Uploader::MarkBatch(std::string_view status, std::string_view reason) {
  Txn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  for (const std::string& id : in_flight_->ids) {
    EL_ASSIGN_OR_RETURN(std::optional<OutboxEntry> e, writes_->outbox().Get(id));
    if (e && e->status == "in_flight") {
      EL_RETURN_IF_ERROR(writes_->outbox().SetStatus(id, status, reason));
    }
  }
  return txn.Commit();
}

void Uploader::Retry(int64_t now_ms, int64_t floor_ms, std::string reason) {
  ++retries_;
  retry_at_ms_ = now_ms + backoff_.Next(*env_, options_.backoff, floor_ms);
  last_error_ = std::move(reason);
  pending_hint_ = -1;
}

void Uploader::Finish(int64_t now_ms, int status) {
  json ev = {{"type", "upload"},
             {"mutations", in_flight_->ids.size()},
             {"bytes", in_flight_->raw_bytes},
             {"compressedBytes", in_flight_->body.size()},
             {"status", status}};
  writes_->Emit(std::move(ev));
  in_flight_.reset();
  pending_hint_ = -1;
}

void Uploader::HandleNetworkError(int64_t now_ms, int64_t request_id, std::string_view message) {
  if (!Owns(request_id)) return;
  // Same mutation ids next time; the endpoint answers `duplicate` for any
  // it already applied. A failure to mark them is repaired on reopen.
  (void)MarkBatch("pending", {});
  Retry(now_ms, 0, "upload: " + std::string(message));
  // Unreachable: one upload at a time probes, at most kUnreachableProbeMaxMs apart (not
  // spread like the shapes' probe: one upload per client is at most one request per 2 s).
  retry_at_ms_ = std::min(retry_at_ms_, now_ms + kUnreachableProbeMaxMs);
  network_wait_ = true;
  Finish(now_ms, 0);
}

Status Uploader::HandleResponse(int64_t now_ms, int64_t request_id, int status,
                                const Headers& headers, std::string_view body) {
  if (!Owns(request_id)) return Status::InvalidArgument("not an upload request");
  network_wait_ = false;
  Status result;
  const HttpClass cls = ClassifyHttpStatus(status);
  if (cls == HttpClass::kSuccess) {
    json response = json::parse(body);
    const size_t mark = writes_->EventMark();
    Status s = ApplyResults(now_ms, response);
    if (!s.ok()) writes_->TruncateEvents(mark);
    if (s.ok()) {
      backoff_.Reset();
      retry_at_ms_ = 0;
      last_error_.clear();
    } else {
      // Malformed answer or a storage failure: retry the same ids.
      (void)MarkBatch("pending", {});
      Retry(now_ms, 0, s.ToString());
      result = s;
    }
  } else if (status == 401) {
    (void)MarkBatch("pending", {});
    auth_blocked_ = true;
    ++auth_errors_;
    last_error_ = ErrorReason(status, body);
    writes_->Emit({{"type", "error"}, {"code", "auth"}, {"message", last_error_}});
    result = Status::Auth(last_error_);
  } else if (cls == HttpClass::kRetry) {
    (void)MarkBatch("pending", {});
    Retry(now_ms, RetryAfterMs(headers, now_ms), ErrorReason(status, body));
  } else if (IsRefusal(status)) {
    result = Refused(now_ms, status, body);
  } else {
    // The request itself is invalid: nothing was applied. Keep the mutations,
    // failed with the reason, until the app discards them.
    const std::string reason = ErrorReason(status, body);
    Status s = MarkBatch("failed", reason);
    if (!s.ok()) {
      (void)MarkBatch("pending", {});
      Retry(now_ms, 0, s.ToString());
      result = s;
    } else {
      failed_ += static_cast<int64_t>(in_flight_->ids.size());
      last_error_ = reason;
      writes_->Emit({{"type", "error"}, {"code", "invalid_argument"}, {"message", reason}});
    }
  }
  if (isolate_ > 0 && in_flight_->ids.size() == 1 && cls == HttpClass::kSuccess) --isolate_;
  Finish(now_ms, status);
  return result;
}

Status Uploader::Refused(int64_t now_ms, int status, std::string_view body) {
  const std::string reason = ErrorReason(status, body);
  std::vector<std::pair<size_t, std::string>> named = NamedMutations(status, body, in_flight_->ids);
  if (named.empty() && in_flight_->ids.size() == 1) {
    if (status == 403) {
      // Forbidden without saying what: maybe this mutation, maybe everything (a proxy,
      // a firewall). Kept, failed with the reason until discarded, and the rest go on.
      Status s = MarkBatch("failed", reason);
      if (!s.ok()) {
        (void)MarkBatch("pending", {});
        Retry(now_ms, 0, s.ToString());
        return s;
      }
      ++failed_;
      if (isolate_ > 0) --isolate_;
      retry_at_ms_ = 0;
      last_send_ms_ = INT64_MIN / 2;
      last_error_ = reason;
      writes_->Emit({{"type", "error"}, {"code", "auth"}, {"message", reason}});
      return Status::Ok();
    }
    named.emplace_back(0, reason);
  }
  if (named.empty()) {
    // The server did not say which mutation it refused: send this batch's
    // mutations one at a time, so the next refusal names its mutation.
    (void)MarkBatch("pending", {});
    isolate_ = static_cast<int>(in_flight_->ids.size());
    retry_at_ms_ = 0;
    last_send_ms_ = INT64_MIN / 2;
    return Status::Ok();
  }
  const size_t mark = writes_->EventMark();
  Status s = [&]() -> Status {
    Txn txn(store_);
    EL_RETURN_IF_ERROR(txn.Begin());
    for (const auto& [index, why] : named) {
      EL_ASSIGN_OR_RETURN(std::optional<OutboxEntry> e,
                          writes_->outbox().Get(in_flight_->ids[index]));
      if (!e || e->status != "in_flight") continue;  // discarded meanwhile
      // Refused for good: rolled back on its own and reported (a `conflict`
      // with outcome `rejected`); the others go again at once.
      EL_RETURN_IF_ERROR(writes_->Rejected(*e, why, json(), now_ms));
      ++rejected_;
    }
    return txn.Commit();
  }();
  if (!s.ok()) {
    writes_->TruncateEvents(mark);
    (void)MarkBatch("pending", {});
    Retry(now_ms, 0, s.ToString());
    return s;
  }
  (void)MarkBatch("pending", {});
  if (in_flight_->ids.size() == 1 && isolate_ > 0) --isolate_;
  retry_at_ms_ = 0;
  last_send_ms_ = INT64_MIN / 2;
  last_error_ = named.front().second;
  return Status::Ok();
}

Status Uploader::ApplyResults(int64_t now_ms, const json& response) {
  if (!response.is_object()) return Status::Protocol("upload response is not a JSON object");
  auto results = response.find("results");
  if (results == response.end() || !results->is_array()) {
    return Status::Protocol("upload response has no results array");
  }
  std::optional<int64_t> txid;
  if (auto t = response.find("txid"); t != response.end()) txid = TxidOf(*t);
  Txn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  for (const std::string& id : in_flight_->ids) {
    const json* r = nullptr;
    for (const json& candidate : *results) {
      auto cid = candidate.find("id");
      if (candidate.is_object() && cid != candidate.end() && cid->is_string() &&
          cid->get_ref<const std::string&>() == id) {
        r = &candidate;
        break;
      }
    }
    EL_ASSIGN_OR_RETURN(std::optional<OutboxEntry> e, writes_->outbox().Get(id));
    if (!e) continue;  // discarded meanwhile
    if (r == nullptr) {
      // No answer for this one: it goes again (the endpoint dedupes).
      EL_RETURN_IF_ERROR(writes_->outbox().SetStatus(id, "pending"));
      continue;
    }
    auto st = r->find("status");
    const std::string status = st != r->end() && st->is_string() ? st->get<std::string>() : "";
    std::string reason;
    if (auto it = r->find("reason"); it != r->end() && it->is_string()) reason = it->get<std::string>();
    std::string original = "applied";
    if (auto it = r->find("original"); it != r->end() && it->is_string()) {
      original = it->get<std::string>();
    }
    if (status == "duplicate" && original == "rejected") {
      // An earlier attempt was rejected (its answer was lost): roll back now.
      EL_RETURN_IF_ERROR(writes_->Rejected(*e, reason.empty() ? "rejected" : reason, json(),
                                           now_ms));
      ++rejected_;
    } else if (status == "applied" || status == "duplicate") {
      std::optional<int64_t> own = txid;
      if (auto it = r->find("txid"); it != r->end()) own = TxidOf(*it);
      if (!own) return Status::Protocol("upload response: applied mutation without a txid");
      EL_RETURN_IF_ERROR(writes_->Acked(*e, *own));
      ++applied_;
    } else if (status == "rejected") {
      const json row = r->contains("row") ? (*r)["row"] : json();
      EL_RETURN_IF_ERROR(writes_->Rejected(*e, reason.empty() ? "rejected" : reason, row, now_ms));
      ++rejected_;
    } else {
      EL_RETURN_IF_ERROR(writes_->outbox().SetStatus(
          id, "failed", "unknown result status \"" + status + "\"" +
                            (reason.empty() ? "" : ": " + reason)));
      ++failed_;
    }
  }
  return txn.Commit();
}

json Uploader::Metrics() const {
  return {{"batches", batches_},
          {"mutationsSent", mutations_sent_},
          {"bytes", bytes_},
          {"compressedBytes", compressed_bytes_},
          {"retries", retries_},
          {"applied", applied_},
          {"rejected", rejected_},
          {"failed", failed_},
          {"authErrors", auth_errors_},
          {"authBlocked", auth_blocked_},
          {"inFlight", in_flight_.has_value()},
          {"lastError", last_error_}};
}

}  // namespace electrolite
